"""The public read side of activities: the catalog with its filters, the month view, an activity's public page
and the seat state a card shows. Nothing here writes."""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Callable

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import BindParameter, ColumnElement, Integer, Select, bindparam, exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from cme.accounts.models import User
from cme.activities.models import (
    PUBLIC_STATUSES, Activity, ActivityFacts, ActivityFormat, ActivitySession, ActivityStatus, CreditDesignation,
    CreditType, DesignationFacts, Faculty,
)
from cme.activities.forms import FORMAT_FILTERS, CatalogFilterForm
from cme.activities.reporting_data import ActivityContentTag
from cme.activities.service import can_manage
from cme.content_tags import ContentTag
from cme.extensions import db
from cme.timeutil import now_utc, zone

WEBCAST_FORMATS = (ActivityFormat.LIVE_WEBCAST.value, ActivityFormat.ON_DEMAND_WEBCAST.value)
DEFAULT_ZONE = "America/New_York"


@dataclass(frozen=True)
class CatalogFilters:
    q: str = ""
    format: str = ""
    specialty: str = ""
    credit_type: str = ""
    date_from: date | None = None
    date_to: date | None = None
    when: str = "upcoming"
    zone_name: str = DEFAULT_ZONE  # dates are read as days in the viewer's zone

    def args(self) -> dict[str, str]:
        """The non-default filters as query arguments (for links that keep them)."""
        values = {"q": self.q, "format": self.format, "specialty": self.specialty, "credit_type": self.credit_type,
                  "date_from": self.date_from.isoformat() if self.date_from else "",
                  "date_to": self.date_to.isoformat() if self.date_to else "",
                  "when": "" if self.when == "upcoming" else self.when}
        return {k: v for k, v in values.items() if v}


def parse_filters(args, *, zone_name: str = DEFAULT_ZONE) -> tuple[CatalogFilterForm, CatalogFilters]:
    """The catalog's filters from query arguments (the catalog, the month view, the public feed, and the alert
    made from them): the form, to show them with their errors, and the filters, a value that does not validate
    being ignored."""
    form = CatalogFilterForm(args)
    form.validate()
    valid = lambda f: f.data if not f.errors else None  # noqa: E731  (bad values are ignored, and shown as errors)
    filters = CatalogFilters(
        q=valid(form.q) or "", format=valid(form.format) or "", specialty=valid(form.specialty) or "",
        credit_type=valid(form.credit_type) or "", date_from=valid(form.date_from), date_to=valid(form.date_to),
        when=valid(form.when) or "upcoming", zone_name=zone_name)
    return form, filters


FORMAT_LABELS = dict(FORMAT_FILTERS)


def describe_filters(filters: CatalogFilters) -> list[str]:
    """The filters in words, for people: ["Hepatology", "Live meetings", "ABIM MOC points", "“liver”"]; [] when
    there are none (dates and past/upcoming are not described: an alert keeps neither)."""
    parts = [filters.specialty] if filters.specialty else []
    if filters.format:
        parts.append(FORMAT_LABELS.get(filters.format, filters.format))
    if filters.credit_type in CreditType._value2member_map_:
        parts.append(CreditType(filters.credit_type).label)
    if filters.q:
        parts.append(f"“{filters.q}”")
    return parts


def _day_start_utc(day: date, zone_name: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone(zone_name))


