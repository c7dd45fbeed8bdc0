"""Abstracts: the organizer's operations (add, edit, publish, delete), the rules every abstract keeps
(`problems`), how authors and keywords are written down (`parse_authors`, `parse_author_list`,
`parse_keywords`), and the public read side (the list with its filters, one abstract).

One way of writing an author, in the form and in the CSV import: `Name (Affiliation)`, with `*` before the name
of the presenting author (`*Maria Lopez (University of Washington, Seattle)`). The form takes one author per line,
the CSV's authors cell separates them with `;` (a `;` inside the parentheses belongs to the affiliation)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from sqlalchemy import Select, func, select
from sqlalchemy.orm import contains_eager, selectinload

from cme.activities.models import SPECIALTIES, Activity, ActivitySession, ActivityStatus
from cme.errors import DomainError
from cme.extensions import db
from cme.library.abstracts.models import (
    AFFILIATION_MAX, AUTHOR_NAME_MAX, KEYWORD_MAX, KEYWORDS_MAX, MAX_AUTHORS, MAX_KEYWORDS, SECTION_MAX, SECTIONS,
    TITLE_MAX, Abstract, AbstractAuthor, PresentationType, title_key,
)
from cme.text import single_line, without_controls
from cme.timeutil import now_utc

PRESENTING_MARK = "*"
DUPLICATE_TITLE = "Another abstract of this activity has this title."


class AbstractError(DomainError):
    """A refused abstract operation (`field` names the form field the message belongs to)."""


# ---------------------------------------------------------------- how authors and keywords are written

@dataclass(frozen=True)
class AuthorEntry:
    name: str
    affiliation: str = ""
    presenting: bool = False

    def as_text(self) -> str:
        """The author as typed: `*Name (Affiliation)`."""
        mark = PRESENTING_MARK if self.presenting else ""
        return f"{mark}{self.name} ({self.affiliation})" if self.affiliation else f"{mark}{self.name}"


def parse_author(text: str) -> AuthorEntry:
    """One author written `Name (Affiliation)` (the affiliation is optional; `*` first marks the presenter).
    Raises ValueError with a message for people."""
    text = single_line(text).strip()
    presenting = text.startswith(PRESENTING_MARK)
    text = text.lstrip(PRESENTING_MARK).strip()
    affiliation = ""
    if "(" in text:
        opening = text.index("(")
        if not text.endswith(")"):
            raise ValueError(f"“{_clip(text)}”: end the affiliation with “)”, as in Maria Lopez (University of "
                             "Washington).")
        text, affiliation = text[:opening].strip(), text[opening + 1:-1].strip()
    elif text.endswith(")"):
        raise ValueError(f"“{_clip(text)}”: a “)” without its “(”.")
    name = " ".join(text.split())
    affiliation = " ".join(affiliation.split())
    if affiliation.count("(") != affiliation.count(")"):
        raise ValueError(f"“{_clip(name)}”: the parentheses of the affiliation do not match.")
    if not name:
        raise ValueError("An author needs a name before the affiliation.")
    if len(name) > AUTHOR_NAME_MAX:
        raise ValueError(f"“{_clip(name)}”: a name is at most {AUTHOR_NAME_MAX} characters.")
    if len(affiliation) > AFFILIATION_MAX:
        raise ValueError(f"“{_clip(name)}”: an affiliation is at most {AFFILIATION_MAX} characters.")
    return AuthorEntry(name, affiliation, presenting)


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _split_outside_parentheses(text: str, separator: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")" and depth > 0)
        if ch == separator and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [*parts, current]


def parse_authors(text: str) -> list[AuthorEntry]:
    """The form's authors: one per line. Raises ValueError naming the line."""
    authors = []
    lines = [line for line in (text or "").splitlines() if line.strip()]
    for n, line in enumerate(lines, start=1):
        if len(_split_outside_parentheses(line, ";")) > 1:
            raise ValueError(f"Line {n}: one author per line, with the affiliation in parentheses: "
                             "Maria Lopez (University of Washington).")
        try:
            authors.append(parse_author(line))
        except ValueError as error:
            raise ValueError(f"Line {n}: {error}") from None
    return authors


