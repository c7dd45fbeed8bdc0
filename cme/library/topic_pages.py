"""Topic pages and the library's home (issue 15, point 8): what the library holds on a topic of
`cme.library.topics`, gathered in a fixed number of queries whatever the amount of content.

A topic page is a list of sections, each a `SectionKind` of `TOPIC_SECTIONS`; the library's home shows the
`HOME_SECTIONS` over every topic (`topic=None`) and links to each part of the library in `LIBRARY_PARTS`. A kind
of content joins them with a few lines here: a function `items(topic, *, now, limit) -> list` that reads its items
in a fixed number of queries (`topic` None: of every topic), a template that shows `section.items`, and an entry in
the lists below (highlights and slides: see the comments marked HOOK).

An activity is on a topic when one of the topic's terms occurs in its topics, specialty or title
(`Topic.matches` over `ACTIVITY_FIELDS`); an abstract, in its title, keywords or topic (`ABSTRACT_FIELDS`). The
same words decide in Python (`topics_of`, the activity page's links) and in SQL (`mentions`, the lists), so the
two agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Optional

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import contains_eager, defer, selectinload

from cme.activities.models import Activity, ActivityFormat, ActivityStatus
from cme.extensions import db
from cme.library.abstracts.models import Abstract
from cme.library.abstracts.service import AbstractFilters, public_abstracts
from cme.library.highlights.models import Highlight
from cme.library.highlights.service import library_today, public_highlights
from cme.library.materials import release
from cme.library.materials.models import Material, Release
from cme.library.materials.service import Card
from cme.library.news.service import news_today, public_articles
from cme.library.topics import TOPICS, Topic
from cme.timeutil import now_utc

ACTIVITY_FIELDS = ("topics", "specialty", "title")
ABSTRACT_FIELDS = ("title", "keywords", "topic")

TOPIC_LIMIT = 6  # items per section of a topic page
HOME_LIMIT = 5  # items per section of the library's home


# ---------------------------------------------------------------- matching a topic

def topics_of(activity: Activity) -> list[Topic]:
    """The library's topics an activity is on, in the order of the topic list (its page links to them)."""
    texts = [getattr(activity, name) or "" for name in ACTIVITY_FIELDS]
    return [topic for topic in TOPICS if topic.matches(*texts)]


def mentions(topic: Topic, columns: list[Any]) -> ColumnElement[bool]:
    """SQL for `topic.matches(*columns)`: a term occurs in the columns joined by spaces, lower-cased (the terms
    are lower-case ASCII; LIKE's wildcards in them are escaped)."""
    joined = columns[0]
    for column in columns[1:]:
        joined = joined + " " + column
    lowered = func.lower(joined)
    return or_(false(), *(lowered.contains(term, autoescape=True) for term in topic.terms))


def _activity_columns() -> list[Any]:
    return [getattr(Activity, name) for name in ACTIVITY_FIELDS]


def _abstract_columns() -> list[Any]:
    return [getattr(Abstract, name) for name in ABSTRACT_FIELDS]


# ---------------------------------------------------------------- the sections' items (each a fixed number of queries)

def _activities(topic: Topic, now: datetime):
    """Published activities on the topic that have not ended, their credit loaded, the page's long texts not."""
    return (select(Activity)
            .where(Activity.status == ActivityStatus.PUBLISHED.value, Activity.end_dt > now,
                   mentions(topic, _activity_columns()))
            .options(selectinload(Activity.credit_designations),
                     defer(Activity.description), defer(Activity.learning_objectives),
                     defer(Activity.target_audience), defer(Activity.accreditation_statement),
                     defer(Activity.access_notes)))


def upcoming_activities(topic: Optional[Topic], *, now: datetime, limit: int) -> list[Activity]:
    """Live meetings and webcasts on the topic that are ahead or under way, and on-demand webcasts not yet
    released: soonest first. Cancelled, draft and ended activities are left out. Two queries."""
    if topic is None:
        return []
    on_demand = Activity.format == ActivityFormat.ON_DEMAND_WEBCAST.value
    stmt = _activities(topic, now).where(or_(~on_demand, Activity.start_dt > now))
    return list(db.session.scalars(stmt.order_by(Activity.start_dt, Activity.id).limit(limit)))