def filtered_activities(filters: CatalogFilters, *, now: datetime | BindParameter | None = None) -> Select:
    """Published and cancelled activities matching the filters.

    `when`: "upcoming" (not ended, soonest first), "past" (ended, latest first) or "all" (by start). `now` may be a
    bound parameter (the catalog's page, built once).
    """
    now = now_utc() if now is None else now
    stmt = select(Activity).where(Activity.status.in_(PUBLIC_STATUSES))
    if filters.when == "past":
        stmt = stmt.where(Activity.end_dt < now).order_by(Activity.start_dt.desc(), Activity.id.desc())
    elif filters.when == "all":
        stmt = stmt.order_by(Activity.start_dt, Activity.id)
    else:
        stmt = stmt.where(Activity.end_dt > now).order_by(Activity.start_dt, Activity.id)  # has_ended's instant
    if filters.format == "webcast":
        stmt = stmt.where(Activity.format.in_(WEBCAST_FORMATS))
    elif filters.format in {f.value for f in ActivityFormat}:
        stmt = stmt.where(Activity.format == filters.format)
    if filters.specialty:
        pattern = f"%{_escape_like(filters.specialty.lower())}%"
        stmt = stmt.where(or_(func.lower(Activity.specialty) == filters.specialty.lower(),
                              func.lower(Activity.topics).like(pattern, escape="\\")))
    if filters.credit_type in {c.value for c in CreditType}:
        stmt = stmt.where(exists().where(CreditDesignation.activity_id == Activity.id,
                                         CreditDesignation.credit_type == filters.credit_type))
    if filters.date_from:
        stmt = stmt.where(Activity.end_dt >= _day_start_utc(filters.date_from, filters.zone_name))
    if filters.date_to:
        stmt = stmt.where(Activity.start_dt < _day_start_utc(filters.date_to + timedelta(days=1), filters.zone_name))
    if filters.q:
        for word in filters.q.lower().split()[:8]:
            matches = Activity.search_text.like(f"%{_escape_like(word)}%", escape="\\")
            tags = [tag.value for tag in ContentTag if word in tag.label.lower()]  # "opioid" finds what covers it
            if tags:
                matches = or_(matches, exists().where(ActivityContentTag.activity_id == Activity.id,
                                                      ActivityContentTag.tag.in_(tags)))
            stmt = stmt.where(matches)
    return stmt


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# The catalog counts at most this many matches (ten pages): an exact count grows with everything that matches, and
# each counted match of a search is its text checked once more. In bench/growth.py, at a million registrations, a
# search matched ~2,000 activities still to come: counting to 1,000 took 12 ms of the page's 20 (2.3x its figure at
# 10 thousand registrations); counting to 200 keeps it at about 1.2x. With more, the page says "More than 200",
# and its pager goes on page by page (CatalogPage.has_next) without saying how many pages there are.
MAX_COUNTED = 200


@dataclass(frozen=True)
class CardCredit(DesignationFacts):
    """A designation as a card shows it: its credit type and maximum amount."""
    credit_type: str
    max_amount: Decimal


@dataclass(frozen=True)
class ActivityCard(ActivityFacts):
    """An activity as its catalog card (and `seat_state`) reads it: the columns it shows, as plain values, with
    Activity's own rules (ActivityFacts). Twenty mapped activities with their eagerly loaded designations were
    most of the first page's time beyond its template (bench/catalog.py, issue 17)."""
    id: int
    format: str
    status: str
    title: str
    time_zone: str
    start_dt: datetime
    end_dt: datetime
    venue_name: str | None
    city: str | None
    state: str | None
    capacity: int | None
    registration_opens_dt: datetime | None
    registration_closes_dt: datetime | None
    credit_designations: list[CardCredit]
    seats_taken: int | None = None  # when the page was asked to count them (catalog_page's `seats_taken`)


CARD_COLUMNS = tuple(getattr(Activity, f.name) for f in fields(ActivityCard)
                     if f.name not in ("credit_designations", "seats_taken"))
# Each credit type's designated amount (NULL: none), a column each: the designations come in the page's own
# statement, already in CreditType order.
CREDIT_TYPES = tuple(credit_type.value for credit_type in CreditType)
DESIGNATED_AMOUNTS = tuple(
    select(CreditDesignation.max_amount).where(CreditDesignation.activity_id == Activity.id,
                                               CreditDesignation.credit_type == credit_type)
    .scalar_subquery().label(f"designated_{credit_type}")
    for credit_type in CREDIT_TYPES)


class CatalogPage(Pagination):
    """A page of activity cards whose one statement also returns, on each row, the total (an uncorrelated scalar
    subquery, which PostgreSQL and SQLite run once), the designations and, when asked, the seats taken. Only a
    page with no rows (nothing matches, or a page past the last) counts apart. The count stops after
    MAX_COUNTED + 1: `more_than` says when more matched, and `total` is then MAX_COUNTED; the pages then go on past
    the counted ones for as long as there is a next one (the statement reads one row more than a page to know)."""

    def _query_items(self) -> list[ActivityCard]:
        rows = self._query_args["session"].execute(self._query_args["select"], {
            **self._query_args["params"], "limit": self.per_page + 1, "offset": self._query_offset}).all()
        self._total = rows[0].total if rows else None
        self._page_follows = len(rows) > self.per_page
        return [_card(row) for row in rows[:self.per_page]]

    @property
    def has_next(self) -> bool:
        return self.page < self.pages or (self.more_than and self._page_follows)

    def _query_count(self) -> int:
        counted = self._total if self._total is not None else self._query_args["session"].scalar(
            self._query_args["count_select"], self._query_args["params"])
        self.more_than = counted > self._query_args["cap"]
        return min(counted, self._query_args["cap"])


