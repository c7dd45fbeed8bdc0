"""The book of abstracts of an activity (issue 15, point 5), as a PDF.

`build_book(Book) -> bytes` is pure: plain data in (a `Book` of `BookGroup`s of `BookAbstract`s), bytes out, like
the certificates and the desk's printouts. `book_for(activity, abstracts, ...)` makes that data from the models.

US Letter, in the PDFs' Unicode face (cme.pdffonts: Fira Sans, CJK in CID fonts), laid out by ReportLab's platypus:
- a title page (provider, "Book of abstracts", the activity, its dates and place, how many abstracts);
- the contents, with page numbers (a TableOfContents, filled by `multiBuild`'s passes), linked to the pages;
- the abstracts grouped by agenda session (in agenda order), then those presented in no session grouped by topic
  (a group starts on the page where the last one ended when there is room, its heading kept with its first
  abstract); each with its title, authors (the presenter underlined) with superscript numbers to the affiliations below,
  how it was presented, the structured body and its keywords;
- an author index: surname, given names, and the pages of their abstracts (an `AuthorIndex`, filled by the same
  passes). The surname is a name's last word ("Maria del Carmen Lopez" is indexed "Lopez, Maria del Carmen"),
  sorted without case or accents.
The PDF has an outline (bookmarks) of the groups and abstracts, and a footer with the activity and page number.
"""
from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Optional

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import (
    BaseDocTemplate, CondPageBreak, Frame, KeepTogether, NextPageTemplate, PageBreak, PageTemplate, Paragraph, Spacer, Table,
    TableStyle,
)
from reportlab.platypus.doctemplate import IndexingFlowable
from reportlab.platypus.flowables import Flowable, HRFlowable
from reportlab.platypus.tableofcontents import TableOfContents

from cme.activities.models import Activity
from cme.library.abstracts.models import Abstract
from cme.pdffonts import SANS, SANS_BOLD, draw, fit, markup, width
from cme.timeutil import format_span, zone

PAGE_WIDTH, PAGE_HEIGHT = letter
MARGIN = 60
FOOTER_Y = 32
BRAND = HexColor("#0b5c70")
INK = HexColor("#1d2a35")
MUTED = HexColor("#52606d")
RULE = HexColor("#d9e2ec")
INDEX_ENTRY = "AuthorIndexEntry"
GROUP_ROOM = 220  # points left on a page for a group to start there


# ---------------------------------------------------------------- the plain data

@dataclass(frozen=True)
class BookAuthor:
    name: str
    affiliation: str = ""
    presenting: bool = False


@dataclass(frozen=True)
class BookAbstract:
    key: str  # unique in the book: its anchor
    title: str
    authors: tuple[BookAuthor, ...]
    sections: tuple[tuple[str, str], ...]  # (heading, text)
    keywords: tuple[str, ...] = ()
    presentation: str = ""  # "Oral presentation", "Poster"
    topic: str = ""
    note: str = ""  # e.g. "Not published" in an organizer's proof


@dataclass(frozen=True)
class BookGroup:
    heading: str  # a session's title, or a topic
    detail: str  # when and where the session was, or "Topic"
    abstracts: tuple[BookAbstract, ...]


@dataclass(frozen=True)
class Book:
    provider: str
    title: str  # the activity's
    dates: str
    place: str
    generated: date
    groups: tuple[BookGroup, ...]
    note: str = ""  # e.g. "Proof for organizers: 2 abstracts not yet published"

    @property
    def abstract_count(self) -> int:
        return sum(len(group.abstracts) for group in self.groups)


# ---------------------------------------------------------------- from the models

