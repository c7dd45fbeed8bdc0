"""What an uploaded file is, found from its bytes and never from its name, and whether it is accepted.

Accepted: a PDF that pypdf can read (not protected by a password, without scripts, launch actions or attached
files), and a PowerPoint presentation (.pptx): an Office Open XML package whose main part is a presentation,
without macros (no VBA project, no macro-enabled content types: a .pptm is refused), that is not a zip bomb
(too many parts, more unpacked bytes than `Limits.max_unpacked_bytes`, or far more than its packed size). Anything
else is refused with an `UploadRefused` naming the file field and saying what to do.

The package's XML is read only part by part, each within a size limit (zipfile reads no more than a part declares,
and checks its CRC), and refused if it holds a DTD (no entity tricks reach the parser).
"""
from __future__ import annotations

import os
import posixpath
import re
import unicodedata
import warnings
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

from cme.errors import DomainError
from cme.library.materials.models import EXTENSIONS, MaterialKind

PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old binary Office files, and password-protected new ones
HEAD_BYTES = 1024  # a PDF header may follow some junk: readers look this far

PRESENTATION_MAIN = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
SLIDE = "application/vnd.openxmlformats-officedocument.presentationml.slide+xml"
MACRO_TYPES = ("macroenabled", "vbaproject", "vnd.ms-office.activex")  # content types, lower-cased
OTHER_MAINS = {
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml":
        "This is a PowerPoint show (.ppsx). Open it in PowerPoint and save it as a presentation (.pptx).",
    "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml":
        "This is a PowerPoint template (.potx). Save it as a presentation (.pptx).",
}
OFFICE_DOCUMENT = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
                   "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument")
RELATIONSHIPS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
RISKY_PDF_ACTIONS = {"/JavaScript", "/Launch", "/ImportData"}

NOT_ACCEPTED = ("Only PDF files and PowerPoint presentations (.pptx) can be uploaded, and this file is neither "
                "(whatever its name says). Save the slides as a PDF or a .pptx and upload that.")