def _card(row) -> ActivityCard:
    """A card from a page's row: CARD_COLUMNS, then DESIGNATED_AMOUNTS, then the total and the seats taken (read
    by position: by name took twice as long)."""
    amounts = row[len(CARD_COLUMNS):len(CARD_COLUMNS) + len(DESIGNATED_AMOUNTS)]
    credits = [CardCredit(credit_type, amount) for credit_type, amount in zip(CREDIT_TYPES, amounts)
               if amount is not None]
    return ActivityCard(*row[:len(CARD_COLUMNS)], credits, row._mapping.get("seats_taken"))


def catalog_page(filters: CatalogFilters, *, page: int = 1, per_page: int = 20, now: datetime | None = None,
                 seats_taken: Callable[[ColumnElement[int]], ColumnElement[int]] | None = None) -> CatalogPage:
    """One page of the catalog as cards, with their designations and the total, in one statement; with
    `seats_taken` (registration.counts.taken_count: SQL of an activity id column), each card's seats taken too."""
    select_page, count = _page_statements(filters, seats_taken, MAX_COUNTED)
    return CatalogPage(select=select_page, count_select=count, params={"now": now or now_utc()}, cap=MAX_COUNTED,
                       session=db.session, page=max(page, 1), per_page=per_page, max_per_page=100, error_out=False)


@lru_cache(maxsize=256)
def _page_statements(filters: CatalogFilters, seats_taken: Callable | None, cap: int) -> tuple[Select, Select]:
    """The statements of a catalog page with these filters, and of their count, with the moment (`now`) and the
    page's `limit` and `offset` as parameters: built once per process (SQL, no data: every request reads the
    database). Building them, and SQLAlchemy's cache key of them (which it keeps on the statement), were a fifth
    of the first page's time outside its template.

    The total counts the matching ids, at most `cap` + 1 of them (Flask-SQLAlchemy's own count wraps the whole
    select, every column, in a subquery, which makes SQLite read whole rows)."""
    matching = filtered_activities(filters, now=bindparam("now"))
    first_matches = matching.with_only_columns(Activity.id, maintain_column_froms=True).order_by(None)
    count = select(func.count()).select_from(first_matches.limit(cap + 1).subquery())
    columns = [*CARD_COLUMNS, *DESIGNATED_AMOUNTS, count.scalar_subquery().correlate(None).label("total")]
    if seats_taken is not None:
        columns.append(seats_taken(Activity.id).label("seats_taken"))
    select_page = matching.with_only_columns(*columns, maintain_column_froms=True).limit(
        bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer))
    return select_page, count


@dataclass
class MonthDay:
    day: date
    in_month: bool
    # (activity, local start that day: the activity's start on its first day, then the day's first session or None)
    entries: list[tuple[Activity, datetime | None]] = field(default_factory=list)


@dataclass
class MonthView:
    year: int
    month: int
    weeks: list[list[MonthDay]]
    # On-demand webcasts available during the month, each with its release date when that falls within the month
    # (None: available from the month's first day).
    on_demand: list[tuple[Activity, date | None]]

    @property
    def title(self) -> str:
        return f"{calendar.month_name[self.month]} {self.year}"

    @property
    def previous(self) -> str:
        return f"{self.year - 1}-12" if self.month == 1 else f"{self.year}-{self.month - 1:02d}"

    @property
    def next(self) -> str:
        return f"{self.year + 1}-01" if self.month == 12 else f"{self.year}-{self.month + 1:02d}"