def book_for(activity: Activity, abstracts: Iterable[Abstract], *, provider: str, today: date,
             proof: bool = False) -> Book:
    """The book of `abstracts` (in book order: cme.library.abstracts.service.activity_abstracts). `proof`: an
    organizer's copy, where unpublished abstracts say so."""
    abstracts = list(abstracts)
    sessions, topics = {}, {}
    for abstract in abstracts:
        if abstract.session is not None:
            sessions.setdefault(abstract.session.id, (abstract.session, []))[1].append(abstract)
        else:
            topics.setdefault(abstract.topic or "", []).append(abstract)
    tz = zone(activity.time_zone)
    groups = []
    for session, items in sorted(sessions.values(), key=lambda pair: (pair[0].start_dt, pair[0].id)):
        start, end = session.start_dt.astimezone(tz), session.end_dt.astimezone(tz)
        detail = f"{start:%A, %B %-d, %Y} · {start:%-I:%M %p} – {end:%-I:%M %p %Z}"
        groups.append(BookGroup(session.title, detail + (f" · {session.room}" if session.room else ""),
                                tuple(_book_abstract(a, proof) for a in items)))
    for topic in sorted(topics, key=lambda t: (t == "", t)):
        heading = topic or ("Other abstracts" if groups else "Abstracts")
        groups.append(BookGroup(heading, "Topic" if topic else "Not presented in an agenda session",
                                tuple(_book_abstract(a, proof) for a in topics[topic])))
    unpublished = sum(not a.is_published for a in abstracts)
    note = ""
    if proof:
        note = "Proof for organizers" + (f": {unpublished} of {len(abstracts)} abstracts not yet published"
                                         if unpublished else ": every abstract is published")
        if not activity.is_published:
            note += "; the activity itself is not published"
    place = activity.full_address if activity.is_live_meeting else "Online"
    return Book(provider=provider, title=activity.title, dates=format_span(activity.start_dt, activity.end_dt,
                                                                          activity.time_zone),
                place=place or activity.location_line, generated=today, groups=tuple(groups), note=note)


def _book_abstract(abstract: Abstract, proof: bool) -> BookAbstract:
    return BookAbstract(
        key=f"abstract-{abstract.id}", title=abstract.title,
        authors=tuple(BookAuthor(a.name, a.affiliation, a.is_presenting) for a in abstract.authors),
        sections=tuple(abstract.sections), keywords=tuple(abstract.keyword_list),
        presentation=abstract.presentation_label, topic=abstract.topic,
        note="Not published" if proof and not abstract.is_published else "")


# ---------------------------------------------------------------- names in the index

def split_name(name: str) -> tuple[str, str]:
    """(surname, given names): the last word is the surname; a degree after a comma is left out
    ("Maria Lopez, MD" is ("Lopez", "Maria")); a one-word name is all surname."""
    words = name.split(",")[0].split()
    if not words:
        return name.strip(), ""
    return words[-1], " ".join(words[:-1])


