"""What the registration desk prints from the roster (issue 14, point 13): a sign-in sheet and name badges, as PDFs.

`build_sign_in_sheet_pdf` and `build_badges_pdf` are pure: plain data in (a `PrintedMeeting` and `Attendee`s),
bytes out, like the certificates. `printed_meeting` and `attendees` make that data from an activity and its
roster: the confirmed registrants, by last name. Names print in every script (cme.pdffonts: Fira Sans, CJK in CID
fonts); long ones shrink, then wrap, then end with an ellipsis, never running out of their box.

- Sign-in sheet: US Letter portrait; on every page the same header (provider, activity title, dates, venue) and
  the columns (#, name, degree, profession, signature box), and "Page N of M" at the foot. The last page's spare
  rows stay blank, for walk-ins to sign.
- Badges: Avery 5392 layout (3 x 4 in inserts, 2 across and 3 down on a Letter sheet: 1 in top margin, 1/4 in
  side margins): the activity title, the name large, degree and profession smaller, dates and city. The last
  sheet's spare badges carry the activity and a line to write a walk-in's name on.
"""
from __future__ import annotations

import io
import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen.canvas import Canvas

from cme.activities.models import Activity
from cme.pdffonts import draw, fit, width
from cme.registration.models import Registration
from cme.timeutil import format_span, zone

PAGE_WIDTH, PAGE_HEIGHT = letter
BRAND = HexColor("#0b5c70")
INK = HexColor("#1d2a35")
MUTED = HexColor("#52606d")
RULE = HexColor("#9aa5b1")
SHADE = HexColor("#e8f4f7")
GUIDE = HexColor("#d9e2ec")


@dataclass(frozen=True)
class PrintedMeeting:
    """The activity as the printouts name it."""

    provider: str
    title: str
    dates: str  # the full span with times, for the sheet: "Tue Jun 2, 8:00 AM EDT – Wed Jun 3, 2026, 8:00 PM EDT"
    days: str  # the days only, for a badge: "Jun 2 – 3, 2026"
    venue: str  # the full address, for the sheet
    city: str  # "New York, NY", for a badge


@dataclass(frozen=True)
class Attendee:
    name: str
    degree: str = ""
    profession: str = ""


# ---------------------------------------------------------------- from the roster

def printed_meeting(activity: Activity, *, provider: str) -> PrintedMeeting:
    return PrintedMeeting(provider=provider, title=activity.title,
                          dates=format_span(activity.start_dt, activity.end_dt, activity.time_zone),
                          days=day_span(activity.start_dt, activity.end_dt, activity.time_zone),
                          venue=activity.full_address or activity.location_line,
                          city=", ".join(p for p in (activity.city, activity.state) if p))


def day_span(start: datetime, end: datetime, zone_name: str) -> str:
    """'Tue Jun 2, 2026', 'Jun 2 – 3, 2026', 'May 30 – Jun 2, 2026' or 'Dec 30, 2026 – Jan 2, 2027'."""
    tz = zone(zone_name)
    a, b = start.astimezone(tz).date(), end.astimezone(tz).date()
    if a == b:
        return f"{a:%a %b %-d, %Y}"
    if a.year != b.year:
        return f"{a:%b %-d, %Y} – {b:%b %-d, %Y}"
    if a.month != b.month:
        return f"{a:%b %-d} – {b:%b %-d, %Y}"
    return f"{a:%b %-d} – {b:%-d, %Y}"


def attendees(registrations: Iterable[Registration]) -> list[Attendee]:
    """The confirmed registrants (who is expected at the door), by last name."""
    people = [Attendee(r.full_name, r.degree, r.profession_label) for r in registrations if r.is_confirmed]
    return sorted(people, key=lambda a: last_name_key(a.name))


SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v"}


def last_name_key(name: str) -> tuple[str, str]:
    """Sorts by last name: the part before a comma ("Lovelace, Ada"), else the last word that is not a suffix
    (Jr., III); a name written without spaces (張偉, family name first) sorts as written. Accents and case do not
    count (Ó sorts with O)."""
    if "," in name:
        last = name.split(",", 1)[0]
    else:
        words = name.split()
        while len(words) > 1 and words[-1].rstrip(".").casefold() in SUFFIXES:
            words.pop()
        last = words[-1] if words else ""
    return _folded(last), _folded(name)


