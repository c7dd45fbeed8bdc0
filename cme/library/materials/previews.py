"""Previews of an accepted file, made once when it is uploaded: its text (for the library's search) and a
first-page thumbnail (PNG) shown on its card.

- PDF: the text of its pages and the first page rendered, both in-process by PDFium (pypdfium2); `checks` has read
  the file's structure with pypdf before.
- PowerPoint: the text runs (`a:t`) of each slide, slide by slide in the presentation's order, and the thumbnail
  PowerPoint keeps in the package (docProps/thumbnail.jpeg), re-encoded as PNG when there is one.

A preview that cannot be made is left out (no thumbnail, less text); it never refuses a file `checks` accepted.
"""
from __future__ import annotations

import logging
import threading
import warnings
from pathlib import Path

import pypdfium2
from PIL import Image

from cme.library.materials.checks import Limits, open_package, read_xml
from cme.library.materials.models import MaterialKind
from cme.text import without_controls

log = logging.getLogger("cme.library")

THUMBNAIL_WIDTH = 480  # pixels: sharp on a 240-pixel-wide card at twice the density
THUMBNAIL_MAX_HEIGHT = 960
MAX_TEXT_PAGES = 1_000
MAX_TEXT_CHARS = 1_000_000
MAX_EMBEDDED_THUMBNAIL = 4 * 2**20
MAX_EMBEDDED_PIXELS = 4096 * 4096
DRAWING_NS = "{http://schemas.openxmlformats.org/drawingml/2006/main}"

# PDFium is not thread-safe: one rendering at a time per process (a threaded server may run two uploads at once).
_pdfium = threading.Lock()


def extract_text(path: Path, kind: MaterialKind, limits: Limits) -> str:
    """The document's words: pages (or slides) apart by a blank line, lines by a line break; control characters
    dropped; at most MAX_TEXT_CHARS characters."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            chunks = _pdf_text(path) if kind == MaterialKind.PDF else _slides_text(path, limits)
            text = "\n\n".join(chunk.strip() for chunk in chunks if chunk and chunk.strip())
    except Exception:  # noqa: BLE001  (a page whose text cannot be read leaves the file without its text)
        log.warning("could not extract the text of %s", path.name, exc_info=True)
        return ""
    return without_controls(text)[:MAX_TEXT_CHARS]


def _pdf_text(path: Path) -> list[str]:
    """Each page's text as PDFium reads it (in C: 50 slides take about 30 ms, where pypdf's reading takes about
    900 ms, most of it parsing the same fonts again on every page)."""
    pages, total = [], 0
    with _pdfium:
        document = pypdfium2.PdfDocument(str(path))
        try:
            for number in range(min(len(document), MAX_TEXT_PAGES)):
                if total >= MAX_TEXT_CHARS:
                    break
                page = document[number]
                try:
                    textpage = page.get_textpage()
                    try:
                        text = textpage.get_text_bounded().replace("\r\n", "\n").replace("\r", "\n")
                    finally:
                        textpage.close()
                except Exception:  # noqa: BLE001  (one unreadable page does not lose the others)
                    continue
                finally:
                    page.close()
                total += len(text)
                pages.append(text)
        finally:
            document.close()
    return pages


def _slides_text(path: Path, limits: Limits):
    package = open_package(path, limits)
    with package.archive:
        for slide in package.slides():
            root = read_xml(package, slide, limits.max_xml_part)
            lines = ["".join(run.text or "" for run in paragraph.iter(f"{DRAWING_NS}t"))
                     for paragraph in root.iter(f"{DRAWING_NS}p")]
            yield "\n".join(line for line in lines if line.strip())


def render_thumbnail(path: Path, kind: MaterialKind, destination: Path, limits: Limits) -> bool:
    """Write the first page's (or the presentation's own) thumbnail as PNG to `destination`; False when there is
    none to make."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = _pdf_first_page(path) if kind == MaterialKind.PDF else _package_thumbnail(path, limits)
            if image is None:
                return False
            image.save(destination, "PNG", optimize=True)
            return True
    except Exception:  # noqa: BLE001
        log.warning("could not render a thumbnail of %s", path.name, exc_info=True)
        return False


def _pdf_first_page(path: Path) -> Image.Image:
    with _pdfium:
        document = pypdfium2.PdfDocument(str(path))
        try:
            page = document[0]
            try:
                width, height = page.get_size()
                scale = min(THUMBNAIL_WIDTH / max(width, 1), THUMBNAIL_MAX_HEIGHT / max(height, 1))
                bitmap = page.render(scale=scale)
                try:
                    return bitmap.to_pil().convert("RGB")
                finally:
                    bitmap.close()
            finally:
                page.close()
        finally:
            document.close()


def _package_thumbnail(path: Path, limits: Limits) -> Image.Image | None:
    package = open_package(path, limits)
    with package.archive:
        name = next((n for n in package.members if n.lower() in ("docprops/thumbnail.jpeg", "docprops/thumbnail.jpg",
                                                                  "docprops/thumbnail.png")), None)
        if name is None or package.archive.getinfo(name).file_size > MAX_EMBEDDED_THUMBNAIL:
            return None
        with package.archive.open(name) as source:
            image = Image.open(source)
            if image.width * image.height > MAX_EMBEDDED_PIXELS:
                return None
            image = image.convert("RGB")
    image.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_MAX_HEIGHT))
    return image