def sort_key(text: str) -> str:
    """Without case or accents: "Ødegaard" and "Álvarez" sort among the O and A."""
    decomposed = unicodedata.normalize("NFKD", text.replace("Ø", "O").replace("ø", "o"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


# ---------------------------------------------------------------- layout

def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("book-body", fontName=SANS, fontSize=9.5, leading=13, textColor=INK)
    return {
        "body": base,
        "section": base.clone("book-section", spaceAfter=4),
        "small": base.clone("book-small", fontSize=8.5, leading=11, textColor=MUTED),
        "byline": base.clone("book-byline", fontSize=10, leading=14, spaceAfter=2),
        "affiliation": base.clone("book-affiliation", fontSize=8.5, leading=11, textColor=MUTED),
        "meta": base.clone("book-meta", fontSize=8.5, leading=11, textColor=BRAND, fontName=SANS_BOLD,
                           spaceBefore=2, spaceAfter=6),
        "title": base.clone("book-title", fontName=SANS_BOLD, fontSize=12.5, leading=16, spaceBefore=4,
                            spaceAfter=4),
        "group": base.clone("book-group", fontName=SANS_BOLD, fontSize=17, leading=21, textColor=BRAND,
                            spaceAfter=2),
        "group-detail": base.clone("book-group-detail", fontSize=9.5, leading=13, textColor=MUTED, spaceAfter=10),
        "heading": base.clone("book-heading", fontName=SANS_BOLD, fontSize=20, leading=25, textColor=BRAND,
                              spaceAfter=14),
        "cover-provider": base.clone("book-cover-provider", fontName=SANS_BOLD, fontSize=13, leading=17,
                                     textColor=BRAND),
        "cover-kind": base.clone("book-cover-kind", fontName=SANS, fontSize=15, leading=20, textColor=MUTED,
                                 spaceBefore=150),
        "cover-title": base.clone("book-cover-title", fontName=SANS_BOLD, fontSize=26, leading=32, spaceBefore=8,
                                  spaceAfter=18),
        "cover-line": base.clone("book-cover-line", fontSize=12, leading=17),
        "cover-note": base.clone("book-cover-note", fontSize=10, leading=14, textColor=HexColor("#8a5a00"),
                                 spaceBefore=14),
        # The page number is drawn after an entry's last line, at the right margin: lines stop short of it.
        "toc-0": base.clone("book-toc-0", fontName=SANS_BOLD, fontSize=10.5, leading=14, spaceBefore=8,
                            rightIndent=30),
        "toc-1": base.clone("book-toc-1", fontSize=9.5, leading=12.5, leftIndent=14, firstLineIndent=0,
                            rightIndent=30),
        "index-letter": base.clone("book-index-letter", fontName=SANS_BOLD, fontSize=11, leading=14,
                                   textColor=BRAND),
        "index-name": base.clone("book-index-name", fontSize=9.5, leading=12),
        "index-pages": base.clone("book-index-pages", fontSize=9.5, leading=12),
    }


def _text(text: str) -> str:
    """Stored text as Paragraph markup: escaped, CJK in its font, line breaks kept."""
    return "<br/>".join(markup(line) for line in text.splitlines())


class Anchor(Flowable):
    """A named destination where it stands (zero size): the target of a contents line, an index page number and an
    outline entry. (A `<a name>` at the start of a paragraph would keep its first word from being broken.)"""

    def __init__(self, key: str):
        super().__init__()
        self.key = key

    def wrap(self, available_width, available_height):
        return 0, 0

    def draw(self) -> None:
        self.canv.bookmarkHorizontal(self.key, 0, 0)


class Entry(Paragraph):
    """A paragraph that is a contents entry (and an outline entry) at `level`, after its `Anchor` of `key`;
    `authors`: names the author index lists at its page."""

    def __init__(self, text: str, style: ParagraphStyle, *, level: int, label: str, key: str,
                 authors: tuple[str, ...] = (), listed: bool = True):
        super().__init__(text, style)
        self.book_entry = (level, label, key)
        self.book_authors = authors
        self.listed = listed  # in the contents (the contents' own heading is only in the outline)


def entry(text: str, style: ParagraphStyle, **kwargs) -> list:
    return [Anchor(kwargs["key"]), Entry(text, style, **kwargs)]


class AuthorIndex(IndexingFlowable):
    """Surname, given names -> the pages of their abstracts (linked), with a letter before each new initial. Drawn
    from the previous pass's entries, as TableOfContents is; `multiBuild` runs passes until they agree."""

    def __init__(self, styles: dict[str, ParagraphStyle]):
        self.styles = styles
        self._entries: dict[tuple[str, str, str, str], dict[int, str]] = {}
        self._last: dict[tuple[str, str, str, str], dict[int, str]] = {}
        self._table: Optional[Table] = None

    def isIndexing(self) -> int:
        return 1

    def beforeBuild(self) -> None:
        self._last, self._entries = self._entries, {}

    def isSatisfied(self) -> bool:
        return self._entries == self._last

    def notify(self, kind, stuff) -> None:
        if kind == INDEX_ENTRY:
            names, page, key = stuff
            for name in names:
                surname, given = split_name(name)
                self._entries.setdefault((sort_key(surname), sort_key(given), surname, given), {}).setdefault(page, key)

    def entries(self) -> list[tuple[str, list[int]]]:
        """("Surname, Given", pages) in index order, as last drawn."""
        return [(f"{surname}, {given}" if given else surname, sorted(pages))
                for (_, _, surname, given), pages in sorted(self._last.items())]

    def wrap(self, available_width, available_height):
        rows, commands, initial = [], [], None
        for (key_surname, _, surname, given), pages in sorted(self._last.items()):
            first = (key_surname[:1] or "#").upper()
            if first != initial:
                initial = first
                commands.append(("TOPPADDING", (0, len(rows)), (-1, len(rows)), 8 if rows else 0))
                rows.append([Paragraph(markup(first), self.styles["index-letter"]), ""])
            name = f"<b>{markup(surname)}</b>" + (f", {markup(given)}" if given else "")
            links = ", ".join(f'<a href="#{pages[page]}">{page}</a>' for page in sorted(pages))
            rows.append([Paragraph(name, self.styles["index-name"]), Paragraph(links, self.styles["index-pages"])])
        if not rows:
            rows = [[Paragraph("No authors.", self.styles["index-name"]), ""]]
        style = TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                            ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                            *commands])
        self._table = Table(rows, colWidths=(available_width * 0.62, available_width * 0.38), style=style,
                            repeatRows=0)
        self.width, self.height = self._table.wrapOn(self.canv, available_width, available_height)
        return self.width, self.height

    def split(self, available_width, available_height):
        return self._table.splitOn(self.canv, available_width, available_height)

    def drawOn(self, canvas, x, y, _sW=0):
        self._table.drawOn(canvas, x, y, _sW)