def parse_author_list(text: str) -> list[AuthorEntry]:
    """The CSV's authors cell: `Name (Affiliation); Name (Affiliation)`. Raises ValueError naming the author."""
    authors = []
    parts = [part for part in _split_outside_parentheses(single_line(text or ""), ";") if part.strip()]
    for n, part in enumerate(parts, start=1):
        try:
            authors.append(parse_author(part))
        except ValueError as error:
            raise ValueError(f"Author {n}: {error}") from None
    return authors


def authors_text(authors: list[AbstractAuthor], separator: str = "\n") -> str:
    """Stored authors written as the form (or, with "; ", the CSV) takes them."""
    return separator.join(AuthorEntry(a.name, a.affiliation, a.is_presenting).as_text() for a in authors)


KEYWORD_SEPARATORS = re.compile(r"[,;\n]")


def parse_keywords(text: str) -> list[str]:
    """Keywords separated by commas or semicolons, each once (case aside). Raises ValueError."""
    keywords: list[str] = []
    for part in KEYWORD_SEPARATORS.split(text or ""):
        keyword = " ".join(single_line(part).split())
        if not keyword or keyword.casefold() in (k.casefold() for k in keywords):
            continue
        if len(keyword) > KEYWORD_MAX:
            raise ValueError(f"“{_clip(keyword)}”: a keyword is at most {KEYWORD_MAX} characters.")
        keywords.append(keyword)
    if len(keywords) > MAX_KEYWORDS:
        raise ValueError(f"At most {MAX_KEYWORDS} keywords ({len(keywords)} given).")
    if len(", ".join(keywords)) > KEYWORDS_MAX:
        raise ValueError(f"The keywords are at most {KEYWORDS_MAX} characters together.")
    return keywords


def canonical_topic(text: str) -> Optional[str]:
    """The topic of the vocabulary (`SPECIALTIES`) the text names (case aside), "" for none, None if unknown."""
    wanted = " ".join((text or "").split()).casefold()
    if not wanted:
        return ""
    return next((topic for topic in SPECIALTIES if topic.casefold() == wanted), None)


# ---------------------------------------------------------------- the rules of an abstract

@dataclass
class AbstractFields:
    """What an abstract says, as the form or a CSV row gives it (text already on its lines, stripped)."""

    title: str
    authors: list[AuthorEntry]
    background: str
    methods: str
    results: str
    conclusions: str
    presentation_type: str
    keywords: list[str] = field(default_factory=list)
    session_id: Optional[int] = None
    topic: str = ""
    is_published: bool = False


def problems(activity: Activity, fields: AbstractFields, *, abstract: Optional[Abstract] = None,
             check_title: bool = True) -> list[tuple[str, str]]:
    """Everything wrong with these fields for an abstract of `activity` (`abstract`: the one being edited), as
    (field, message), in the form's order. Empty: they may be saved. The one home of these rules: the form shows
    them beside its fields, the CSV import in its report."""
    found: list[tuple[str, str]] = []
    title = fields.title.strip()
    if not title:
        found.append(("title", "Enter the title."))
    elif len(title) > TITLE_MAX:
        found.append(("title", f"A title is at most {TITLE_MAX} characters."))
    elif check_title:
        other = find_by_title(activity, title)
        if other is not None and (abstract is None or other.id != abstract.id):
            found.append(("title", DUPLICATE_TITLE))
    if not fields.authors:
        found.append(("authors", "Enter at least one author."))
    elif len(fields.authors) > MAX_AUTHORS:
        found.append(("authors", f"At most {MAX_AUTHORS} authors ({len(fields.authors)} given)."))
    elif sum(a.presenting for a in fields.authors) > 1:
        found.append(("authors", f"Mark one presenting author with {PRESENTING_MARK} "
                                 f"({sum(a.presenting for a in fields.authors)} are marked)."))
    else:
        for author in fields.authors:
            if not author.name or len(author.name) > AUTHOR_NAME_MAX or len(author.affiliation) > AFFILIATION_MAX:
                found.append(("authors", f"“{_clip(author.name)}”: names are 1 to {AUTHOR_NAME_MAX} characters, "
                                         f"affiliations at most {AFFILIATION_MAX}."))
                break
    if fields.presentation_type not in {t.value for t in PresentationType}:
        found.append(("presentation_type", "Choose oral presentation or poster."))
    if fields.session_id is not None and not any(s.id == fields.session_id for s in activity.sessions):
        found.append(("session", "Choose a session of this activity's agenda."))
    if fields.topic and fields.topic not in SPECIALTIES:
        found.append(("topic", "Choose a topic from the list."))
    for name, heading in SECTIONS:
        value = getattr(fields, name).strip()
        if not value:
            found.append((name, f"Enter the {heading.lower()}."))
        elif len(value) > SECTION_MAX:
            found.append((name, f"The {heading.lower()} is at most {SECTION_MAX:,} characters ({len(value):,} given)."))
    try:
        parse_keywords(", ".join(fields.keywords))
    except ValueError as error:
        found.append(("keywords", str(error)))
    return found