class UploadRefused(DomainError):
    """An uploaded file that is not accepted; the message is for the person uploading (beside the file field)."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message, code=code, field="file")


@dataclass(frozen=True)
class Limits:
    """How large an upload may be, and how far a presentation may unpack (zip-bomb guard)."""

    max_bytes: int
    max_unpacked_bytes: int
    max_members: int = 5_000
    max_ratio: int = 100  # unpacked bytes per packed byte, for the whole package and any large part
    max_pages: int = 2_000
    max_xml_part: int = 32 * 2**20


@dataclass(frozen=True)
class Inspection:
    kind: MaterialKind
    page_count: int  # pages of a PDF, slides of a presentation


def megabytes(size: int) -> str:
    return f"{size / 2**20:.0f} MB" if size >= 2**20 else f"{size / 1024:.0f} KB"


def inspect_file(path: Path, limits: Limits) -> Inspection:
    """The kind of file at `path` and its page or slide count; raises UploadRefused for anything not accepted."""
    with open(path, "rb") as file:
        head = file.read(HEAD_BYTES)
    if not head:
        raise UploadRefused("The file is empty.", code="empty")
    if PDF_MAGIC in head:
        return Inspection(MaterialKind.PDF, _inspect_pdf(path, limits))
    if head.startswith(ZIP_MAGIC):
        return Inspection(MaterialKind.PPTX, _inspect_pptx(path, limits))
    if head.startswith(OLE_MAGIC):
        raise UploadRefused("This is an older Office file (such as a .ppt) or a password-protected one. Save it "
                            "as a PowerPoint presentation (.pptx) without a password, or as a PDF, and upload "
                            "that.", code="old_office")
    raise UploadRefused(NOT_ACCEPTED, code="not_accepted")


# ---------------------------------------------------------------- PDF

def open_pdf(file: BinaryIO) -> PdfReader:
    """A pypdf reader of an open file (read as needed, not whole), decrypted when it opens without a password."""
    reader = PdfReader(file)
    if reader.is_encrypted and not reader.decrypt(""):
        raise UploadRefused("This PDF is protected by a password. Save it without one and upload it again.",
                            code="pdf_password")
    return reader


def _inspect_pdf(path: Path, limits: Limits) -> int:
    try:
        with warnings.catch_warnings(), open(path, "rb") as file:
            warnings.simplefilter("ignore")  # a damaged file is refused below, not warned about
            reader = open_pdf(file)
            pages = len(reader.pages)
            if pages > limits.max_pages:
                raise UploadRefused(f"This PDF has {pages:,} pages; at most {limits.max_pages:,} are accepted.",
                                    code="too_many_pages")
            if pages == 0:
                raise UploadRefused("This PDF has no pages.", code="bad_pdf")
            if _has_active_content(reader):
                raise UploadRefused("This PDF contains scripts, launch actions or attached files, which are not "
                                    "accepted. Export the slides to PDF again (File > Save as PDF) and upload "
                                    "that.", code="pdf_active_content")
            return pages
    except UploadRefused:
        raise
    except Exception:  # noqa: BLE001  (whatever pypdf cannot read is not an accepted PDF)
        raise UploadRefused("This file starts like a PDF but cannot be read as one: it may be damaged or "
                            "incomplete. Export it again and upload the new file.", code="bad_pdf") from None


def _resolved(obj):
    return obj.get_object() if obj is not None and hasattr(obj, "get_object") else obj


def _risky_action(action) -> bool:
    action = _resolved(action)
    return isinstance(action, DictionaryObject) and _resolved(action.get("/S")) in RISKY_PDF_ACTIONS


def _has_active_content(reader: PdfReader) -> bool:
    """Document or page scripts, launch or import actions, additional actions, XFA forms or attached files."""
    root = _resolved(reader.trailer["/Root"])
    names = _resolved(root.get("/Names"))
    if isinstance(names, DictionaryObject) and ("/JavaScript" in names or "/EmbeddedFiles" in names):
        return True
    if "/AA" in root or _risky_action(root.get("/OpenAction")):
        return True
    form = _resolved(root.get("/AcroForm"))
    if isinstance(form, DictionaryObject) and "/XFA" in form:
        return True
    for page in reader.pages:
        if "/AA" in page:
            return True
        annotations = _resolved(page.get("/Annots"))
        for annotation in annotations if isinstance(annotations, ArrayObject) else ():
            annotation = _resolved(annotation)
            if isinstance(annotation, DictionaryObject) and (
                    "/AA" in annotation or _risky_action(annotation.get("/A"))
                    or _resolved(annotation.get("/Subtype")) == "/FileAttachment"):
                return True
    return False


# ---------------------------------------------------------------- PowerPoint (Office Open XML)

@dataclass(frozen=True)
class Package:
    """An opened presentation package: its zip, and the content type of each part (by part name, no leading /)."""

    archive: zipfile.ZipFile
    types: dict[str, str]
    main: str  # the presentation part, e.g. "ppt/presentation.xml"

    def slides(self) -> list[str]:
        """The slide parts in the order of the presentation (its slide list), any others after them by name."""
        ordered = []
        relationships = relationships_of(self, self.main)
        try:
            presentation = read_xml(self, self.main)
        except UploadRefused:
            presentation = None
        if presentation is not None:
            for element in presentation.iter():
                if element.tag.endswith("}sldId"):
                    target = next((v for k, v in element.attrib.items() if k.endswith("}id")), None)
                    if target in relationships and relationships[target] not in ordered:
                        ordered.append(relationships[target])
        members = self.members
        slides = [name for name, kind in self.types.items() if kind == SLIDE and name in members]
        ordered = [name for name in ordered if name in slides]
        return ordered + sorted((s for s in slides if s not in ordered), key=_natural)

    @property
    def members(self) -> set[str]:
        return set(self.archive.namelist())


def _natural(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def open_package(path: Path, limits: Limits) -> Package:
    """The presentation package at `path`, checked (zip bomb, macros, a presentation as its main part), or
    UploadRefused. The caller closes `package.archive`."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise UploadRefused("This file starts like a PowerPoint presentation but is not a readable one: it may be "
                            "damaged or incomplete.", code="bad_pptx") from None
    try:
        package = _check_package(archive, os.path.getsize(path), limits)
    except BaseException:
        archive.close()
        raise
    return package


def _inspect_pptx(path: Path, limits: Limits) -> int:
    package = open_package(path, limits)
    with package.archive:
        return len(package.slides())


def _check_package(archive: zipfile.ZipFile, packed: int, limits: Limits) -> Package:
    infos = archive.infolist()
    _refuse_bombs(infos, packed, limits)
    if any(info.flag_bits & 0x1 for info in infos):
        raise UploadRefused("This presentation is encrypted. Save it without a password and upload it again.",
                            code="bad_pptx")
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names:
        raise UploadRefused(NOT_ACCEPTED, code="not_accepted")
    types = _content_types(archive, names, limits)
    lowered = {name: kind.lower() for name, kind in types.items()}
    if any(marker in kind for kind in lowered.values() for marker in MACRO_TYPES) or any(
            name.lower().endswith("vbaproject.bin") for name in names):
        raise UploadRefused("This presentation contains macros (a .pptm, or a VBA project), which are not accepted. "
                            "Save it as a PowerPoint Presentation (.pptx) without macros and upload that.",
                            code="macros")
    mains = [name for name, kind in lowered.items() if kind == PRESENTATION_MAIN]
    if not mains:
        other = next((OTHER_MAINS[kind] for kind in lowered.values() if kind in OTHER_MAINS), None)
        raise UploadRefused(other or ("This is not a PowerPoint presentation. Only PDF files and PowerPoint "
                                      "presentations (.pptx) can be uploaded."), code="not_presentation")
    package = Package(archive=archive, types=types, main=mains[0])
    roots = relationships_of(package, "")
    if len(mains) != 1 or mains[0] not in names or mains[0] not in roots.values():
        raise UploadRefused("This file is not a valid PowerPoint presentation: its parts do not fit together. Open "
                            "it in PowerPoint and save it again.", code="bad_pptx")
    return package