class BookTemplate(BaseDocTemplate):
    """A cover page, then body pages with the footer; contents entries, bookmarks and index entries are taken
    from the `Entry` paragraphs as they are drawn."""

    def __init__(self, buffer: io.BytesIO, book: Book):
        super().__init__(buffer, pagesize=letter, title=f"Book of abstracts: {book.title}", author=book.provider,
                         subject=book.title, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                         bottomMargin=MARGIN)
        self.book = book
        frame = Frame(MARGIN, MARGIN, PAGE_WIDTH - 2 * MARGIN, PAGE_HEIGHT - 2 * MARGIN, id="main",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([PageTemplate(id="cover", frames=[frame], onPage=self._cover),
                               PageTemplate(id="body", frames=[frame], onPage=self._footer)])

    def afterFlowable(self, flowable) -> None:
        entry = getattr(flowable, "book_entry", None)
        if entry is None:
            return
        level, label, key = entry
        self.canv.addOutlineEntry(label, key, level=level)
        if flowable.listed:
            self.notify("TOCEntry", (level, markup(label), self.page, key))
        if flowable.book_authors:
            self.notify(INDEX_ENTRY, (flowable.book_authors, self.page, key))

    def _cover(self, canvas, _doc) -> None:
        canvas.saveState()
        canvas.setFillColor(BRAND)
        canvas.rect(0, PAGE_HEIGHT - 18, PAGE_WIDTH, 18, stroke=0, fill=1)
        canvas.rect(0, 0, PAGE_WIDTH, 6, stroke=0, fill=1)
        canvas.restoreState()

    def _footer(self, canvas, doc) -> None:
        canvas.saveState()
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN, FOOTER_Y + 12, PAGE_WIDTH - MARGIN, FOOTER_Y + 12)
        canvas.setFillColor(MUTED)
        number = str(doc.page)
        room = PAGE_WIDTH - 2 * MARGIN - width(number, 8.5) - 24
        label = fit(f"Book of abstracts · {self.book.title}", size=8.5, min_size=8.5, limit=room, max_lines=1)
        draw(canvas, MARGIN, FOOTER_Y, label.lines[0], 8.5)
        draw(canvas, PAGE_WIDTH - MARGIN - width(number, 8.5), FOOTER_Y, number, 8.5)
        canvas.restoreState()


def _cover(book: Book, styles) -> list:
    count = book.abstract_count
    authors = {author.name for group in book.groups for item in group.abstracts for author in item.authors}
    story = [Paragraph(markup(book.provider), styles["cover-provider"]),
             Paragraph("Book of abstracts", styles["cover-kind"]),
             Paragraph(markup(book.title), styles["cover-title"]),
             Paragraph(markup(book.dates), styles["cover-line"])]
    if book.place:
        story.append(Paragraph(markup(book.place), styles["cover-line"]))
    story += [Spacer(1, 18), Paragraph(f"{count} abstract{'s' if count != 1 else ''} · {len(authors)} "
                                       f"author{'s' if len(authors) != 1 else ''}", styles["cover-line"])]
    if book.note:
        story.append(Paragraph(markup(book.note), styles["cover-note"]))
    story += [Spacer(1, 24), Paragraph(f"Generated {book.generated:%B %-d, %Y}", styles["small"])]
    return story