# Latin letters that Unicode does not decompose into a base letter and a mark, sorted with their base letter.
_UNDECOMPOSED = str.maketrans({"ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ð": "d", "ħ": "h",
                               "ı": "i", "ß": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "þ": "th"})


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSED))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


# ---------------------------------------------------------------- drawing helpers

def _lines(canvas: Canvas, lines: tuple[str, ...], x: float, first_baseline: float, size: float, *, bold: bool,
           colour: Color, leading: float, align: str = "left") -> None:
    canvas.setFillColor(colour)
    for i, line in enumerate(lines):
        draw(canvas, x, first_baseline - i * leading, line, size, bold=bold, align=align)


def _new_canvas(title: str, author: str) -> tuple[Canvas, io.BytesIO]:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=letter, pageCompression=1, invariant=1)
    canvas.setTitle(title)
    canvas.setAuthor(author)
    return canvas, buffer


# ---------------------------------------------------------------- sign-in sheet

MARGIN = 36
WIDTH = PAGE_WIDTH - 2 * MARGIN
# (heading, width): 540 points, the page less its margins.
COLUMNS = (("#", 26), ("Name", 200), ("Degree", 62), ("Profession", 100), ("Signature", 152))
ROW_HEIGHT = 30
HEAD_ROW_HEIGHT = 18
TABLE_BOTTOM = MARGIN + 12  # the footer's line sits below
CELL_PAD = 5


@dataclass(frozen=True)
class _SheetHeader:
    title: tuple[str, ...]
    title_size: float
    table_top: float  # the top of the table's heading row

    @property
    def rows_per_page(self) -> int:
        return int((self.table_top - HEAD_ROW_HEIGHT - TABLE_BOTTOM) // ROW_HEIGHT)


def _sheet_header(meeting: PrintedMeeting) -> _SheetHeader:
    title = fit(meeting.title, size=14, min_size=10, limit=WIDTH, max_lines=2, bold=True, shrink_first=False)
    title_bottom = PAGE_HEIGHT - MARGIN - 44 - (len(title.lines) - 1) * title.size * 1.2
    return _SheetHeader(title.lines, title.size, title_bottom - 40)


def _draw_sheet_header(canvas: Canvas, meeting: PrintedMeeting, header: _SheetHeader, count: int) -> None:
    top = PAGE_HEIGHT - MARGIN
    provider = fit(meeting.provider.upper(), size=8.5, min_size=7, limit=WIDTH * 0.7, max_lines=1, bold=True)
    _lines(canvas, provider.lines, MARGIN, top - 8, provider.size, bold=True, colour=BRAND, leading=10)
    canvas.setFillColor(MUTED)
    people = f"{count} registrant" + ("" if count == 1 else "s")
    draw(canvas, PAGE_WIDTH - MARGIN - width(people, 8.5), top - 8, people, 8.5)
    _lines(canvas, ("Sign-in sheet",), MARGIN, top - 27, 16, bold=True, colour=INK, leading=16)
    _lines(canvas, header.title, MARGIN, top - 44, header.title_size, bold=True, colour=INK,
           leading=header.title_size * 1.2)
    y = top - 44 - (len(header.title) - 1) * header.title_size * 1.2
    for text, colour, offset in ((meeting.dates, INK, 15), (meeting.venue, MUTED, 27)):
        line = fit(text, size=9.5, min_size=7.5, limit=WIDTH, max_lines=1)
        _lines(canvas, line.lines, MARGIN, y - offset, line.size, bold=False, colour=colour, leading=line.size)
    # The table's heading row.
    canvas.setFillColor(SHADE)
    canvas.rect(MARGIN, header.table_top - HEAD_ROW_HEIGHT, WIDTH, HEAD_ROW_HEIGHT, stroke=0, fill=1)
    x = MARGIN
    canvas.setFillColor(INK)
    for heading, column_width in COLUMNS:
        draw(canvas, x + CELL_PAD, header.table_top - 12.5, heading, 8.5, bold=True)
        x += column_width


def _draw_cell(canvas: Canvas, text: str, x: float, cell_width: float, row_top: float, *, size: float, min_size: float,
               max_lines: int, colour: Color = INK, bold: bool = False, shrink_first: bool = True) -> None:
    if not text:
        return
    fitted = fit(text, size=size, min_size=min_size, limit=cell_width - 2 * CELL_PAD, max_lines=max_lines, bold=bold,
                 shrink_first=shrink_first)
    leading = fitted.size * 1.15
    centre = row_top - ROW_HEIGHT / 2
    first = centre + (len(fitted.lines) - 1) * leading / 2 - 3.5  # one baseline for a row's one-line cells
    _lines(canvas, fitted.lines, x + CELL_PAD, first, fitted.size, bold=bold, colour=colour, leading=leading)


def _draw_rows(canvas: Canvas, header: _SheetHeader, rows: list[tuple[int, Attendee] | None]) -> None:
    top = header.table_top - HEAD_ROW_HEIGHT
    for i, row in enumerate(rows):
        row_top = top - i * ROW_HEIGHT
        if row is None:
            continue
        number, person = row
        xs = _column_xs()
        _draw_cell(canvas, f"{number}", xs[0], COLUMNS[0][1], row_top, size=8.5, min_size=6, max_lines=1, colour=MUTED)
        _draw_cell(canvas, person.name, xs[1], COLUMNS[1][1], row_top, size=10.5, min_size=7.5, max_lines=2, bold=True)
        _draw_cell(canvas, person.degree, xs[2], COLUMNS[2][1], row_top, size=9.5, min_size=6.5, max_lines=2)
        _draw_cell(canvas, person.profession, xs[3], COLUMNS[3][1], row_top, size=9, min_size=6.5, max_lines=2,
                   shrink_first=False)  # "Other healthcare professional" wraps before it shrinks
    # The grid: every cell a box, the signature's included.
    bottom = top - len(rows) * ROW_HEIGHT
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.5)
    canvas.rect(MARGIN, bottom, WIDTH, header.table_top - bottom, stroke=1, fill=0)
    for i in range(len(rows) + 1):
        canvas.line(MARGIN, top - i * ROW_HEIGHT, MARGIN + WIDTH, top - i * ROW_HEIGHT)
    for x in _column_xs()[1:]:
        canvas.line(x, bottom, x, header.table_top)


