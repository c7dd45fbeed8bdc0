"""Importing an activity's abstracts from a CSV file (issue 15, point 5).

The file: UTF-8 (with or without a byte order mark: Excel's "CSV UTF-8"), comma-, semicolon- or tab-separated
(read from the header row), the first row naming the columns (`COLUMNS`, in any order and case; unknown ones are
reported and not read). One abstract per row; row numbers count the header as row 1, as a spreadsheet shows them.
Blank rows are skipped.

Each row is checked on its own, by the same rules as the form (cme.library.abstracts.service.problems), and saved
in its own savepoint: a row with a problem saves nothing of itself, and the others go on. The report lists each
problem as (row, column, message). A file that cannot be read as CSV text (not UTF-8, NUL bytes, a workbook, over
the size limit, columns missing) is refused whole, before anything is saved.

Importing the same file again does not duplicate: a row whose title (case and repeated spaces aside) is already an
abstract of the activity updates that abstract, authors and all. Two rows of one file with the same title: the
second is refused. So a corrected file can simply be imported again.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from cme.activities.models import SPECIALTIES, Activity
from cme.csvexport import csv_bytes
from cme.extensions import db
from cme.library.abstracts.models import SECTIONS, PresentationType, title_key
from cme.library.abstracts.service import (
    AbstractError, AbstractFields, canonical_topic, create_abstract, find_by_title, parse_author_list,
    parse_keywords, problems, update_abstract,
)
from cme.text import single_line, without_controls
from cme.timeutil import now_utc, utc_to_local

# The columns, what each holds (the import page and the README say the same), and which are required.
COLUMNS: dict[str, str] = {
    "title": "The abstract's title. A title the activity already has updates that abstract.",
    "authors": "In byline order, separated by semicolons: Name (Affiliation); Name (Affiliation). "
               "Put * before the presenting author.",
    "background": "The background section.",
    "methods": "The methods section.",
    "results": "The results section.",
    "conclusions": "The conclusions section.",
    "keywords": "Separated by commas, at most 12.",
    "presentation_type": "oral or poster.",
    "session": "The agenda session's title, or its start in the activity's local time as YYYY-MM-DD HH:MM. "
               "Blank: no session (the book of abstracts groups it by topic).",
    "topic": "One of the catalog's specialties, such as Hepatology or Addiction medicine. Blank: the "
             "activity's specialty.",
}
REQUIRED = ("title", "authors", "background", "methods", "results", "conclusions", "presentation_type")
ALIASES = {"type": "presentation_type", "presentation": "presentation_type", "session_title": "session",
           "session_start": "session", "keyword": "keywords", "author": "authors"}
MAX_ROWS = 1000
PRESENTATION_WORDS = {"oral": "oral", "oral presentation": "oral", "talk": "oral", "poster": "poster",
                      "poster presentation": "poster"}
SESSION_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")

EXAMPLE_ROW = {
    "title": "Same-day HCV treatment start in a syringe services program",
    "authors": "*Maria Lopez (University of Washington, Seattle); Daniel Brooks (Harborview Medical Center)",
    "background": "Many people who inject drugs never start hepatitis C treatment after diagnosis.",
    "methods": "Single-site cohort offering point-of-care RNA testing and same-day treatment starts.",
    "results": "Of 212 people with viremia, 171 (81%) started treatment the same day.",
    "conclusions": "Same-day starts in harm reduction settings are feasible.",
    "keywords": "hepatitis C, people who inject drugs, harm reduction",
    "presentation_type": "poster",
    "session": "",
    "topic": "Hepatology",
}


def size_text(size: int) -> str:
    """A byte limit as people read it: "2 MB", "512 KB"."""
    return f"{size / 1024 / 1024:g} MB" if size >= 1024 * 1024 else f"{size / 1024:g} KB"


class ImportFileError(AbstractError):
    """The file as a whole cannot be imported (nothing was saved)."""

    def __init__(self, message: str):
        super().__init__(message, code="import_file", field="file")


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str
    message: str


@dataclass(frozen=True)
class ImportedRow:
    row: int
    abstract_id: int
    title: str
    created: bool


@dataclass
class ImportReport:
    rows: int = 0  # rows read, blank ones aside
    imported: list[ImportedRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    delimiter: str = ","

    @property
    def created(self) -> list[ImportedRow]:
        return [row for row in self.imported if row.created]

    @property
    def updated(self) -> list[ImportedRow]:
        return [row for row in self.imported if not row.created]

    @property
    def failed_rows(self) -> list[int]:
        return sorted({problem.row for problem in self.problems})


def template_csv() -> bytes:
    """A CSV with the columns and one example row, to fill in (UTF-8 with a BOM, for Excel)."""
    return csv_bytes(list(COLUMNS), [[EXAMPLE_ROW[name] for name in COLUMNS]])


# ---------------------------------------------------------------- reading the file

def _column(header: str) -> str:
    name = "_".join(header.strip().casefold().replace("-", " ").split())
    return ALIASES.get(name, name)


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(data: bytes, *, max_bytes: int) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    """(column names, [(row number, cells)] without blank rows, delimiter), or ImportFileError saying why not."""
    if len(data) > max_bytes:
        raise ImportFileError(f"The file is larger than {size_text(max_bytes)}. Split it into smaller files.")
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError("This is a spreadsheet workbook (or another zip file), not CSV. In Excel choose "
                              "File › Save As › CSV UTF-8 (comma delimited).")
    if data.startswith(b"%PDF"):
        raise ImportFileError("This is a PDF document, not CSV. Export the abstracts from your spreadsheet as CSV UTF-8.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        raise ImportFileError("The file contains NUL bytes: it is not CSV text (or it is saved as UTF-16). Save it "
                              "as CSV UTF-8.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(f"The file is not UTF-8 text (byte {error.start + 1:,} cannot be read). Save it as "
                              "CSV UTF-8.") from None
    if not text.strip():
        raise ImportFileError("The file is empty.")
    delimiter = _delimiter(text)
    # Strict: a quote left open (which would swallow every row after it) is refused, not read on.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        header = next(reader)
        for number, cells in enumerate(reader, start=2):
            if any(cell.strip() for cell in cells):
                rows.append((number, cells))
            if len(rows) > MAX_ROWS:
                raise ImportFileError(f"At most {MAX_ROWS:,} abstracts per file. Split the file.")
    except csv.Error as error:
        raise ImportFileError(f"Line {reader.line_num:,} of the file cannot be read as CSV ({error}). Check its "
                              "quotes.") from None
    return [_column(cell) for cell in header], rows, delimiter


def _check_header(columns: list[str]) -> list[str]:
    """The columns not read; refuses a header without the required columns or with one twice."""
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ImportFileError(f"The first row must name the columns. Missing: {', '.join(missing)}. Expected: "
                              f"{', '.join(COLUMNS)}.")
    twice = sorted({name for name in columns if name and columns.count(name) > 1})
    if twice:
        raise ImportFileError(f"A column is named twice: {', '.join(twice)}.")
    return [name for name in columns if name not in COLUMNS and name]


# ---------------------------------------------------------------- one row

def _session_id(activity: Activity, text: str) -> tuple[Optional[int], Optional[str]]:
    """The agenda session a cell names, by title or by local start: (id, None), or (None, a problem)."""
    text = " ".join(text.split())
    if not text:
        return None, None
    titled = [s for s in activity.sessions if title_key(s.title) == title_key(text)]
    if len(titled) == 1:
        return titled[0].id, None
    for pattern in SESSION_TIME_FORMATS:
        try:
            local = datetime.strptime(text, pattern)
        except ValueError:
            continue
        starting = [s for s in activity.sessions
                    if utc_to_local(s.start_dt, activity.time_zone).replace(second=0, microsecond=0, tzinfo=None) == local]
        if len(starting) == 1:
            return starting[0].id, None
        if len(starting) > 1:
            return None, f"{len(starting)} sessions start at {text}: give the session's title instead."
        return None, f"No session of the agenda starts at {text} ({activity.time_zone} time)."
    if titled:
        return None, (f"{len(titled)} sessions are titled “{text}”: give the session's start instead "
                      "(YYYY-MM-DD HH:MM, local time).")
    return None, f"No session of this activity's agenda is titled “{text}”."


def _row_fields(activity: Activity, cells: dict[str, str], *, publish: bool,
                existing) -> tuple[Optional[AbstractFields], list[tuple[str, str]]]:
    found: list[tuple[str, str]] = []
    try:
        authors = parse_author_list(cells["authors"])
    except ValueError as error:
        authors = []
        found.append(("authors", str(error)))
    try:
        keywords = parse_keywords(cells.get("keywords", ""))
    except ValueError as error:
        keywords = []
        found.append(("keywords", str(error)))
    written = " ".join(cells["presentation_type"].split()).casefold()
    presentation_type = PRESENTATION_WORDS.get(written, "")
    if not presentation_type:
        found.append(("presentation_type", f"Write oral or poster{f' (not “{written}”)' if written else ''}."))
    session_id, problem = _session_id(activity, cells.get("session", ""))
    if problem:
        found.append(("session", problem))
    topic = canonical_topic(cells.get("topic", ""))
    if topic is None:
        found.append(("topic", f"“{single_line(cells['topic']).strip()[:60]}” is not a topic of the list (e.g. "
                               f"{', '.join(SPECIALTIES[:3])})."))
    elif not topic:
        topic = activity.specialty if activity.specialty in SPECIALTIES else ""
    fields = AbstractFields(
        title=" ".join(single_line(cells["title"]).split()), authors=authors,
        **{name: without_controls(cells[name]).strip() for name, _ in SECTIONS},
        presentation_type=presentation_type or PresentationType.ORAL.value, keywords=keywords,
        session_id=session_id, topic=topic or "",
        is_published=True if publish else bool(existing is not None and existing.is_published))
    reported = {name for name, _ in found}
    found += [(name, message) for name, message in problems(activity, fields, abstract=existing)
              if name not in reported]
    return (None if found else fields), found


def import_abstracts(activity: Activity, data: bytes, *, publish: bool = False, max_bytes: int,
                     now: Optional[datetime] = None) -> ImportReport:
    """Import the file's rows into the activity (see the module's docstring); flushes, never commits."""
    if activity.is_cancelled:
        raise ImportFileError("This activity was cancelled: its abstracts can no longer change.")
    columns, rows, delimiter = read_csv(data, max_bytes=max_bytes)
    report = ImportReport(ignored_columns=_check_header(columns), delimiter=delimiter)
    if not rows:
        raise ImportFileError("The file has a header but no abstracts.")
    now = now or now_utc()
    seen: dict[str, int] = {}
    for number, values in rows:
        report.rows += 1
        if len(values) > len(columns):
            report.problems.append(RowProblem(number, "row", f"This row has {len(values)} cells, the header "
                                                              f"{len(columns)} columns (a separator outside quotes?)."))
            continue
        cells = {name: (values[i] if i < len(values) else "") for i, name in enumerate(columns) if name in COLUMNS}
        key = title_key(single_line(cells["title"]))
        if key and key in seen:
            report.problems.append(RowProblem(number, "title", f"Row {seen[key]} has this title too: each abstract "
                                                               "once per file."))
            continue
        if key:
            seen[key] = number
        existing = find_by_title(activity, cells["title"]) if key else None
        fields, found = _row_fields(activity, cells, publish=publish, existing=existing)
        report.problems += [RowProblem(number, name, message) for name, message in found]
        if fields is None:
            continue
        try:
            with db.session.begin_nested():
                if existing is None:
                    abstract = create_abstract(activity, fields, now=now)
                else:
                    abstract = update_abstract(existing, fields, now=now)
        except AbstractError as error:
            report.problems.append(RowProblem(number, error.field or "row", error.message))
            continue
        except IntegrityError:  # another request saved this title meanwhile
            report.problems.append(RowProblem(number, "title", "An abstract with this title was saved at the same "
                                                               "time. Import the file again to update it."))
            continue
        except StaleDataError:  # the abstract this row updates was deleted meanwhile
            report.problems.append(RowProblem(number, "title", "The abstract with this title was deleted at the same "
                                                               "time. Import the file again to add it."))
            continue
        report.imported.append(ImportedRow(number, abstract.id, abstract.title, existing is None))
    return report
