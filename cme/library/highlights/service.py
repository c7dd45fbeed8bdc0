"""Conference highlights: an organizer of a past activity writes, edits, publishes and deletes them; the public reads
the published ones; and a highlight may be offered as enduring material with credit (`offer_as_enduring`).

Every rule of a highlight's fields is checked in `_checked`, whoever calls (the form, the demo, a test): a refusal
is a `HighlightError` naming the field it belongs to. Days are the foundation's days (the catalog's zone).

Offered as enduring material, a highlight becomes a draft on-demand activity (the format the AMA calls enduring
material) whose description is the highlight's text, with the past activity's topic, zone and accreditation. It is
an ordinary activity from then on: its organizers add the people who control its content with their disclosures
and its credit designations, and publish it through the same rules as any other (`activities.service.publish`);
learners read it on the watch page, which counts their time, then evaluate, take any post-test, claim and get their
certificate as for any on-demand webcast.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Optional

from sqlalchemy import Select, select
from sqlalchemy.orm import defer, selectinload

from cme.accounts.models import User
from cme.activities import service as activities
from cme.activities.catalog import DEFAULT_ZONE
from cme.activities.models import Activity, ActivityFormat
from cme.errors import DomainError
from cme.extensions import db
from cme.library.abstracts.models import Abstract
from cme.library.highlights.models import BODY_MAX, TITLE_MAX, Highlight, public_on
from cme.library.materials import release
from cme.library.materials.models import Material
from cme.library.materials.service import Card
from cme.library.markdown import render_markdown
from cme.text import single_line
from cme.timeutil import NonExistentLocalTime, local_to_utc, now_utc, utc_to_local

ZONE = DEFAULT_ZONE
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
# An enduring material is reviewed at least every three years (ACCME): it is offered for three years at most.
LONGEST_OFFER = timedelta(days=3 * 365 + 1)
SUMMARY_MAX = 600


class HighlightError(DomainError):
    """A refused highlight operation."""


@dataclass(frozen=True)
class HighlightData:
    """A highlight's fields as the organizer's form (or the demo) gives them."""

    title: str
    body: str
    publication_date: Optional[date]
    reviewed_on: Optional[date]
    is_published: bool = False
    abstract_ids: tuple[int, ...] = field(default_factory=tuple)
    material_ids: tuple[int, ...] = field(default_factory=tuple)  # key slides


def library_today(now: datetime | None = None) -> date:
    """Today, in the foundation's zone."""
    return utc_to_local(now or now_utc(), ZONE).date()


# ---------------------------------------------------------------- the rules of a highlight

def _day(value: date | None, name: str, label: str) -> date:
    if value is None:
        raise HighlightError(f"Enter the {label}.", code=f"{name}_missing", field=name)
    if not EARLIEST <= value <= LATEST:
        raise HighlightError(f"Choose a {label} between {EARLIEST.year} and {LATEST.year}.",
                             code=f"{name}_out_of_range", field=name)
    return value


def _checked(activity: Activity, data: HighlightData, *, today: date) -> dict[str, Any]:
    title = single_line(data.title or "").strip()
    body = (data.body or "").replace("\x00", "").strip()
    if not title:
        raise HighlightError("Enter the title.", code="title_missing", field="title")
    if len(title) > TITLE_MAX:
        raise HighlightError(f"A title is at most {TITLE_MAX} characters.", code="title_too_long", field="title")
    if not body:
        raise HighlightError("Enter the highlights.", code="body_missing", field="body")
    if len(body) > BODY_MAX:
        raise HighlightError(f"The highlights are longer than {BODY_MAX:,} characters.", code="body_too_long",
                             field="body")
    values = {"title": title, "body": body, "is_published": bool(data.is_published),
              "publication_date": _day(data.publication_date, "publication_date", "publication date"),
              "reviewed_on": _day(data.reviewed_on, "reviewed_on", "review date")}
    if values["reviewed_on"] > today:
        raise HighlightError("The last review cannot be in the future.", code="reviewed_in_future",
                             field="reviewed_on")
    return values


def _abstracts(activity: Activity, ids: tuple[int, ...]) -> list[Abstract]:
    wanted = set(ids or ())
    if not wanted:
        return []
    found = db.session.scalars(select(Abstract).where(Abstract.id.in_(wanted),
                                                      Abstract.activity_id == activity.id)).all()
    if len(found) != len(wanted):
        raise HighlightError("Choose abstracts of this activity.", code="abstract_unknown", field="abstract_ids")
    return sorted(found, key=lambda a: a.title)