def _column_xs() -> list[float]:
    xs, x = [], MARGIN
    for _, column_width in COLUMNS:
        xs.append(x)
        x += column_width
    return xs


def build_sign_in_sheet_pdf(meeting: PrintedMeeting, people: list[Attendee]) -> bytes:
    """The sign-in sheet: `people` in the order given (attendees() sorts them by last name)."""
    canvas, buffer = _new_canvas(f"Sign-in sheet: {meeting.title}", meeting.provider)
    header = _sheet_header(meeting)
    per_page = header.rows_per_page
    pages = max(1, math.ceil(len(people) / per_page))
    numbered: list[tuple[int, Attendee] | None] = list(enumerate(people, start=1))
    numbered += [None] * (pages * per_page - len(numbered))
    for page in range(pages):
        _draw_sheet_header(canvas, meeting, header, len(people))
        _draw_rows(canvas, header, numbered[page * per_page:(page + 1) * per_page])
        canvas.setFillColor(MUTED)
        footer = f"Page {page + 1} of {pages}"
        draw(canvas, PAGE_WIDTH - MARGIN - width(footer, 8.5), MARGIN - 4, footer, 8.5)
        note = fit(f"Sign-in sheet · {meeting.title}", size=8.5, min_size=8.5, limit=WIDTH - 90, max_lines=1)
        draw(canvas, MARGIN, MARGIN - 4, note.lines[0], note.size)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# ---------------------------------------------------------------- badges (Avery 5392)

BADGE_WIDTH, BADGE_HEIGHT = 4 * 72, 3 * 72
BADGE_LEFT, BADGE_TOP = 0.25 * 72, PAGE_HEIGHT - 72  # the sheet's side and top margins
BADGES_ACROSS, BADGES_DOWN = 2, 3
BADGES_PER_PAGE = BADGES_ACROSS * BADGES_DOWN
BADGE_PAD = 16
BADGE_TEXT = BADGE_WIDTH - 2 * BADGE_PAD


