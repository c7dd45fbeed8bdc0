"""Full-text search over the library (issue 15, point 9): abstracts, news, slides and highlights found together,
ranked by relevance, with a highlighted snippet of where the words matched.

The index is one table, `library_search_entries`: a row per searchable item (its kind and id, a title, the body
text, and what the filters read: topics, activity, speaker, year; when it may be listed; whether anyone may read
its text). The database indexes it (the migration `a8c4e2f6d1b9` says how): SQLite through an FTS5 external-content
table kept by triggers, ranked by bm25 with the title weighted; PostgreSQL through a generated, weighted `tsvector`
with a GIN index, ranked by `ts_rank`, snippets by `ts_headline`. Words found in more than `MAX_RANKED` items rank
only the newest `MAX_RANKED` of them (the page says "more than"), so a search of the commonest words costs about
what a rarer one does; snippets are made for the page's rows only.

The index is kept by the transaction that changes an item: flush listeners note which items a flush touched (the
item, its children such as authors, or the activity it belongs to) and, after the flush, ask the item's provider
for its entry (`search_entry(item) -> Entry | None`; None: not listed, so the row goes). Each kind registers one
`Provider` in `PROVIDERS`. `reindex_all()` rebuilds everything (`flask cme reindex-library`, after a deploy).

Who may read what stays with each kind: a provider's `search_entry` decides what is listed, from the kind's own
rule (`Abstract.is_public`; `NewsArticle.is_published` and `Highlight.is_published` with the publication instant,
compared with the time of the search). An entry with
`access="restricted"` (a material the viewer may not open) is found by its title only and shown without its text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from math import ceil
from typing import Any, Callable, Collection, Optional, Sequence

from markupsafe import Markup, escape
from sqlalchemy import (ARRAY, Boolean, CheckConstraint, ColumnElement, ForeignKey, Index, Select, String, Subquery,
                        Text, UniqueConstraint, and_, bindparam, case, column, delete, event, func, insert, inspect,
                        literal_column, or_, select, table)
from sqlalchemy.orm import Mapped, Session, mapped_column, selectinload, undefer

from cme.activities.models import Activity, ActivitySession, ActivityStatus, Faculty, activity_organizers
from cme.enums import LabeledEnum, check_in
from cme.extensions import db
from cme.library import topics as topic_list
from cme.library.abstracts.models import Abstract, AbstractAuthor
from cme.library.highlights.models import Highlight
from cme.library.materials import release
from cme.library.materials.models import Material, Release
from cme.library.news.models import NewsArticle, NewsArticleTopic
from cme.library.news.service import publication_instant
from cme.registration.models import Registration, RegistrationStatus
from cme.timeutil import UTCDateTime, now_utc, utc_to_local


class SearchKind(LabeledEnum):
    ABSTRACT = "abstract", "Abstract"
    NEWS = "news", "News"
    MATERIAL = "material", "Slides"
    HIGHLIGHT = "highlight", "Conference highlights"


class Access(LabeledEnum):
    PUBLIC = "public", "Anyone may read it"
    RESTRICTED = "restricted", "Listed; its text only for those its release rule lets open it"


TITLE_MAX = 300
SPEAKER_MAX = 300
# Snippet markers inside the database's answer: characters no indexed text holds (`_clean` removes them), turned
# into <mark> after the rest is escaped, so they are the only HTML a snippet carries.
START, STOP = "\x02", "\x03"
_NOT_INDEXED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


class SearchEntry(db.Model):
    __tablename__ = "library_search_entries"
    __table_args__ = (
        CheckConstraint(check_in("kind", SearchKind), name="kind"),
        CheckConstraint(check_in("access", Access), name="access"),
        UniqueConstraint("kind", "item_id"),
        Index("ix_library_search_entries_year", "year"),  # the year filter's choices
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    item_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)
    topics: Mapped[str] = mapped_column(String(500), default="", server_default="")  # " slug slug " (topics.py)
    activity_id: Mapped[Optional[int]] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    speaker: Mapped[str] = mapped_column(String(SPEAKER_MAX), default="", server_default="")
    year: Mapped[Optional[int]]
    listed_from_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)  # listed once this instant has come
    access: Mapped[str] = mapped_column(String(20), default=Access.PUBLIC.value, server_default="public")
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


@dataclass(frozen=True)
class Entry:
    """What a provider says an item is, for the index."""

    title: str
    body: str
    topics: tuple[str, ...] = ()
    activity_id: Optional[int] = None
    speaker: str = ""
    year: Optional[int] = None
    listed_from_dt: Optional[datetime] = None
    access: str = Access.PUBLIC.value


@dataclass(frozen=True)
class Provider:
    """One kind of searchable item.

    - `search_entry(item)`: its entry, or None when it is not listed (a draft, an unpublished activity's);
    - `load(ids)`: the items with what `search_entry` reads, in one or a few queries;
    - `children`: classes whose rows belong to an item, with the attribute naming the item's id (its authors);
    - `parents`: classes an item reads from, with the attributes that matter and the query of the items of given
      parents (an activity's status or dates for its abstracts);
    - `link(item_id, title)`: where a result links, as (endpoint, arguments);
    - `openable(viewer, now)`: the ids of its restricted items the viewer may open now, or True for every one (an
      administrator); None: nobody opens a restricted entry through the search."""

    kind: str
    model: type
    search_entry: Callable[[Any], Optional[Entry]]
    load: Callable[[Sequence[int]], list[Any]]
    link: Callable[[int, str], tuple[str, dict[str, Any]]]
    children: dict[type, str] = field(default_factory=dict)
    parents: dict[type, tuple[tuple[str, ...], Callable[[set[int]], Select]]] = field(default_factory=dict)
    openable: Optional[Callable[[Any, datetime], Collection[int] | bool]] = None


PROVIDERS: dict[str, Provider] = {}


def register_provider(provider: Provider) -> None:
    PROVIDERS[provider.kind] = provider


# ---------------------------------------------------------------- providers: abstracts, news, highlights

def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower())[:60].strip("-")


def abstract_entry(abstract: Abstract) -> Optional[Entry]:
    """A published abstract of a published activity (`Abstract.is_public`), by its `search_text`."""
    if abstract.activity is None or not abstract.is_public:
        return None
    activity = abstract.activity
    presenting = [a.name for a in abstract.authors if a.is_presenting] or [a.name for a in abstract.authors[:1]]
    topics = tuple(t.slug for t in topic_list.TOPICS if t.matches(abstract.title, abstract.keywords, abstract.topic))
    return Entry(title=abstract.title, body=abstract.search_text, topics=topics, activity_id=activity.id,
                 speaker=", ".join(presenting), year=utc_to_local(activity.start_dt, activity.time_zone).year)


def _load_abstracts(ids: Sequence[int]) -> list[Abstract]:
    return list(db.session.scalars(select(Abstract).where(Abstract.id.in_(ids)).options(
        selectinload(Abstract.activity), selectinload(Abstract.authors))))


def news_entry(article: NewsArticle) -> Optional[Entry]:
    """A published article, listed from its publication instant (a scheduled one is indexed, and found once its
    day has come); by its `search_text`."""
    if not article.is_published:
        return None
    return Entry(title=article.title, body=article.search_text, topics=tuple(t.slug for t in article.topics),
                 speaker=article.source, year=article.publication_date.year,
                 listed_from_dt=publication_instant(article.publication_date))


def _load_news(ids: Sequence[int]) -> list[NewsArticle]:
    return list(db.session.scalars(select(NewsArticle).where(NewsArticle.id.in_(ids)).options(
        selectinload(NewsArticle.topic_links))))


def highlight_entry(highlight: Highlight) -> Optional[Entry]:
    """A published highlights page of a published activity, listed from its publication instant (as news), by its
    `search_text`."""
    activity = highlight.activity
    if activity is None or not highlight.is_published or activity.status != ActivityStatus.PUBLISHED:
        return None
    topics = tuple(t.slug for t in topic_list.TOPICS
                   if t.matches(highlight.title, activity.title, activity.topics or "", activity.specialty or ""))
    return Entry(title=highlight.title, body=highlight.search_text, topics=topics, activity_id=activity.id,
                 year=highlight.publication_date.year, listed_from_dt=publication_instant(highlight.publication_date))


def _load_highlights(ids: Sequence[int]) -> list[Highlight]:
    return list(db.session.scalars(select(Highlight).where(Highlight.id.in_(ids)).options(
        selectinload(Highlight.activity), selectinload(Highlight.abstracts))))


def _link(endpoint: str, key: str) -> Callable[[int, str], tuple[str, dict[str, Any]]]:
    def link(item_id: int, title: str) -> tuple[str, dict[str, Any]]:
        return endpoint, {key: item_id, "slug": _slug(title) or None}
    return link


register_provider(Provider(
    kind=SearchKind.ABSTRACT.value, model=Abstract, search_entry=abstract_entry, load=_load_abstracts,
    link=_link("abstracts.detail", "abstract_id"), children={AbstractAuthor: "abstract_id"},
    parents={Activity: (("status", "start_dt", "time_zone"),
                        lambda ids: select(Abstract.id).where(Abstract.activity_id.in_(ids)))}))
register_provider(Provider(
    kind=SearchKind.NEWS.value, model=NewsArticle, search_entry=news_entry, load=_load_news,
    link=_link("news.article", "article_id"), children={NewsArticleTopic: "article_id"}))
register_provider(Provider(
    kind=SearchKind.HIGHLIGHT.value, model=Highlight, search_entry=highlight_entry, load=_load_highlights,
    link=_link("highlights.detail", "highlight_id"),
    parents={Activity: (("status", "title", "topics", "specialty"),
                        lambda ids: select(Highlight.id).where(Highlight.activity_id.in_(ids)))}))


def material_entry(material: Material) -> Optional[Entry]:
    """Slides of a public activity, by their title, speaker, session and extracted text; topics through the
    activity (as highlights). `release` decides: "public" is read by anyone; "registrants" and "registrants after
    the session" are listed by title and read by those `release.may_open` lets open them (`_material_openable`);
    "organizers only" is never listed; an embargoed one is listed from its embargo's end."""
    activity = material.activity
    if activity is None or not activity.is_public or material.release == Release.ORGANIZERS:
        return None
    topics = tuple(t.slug for t in topic_list.TOPICS
                   if t.matches(material.title, activity.title, activity.topics or "", activity.specialty or ""))
    access = Access.PUBLIC.value if material.release == Release.PUBLIC else Access.RESTRICTED.value
    return Entry(title=material.title, body=material.search_text, topics=topics, activity_id=activity.id,
                 speaker=material.speaker_name, year=utc_to_local(activity.start_dt, activity.time_zone).year,
                 listed_from_dt=material.embargo_until_dt, access=access)


def _load_materials(ids: Sequence[int]) -> list[Material]:
    return list(db.session.scalars(select(Material).where(Material.id.in_(ids)).options(
        undefer(Material.text), selectinload(Material.activity), selectinload(Material.session),
        selectinload(Material.speaker))))


def _material_openable(viewer, now: datetime) -> Collection[int] | bool:
    """The restricted slides `viewer` may open now, by asking `release.may_open` of the materials of the activities
    they are registered for or organize (none for an anonymous visitor; all for an administrator)."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return ()
    if viewer.is_admin:
        return True
    mine = select(Registration.activity_id).where(Registration.user_id == viewer.id,
                                                  Registration.status == RegistrationStatus.CONFIRMED) \
        .union(select(activity_organizers.c.activity_id).where(activity_organizers.c.user_id == viewer.id))
    materials = list(db.session.scalars(
        select(Material).where(Material.activity_id.in_(mine), Material.release != Release.PUBLIC.value)
        .options(selectinload(Material.activity), selectinload(Material.session))))
    who = release.viewer_for(viewer, {m.activity_id for m in materials})
    return [m.id for m in materials if release.may_open(who, m, now)]


register_provider(Provider(
    kind=SearchKind.MATERIAL.value, model=Material, search_entry=material_entry, load=_load_materials,
    link=_link("materials.show", "material_id"), openable=_material_openable,
    parents={Activity: (("status", "title", "topics", "specialty", "start_dt", "time_zone"),
                        lambda ids: select(Material.id).where(Material.activity_id.in_(ids))),
             ActivitySession: (("title",), lambda ids: select(Material.id).where(Material.session_id.in_(ids))),
             Faculty: (("full_name", "degree"), lambda ids: select(Material.id).where(Material.speaker_id.in_(ids)))}))


# ---------------------------------------------------------------- keeping the index (flush listeners)

_NOTED = "cme.library.search.noted"


def register() -> None:
    """Attach the flush listeners (once; the app factory calls this)."""
    for name, listener in (("after_flush", _note_changes), ("after_flush_postexec", _write_noted),
                           ("after_rollback", _forget_noted)):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


def _note_changes(session: Session, _context) -> None:
    noted: dict[str, set] = session.info.setdefault(_NOTED, {})
    dirty = [obj for obj in session.dirty if session.is_modified(obj, include_collections=False)]
    changed = (*session.new, *dirty, *session.deleted)
    for provider in PROVIDERS.values():
        items, parents = noted.setdefault(provider.kind, set()), noted.setdefault(f"{provider.kind}:parents", set())
        for obj in changed:
            if isinstance(obj, provider.model):
                items.add(obj.id)
                continue
            name = next((n for cls, n in provider.children.items() if isinstance(obj, cls)), None)
            if name is not None:  # a child moved or removed still names its former item in the history
                items.update(i for i in (getattr(obj, name), *inspect(obj).attrs[name].history.deleted) if i)
                continue
            for cls, (attrs, _query) in provider.parents.items():
                if isinstance(obj, cls) and (obj in session.deleted or obj in session.new or any(
                        inspect(obj).attrs[a].history.has_changes() for a in attrs)):
                    parents.add((cls, obj.id))


def _write_noted(session: Session, _context) -> None:
    noted = session.info.pop(_NOTED, None)
    if not noted:
        return
    for provider in PROVIDERS.values():
        ids = {i for i in noted.get(provider.kind, ()) if i is not None}
        for cls, (_attrs, query) in provider.parents.items():
            parent_ids = {i for c, i in noted.get(f"{provider.kind}:parents", ()) if c is cls}
            if parent_ids:
                ids.update(session.scalars(query(parent_ids)))
        if ids:
            for obj in session.identity_map.values():  # what a loaded item holds may be stale (a deleted child)
                # Its identity, not `obj.id`: an expired item deleted by another transaction must not be loaded here.
                if isinstance(obj, provider.model) and (inspect(obj).identity or (None,))[0] in ids:
                    session.expire(obj)
            write_entries(provider, sorted(ids))


def _forget_noted(session: Session) -> None:
    session.info.pop(_NOTED, None)


def _clean(text: str, limit: int | None = None) -> str:
    text = _NOT_INDEXED.sub(" ", text or "")
    return text[:limit] if limit else text


def _row(provider: Provider, item_id: int, entry: Entry, now: datetime) -> dict:
    return dict(kind=provider.kind, item_id=item_id, title=_clean(entry.title, TITLE_MAX), body=_clean(entry.body),
                topics=f" {' '.join(entry.topics)} " if entry.topics else "", activity_id=entry.activity_id,
                speaker=_clean(entry.speaker, SPEAKER_MAX), year=entry.year, listed_from_dt=entry.listed_from_dt,
                access=entry.access, updated_dt=now)


def write_entries(provider: Provider, ids: Sequence[int]) -> None:
    """Replace the entries of these items of one kind with what their provider says now (removing those it no
    longer lists, and those of items that are gone)."""
    now = now_utc()
    rows = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for item in provider.load(chunk):
            entry = provider.search_entry(item)
            if entry is not None:
                rows.append(_row(provider, item.id, entry, now))
        db.session.execute(delete(SearchEntry).where(SearchEntry.kind == provider.kind,
                                                     SearchEntry.item_id.in_(chunk)))
    if rows:
        db.session.execute(insert(SearchEntry), rows)


def reindex_all() -> dict[str, int]:
    """Rebuild the whole index from the items (after a deploy, or to repair it): {kind: entries written}."""
    counts = {}
    db.session.execute(delete(SearchEntry))
    for provider in PROVIDERS.values():
        ids = list(db.session.scalars(select(provider.model.id).order_by(provider.model.id)))
        write_entries(provider, ids)
        counts[provider.kind] = db.session.scalar(select(func.count()).where(SearchEntry.kind == provider.kind))
    return counts


# ---------------------------------------------------------------- what a person types

MAX_QUERY_CHARS = 1000
MAX_TERMS = 24
_WORD = re.compile(r"\w+")
_PIECE = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # one word, or a phrase
    negated: bool = False


def parse_query(text: str) -> list[list[Term]]:
    """What was typed, as alternatives (split by OR) of terms that must all match: a word, a "quoted phrase", or
    a -term that must not. Only words survive (letters and digits): no operator of either database's syntax gets
    through, so no query is an error. Long queries are cut to their first MAX_TERMS terms."""
    groups: list[list[Term]] = [[]]
    count = 0
    for match in _PIECE.finditer((text or "")[:MAX_QUERY_CHARS]):
        minus, phrase, bare = match.groups()
        if bare == "OR":
            groups.append([])
            continue
        negated = bool(minus) or (bare is not None and bare.startswith("-") and len(bare) > 1)
        words = tuple(_WORD.findall(phrase if phrase is not None else bare))[:8]
        if words and count < MAX_TERMS:
            groups[-1].append(Term(words, negated))
            count += 1
    return [g for g in groups if any(not t.negated for t in g)]


def _fts5(groups: list[list[Term]]) -> str:
    def quoted(term: Term) -> str:
        return '"' + " ".join(term.words) + '"'

    parts = []
    for group in groups:
        text = " ".join(quoted(t) for t in group if not t.negated)
        text += "".join(f" NOT {quoted(t)}" for t in group if t.negated)
        parts.append(f"({text})")
    return " OR ".join(parts)


def _websearch(groups: list[list[Term]]) -> str:
    def quoted(term: Term) -> str:
        return ("-" if term.negated else "") + '"' + " ".join(term.words) + '"'

    return " or ".join(" ".join(quoted(t) for t in group) for group in groups)


# ---------------------------------------------------------------- searching

PER_PAGE = 20
# Words found in more items than this (the most common words of the library) rank only this many of them: the
# newest matches (by entry), so a search costs about the same whatever the words, and the page says "more than".
MAX_RANKED = 1000


@dataclass(frozen=True)
class SearchFilters:
    kind: str = ""
    topic: str = ""
    activity_id: Optional[int] = None
    speaker: str = ""
    year: Optional[int] = None

    def args(self) -> dict[str, Any]:
        """As query-string arguments (pagination links)."""
        found = {"type": self.kind, "topic": self.topic, "activity": self.activity_id, "speaker": self.speaker,
                 "year": self.year}
        return {k: v for k, v in found.items() if v}

    @property
    def any(self) -> bool:
        return bool(self.args())


@dataclass(frozen=True)
class Hit:
    kind: str
    item_id: int
    title: str
    title_html: Markup
    snippet_html: Optional[Markup]  # None: the viewer may not read its text
    endpoint: str
    url_args: dict[str, Any]
    activity_title: Optional[str]
    speaker: str
    year: Optional[int]

    @property
    def kind_label(self) -> str:
        return SearchKind(self.kind).label


@dataclass
class SearchPage:
    """A page of results, shaped like Flask-SQLAlchemy's pagination (the `pagination` macro reads it). `capped`:
    more than `total` items matched; only `total` of them (`MAX_RANKED`) were ranked and are shown in pages."""

    items: list[Hit]
    total: int
    page: int
    per_page: int
    capped: bool = False

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


# PostgreSQL's parser reads "<...>" as an HTML tag and "&...;" as an entity and leaves them out of a headline; its
# headlines are made of a text where these characters stand for them (`_shielded`), turned back here.
_SHIELD = {"<": "\x04", ">": "\x05", "&": "\x06"}


def marked(text: str | None) -> Markup:
    """The database's snippet, escaped, with only its match markers turned into <mark>."""
    text = text or ""
    for char, stand_in in _SHIELD.items():
        text = text.replace(stand_in, char)
    return Markup(str(escape(text)).replace(START, "<mark>").replace(STOP, "</mark>"))


def _shielded(value):
    for char, stand_in in _SHIELD.items():
        value = func.replace(value, char, stand_in)
    return value


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# The statements of a search are built once per process for each shape (the database, which filters are set, which
# kinds have restricted entries a viewer may open): SQL with parameters, no data (every search reads the index).
# Building them, and SQLAlchemy's cache key of them, cost about 2.5 ms a statement, as much as the database's
# ranking of a realistic search.

def _filtered(names: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """SQL of the filters set (named as in `SearchFilters.args`), over the parameters `_parameters` gives."""
    conditions = [or_(SearchEntry.listed_from_dt.is_(None), SearchEntry.listed_from_dt <= bindparam("now"))]
    if "type" in names:
        conditions.append(SearchEntry.kind == bindparam("kind"))
    if "topic" in names:
        conditions.append(SearchEntry.topics.like(bindparam("topic"), escape="\\"))
    if "activity" in names:
        conditions.append(SearchEntry.activity_id == bindparam("activity_id"))
    if "speaker" in names:
        conditions.append(func.lower(SearchEntry.speaker).like(bindparam("speaker"), escape="\\"))
    if "year" in names:
        conditions.append(SearchEntry.year == bindparam("year"))
    return conditions


def _openable(kinds: tuple[str, ...]) -> ColumnElement[bool]:
    """SQL: entries whose text the viewer may read: public ones, and restricted ones of these kinds that their
    provider opens to them (the parameters `open_<kind>`, the ids, and `open_every_<kind>`)."""
    opened = [and_(SearchEntry.kind == kind, or_(bindparam(f"open_every_{kind}", type_=Boolean),
                                                 SearchEntry.item_id.in_(bindparam(f"open_{kind}", expanding=True))))
              for kind in kinds]
    return or_(SearchEntry.access == Access.PUBLIC.value, *opened)


def _opening_kinds() -> tuple[str, ...]:
    return tuple(p.kind for p in PROVIDERS.values() if p.openable)


def _parameters(filters: SearchFilters, viewer, now: datetime) -> dict[str, Any]:
    """The values of the filters and of what the viewer may open, for the statements' parameters."""
    params: dict[str, Any] = dict(now=now, kind=filters.kind, topic=_like(f" {filters.topic} "),
                                  activity_id=filters.activity_id, speaker=_like(filters.speaker.lower()),
                                  year=filters.year)
    for kind in _opening_kinds():
        opened = PROVIDERS[kind].openable(viewer, now)
        params[f"open_every_{kind}"] = opened is True
        params[f"open_{kind}"] = [] if isinstance(opened, bool) else list(opened)
    return params


def search(text: str, filters: SearchFilters = SearchFilters(), *, viewer=None, page: int = 1,
           per_page: int = PER_PAGE, now: datetime | None = None, ranked_max: int | None = None) -> SearchPage:
    """A page of what matches `text` (ranked) within `filters`, or, with no words but some filter, what the filters
    select (newest first). On PostgreSQL one statement: the ranked page with its rows, their snippets and the
    number of matches; on SQLite two: the ranked page with the number of matches, then its rows with their snippets
    (a further one, the count, only for a page past the last).

    At most `ranked_max` (default `MAX_RANKED`) matches are ranked: the newest ones (the database's full-text index
    gives them in that order and stops there); when more match, the page is `capped` and its `total` is that
    bound."""
    now = now or now_utc()
    cap = ranked_max or MAX_RANKED
    groups = parse_query(text)
    page = max(page, 1)
    if not groups:
        if not filters.any:
            return SearchPage([], 0, 1, per_page)
        return _browse(filters, viewer, now, page, per_page)
    params = dict(_parameters(filters, viewer, now), candidates=cap + 1, cap=cap, limit=per_page,
                  offset=(page - 1) * per_page)
    shape = (tuple(filters.args()), _opening_kinds())
    if db.session.get_bind().dialect.name == "postgresql":
        words = sorted({w.lower() for g in groups for t in g if not t.negated for w in t.words})
        params.update(q=_websearch(groups), words=words[:MAX_TERMS])
        return _search_postgres(shape, params, page, per_page, cap)
    params.update(q=_fts5(groups))
    return _search_sqlite(shape, params, page, per_page, cap)


def _hit(row, title_html: Markup, snippet: Optional[Markup]) -> Hit:
    """A result from a row of the entry's `_HIT_COLUMNS` (and `may_read`)."""
    endpoint, url_args = PROVIDERS[row.kind].link(row.item_id, row.title)
    return Hit(kind=row.kind, item_id=row.item_id, title=row.title, title_html=title_html,
               snippet_html=snippet if row.may_read else None, endpoint=endpoint, url_args=url_args,
               activity_title=row.activity_title, speaker=row.speaker, year=row.year)


# What a result shows of its entry (never the body: a deck's text is long, and only its snippet is shown).
_HIT_COLUMNS = (SearchEntry.kind, SearchEntry.item_id, SearchEntry.title, SearchEntry.speaker, SearchEntry.year,
                Activity.title.label("activity_title"))


def _browse(filters: SearchFilters, viewer, now: datetime, page: int, per_page: int) -> SearchPage:
    select_page, count = _browse_statements(tuple(filters.args()), _opening_kinds())
    params = dict(_parameters(filters, viewer, now), limit=per_page, offset=(page - 1) * per_page)
    total = db.session.scalar(count, params)
    hits = [_hit(row, marked(row.title), marked(_lead(row.body))) for row in db.session.execute(select_page, params)]
    return SearchPage(hits, total, page, per_page)


@lru_cache(maxsize=64)
def _browse_statements(filtered: tuple[str, ...], opened: tuple[str, ...]) -> tuple[Select, Select]:
    conditions = _filtered(filtered)
    count = select(func.count()).select_from(SearchEntry).where(*conditions)
    select_page = (select(*_HIT_COLUMNS, SearchEntry.body, _openable(opened).label("may_read"))
                   .outerjoin(Activity, Activity.id == SearchEntry.activity_id).where(*conditions)
                   .order_by(SearchEntry.year.desc(), SearchEntry.id.desc())
                   .limit(bindparam("limit")).offset(bindparam("offset")))
    return select_page, count


def _lead(body: str, words: int = 40) -> str:
    parts = body.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def _ranked(candidates, rank) -> Subquery:
    """(id, rank, found: the number of candidates) of the page's rows, lowest `rank` first (the best), among the
    candidates (the newest cap + 1 matches, by id descending) less the oldest when there are cap + 1 of them: it
    only tells that more match. Parameters: `cap`, `limit`, `offset`."""
    counted = select(candidates.c.id, rank.label("rank"), func.count().over().label("found"),
                     func.min(candidates.c.id).over().label("oldest")).subquery()
    return (select(counted.c.id, counted.c.rank, counted.c.found)
            .where(or_(counted.c.found <= bindparam("cap"), counted.c.id != counted.c.oldest))
            .order_by(counted.c.rank, counted.c.id.desc()).limit(bindparam("limit")).offset(bindparam("offset"))
            .subquery("ranked"))


def _page(hits: list[Hit], found: int, page: int, per_page: int, cap: int) -> SearchPage:
    """`found` matches counted among at most cap + 1 candidates: more than cap, and the page says so."""
    return SearchPage(hits, min(found, cap), page, per_page, capped=found > cap)


def _count(stmt: Select, params: dict[str, Any], page: int) -> int:
    """The number of matches when the page asked for holds none (past the last page): counted only then."""
    return db.session.scalar(stmt, params) if page > 1 else 0


# SQLite: FTS5 over the entries (rowid = entry id). bm25: lower is better; the title weighs ten times the body.
_FTS = table("library_search_fts", column("rowid"), column("title"))
_TITLES = _FTS.alias("library_search_titles")


def _search_sqlite(shape, params: dict[str, Any], page: int, per_page: int, cap: int) -> SearchPage:
    select_ranked, select_rows, count = _sqlite_statements(*shape)
    ranked = [(row.id, row.found) for row in db.session.execute(select_ranked, params)]
    total = ranked[0][1] if ranked else _count(count, params, page)
    if not ranked:
        return _page([], total, page, per_page, cap)
    ids = [i for i, _ in ranked]
    rows = {row.id: row for row in db.session.execute(select_rows, dict(params, ids=ids))}
    hits = [_hit(rows[i], marked(rows[i].title_html), marked(rows[i].snippet)) for i in ids if i in rows]
    return _page(hits, total, page, per_page, cap)


@lru_cache(maxsize=256)
def _sqlite_statements(filtered: tuple[str, ...], opened: tuple[str, ...]) -> tuple[Select, Select, Select]:
    """The ranked page's ids (with the number of candidates), the rows of given ids (`ids`) with their snippets,
    and the count of the matches; the FTS5 query is the parameter `q`."""
    fts = literal_column("library_search_fts")
    query = bindparam("q")
    # A restricted entry the viewer may not open is found by its title only.
    by_title = select(_TITLES.c.rowid).where(_TITLES.c.title.op("MATCH")(query))
    found = (fts.op("MATCH")(query), or_(_openable(opened), SearchEntry.id.in_(by_title)), *_filtered(filtered))
    joined = _FTS.join(SearchEntry, SearchEntry.id == _FTS.c.rowid)
    rank = func.bm25(fts, 10.0, 1.0)
    # The candidates: the newest cap + 1 matches, in the index's own (rowid) order, so FTS5 stops there and bm25
    # is computed for these rows only.
    candidates = (select(_FTS.c.rowid.label("id"), rank.label("rank")).select_from(joined).where(*found)
                  .order_by(_FTS.c.rowid.desc()).limit(bindparam("candidates")).subquery())
    ranked = _ranked(candidates, candidates.c.rank)
    # The page's rows again, with their snippets: computed for these rows only, not for every match.
    select_rows = (select(SearchEntry.id, *_HIT_COLUMNS, _openable(opened).label("may_read"),
                          func.highlight(fts, 0, START, STOP).label("title_html"),
                          func.snippet(fts, 1, START, STOP, "…", 32).label("snippet"))
                   .select_from(joined).outerjoin(Activity, Activity.id == SearchEntry.activity_id)
                   .where(fts.op("MATCH")(query), _FTS.c.rowid.in_(bindparam("ids", expanding=True))))
    return select(ranked.c.id, ranked.c.found), select_rows, select(func.count()).select_from(candidates)


# PostgreSQL: the generated `document` (title weight A, body B) against websearch_to_tsquery; ts_rank weighs A
# over B; ts_headline only for the page's rows. Both `document` and `body` are stored uncompressed (migration
# b9e3f1c7a2d4): each search reads every candidate's document and each shown row's body.
_DOCUMENT = literal_column("library_search_entries.document")
_ENGLISH = literal_column("'english'::regconfig")
_HEADLINE = f"StartSel={START}, StopSel={STOP}, MaxWords=40, MinWords=15, MaxFragments=2, FragmentDelimiter=\" … \""


HEADLINE_WINDOW = 4000  # characters of a long body that ts_headline reads (`_headline_text`)


def _headline_text(text, lowered):
    """What ts_headline reads of a body (`text`; `lowered`: in lower case, when longer than the window): all of it
    when short; else HEADLINE_WINDOW characters from a little before the first place one of the words (the
    parameter `words`, in lower case) is written as typed (ts_headline parses all it is given: a long deck's text
    costs milliseconds per row). Words found only in another form (typed "cirrhotic", written "cirrhosis") or far
    after the first one may then be outside the window, and left unmarked in the snippet."""
    word = func.unnest(bindparam("words", type_=ARRAY(String))).column_valued("word")
    first = select(func.min(func.nullif(func.strpos(lowered, word), 0))).scalar_subquery()
    start = func.greatest(1, func.coalesce(first, 1) - HEADLINE_WINDOW // 4)
    return case((func.length(text) <= HEADLINE_WINDOW, text), else_=func.substr(text, start, HEADLINE_WINDOW))


def _search_postgres(shape, params: dict[str, Any], page: int, per_page: int, cap: int) -> SearchPage:
    select_page, count = _postgres_statements(*shape)
    rows = db.session.execute(select_page, params).all()
    total = rows[0].found if rows else _count(count, params, page)
    hits = [_hit(row, marked(row.title_html), marked(row.snippet)) for row in rows]
    return _page(hits, total, page, per_page, cap)


@lru_cache(maxsize=256)
def _postgres_statements(filtered: tuple[str, ...], opened: tuple[str, ...]) -> tuple[Select, Select]:
    """The ranked page's rows with the number of candidates and their headlines, and the count of the matches;
    the websearch query is the parameter `q`."""
    tsquery = func.websearch_to_tsquery(_ENGLISH, bindparam("q", type_=String))
    title_only = func.to_tsvector(_ENGLISH, SearchEntry.title).op("@@")(tsquery)
    found = and_(_DOCUMENT.op("@@")(tsquery), or_(_openable(opened), title_only), *_filtered(filtered))
    # The candidates: the newest cap + 1 matches (through the GIN index, or the primary key backwards when most
    # entries match); ts_rank reads the documents of these rows only.
    candidates = (select(SearchEntry.id, _DOCUMENT.label("document")).where(found)
                  .order_by(SearchEntry.id.desc()).limit(bindparam("candidates")).subquery())
    ranked = _ranked(candidates, -func.ts_rank(candidates.c.document, tsquery))
    # The page's entries: each body copied once (`|| ''`: the text itself, not a reference to the stored value that
    # each later use would fetch again) and, when longer than the window, lowered once (a second read of the
    # stored value); OFFSET 0 keeps this a step of its own, so the headlines below use these values. Longer is
    # asked in bytes, which the stored value's header tells without reading it: a text has at least as many bytes
    # as characters, so every body _headline_text cuts (over HEADLINE_WINDOW characters) has its lowered copy.
    body = SearchEntry.body.op("||")(literal_column("''"))
    lowered = case((func.octet_length(SearchEntry.body) > HEADLINE_WINDOW, func.lower(SearchEntry.body)))
    rows = (select(ranked.c.id, ranked.c.rank, ranked.c.found, *_HIT_COLUMNS, _openable(opened).label("may_read"),
                   body.label("body"), lowered.label("lowered"))
            .select_from(ranked.join(SearchEntry, SearchEntry.id == ranked.c.id))
            .outerjoin(Activity, Activity.id == SearchEntry.activity_id).offset(0).subquery("page_rows"))
    title_html = func.ts_headline(_ENGLISH, _shielded(rows.c.title), tsquery, f"HighlightAll=true, {_HEADLINE}")
    snippet = func.ts_headline(_ENGLISH, _shielded(_headline_text(rows.c.body, rows.c.lowered)), tsquery, _HEADLINE)
    select_page = (select(rows.c.found, rows.c.kind, rows.c.item_id, rows.c.title, rows.c.speaker, rows.c.year,
                          rows.c.activity_title, rows.c.may_read, title_html.label("title_html"),
                          snippet.label("snippet"))
                   .order_by(rows.c.rank, rows.c.id.desc()))
    return select_page, select(func.count()).select_from(candidates)


# ---------------------------------------------------------------- the filters' choices

ACTIVITY_CHOICES = 100


def activities_in_index(*, year: int | None = None, chosen: int | None = None,
                        limit: int | None = None) -> list[tuple[int, str]]:
    """(id, "title (Mon YYYY)") of the published activities that have listed entries, held in `year` (local time)
    when given, the `limit` (default `ACTIVITY_CHOICES`) newest, and `chosen` among them when it has entries: the
    activity filter's choices, a short list whatever the size of the library. Read through the activities' start
    index: a year's activities only, never every activity's entries."""
    newest, one = _activity_statements(bool(year))
    params: dict[str, Any] = {"limit": limit or ACTIVITY_CHOICES}
    if year:  # every zone's 1 January falls between these UTC instants
        params.update(after=datetime(year, 1, 1, tzinfo=timezone.utc) - timedelta(hours=14),
                      before=datetime(year + 1, 1, 1, tzinfo=timezone.utc) + timedelta(hours=14))
    rows = list(db.session.execute(newest, params))
    rows = [row for row in rows if not year or utc_to_local(row[2], row[3]).year == year]
    if chosen and chosen not in {row[0] for row in rows}:
        rows += db.session.execute(one, {"chosen": chosen})
    return [(i, f"{title} ({utc_to_local(start, zone):%b %Y})") for i, title, start, zone in rows]


@lru_cache(maxsize=2)
def _activity_statements(by_year: bool) -> tuple[Select, Select]:
    """The newest activities with listed entries (between the parameters `after` and `before` when `by_year`), and
    the one chosen (`chosen`): built once per process, as the search's statements."""
    listed = select(SearchEntry.id).where(SearchEntry.activity_id == Activity.id).exists()
    published = [listed, Activity.status == ActivityStatus.PUBLISHED.value]
    columns = (Activity.id, Activity.title, Activity.start_dt, Activity.time_zone)
    in_year = [Activity.start_dt >= bindparam("after"), Activity.start_dt < bindparam("before")] if by_year else []
    newest = (select(*columns).where(*published, *in_year).order_by(Activity.start_dt.desc(), Activity.id.desc())
              .limit(bindparam("limit")))
    return newest, select(*columns).where(Activity.id == bindparam("chosen"), *published)


def _years_statement() -> Select:
    """The years of the entries, newest first, read as a walk down the year index (the newest year, then the
    newest before it, ...): one index probe per year, where DISTINCT reads every entry's."""
    years = select(func.max(SearchEntry.year).label("year")).cte("years", recursive=True)
    earlier = select(func.max(SearchEntry.year)).where(SearchEntry.year < years.c.year).scalar_subquery()
    years = years.union_all(select(earlier).where(years.c.year.is_not(None)))
    return select(years.c.year).where(years.c.year.is_not(None)).order_by(years.c.year.desc())


_YEARS = _years_statement()


def years_in_index() -> list[int]:
    return list(db.session.scalars(_YEARS))