def _refuse_bombs(infos: list[zipfile.ZipInfo], packed: int, limits: Limits) -> None:
    if len(infos) > limits.max_members:
        raise UploadRefused(f"This file holds {len(infos):,} parts, more than any presentation has "
                            f"(at most {limits.max_members:,} are accepted).", code="zip_bomb")
    unpacked = sum(info.file_size for info in infos)
    bomb = unpacked > max(packed, 1) * limits.max_ratio or any(
        info.file_size > 2**20 and info.file_size > max(info.compress_size, 1) * limits.max_ratio for info in infos)
    if unpacked > limits.max_unpacked_bytes or bomb:
        raise UploadRefused(f"This file would unpack to {megabytes(unpacked)}, far more than its own size allows "
                            f"for a presentation (at most {megabytes(limits.max_unpacked_bytes)}, and "
                            f"{limits.max_ratio} times its size). It was refused as a possible zip bomb.",
                            code="zip_bomb")


def read_xml(package: Package, name: str, limit: int | None = None) -> ET.Element:
    """One XML part, parsed; refused when it is too large, holds a DTD or is not well-formed XML."""
    return _parse_part(package.archive, name, limit or 32 * 2**20)


def _parse_part(archive: zipfile.ZipFile, name: str, limit: int) -> ET.Element:
    try:
        info = archive.getinfo(name)
        if info.file_size > limit:
            raise UploadRefused("A part of this presentation is too large to read.", code="zip_bomb")
        data = archive.read(info)
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
            raise UploadRefused("This presentation holds XML that is not accepted (a document type definition).",
                                code="bad_pptx")
        return ET.fromstring(data)
    except UploadRefused:
        raise
    except Exception:  # noqa: BLE001  (a bad CRC, a truncated part, XML that does not parse)
        raise UploadRefused("This presentation is damaged: a part of it cannot be read. Open it in PowerPoint "
                            "and save it again.", code="bad_pptx") from None


def _content_types(archive: zipfile.ZipFile, names: set[str], limits: Limits) -> dict[str, str]:
    """The content type of every part, from [Content_Types].xml (overrides by part name, defaults by extension)."""
    root = _parse_part(archive, "[Content_Types].xml", limits.max_xml_part)
    defaults, overrides = {}, {}
    for element in root:
        if element.tag == f"{CONTENT_TYPES_NS}Default":
            defaults[element.get("Extension", "").lower()] = element.get("ContentType", "")
        elif element.tag == f"{CONTENT_TYPES_NS}Override":
            overrides[element.get("PartName", "").lstrip("/")] = element.get("ContentType", "")
    types = {}
    for name in names | set(overrides):
        if name.endswith("/"):
            continue
        types[name] = overrides.get(name) or defaults.get(posixpath.splitext(name)[1].lstrip(".").lower(), "")
    return types


def relationships_of(package: Package, part: str) -> dict[str, str]:
    """{relationship id: target part name} of a part ("" for the package itself), targets resolved."""
    folder, base = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", f"{base}.rels")
    if rels not in package.members:
        return {}
    root = read_xml(package, rels)
    found = {}
    for element in root.iter(f"{RELATIONSHIPS_NS}Relationship"):
        if element.get("TargetMode") == "External":
            continue
        target = element.get("Target", "")
        resolved = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        if part == "" and element.get("Type") not in OFFICE_DOCUMENT:
            continue
        found[element.get("Id", "")] = resolved
    return found


# ---------------------------------------------------------------- names

WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{n}" for n in range(1, 10)), *(f"lpt{n}" for n in range(1, 10))}
UNSAFE_IN_NAMES = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*\u2028\u2029\u202a-\u202e\u2066-\u2069]')
MAX_STEM = 150


def display_name(uploaded: str | None, kind: MaterialKind, *, fallback: str = "slides") -> str:
    """The name a download is saved under: the uploaded name's last path part in NFC, without control, direction
    or path characters, its spaces collapsed, at most 150 characters, with the extension of what the file is
    (a PDF named "talk.pptx" downloads as "talk.pdf")."""
    name = unicodedata.normalize("NFC", uploaded or "")
    name = re.split(r"[/\\]", name)[-1]
    stem, extension = os.path.splitext(name)
    if not re.fullmatch(r"\.[A-Za-z][A-Za-z0-9]{1,4}", extension):
        stem = name  # "Dr. Smith" or "Update v2.1" have no extension to replace
    stem = UNSAFE_IN_NAMES.sub(" ", stem)
    stem = re.sub(r"\s+", " ", stem).strip(" .")[:MAX_STEM].strip(" .")
    if not stem or stem.lower() in WINDOWS_RESERVED:
        stem = fallback if stem.lower() not in WINDOWS_RESERVED else f"{stem}-file"
    return stem + EXTENSIONS[kind]