def _key_slides(activity: Activity, ids: tuple[int, ...]) -> list[Material]:
    wanted = set(ids or ())
    if not wanted:
        return []
    found = db.session.scalars(select(Material).where(Material.id.in_(wanted),
                                                      Material.activity_id == activity.id)).all()
    if len(found) != len(wanted):
        raise HighlightError("Choose slides of this activity.", code="material_unknown", field="material_ids")
    return sorted(found, key=lambda m: m.id)


def _refuse_unless_past(activity: Activity, now: datetime) -> None:
    if activity.is_cancelled:
        raise HighlightError("A cancelled activity has no highlights.", code="cancelled")
    if not activity.has_ended(now):
        raise HighlightError("Highlights are written once the activity has ended.", code="not_ended")


def create_highlight(activity: Activity, data: HighlightData, *, now: datetime | None = None) -> Highlight:
    now = now or now_utc()
    _refuse_unless_past(activity, now)
    values = _checked(activity, data, today=library_today(now))
    highlight = Highlight(activity=activity, created_dt=now, updated_dt=now, abstracts=_abstracts(
        activity, data.abstract_ids), key_slides=_key_slides(activity, data.material_ids), **values)
    db.session.add(highlight)
    db.session.flush()
    return highlight


def update_highlight(highlight: Highlight, data: HighlightData, *, now: datetime | None = None) -> Highlight:
    now = now or now_utc()
    values = _checked(highlight.activity, data, today=library_today(now))
    for name, value in values.items():
        setattr(highlight, name, value)
    highlight.abstracts = _abstracts(highlight.activity, data.abstract_ids)
    highlight.key_slides = _key_slides(highlight.activity, data.material_ids)
    highlight.updated_dt = now
    db.session.flush()
    return highlight


def delete_highlight(highlight: Highlight) -> None:
    """Delete it. An on-demand activity made from it stays (it is an activity of its own, perhaps with learners'
    credit); it no longer links back."""
    db.session.delete(highlight)
    db.session.flush()


def highlight_data(highlight: Highlight) -> dict[str, Any]:
    """A highlight's values as the form's fields hold them (to edit it)."""
    return {"title": highlight.title, "body": highlight.body, "publication_date": highlight.publication_date,
            "reviewed_on": highlight.reviewed_on, "is_published": highlight.is_published,
            "abstract_ids": [str(a.id) for a in highlight.abstracts],
            "material_ids": [str(m.id) for m in highlight.key_slides]}


# ---------------------------------------------------------------- reading

def public_highlights(*, today: date) -> Select:
    """Public highlights, newest first, without their bodies (a list shows titles)."""
    return (select(Highlight).where(public_on(today))
            .order_by(Highlight.publication_date.desc(), Highlight.id.desc())
            .options(defer(Highlight.body), selectinload(Highlight.activity)))


def public_highlight(highlight_id: int, *, today: date) -> Highlight | None:
    return db.session.scalar(select(Highlight).where(Highlight.id == highlight_id, public_on(today)))


def key_slide_cards(highlight: Highlight, user, *, now: datetime | None = None) -> list[Card]:
    """The highlight's key slides the viewer may see listed (`release.is_listed`), each a card that opens (with its
    thumbnail) when `release.may_open` lets them."""
    now = now or now_utc()
    who = release.viewer_for(user, [highlight.activity_id])
    return [Card(m, release.may_open(who, m, now), release.locked_reason(who, m, now))
            for m in highlight.key_slides if release.is_listed(who, m, now)]


def activity_highlights(activity: Activity) -> list[Highlight]:
    """Every highlight of the activity, drafts too (its organizers' list), newest first."""
    return list(db.session.scalars(select(Highlight).where(Highlight.activity_id == activity.id)
                                   .order_by(Highlight.publication_date.desc(), Highlight.id.desc())))


def public_highlights_of(activity: Activity, *, today: date) -> list[Highlight]:
    """The activity page's links: the activity's public highlights, newest first."""
    return list(db.session.scalars(select(Highlight).where(Highlight.activity_id == activity.id, public_on(today))
                                   .order_by(Highlight.publication_date.desc(), Highlight.id.desc())
                                   .options(defer(Highlight.body))))