def _abstract(item: BookAbstract, styles, before: list = ()) -> list:
    numbers: dict[str, int] = {}
    for author in item.authors:
        if author.affiliation and author.affiliation not in numbers:
            numbers[author.affiliation] = len(numbers) + 1
    names = []
    for author in item.authors:
        name = markup(author.name)
        name = f"<u>{name}</u>" if author.presenting else name
        names.append(name + (f"<super>{numbers[author.affiliation]}</super>" if author.affiliation else ""))
    head = [*entry(markup(item.title), styles["title"], level=1, label=item.title, key=item.key,
                   authors=tuple(a.name for a in item.authors)),
            Paragraph(", ".join(names), styles["byline"])]
    if numbers:
        head.append(Paragraph("<br/>".join(f"<super>{n}</super>{markup(affiliation)}"
                                           for affiliation, n in numbers.items()), styles["affiliation"]))
    meta = " · ".join(part for part in (item.presentation, item.topic, item.note) if part)
    head.append(Paragraph(markup(meta), styles["meta"]))
    body = [Paragraph(f"<b>{markup(heading)}.</b> {_text(text)}", styles["section"]) for heading, text in item.sections]
    if item.keywords:
        body.append(Paragraph(f"<b>Keywords:</b> {markup(', '.join(item.keywords))}", styles["small"]))
    # The title (and a group's heading before its first abstract) never ends a page alone: it keeps its byline and
    # the first section.
    return [KeepTogether([*before, *head, *body[:1]]), *body[1:],
            HRFlowable(width="100%", thickness=0.5, color=RULE, spaceBefore=10, spaceAfter=8)]


def _contents(book: Book, styles) -> TableOfContents:
    """The contents, filled beforehand with every line it will have (at page 0): the first pass then lays the
    contents out at their final length, so a second pass that finds the same pages is the last (three without)."""
    contents = TableOfContents(levelStyles=[styles["toc-0"], styles["toc-1"]], dotsMinLevel=1, rightColumnWidth=36)
    for n, group in enumerate(book.groups):
        contents.addEntry(0, markup(group.heading), 0, f"group-{n}")
        for item in group.abstracts:
            contents.addEntry(1, markup(item.title), 0, item.key)
    contents.addEntry(0, "Author index", 0, "index")
    return contents


def build_book(book: Book) -> bytes:
    """The book of abstracts as PDF bytes."""
    buffer = io.BytesIO()
    document = BookTemplate(buffer, book)
    styles = _styles()
    story: list = [*_cover(book, styles), NextPageTemplate("body"), PageBreak(),
                   *entry("Contents", styles["heading"], level=0, label="Contents", key="contents", listed=False)]
    if book.groups:
        if any(author.presenting for group in book.groups for a in group.abstracts for author in a.authors):
            story.append(Paragraph("Presenting authors are underlined.", styles["small"]))
        story.append(_contents(book, styles))
    else:
        story.append(Paragraph("No abstracts yet.", styles["body"]))
    for n, group in enumerate(book.groups):
        # The first group after the contents on a new page; the next ones on the same page when there is room.
        story += [PageBreak()] if n == 0 else [CondPageBreak(GROUP_ROOM), Spacer(1, 12)]
        heading = [*entry(markup(group.heading), styles["group"], level=0, label=group.heading, key=f"group-{n}"),
                   Paragraph(markup(group.detail), styles["group-detail"])]
        for i, item in enumerate(group.abstracts):
            story += _abstract(item, styles, before=heading if i == 0 else [])
    if book.groups:
        index = AuthorIndex(styles)
        for group in book.groups:  # every name it will list, at page 0 (as the contents)
            for item in group.abstracts:
                index.notify(INDEX_ENTRY, ([author.name for author in item.authors], 0, item.key))
        story += [PageBreak(), *entry("Author index", styles["heading"], level=0, label="Author index", key="index"),
                  index]
    document.multiBuild(story)
    return buffer.getvalue()