def _refuse_if_wrong(activity: Activity, fields: AbstractFields, abstract: Optional[Abstract] = None) -> None:
    if activity.is_cancelled:
        raise AbstractError("This activity was cancelled: its abstracts can no longer change.", code="cancelled")
    found = problems(activity, fields, abstract=abstract)
    if found:
        name, message = found[0]
        raise AbstractError(message, code="duplicate_title" if message == DUPLICATE_TITLE else "invalid",
                            field=name, problems=[m for _, m in found[1:]])


def find_by_title(activity: Activity, title: str) -> Optional[Abstract]:
    return db.session.scalar(select(Abstract).where(Abstract.activity_id == activity.id,
                                                    Abstract.title_key == title_key(title)))


def _write(abstract: Abstract, fields: AbstractFields, now: datetime) -> None:
    abstract.title = " ".join(fields.title.split())
    abstract.title_key = title_key(fields.title)
    for name, _ in SECTIONS:
        setattr(abstract, name, without_controls(getattr(fields, name)).strip())
    abstract.keywords = ", ".join(fields.keywords)
    abstract.presentation_type = fields.presentation_type
    abstract.session_id = fields.session_id
    abstract.topic = fields.topic
    abstract.is_published = fields.is_published
    abstract.updated_dt = now
    # The old byline goes first (its own flush): a new one reuses positions and may move the presenter.
    if abstract.authors:
        abstract.authors.clear()
        db.session.flush()
    abstract.authors.extend(AbstractAuthor(position=n, name=a.name, affiliation=a.affiliation,
                                           is_presenting=a.presenting) for n, a in enumerate(fields.authors))


def create_abstract(activity: Activity, fields: AbstractFields, *, now: Optional[datetime] = None) -> Abstract:
    _refuse_if_wrong(activity, fields)
    now = now or now_utc()
    abstract = Abstract(activity_id=activity.id, activity=activity, created_dt=now)
    db.session.add(abstract)
    _write(abstract, fields, now)
    db.session.flush()
    return abstract


def update_abstract(abstract: Abstract, fields: AbstractFields, *, now: Optional[datetime] = None) -> Abstract:
    _refuse_if_wrong(abstract.activity, fields, abstract)
    _write(abstract, fields, now or now_utc())
    db.session.flush()
    return abstract


def set_published(abstract: Abstract, published: bool, *, now: Optional[datetime] = None) -> None:
    if abstract.activity.is_cancelled and published:
        raise AbstractError("This activity was cancelled: its abstracts are not published.", code="cancelled")
    if abstract.is_published != published:
        abstract.is_published = published
        abstract.updated_dt = now or now_utc()
        db.session.flush()


def delete_abstract(abstract: Abstract) -> None:
    db.session.delete(abstract)
    db.session.flush()


# ---------------------------------------------------------------- reading