def on_demand_activities(topic: Optional[Topic], *, now: datetime, limit: int) -> list[Activity]:
    """On-demand webcasts on the topic that can be watched now (released, not withdrawn), newest release first.
    Two queries."""
    if topic is None:
        return []
    stmt = _activities(topic, now).where(Activity.format == ActivityFormat.ON_DEMAND_WEBCAST.value,
                                         Activity.start_dt <= now)
    return list(db.session.scalars(stmt.order_by(Activity.start_dt.desc(), Activity.id.desc()).limit(limit)))


def recent_abstracts(topic: Optional[Topic], *, now: datetime, limit: int) -> list[Abstract]:
    """Published abstracts of published activities (`abstracts.service.public_abstracts`) on the topic, newest
    activity first, their activity and authors loaded. Two queries."""
    stmt = public_abstracts(AbstractFilters())
    if topic is not None:
        stmt = stmt.where(mentions(topic, _abstract_columns()))
    stmt = stmt.options(contains_eager(Abstract.activity), selectinload(Abstract.authors)).limit(limit)
    return list(db.session.scalars(stmt))


def latest_news(topic: Optional[Topic], *, now: datetime, limit: int) -> list:
    """Public news on the topic (articles store their topics' slugs), newest first. Two queries."""
    stmt = public_articles(topic.slug if topic else None, today=news_today(now))
    return list(db.session.scalars(stmt.limit(limit)))


def recent_slides(topic: Optional[Topic], *, now: datetime, limit: int, viewer=None) -> list[Card]:
    """Slides of published activities on the topic that anyone may see listed (not "organizers only", not under
    embargo: `release.is_listed` for a visitor), newest activity first, each a card that opens (with its thumbnail)
    when `release.may_open` lets the viewer. Four queries, two more for a signed-in viewer."""
    stmt = (select(Material).join(Material.activity)
            .where(Activity.status == ActivityStatus.PUBLISHED.value, Material.release != Release.ORGANIZERS.value,
                   or_(Material.embargo_until_dt.is_(None), Material.embargo_until_dt <= now)))
    if topic is not None:
        stmt = stmt.where(mentions(topic, _activity_columns()))
    stmt = (stmt.order_by(Activity.start_dt.desc(), Activity.id.desc(), Material.id)
            .options(contains_eager(Material.activity), selectinload(Material.session),
                     selectinload(Material.speaker), selectinload(Material.stored_file))
            .limit(limit))
    found = list(db.session.scalars(stmt))
    who = release.viewer_for(viewer, {m.activity_id for m in found})
    return [Card(m, release.may_open(who, m, now), release.locked_reason(who, m, now)) for m in found]


def recent_highlights(topic: Optional[Topic], *, now: datetime, limit: int) -> list[Highlight]:
    """Public highlights pages of activities on the topic (as their search entries: through the activity), newest
    first. Two queries."""
    stmt = public_highlights(today=library_today(now))
    if topic is not None:
        stmt = stmt.where(Highlight.activity_id.in_(select(Activity.id).where(mentions(topic, _activity_columns()))))
    return list(db.session.scalars(stmt.limit(limit)))


# ---------------------------------------------------------------- what a page shows

@dataclass(frozen=True)
class SectionKind:
    """A section of a topic page or of the library's home."""

    key: str  # the section's id on the page
    heading: str
    template: str  # shows `section.items` (a list, never empty when included)
    items: Callable[..., list]  # items(topic, *, now, limit): a fixed number of queries
    empty: str = "Nothing yet."
    # (label, endpoint, arguments) of the link to everything of the kind on the topic (`topic` None: the home).
    more: Optional[Callable[[Optional[Topic]], tuple[str, str, dict]]] = None
    with_viewer: bool = False  # items(..., viewer=the signed-in user or None): what it shows depends on who looks


@dataclass(frozen=True)
class Section:
    kind: SectionKind
    items: list
    more: Optional[tuple[str, str, dict]] = None

    @property
    def key(self) -> str:
        return self.kind.key

    @property
    def heading(self) -> str:
        return self.kind.heading


@dataclass(frozen=True)
class LibraryPart:
    """A part of the library the home links to (and describes)."""

    name: str
    endpoint: str
    description: str
    args: dict = field(default_factory=dict)


def _news_link(topic: Optional[Topic]) -> tuple[str, str, dict]:
    return ("All news on " + topic.name if topic else "All news", "news.index",
            {"topic": topic.slug} if topic else {})