def month_view(year: int, month: int, filters: CatalogFilters) -> MonthView:
    """A Sunday-first grid of the month; each live activity appears on every local day it spans, an on-demand
    webcast on its release day. Below the grid, the on-demand webcasts available at some time in the month (at
    their own local dates), never before their release."""
    weeks_dates = calendar.Calendar(firstweekday=6).monthdatescalendar(year, month)
    first, last = weeks_dates[0][0], weeks_dates[-1][-1]
    month_first, month_last = date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    span_filters = CatalogFilters(**{**filters.__dict__, "date_from": first, "date_to": last, "when": "all"})
    activities = db.session.scalars(filtered_activities(span_filters).options(selectinload(Activity.sessions))).all()
    days = {d: MonthDay(d, d.month == month) for week in weeks_dates for d in week}
    on_demand = []
    for activity in activities:
        tz = zone(activity.time_zone)
        if activity.is_on_demand:
            released, until = activity.start_dt.astimezone(tz), activity.end_dt.astimezone(tz)
            if released.date() in days:
                days[released.date()].entries.append((activity, released))
            if released.date() <= month_last and (until - timedelta(microseconds=1)).date() >= month_first:
                on_demand.append((activity, released.date() if released.date() > month_first else None))
            continue
        local_start, local_end = activity.start_dt.astimezone(tz), activity.end_dt.astimezone(tz)
        session_starts: dict[date, datetime] = {}
        for session in activity.sessions:
            local = session.start_dt.astimezone(tz)
            session_starts[local.date()] = min(local, session_starts.get(local.date(), local))
        day = local_start.date()
        while day <= (local_end - timedelta(microseconds=1)).date():
            if day in days:
                days[day].entries.append((activity, local_start if day == local_start.date()
                                          else session_starts.get(day)))
            day += timedelta(days=1)
    weeks = [[days[d] for d in week] for week in weeks_dates]
    return MonthView(year, month, weeks, on_demand)


def public_activity(activity_id: int, *, for_page: bool = True) -> Activity | None:
    """An activity the public may see (`Activity.is_public`), with what its page shows loaded (`for_page`), or
    only its sessions (the registration form: a registration rush loads it twice per provider, and the page's
    speakers, faculty and disclosures were a quarter of each request's time)."""
    options = [selectinload(Activity.sessions).selectinload(ActivitySession.speakers),
               selectinload(Activity.credit_designations),
               selectinload(Activity.faculty).selectinload(Faculty.disclosures)] if for_page else [
        joinedload(Activity.sessions)]  # one statement with the activity's row, not a second one
    return db.session.scalars(
        select(Activity).where(Activity.id == activity_id, Activity.status.in_(PUBLIC_STATUSES)).options(*options)
    ).unique().one_or_none()


def draft_for_preview(activity_id: int, user: User) -> Activity | None:
    """A draft its organizer (or an admin) may preview as the public will see it."""
    activity = db.session.get(Activity, activity_id)
    if activity is None or activity.status != ActivityStatus.DRAFT or not can_manage(user, activity):
        return None
    return activity


def seat_state(activity: Activity | ActivityCard, taken: int, *, now: datetime | None = None) -> tuple[str, str]:
    """(key, label) of what a card shows: seats left, Waitlist, Full, Cancelled, Ended (an on-demand webcast: No
    longer available), Registration closed, Open. `taken`: seats taken (registration.counts: confirmed, and held
    for someone with an offer)."""
    now = now or now_utc()
    if activity.is_cancelled:
        return "cancelled", "Cancelled"
    if activity.has_ended(now):
        return "ended", "No longer available" if activity.is_on_demand else "Ended"
    closed = activity.registration_closes_dt is not None and now >= activity.registration_closes_dt
    if activity.capacity is not None and taken >= activity.capacity:
        return ("full", "Full") if closed else ("waitlist", "Waitlist")
    if closed:
        return "closed", "Registration closed"
    if activity.registration_opens_dt is not None and now < activity.registration_opens_dt:
        return "soon", "Registration opens soon"
    if activity.is_on_demand and now < activity.start_dt:
        return "soon", f"Available from {activity.start_dt.astimezone(zone(activity.time_zone)):%b %-d}"
    if activity.capacity is None:
        return "open", "Open"
    left = activity.capacity - taken
    return "open", f"{left} seat{'s' if left != 1 else ''} left"


