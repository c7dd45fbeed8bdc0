"""Activity rules and queries: the public catalog, the month view, and the organizer's operations.

Views call one function each; functions raise ActivityError (with the form field it concerns, if any)
and never commit.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import Select, case, exists, func, or_, select
from sqlalchemy.orm import defer, selectinload

from cme.accounts.models import User
from cme.activities.models import (
    Activity, ActivityFormat, ActivitySession, ActivityStatus, CreditDesignation, CreditType, Disclosure, Faculty,
    activity_organizers,
)
from cme.extensions import db
from cme.pagination import paginate
from cme.registration.models import Registration, RegistrationStatus
from cme.timeutil import now_utc, zone

WEBCAST_FORMATS = (ActivityFormat.LIVE_WEBCAST.value, ActivityFormat.ON_DEMAND_WEBCAST.value)
PUBLIC_STATUSES = (ActivityStatus.PUBLISHED.value, ActivityStatus.CANCELLED.value)
DEFAULT_ZONE = "America/New_York"


class ActivityError(Exception):
    """A refused activity operation; `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None, problems: list[str] | None = None):
        super().__init__(message)
        self.field = field
        self.problems = problems or []


# ---------------------------------------------------------------- the catalog

@dataclass
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


def _day_start_utc(day: date, zone_name: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone(zone_name))


def filtered_activities(filters: CatalogFilters, *, now: datetime | None = None) -> Select:
    """Published and cancelled activities matching the filters.

    `when`: "upcoming" (not ended, soonest first), "past" (ended, latest first) or "all" (by start).
    """
    now = now or now_utc()
    stmt = select(Activity).where(Activity.status.in_(PUBLIC_STATUSES))
    if filters.when == "past":
        stmt = stmt.where(Activity.end_dt < now).order_by(Activity.start_dt.desc(), Activity.id.desc())
    elif filters.when == "all":
        stmt = stmt.order_by(Activity.start_dt, Activity.id)
    else:
        stmt = stmt.where(Activity.end_dt >= now).order_by(Activity.start_dt, Activity.id)
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
            stmt = stmt.where(Activity.search_text.like(f"%{_escape_like(word)}%", escape="\\"))
    return stmt


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def catalog_page(filters: CatalogFilters, *, page: int = 1, per_page: int = 20, now: datetime | None = None):
    """One page of the catalog with designations loaded and seat counts, in a fixed number of queries."""
    stmt = filtered_activities(filters, now=now).options(
        selectinload(Activity.credit_designations),
        defer(Activity.description), defer(Activity.learning_objectives), defer(Activity.target_audience),
        defer(Activity.accreditation_statement), defer(Activity.access_notes))
    result = paginate(stmt, page=page, per_page=per_page)
    return result, confirmed_counts([a.id for a in result.items])


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
    on_demand: list[Activity]
    seats_taken: dict[int, int]

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
    """A Sunday-first grid of the month; each live activity appears on every local day it spans."""
    weeks_dates = calendar.Calendar(firstweekday=6).monthdatescalendar(year, month)
    first, last = weeks_dates[0][0], weeks_dates[-1][-1]
    span_filters = CatalogFilters(**{**filters.__dict__, "date_from": first, "date_to": last, "when": "all"})
    activities = db.session.scalars(filtered_activities(span_filters).options(selectinload(Activity.sessions))).all()
    days = {d: MonthDay(d, d.month == month) for week in weeks_dates for d in week}
    on_demand = []
    for activity in activities:
        if activity.is_on_demand:
            on_demand.append(activity)
            continue
        tz = zone(activity.time_zone)
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
    return MonthView(year, month, weeks, on_demand, confirmed_counts([a.id for a in activities]))


def public_activity(activity_id: int) -> Activity | None:
    """An activity the public may see (published or cancelled), with what its page shows loaded."""
    activity = db.session.scalar(
        select(Activity).where(Activity.id == activity_id, Activity.status.in_(PUBLIC_STATUSES)).options(
            selectinload(Activity.sessions), selectinload(Activity.credit_designations),
            selectinload(Activity.faculty).selectinload(Faculty.disclosures)))
    return activity


def draft_for_preview(activity_id: int, user: User) -> Activity | None:
    """A draft its organizer (or an admin) may preview as the public will see it."""
    activity = db.session.get(Activity, activity_id)
    if activity is None or activity.status != ActivityStatus.DRAFT or not can_manage(user, activity):
        return None
    return activity


def confirmed_counts(activity_ids: list[int]) -> dict[int, int]:
    if not activity_ids:
        return {}
    rows = db.session.execute(
        select(Registration.activity_id, func.count())
        .where(Registration.activity_id.in_(activity_ids), Registration.status == RegistrationStatus.CONFIRMED)
        .group_by(Registration.activity_id)
    )
    return dict(rows.all())


def seat_state(activity: Activity, confirmed: int, *, now: datetime | None = None) -> tuple[str, str]:
    """(key, label) of what a card shows: seats left, Waitlist, Full, Cancelled, Registration closed, Open."""
    now = now or now_utc()
    if activity.is_cancelled:
        return "cancelled", "Cancelled"
    closed = (activity.registration_closes_dt is not None and now >= activity.registration_closes_dt) or \
        (not activity.is_on_demand and now >= activity.end_dt)
    if activity.capacity is not None and confirmed >= activity.capacity:
        return ("full", "Full") if closed else ("waitlist", "Waitlist")
    if closed:
        return "closed", "Registration closed"
    if activity.registration_opens_dt is not None and now < activity.registration_opens_dt:
        return "soon", "Registration opens soon"
    if activity.is_on_demand and now < activity.start_dt:
        return "soon", f"Available from {activity.start_dt.astimezone(zone(activity.time_zone)):%b %-d}"
    if activity.capacity is None:
        return "open", "Open"
    left = activity.capacity - confirmed
    return "open", f"{left} seat{'s' if left != 1 else ''} left"


# ---------------------------------------------------------------- organizers

def organizer_activities_query(user: User) -> Select:
    """Activities the user organizes (all of them for an admin): current and upcoming soonest first, then past."""
    now = now_utc()
    is_past = case((Activity.end_dt < now, 1), else_=0)
    stmt = select(Activity).order_by(is_past, case((Activity.end_dt < now, Activity.end_dt), else_=None).desc(),
                                     Activity.start_dt, Activity.id)
    if not user.is_admin:
        stmt = stmt.where(Activity.id.in_(
            select(activity_organizers.c.activity_id).where(activity_organizers.c.user_id == user.id)))
    return stmt


def can_manage(user: User, activity: Activity) -> bool:
    return user.is_admin or (user.is_organizer and any(o.id == user.id for o in activity.organizers))


def registration_counts(activity_ids: list[int]) -> dict[int, dict[str, int]]:
    """{activity_id: {"confirmed": n, "waitlisted": m}} in one query."""
    counts: dict[int, dict[str, int]] = {i: {"confirmed": 0, "waitlisted": 0} for i in activity_ids}
    if not activity_ids:
        return counts
    rows = db.session.execute(
        select(Registration.activity_id, Registration.status, func.count())
        .where(Registration.activity_id.in_(activity_ids), Registration.status != RegistrationStatus.CANCELLED)
        .group_by(Registration.activity_id, Registration.status)
    )
    for activity_id, status, count in rows:
        counts[activity_id][status] = count
    return counts


def next_dates(activities: Iterable[Activity], *, now: datetime | None = None) -> dict[int, datetime | None]:
    """The next start (of a session, or of the activity) per activity, None when all is past."""
    now = now or now_utc()
    ids = [a.id for a in activities]
    result: dict[int, datetime | None] = {}
    if ids:
        rows = db.session.execute(
            select(ActivitySession.activity_id, func.min(ActivitySession.start_dt))
            .where(ActivitySession.activity_id.in_(ids), ActivitySession.start_dt >= now)
            .group_by(ActivitySession.activity_id))
        result.update(dict(rows.all()))
    for activity in activities:
        if activity.id not in result and activity.start_dt >= now:
            result[activity.id] = activity.start_dt
        result.setdefault(activity.id, None)
    return result


def _apply_fields(activity: Activity, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(activity, name, value)
    if activity.is_on_demand:
        activity.available_from_dt, activity.available_until_dt = activity.start_dt, activity.end_dt
    else:
        activity.available_from_dt = activity.available_until_dt = None
    if not activity.is_live_meeting:
        activity.venue_name = activity.street_address = activity.city = activity.state = activity.postal_code = None


def create_activity(organizer: User, fields: dict[str, Any], *, default_accreditation: str = "",
                    now: datetime | None = None) -> Activity:
    activity = Activity(status=ActivityStatus.DRAFT.value, organizers=[organizer], created_dt=now or now_utc())
    _apply_fields(activity, fields)
    if not activity.accreditation_statement:
        activity.accreditation_statement = default_accreditation
    db.session.add(activity)
    db.session.flush()
    return activity


SCHEDULE_FIELDS = ("start_dt", "end_dt", "time_zone")


def update_activity(activity: Activity, fields: dict[str, Any]) -> bool:
    """Apply edits; returns True when the schedule of a public activity changed (registrants are told)."""
    if activity.is_cancelled:
        raise ActivityError("A cancelled activity cannot be edited.")
    outside = [s for s in activity.sessions if s.start_dt < fields["start_dt"] or s.end_dt > fields["end_dt"]]
    if outside:
        raise ActivityError(f"{len(outside)} agenda session(s) would fall outside these times; move them first "
                            f"(e.g. “{outside[0].title}”).", field="start_local")
    if activity.capacity is not None and fields.get("capacity") is not None and fields["capacity"] < activity.capacity:
        taken = confirmed_counts([activity.id]).get(activity.id, 0)
        if fields["capacity"] < taken:
            raise ActivityError(f"{taken} registrants are already confirmed; the capacity cannot go below that.",
                                field="capacity")
    schedule_changed = any(getattr(activity, name) != fields[name] for name in SCHEDULE_FIELDS)
    capacity_grew = fields.get("capacity", activity.capacity) != activity.capacity and (
        fields.get("capacity") is None or (activity.capacity is not None and fields["capacity"] > activity.capacity))
    _apply_fields(activity, fields)
    _recheck_hours(activity)
    if capacity_grew and activity.is_published:
        from cme.registration.service import capacity_changed

        db.session.flush()
        capacity_changed(activity)
    if schedule_changed:
        return record_schedule_change(activity)
    db.session.flush()
    return False


def record_schedule_change(activity: Activity, *, now: datetime | None = None) -> bool:
    """Bump the calendar SEQUENCE and tell registrants, when the activity is public. Returns whether it was."""
    if activity.status != ActivityStatus.PUBLISHED:
        db.session.flush()
        return False
    activity.schedule_sequence += 1
    activity.schedule_changed_dt = now or now_utc()
    db.session.flush()
    from cme.activities.notices import queue_schedule_change_notices

    queue_schedule_change_notices(activity)
    return True


def scheduled_hours(activity: Activity) -> Decimal:
    """Hours of instruction: the agenda sessions' total (overlaps counted once), or the activity's span."""
    intervals = sorted((s.start_dt, s.end_dt) for s in activity.sessions) or [(activity.start_dt, activity.end_dt)]
    total = timedelta()
    current_start, current_end = intervals[0]
    for start, end in intervals[1:]:
        if start <= current_end:
            current_end = max(current_end, end)
        else:
            total += current_end - current_start
            current_start, current_end = start, end
    total += current_end - current_start
    return Decimal(int(total.total_seconds())) / Decimal(3600)


def check_ama_within_hours(activity: Activity, amount: Decimal | None = None) -> None:
    """Live activities may not designate more AMA credit than their scheduled hours."""
    if activity.is_on_demand:
        return
    if amount is None:
        amount = next((d.max_amount for d in activity.credit_designations if d.credit_type == CreditType.AMA_PRA_1), None)
    hours = scheduled_hours(activity)
    if amount is not None and Decimal(amount) > hours:
        raise ActivityError(f"AMA credit cannot exceed the scheduled hours of instruction ({hours.normalize():f} h).",
                            field="max_amount")


# ---------------------------------------------------------------- agenda

def _check_session_in_span(activity: Activity, start: datetime, end: datetime) -> None:
    if activity.is_cancelled:
        raise ActivityError("A cancelled activity's agenda cannot change.")
    if start < activity.start_dt or end > activity.end_dt:
        raise ActivityError("The session must fall within the activity's start and end.", field="start_local")


def add_session(activity: Activity, fields: dict[str, Any]) -> ActivitySession:
    _check_session_in_span(activity, fields["start_dt"], fields["end_dt"])
    session = ActivitySession(**fields)
    activity.sessions.append(session)
    _recheck_hours(activity)
    db.session.flush()
    record_schedule_change(activity)
    return session


def update_session(session: ActivitySession, fields: dict[str, Any]) -> None:
    activity = session.activity
    _check_session_in_span(activity, fields["start_dt"], fields["end_dt"])
    changed = (session.start_dt, session.end_dt, session.title) != (fields["start_dt"], fields["end_dt"], fields["title"])
    for name, value in fields.items():
        setattr(session, name, value)
    _recheck_hours(activity)
    db.session.flush()
    if changed:
        record_schedule_change(activity)


def delete_session(session: ActivitySession) -> None:
    activity = session.activity
    if activity.is_cancelled:
        raise ActivityError("A cancelled activity's agenda cannot change.")
    activity.sessions.remove(session)
    db.session.flush()
    _recheck_hours(activity)
    record_schedule_change(activity)


def _recheck_hours(activity: Activity) -> None:
    """A published activity must keep its AMA credit within its hours; a draft may not (publishing checks it)."""
    if activity.status != ActivityStatus.PUBLISHED:
        return
    try:
        check_ama_within_hours(activity)
    except ActivityError as error:
        raise ActivityError(f"{error} Lower the AMA designation first.", field="start_local") from None


# ---------------------------------------------------------------- faculty, disclosures, credit

def add_faculty(activity: Activity, *, full_name: str, degree: str, affiliation: str, role: str,
                disclosure_received: bool, now: datetime | None = None) -> Faculty:
    person = Faculty(full_name=full_name, degree=degree or "", affiliation=affiliation or "", role=role,
                     position=len(activity.faculty), disclosure_received_dt=(now or now_utc()) if disclosure_received else None)
    activity.faculty.append(person)
    db.session.flush()
    return person


def update_faculty(person: Faculty, *, full_name: str, degree: str, affiliation: str, role: str,
                   disclosure_received: bool, now: datetime | None = None) -> None:
    person.full_name, person.degree, person.affiliation, person.role = full_name, degree or "", affiliation or "", role
    if disclosure_received and person.disclosure_received_dt is None:
        person.disclosure_received_dt = now or now_utc()
    elif not disclosure_received:
        person.disclosure_received_dt = None
    db.session.flush()


def delete_faculty(person: Faculty) -> None:
    person.activity.faculty.remove(person)
    db.session.flush()


def add_disclosure(person: Faculty, *, company: str, relationship_type: str, mitigated: bool,
                   now: datetime | None = None) -> Disclosure:
    disclosure = Disclosure(company=company, relationship_type=relationship_type, mitigated=mitigated)
    person.disclosures.append(disclosure)
    if person.disclosure_received_dt is None:
        person.disclosure_received_dt = now or now_utc()
    db.session.flush()
    return disclosure


def set_mitigated(disclosure: Disclosure, mitigated: bool) -> None:
    disclosure.mitigated = mitigated
    db.session.flush()


def delete_disclosure(disclosure: Disclosure) -> None:
    disclosure.faculty.disclosures.remove(disclosure)
    db.session.flush()


def set_designation(activity: Activity, credit_type: str, amount: Decimal) -> CreditDesignation:
    """Create or change the designation of one credit type."""
    if credit_type == CreditType.AMA_PRA_1:
        check_ama_within_hours(activity, amount)
    designation = next((d for d in activity.credit_designations if d.credit_type == credit_type), None)
    if designation is None:
        designation = CreditDesignation(credit_type=credit_type, max_amount=amount)
        activity.credit_designations.append(designation)
    else:
        designation.max_amount = amount
    db.session.flush()
    return designation


def delete_designation(designation: CreditDesignation) -> None:
    activity = designation.activity
    activity.credit_designations.remove(designation)
    db.session.flush()


# ---------------------------------------------------------------- lifecycle

def publication_problems(activity: Activity) -> list[str]:
    """What stops an activity from being published (ACCME Standard 3 and our own rules)."""
    problems = []
    if not activity.credit_designations:
        problems.append("Add at least one credit designation.")
    if not activity.faculty:
        problems.append("Add the people who control content (faculty, planners, reviewers) with their disclosures.")
    for person in activity.faculty:
        if not person.has_disclosure_on_file:
            problems.append(f"{person.full_name} ({person.role_label.lower()}) has no disclosure on file.")
        for disclosure in person.unmitigated:
            problems.append(f"{person.full_name}'s relationship with {disclosure.company} "
                            f"({disclosure.relationship_label.lower()}) has not been mitigated.")
    try:
        check_ama_within_hours(activity)
    except ActivityError as error:
        problems.append(str(error))
    if activity.format == ActivityFormat.LIVE_WEBCAST and not activity.join_url:
        problems.append("Add the webcast's join link.")
    return problems


def publish(activity: Activity, *, now: datetime | None = None) -> None:
    if activity.status != ActivityStatus.DRAFT:
        raise ActivityError("Only a draft can be published.")
    problems = publication_problems(activity)
    if problems:
        raise ActivityError("This activity cannot be published yet.", problems=problems)
    activity.status = ActivityStatus.PUBLISHED.value
    activity.published_dt = now or now_utc()
    db.session.flush()


def active_registrations(activity: Activity) -> list[Registration]:
    return list(db.session.scalars(
        select(Registration).where(Registration.activity_id == activity.id,
                                   Registration.status != RegistrationStatus.CANCELLED)
        .options(selectinload(Registration.user)).order_by(Registration.id)))


def unpublish(activity: Activity) -> None:
    if activity.status != ActivityStatus.PUBLISHED:
        raise ActivityError("Only a published activity can be unpublished.")
    if active_registrations(activity):
        raise ActivityError("People have registered for this activity: cancel it instead, so they are told.")
    activity.status = ActivityStatus.DRAFT.value
    activity.published_dt = None
    db.session.flush()


def cancel(activity: Activity, *, now: datetime | None = None) -> int:
    """Cancel, bump the calendar sequence, and queue a notice to every registrant. Returns how many were told."""
    if activity.status == ActivityStatus.CANCELLED:
        raise ActivityError("This activity is already cancelled.")
    was_public = activity.status == ActivityStatus.PUBLISHED
    activity.status = ActivityStatus.CANCELLED.value
    activity.cancelled_dt = now or now_utc()
    activity.schedule_sequence += 1
    db.session.flush()
    if not was_public:
        return 0
    from cme.activities.notices import queue_cancellation_notices

    return queue_cancellation_notices(activity)


def duplicate(activity: Activity, organizer: User) -> Activity:
    """A draft copy with the same content, agenda, faculty and credit, and new identities."""
    columns = ("format", "summary", "description", "learning_objectives", "target_audience", "specialty", "topics",
               "time_zone", "start_dt", "end_dt", "venue_name", "street_address", "city", "state", "postal_code",
               "join_url", "access_notes", "available_from_dt", "available_until_dt", "capacity",
               "registration_opens_dt", "registration_closes_dt", "claim_deadline_dt", "accreditation_statement")
    copy = Activity(status=ActivityStatus.DRAFT.value, title=f"Copy of {activity.title}"[:300],
                    organizers=list({u.id: u for u in [*activity.organizers, organizer]}.values()),
                    **{name: getattr(activity, name) for name in columns})
    copy.sessions = [ActivitySession(title=s.title, description=s.description, start_dt=s.start_dt, end_dt=s.end_dt,
                                     room=s.room, speakers=s.speakers) for s in activity.sessions]
    copy.faculty = [Faculty(full_name=f.full_name, degree=f.degree, affiliation=f.affiliation, role=f.role,
                            position=f.position, disclosure_received_dt=f.disclosure_received_dt,
                            disclosures=[Disclosure(company=d.company, relationship_type=d.relationship_type,
                                                    mitigated=d.mitigated) for d in f.disclosures])
                    for f in activity.faculty]
    copy.credit_designations = [CreditDesignation(credit_type=d.credit_type, max_amount=d.max_amount)
                                for d in activity.credit_designations]
    db.session.add(copy)
    db.session.flush()
    return copy


def shift_to_local(instant: datetime | None, zone_name: str) -> datetime | None:
    """An aware instant as the naive local wall-clock time a form field shows."""
    return instant.astimezone(zone(zone_name)).replace(tzinfo=None) if instant else None