def badge_origin(index: int) -> tuple[float, float]:
    """The lower-left corner of the badge at this place on its sheet (0 to 5, across then down)."""
    column, row = index % BADGES_ACROSS, index // BADGES_ACROSS
    return BADGE_LEFT + column * BADGE_WIDTH, BADGE_TOP - (row + 1) * BADGE_HEIGHT


def _draw_badge(canvas: Canvas, x: float, y: float, meeting: PrintedMeeting, person: Attendee | None) -> None:
    centre = x + BADGE_WIDTH / 2
    top = y + BADGE_HEIGHT
    # A light outline: on perforated inserts it falls on the cut, on plain paper it is where to cut.
    canvas.setStrokeColor(GUIDE)
    canvas.setLineWidth(0.5)
    canvas.rect(x, y, BADGE_WIDTH, BADGE_HEIGHT, stroke=1, fill=0)
    title = fit(meeting.title, size=10, min_size=7.5, limit=BADGE_TEXT, max_lines=2, bold=True, shrink_first=False)
    _lines(canvas, title.lines, centre, top - BADGE_PAD - title.size * 0.8, title.size, bold=True, colour=BRAND,
           leading=title.size * 1.15, align="center")
    rule_y = top - 50
    canvas.setStrokeColor(BRAND)
    canvas.setLineWidth(1)
    canvas.line(x + BADGE_PAD, rule_y, x + BADGE_WIDTH - BADGE_PAD, rule_y)
    footer = fit(" · ".join(p for p in (meeting.days, meeting.city) if p), size=8.5, min_size=7, limit=BADGE_TEXT,
                 max_lines=1)
    _lines(canvas, footer.lines, centre, y + BADGE_PAD, footer.size, bold=False, colour=MUTED, leading=footer.size,
           align="center")
    area_top, area_bottom = rule_y - 6, y + BADGE_PAD + footer.size + 8
    if person is None:  # a spare badge: a line to write a name on
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        middle = (area_top + area_bottom) / 2 - 10
        canvas.line(x + BADGE_PAD + 12, middle, x + BADGE_WIDTH - BADGE_PAD - 12, middle)
        return
    name = fit(person.name, size=30, min_size=14, limit=BADGE_TEXT, max_lines=2, bold=True)
    name_leading = name.size * 1.1
    blocks: list[tuple[tuple[str, ...], float, bool, Color, float]] = [(name.lines, name.size, True, INK, name_leading)]
    for text, size, colour in ((person.degree, 15, INK), (person.profession, 10.5, MUTED)):
        if text:
            fitted = fit(text, size=size, min_size=7, limit=BADGE_TEXT, max_lines=1)
            blocks.append((fitted.lines, fitted.size, False, colour, fitted.size * 1.2))
    gaps = [6] * (len(blocks) - 1)
    height = sum(size + (len(lines) - 1) * leading for lines, size, _, _, leading in blocks) + sum(gaps)
    baseline = (area_top + area_bottom) / 2 + height / 2
    for i, (lines, size, bold, colour, leading) in enumerate(blocks):
        baseline -= size * 0.8
        _lines(canvas, lines, centre, baseline, size, bold=bold, colour=colour, leading=leading, align="center")
        baseline -= (len(lines) - 1) * leading + size * 0.2 + (gaps[i] if i < len(gaps) else 0)


def build_badges_pdf(meeting: PrintedMeeting, people: list[Attendee]) -> bytes:
    """Name badges, six to a Letter sheet, in the order given; the last sheet's spare places are blank badges."""
    canvas, buffer = _new_canvas(f"Name badges: {meeting.title}", meeting.provider)
    pages = max(1, math.ceil(len(people) / BADGES_PER_PAGE))
    places: list[Attendee | None] = [*people, *[None] * (pages * BADGES_PER_PAGE - len(people))]
    for page in range(pages):
        for index in range(BADGES_PER_PAGE):
            _draw_badge(canvas, *badge_origin(index), meeting, places[page * BADGES_PER_PAGE + index])
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