def _abstracts_link(topic: Optional[Topic]) -> tuple[str, str, dict]:
    return ("All abstracts", "abstracts.index", {})


def _catalog_link(topic: Optional[Topic]) -> tuple[str, str, dict]:
    return ("All upcoming activities", "activities.catalog", {})


UPCOMING = SectionKind("upcoming", "Upcoming activities", "library/sections/_activities.html", upcoming_activities,
                       empty="No upcoming activity on this topic yet.", more=_catalog_link)
ON_DEMAND = SectionKind("on-demand", "On demand now", "library/sections/_activities.html", on_demand_activities,
                        empty="No on-demand webcast on this topic yet.")
ABSTRACTS = SectionKind("abstracts", "Recent abstracts", "library/sections/_abstracts.html", recent_abstracts,
                        more=_abstracts_link)
NEWS = SectionKind("news", "News", "library/sections/_news.html", latest_news, more=_news_link)


def _slides_link(topic: Optional[Topic]) -> tuple[str, str, dict]:
    return ("All slides on " + topic.name if topic else "All slides", "search.index",
            {"type": "material", **({"topic": topic.slug} if topic else {})})


def _highlights_link(topic: Optional[Topic]) -> tuple[str, str, dict]:
    return ("All highlights", "highlights.index", {})


SLIDES = SectionKind("slides", "Recent slides", "library/sections/_slides.html", recent_slides,
                     empty="No slides on this topic yet.", more=_slides_link, with_viewer=True)
HIGHLIGHTS = SectionKind("highlights", "Conference highlights", "library/sections/_highlights.html",
                         recent_highlights, empty="No conference highlights on this topic yet.",
                         more=_highlights_link)

# The sections of a topic page, in order.
# HOOK (highlights, slides): add `SectionKind("slides", "Recent slides", "library/materials/_topic_section.html",
# materials_service.on_topic)` and `SectionKind("highlights", "Conference highlights", ...)` here.
TOPIC_SECTIONS: list[SectionKind] = [UPCOMING, ON_DEMAND, NEWS, SLIDES, ABSTRACTS, HIGHLIGHTS]
# The sections of the library's home (their items over every topic).
# HOOK (highlights, slides): the same kinds may be added here; `items` then gets `topic=None`.
HOME_SECTIONS: list[SectionKind] = [
    SectionKind("news", "Latest news", NEWS.template, latest_news, more=_news_link),
    SectionKind("abstracts", "Recent abstracts", ABSTRACTS.template, recent_abstracts, more=_abstracts_link),
]
# The parts of the library, each with its own pages. HOOK (highlights, slides, search): one line each.
LIBRARY_PARTS: list[LibraryPart] = [
    LibraryPart("News", "news.index", "Short articles on research, with the studies they report."),
    LibraryPart("Abstracts", "abstracts.index", "Research presented at our meetings and webcasts, and each "
                "activity's book of abstracts."),
    LibraryPart("Search", "search.index", "Every abstract, article, slide deck and highlight at once, with the "
                "words found shown in place."),
    LibraryPart("Slides", "search.index", "Slides of our past meetings and webcasts, searchable inside their text.",
                {"type": "material"}),
    LibraryPart("Highlights", "highlights.index", "What was learned at our past meetings, with the abstracts behind "
                "it; some offered as enduring material with credit."),
]


def _sections(kinds: list[SectionKind], topic: Optional[Topic], *, now: datetime, limit: int,
              viewer=None) -> list[Section]:
    return [Section(kind, kind.items(topic, now=now, limit=limit, **({"viewer": viewer} if kind.with_viewer else {})),
                    kind.more(topic) if kind.more else None)
            for kind in kinds]


def topic_page(topic: Topic, *, now: Optional[datetime] = None, viewer=None) -> list[Section]:
    """The sections of a topic's page, each with at most `TOPIC_LIMIT` items, as `viewer` (a user, or None) sees
    them."""
    return _sections(TOPIC_SECTIONS, topic, now=now or now_utc(), limit=TOPIC_LIMIT, viewer=viewer)


def home_page(*, now: Optional[datetime] = None, viewer=None) -> list[Section]:
    """The sections of the library's home, each with at most `HOME_LIMIT` items."""
    return _sections(HOME_SECTIONS, None, now=now or now_utc(), limit=HOME_LIMIT, viewer=viewer)
