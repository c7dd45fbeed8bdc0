"""All of an activity's materials a person may open, as one ZIP streamed while it is written: each file is read
from the store in chunks and each chunk goes out as soon as zipfile has written it (zipfile writes to a stream it
cannot seek with data descriptors), so nothing is held whole in memory and the download starts at once.

`zip_entries` names the files (numbered in agenda order, from their titles, each with its extension);
`stream_zip` is a pure generator over those plain entries (no database: it runs after the view has returned)."""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator

from cme.library.materials.checks import display_name
from cme.library.materials.models import Material, MaterialKind

CHUNK = 256 * 1024


@dataclass(frozen=True)
class Entry:
    name: str
    path: Path
    modified: datetime


def zip_entries(materials: Iterable[Material], path_of) -> list[Entry]:
    """One entry per material whose file is in the store: "01 Title.pdf", "02 Other title.pptx", ..."""
    entries = []
    for material in materials:
        path = path_of(material.file_sha256)
        if path.is_file():
            name = display_name(material.title, MaterialKind(material.kind), fallback="material")
            entries.append(Entry(f"{len(entries) + 1:02d} {name}", path, material.updated_dt))
    return entries


class _Pipe(io.RawIOBase):
    """A write-only, unseekable stream that keeps what is written until it is taken."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> Iterator[bytes]:
        chunks, self._chunks = self._chunks, []
        yield from chunks


def stream_zip(entries: list[Entry]) -> Iterator[bytes]:
    """The ZIP of `entries`, chunk by chunk (stored, not compressed: PDF and PowerPoint files are compressed
    already)."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=max(entry.modified.timetuple()[:6], (1980, 1, 1, 0, 0, 0)))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            with open(entry.path, "rb") as source, archive.open(info, "w", force_zip64=True) as target:
                while chunk := source.read(CHUNK):
                    target.write(chunk)
                    yield from pipe.take()
            yield from pipe.take()
    yield from pipe.take()