def _in_book_order(stmt: Select) -> Select:
    """By session (in agenda order; none last), oral before poster, then title."""
    return stmt.outerjoin(ActivitySession, ActivitySession.id == Abstract.session_id).order_by(
        ActivitySession.start_dt.is_(None), ActivitySession.start_dt, ActivitySession.id,
        Abstract.presentation_type, Abstract.title_key)


def activity_abstracts(activity: Activity, *, published_only: bool = False) -> list[Abstract]:
    """The activity's abstracts in book order, authors loaded."""
    stmt = select(Abstract).where(Abstract.activity_id == activity.id).options(selectinload(Abstract.authors))
    if published_only:
        stmt = stmt.where(Abstract.is_published)
    return list(db.session.scalars(_in_book_order(stmt)))


def book_version(activity: Activity, *, published_only: bool) -> tuple:
    """What a book of abstracts is built from, in short: the activity's last change and each abstract's (an
    ETag). Sessions, speakers and credit changes touch the activity (cme.activities.models)."""
    stmt = select(Abstract.id, Abstract.updated_dt).where(Abstract.activity_id == activity.id).order_by(Abstract.id)
    if published_only:
        stmt = stmt.where(Abstract.is_published)
    return (activity.id, activity.status, activity.updated_dt.isoformat(),
            tuple((row.id, row.updated_dt.isoformat()) for row in db.session.execute(stmt)))


@dataclass
class AbstractFilters:
    activity_id: Optional[int] = None
    topic: str = ""
    presentation_type: str = ""

    def args(self) -> dict[str, str]:
        values = {"activity": str(self.activity_id or ""), "topic": self.topic, "type": self.presentation_type}
        return {k: v for k, v in values.items() if v}


def _public() -> Select:
    return (select(Abstract).join(Activity, Activity.id == Abstract.activity_id)
            .where(Abstract.is_published, Activity.status == ActivityStatus.PUBLISHED.value))


def public_abstracts(filters: AbstractFilters) -> Select:
    """Published abstracts of published activities matching the filters: newest activity first, then in book
    order."""
    stmt = _public()
    if filters.activity_id:
        stmt = stmt.where(Abstract.activity_id == filters.activity_id)
    if filters.topic:
        stmt = stmt.where(Abstract.topic == filters.topic)
    if filters.presentation_type:
        stmt = stmt.where(Abstract.presentation_type == filters.presentation_type)
    return _in_book_order(stmt.order_by(Activity.start_dt.desc(), Activity.id.desc()))


def public_page(filters: AbstractFilters, *, page: int = 1, per_page: int = 20):
    matching = public_abstracts(filters)
    result = db.paginate(matching.options(contains_eager(Abstract.activity), selectinload(Abstract.authors),
                                          selectinload(Abstract.session)),
                         page=max(page, 1), per_page=per_page, max_per_page=100, error_out=False, count=False)
    result.total = db.session.scalar(matching.with_only_columns(func.count(Abstract.id), maintain_column_froms=True)
                                     .order_by(None))
    return result


def public_abstract(abstract_id: int) -> Optional[Abstract]:
    return db.session.scalar(_public().where(Abstract.id == abstract_id).options(
        contains_eager(Abstract.activity), selectinload(Abstract.authors), selectinload(Abstract.session)))


def activities_with_public_abstracts() -> list[Activity]:
    """The published activities that have published abstracts, newest first (the list's activity filter)."""
    return list(db.session.scalars(select(Activity).where(
        Activity.status == ActivityStatus.PUBLISHED.value,
        Activity.id.in_(select(Abstract.activity_id).where(Abstract.is_published))).order_by(
        Activity.start_dt.desc(), Activity.id.desc())))


def public_count(activity: Activity) -> int:
    """How many of the activity's abstracts the public may read."""
    if activity.status != ActivityStatus.PUBLISHED:
        return 0
    return db.session.scalar(select(func.count(Abstract.id)).where(Abstract.activity_id == activity.id,
                                                                  Abstract.is_published)) or 0