def highlight_offered_by(activity: Activity) -> Highlight | None:
    """The highlight an on-demand activity offers as enduring material (its source), or None."""
    return db.session.scalar(select(Highlight).where(Highlight.enduring_activity_id == activity.id))


# ---------------------------------------------------------------- enduring material

_BLOCK_END = re.compile(r"</(p|h[2-6]|li|blockquote|pre|tr|caption)>|<br\s*/?>|<hr\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def plain_paragraphs(markdown: str) -> str:
    """The Markdown as plain text, a blank line between blocks (an activity's description is plain text)."""
    spaced = _BLOCK_END.sub(lambda m: f"{m.group(0)}\n\n", str(render_markdown(markdown)))
    text = html.unescape(_TAG.sub("", spaced))
    blocks = [" ".join(block.split()) for block in re.split(r"\n\s*\n", text)]
    return "\n\n".join(block for block in blocks if block)


def _summary(text: str) -> str:
    first = text.split("\n\n", 1)[0] if text else ""
    return first if len(first) <= SUMMARY_MAX else first[:SUMMARY_MAX - 1].rsplit(" ", 1)[0] + "…"


def _local_midnight(day: date, zone_name: str) -> datetime:
    """The start of a local day (in a zone whose clocks skip midnight, the first hour that exists)."""
    try:
        return local_to_utc(datetime.combine(day, time(0, 0)), zone_name, fold=0)
    except NonExistentLocalTime:
        return local_to_utc(datetime.combine(day, time(1, 0)), zone_name, fold=0)


def offer_as_enduring(highlight: Highlight, organizer: User, *, release_on: date | None,
                      available_until: date | None, now: datetime | None = None) -> Activity:
    """A draft on-demand activity offering the highlight as enduring material, from the start of `release_on` to
    the end of `available_until` (local days of the past activity's zone), linked both ways. Nothing of the
    publication rules is bypassed: the draft has no designation and no faculty yet, so it cannot be published until
    its organizers add them."""
    now = now or now_utc()
    if highlight.enduring_activity_id is not None:
        raise HighlightError("This highlight is already offered as enduring material.", code="already_offered")
    if not highlight.is_published:
        raise HighlightError("Publish the highlights first: the enduring material links to them.",
                             code="not_published")
    source = highlight.activity
    release_on = _day(release_on, "release_on", "release date")
    available_until = _day(available_until, "available_until", "last day")
    today = utc_to_local(now, source.time_zone).date()
    if release_on < today:
        raise HighlightError("The release date cannot be in the past.", code="release_in_past", field="release_on")
    if available_until < release_on:
        raise HighlightError("The last day comes on or after the release date.", code="until_before_release",
                             field="available_until")
    if available_until - release_on > LONGEST_OFFER:
        raise HighlightError("Enduring material is offered for three years at most (it is reviewed by then).",
                             code="offer_too_long", field="available_until")
    text = plain_paragraphs(highlight.body)
    fields = {
        "format": ActivityFormat.ON_DEMAND_WEBCAST.value, "title": highlight.title, "summary": _summary(text),
        "description": text, "learning_objectives": "", "target_audience": source.target_audience,
        "specialty": source.specialty, "topics": source.topics, "time_zone": source.time_zone,
        "start_dt": _local_midnight(release_on, source.time_zone),
        "end_dt": _local_midnight(available_until + timedelta(days=1), source.time_zone),
        "accreditation_kind": source.accreditation_kind, "joint_provider": source.joint_provider,
        "accreditation_statement": source.accreditation_statement,
    }
    activity = activities.create_activity(organizer, fields, now=now)
    activity.organizers = list({u.id: u for u in [organizer, *source.organizers]}.values())
    highlight.enduring_activity = activity
    db.session.flush()
    return activity


def activity_page_links(activity: Activity, *, now: datetime | None = None) -> dict[str, Any]:
    """What the public activity page shows of the highlights: a past activity's public highlights, and the public
    highlight an enduring material offers."""
    today = library_today(now)
    offered = highlight_offered_by(activity) if activity.is_on_demand else None
    return {"highlights": public_highlights_of(activity, today=today) if activity.has_ended(now) else [],
            "offered_highlight": offered if offered is not None and offered.is_public_on(today) else None}
