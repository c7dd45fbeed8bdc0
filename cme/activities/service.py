"""The organizer's operations on activities: create, edit (one named operation per kind of change, each holding
its rule), agenda, faculty and disclosures, credit designations, publish, unpublish, cancel, duplicate.

The public read side lives in `catalog.py`. Operations that concern registrants (capacity, telling them of a
change, unpublishing once people registered) live in `cme.registration.lifecycle`, above this module: an
activity knows nothing of its registrations. Functions raise ActivityError and never commit.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterable, Iterator

from sqlalchemy import Select, case, func, select

from cme.accounts.identity import Board
from cme.accounts.models import User
from cme.activities.acpe import normalise_uan, uan_problem
from cme.activities.reporting_data import ActivityContentTag, ActivityOutcomeMeasure, MocRegistration
from cme.activities.models import (
    AccreditationKind, Activity, ActivityFormat, ActivitySession, ActivityStatus, CommercialSupport, CreditDesignation,
    MAX_OFFER_DAYS, MAX_OFFER_HOURS, CreditType, Disclosure, Faculty, activity_organizers,
)
from cme.errors import DomainError
from cme.extensions import db
from cme.timeutil import NonExistentLocalTime, now_utc, shift_wall_clock, wall_clock_difference, zone


class ActivityError(DomainError):
    """A refused activity operation."""


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


def create_activity(organizer: User, fields: dict[str, Any], *, now: datetime | None = None) -> Activity:
    fields = dict(fields)
    accreditation = {name: fields.pop(name) for name in ACCREDITATION_FIELDS if name in fields}
    activity = Activity(status=ActivityStatus.DRAFT.value, organizers=[organizer], created_dt=now or now_utc())
    _apply_fields(activity, fields)
    set_accreditation(activity, **{"accreditation_kind": AccreditationKind.ACCME.value, **accreditation})
    db.session.add(activity)
    db.session.flush()
    return activity


def _refuse_if_cancelled(activity: Activity) -> None:
    if activity.is_cancelled:
        raise ActivityError("A cancelled activity cannot be edited.", code="cancelled")


def update_details(activity: Activity, *, title: str, summary: str, description: str, learning_objectives: str,
                   target_audience: str, specialty: str, topics: str) -> None:
    """What the activity is about: text only, so nobody needs to be told."""
    _refuse_if_cancelled(activity)
    activity.title, activity.summary, activity.description = title, summary, description
    activity.learning_objectives, activity.target_audience = learning_objectives, target_audience
    activity.specialty, activity.topics = specialty, topics
    db.session.flush()


ACCREDITATION_FIELDS = ("accreditation_kind", "joint_provider", "accreditation_statement")


def set_accreditation(activity: Activity, *, accreditation_kind: str, joint_provider: str = "",
                      accreditation_statement: str = "") -> None:
    """Under whose accreditation the activity runs (point 9 of issue 12). A published activity keeps a complete
    statement: joint providership names its joint provider, a custom statement has its text."""
    _refuse_if_cancelled(activity)
    activity.accreditation_kind = accreditation_kind
    activity.joint_provider = joint_provider if accreditation_kind == AccreditationKind.JOINT_PROVIDERSHIP else ""
    activity.accreditation_statement = accreditation_statement if accreditation_kind == AccreditationKind.CUSTOM else ""
    if activity.status == ActivityStatus.PUBLISHED:
        problems = accreditation_problems(activity)
        if problems:
            field = ("accreditation_kind" if "physicians' credit only" in problems[0] else
                     "joint_provider" if accreditation_kind == AccreditationKind.JOINT_PROVIDERSHIP else
                     "accreditation_statement")
            raise ActivityError(f"{problems[0]} A published activity must keep its accreditation statement.",
                                code="accreditation_incomplete", field=field)
    db.session.flush()


# Credit an ACCME accreditation (direct or through joint providership) does not cover: nursing, pharmacy and PA
# credit need Joint Accreditation (or another accreditor's own statement).
INTERPROFESSIONAL_CREDIT = (CreditType.ANCC.value, CreditType.ACPE.value, CreditType.AAPA_1.value)


def accreditation_problems(activity: Activity) -> list[str]:
    if activity.accreditation_kind == AccreditationKind.JOINT_PROVIDERSHIP and not activity.joint_provider.strip():
        return ["Name the joint provider: joint providership names both organizations."]
    if activity.accreditation_kind == AccreditationKind.CUSTOM and not activity.accreditation_statement.strip():
        return ["Write the accreditation statement, or choose one of the standard accreditations."]
    if activity.accreditation_kind in (AccreditationKind.ACCME, AccreditationKind.JOINT_PROVIDERSHIP):
        uncovered = [d.credit_type_label for d in activity.designations if d.credit_type in INTERPROFESSIONAL_CREDIT]
        if uncovered:
            return [f"{' and '.join(uncovered)}: an ACCME accreditation covers physicians' credit only. Choose Joint "
                    "Accreditation (or another accreditor's statement), or remove that credit."]
    return []


def add_commercial_support(activity: Activity, *, company: str, kind: str,
                           amount: Decimal | None = None) -> CommercialSupport:
    """Record an ineligible company's support; learners then see it acknowledged."""
    _refuse_if_cancelled(activity)
    support = CommercialSupport(company=company, kind=kind, amount=amount)
    activity.commercial_supports.append(support)
    db.session.flush()
    return support


def delete_commercial_support(support: CommercialSupport) -> None:
    _refuse_if_cancelled(support.activity)
    support.activity.commercial_supports.remove(support)
    db.session.flush()


PLACE_FIELDS = ("venue_name", "street_address", "city", "state", "postal_code", "join_url", "access_notes")


def change_place(activity: Activity, *, venue_name: str | None = None, street_address: str | None = None,
                 city: str | None = None, state: str | None = None, postal_code: str | None = None,
                 join_url: str | None = None, access_notes: str = "") -> bool:
    """Where it happens: the venue (live meetings only; a webcast keeps none) or the join link. Returns True when
    a public event's place changed (its calendar SEQUENCE is bumped, like a schedule change; registrants are
    told by `cme.registration.lifecycle`)."""
    _refuse_if_cancelled(activity)
    before = [getattr(activity, name) for name in PLACE_FACTS]
    _apply_fields(activity, {"venue_name": venue_name, "street_address": street_address, "city": city,
                             "state": state, "postal_code": postal_code, "join_url": join_url,
                             "access_notes": access_notes})
    db.session.flush()
    changed = before != [getattr(activity, name) for name in PLACE_FACTS]
    return record_schedule_change(activity) if changed else False


# What a calendar event's place is made of (the access notes are text: changing them tells nobody).
PLACE_FACTS = ("venue_name", "street_address", "city", "state", "postal_code", "join_url")


def set_reminders(activity: Activity, *, remind_day_before: bool, remind_hour_before: bool) -> None:
    """Whether registrants get a reminder 24 hours before a live meeting and one hour before a live webcast
    (`cme.registration.lifecycle` queues or drops the reminders themselves)."""
    _refuse_if_cancelled(activity)
    activity.remind_day_before, activity.remind_hour_before = remind_day_before, remind_hour_before
    db.session.flush()


def set_waitlist_offers(activity: Activity, *, offer_days_before: int, offer_hours: int) -> None:
    """Issue 14, point 16: within how many days of the start a freed seat is offered to the next person on the
    waitlist (0: never, it is given at once), and for how many hours an offer stands. Offers already made keep
    their deadline (`cme.registration.service` makes and ends them)."""
    _refuse_if_cancelled(activity)
    if not 0 <= offer_days_before <= MAX_OFFER_DAYS:
        raise ActivityError(f"Choose from 0 to {MAX_OFFER_DAYS} days.", code="offer_days", field="offer_days_before")
    if not 1 <= offer_hours <= MAX_OFFER_HOURS:
        raise ActivityError(f"Choose from 1 to {MAX_OFFER_HOURS} hours.", code="offer_hours", field="offer_hours")
    activity.offer_days_before, activity.offer_hours = offer_days_before, offer_hours
    db.session.flush()


def reschedule(activity: Activity, *, time_zone: str, start_dt: datetime, end_dt: datetime,
               format: str | None = None, move_sessions: bool = False, now: datetime | None = None) -> bool:
    """When and in what form it happens: its times and its format (live, webcast, on demand), checked together
    once. With `move_sessions` the agenda moves with the start: each session keeps its local time relative to it
    (`shift_wall_clock`: a meeting moved a week later keeps its 9:00 AM session at 9:00 AM, across a change of the
    clocks too). Its agenda must still fit and a published activity keeps its AMA credit within its hours (an
    on-demand webcast has no hours limit). Returns True when a public schedule changed (the calendar SEQUENCE is
    bumped; registrants are told by `cme.registration.lifecycle`)."""
    _refuse_if_cancelled(activity)
    by = wall_clock_difference(activity.start_dt, activity.time_zone, start_dt, time_zone)
    times = {s: _session_times(s, by, activity.time_zone, time_zone, field="move_sessions") if move_sessions
             else (s.start_dt, s.end_dt) for s in activity.sessions}
    outside = [s for s, (start, end) in times.items() if start < start_dt or end > end_dt]
    if outside:
        hint = ("" if move_sessions or not activity.sessions else
                " Tick “Move the agenda with the start” to move every session with it, or move them first")
        raise ActivityError(f"{len(outside)} agenda session(s) would fall outside these times (e.g. "
                            f"“{outside[0].title}”).{hint or ' Move them first'}.", code="sessions_outside",
                            field="start_local" if move_sessions else "move_sessions")
    format = format or activity.format
    changed = (activity.format, activity.time_zone, activity.start_dt, activity.end_dt) != (
        format, time_zone, start_dt, end_dt)
    if changed and activity.is_published and activity.has_ended(now):
        raise ActivityError("This activity has ended: its dates and format are the record of when and how it took "
                            "place (credit and certificates rest on them). Duplicate it to run it again.",
                            code="ended", field="start_local")
    moved = [s for s, (start, end) in times.items() if (start, end) != (s.start_dt, s.end_dt)]
    for session in moved:
        session.start_dt, session.end_dt = times[session]
    _apply_fields(activity, {"format": format, "time_zone": time_zone, "start_dt": start_dt, "end_dt": end_dt})
    _recheck_hours(activity)
    return record_schedule_change(activity, now=now) if changed or moved else False


def _session_times(session: ActivitySession, by: timedelta, zone_name: str, to_zone: str | None = None, *,
                   field: str) -> tuple[datetime, datetime]:
    """A session's start and end moved by `by` in wall-clock time (`shift_wall_clock`); refused, naming the
    session, when a time lands in the hour the clocks skip."""
    try:
        return (shift_wall_clock(session.start_dt, by, zone_name, to_zone),
                shift_wall_clock(session.end_dt, by, zone_name, to_zone))
    except NonExistentLocalTime as error:
        raise ActivityError(f"“{session.title}” would move to {_skipped(error)}. Choose another day, or move that "
                            "session first.", code="session_in_dst_gap", field=field) from None


def _skipped(error: NonExistentLocalTime) -> str:
    return (f"{error.naive:%a %b %-d, %Y, %-I:%M %p}, a time that does not exist in {error.zone_name} (the clocks "
            "skip that hour)")


def set_deadlines(activity: Activity, *, registration_opens_dt: datetime | None,
                  registration_closes_dt: datetime | None, claim_deadline_dt: datetime | None) -> None:
    """When registration opens and closes, and until when credit may be claimed."""
    _refuse_if_cancelled(activity)
    activity.registration_opens_dt, activity.registration_closes_dt = registration_opens_dt, registration_closes_dt
    activity.claim_deadline_dt = claim_deadline_dt
    db.session.flush()


def record_schedule_change(activity: Activity, *, now: datetime | None = None) -> bool:
    """Bump the calendar SEQUENCE of a published activity whose schedule changed. Returns whether it was public
    (then its registrants must be told)."""
    if activity.status != ActivityStatus.PUBLISHED:
        db.session.flush()
        return False
    activity.schedule_sequence += 1
    activity.schedule_changed_dt = now or now_utc()
    db.session.flush()
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
                            code="ama_over_hours", field="max_amount")


# ---------------------------------------------------------------- agenda

def _check_session_in_span(activity: Activity, start: datetime, end: datetime) -> None:
    if activity.is_cancelled:
        raise ActivityError("A cancelled activity's agenda cannot change.", code="cancelled")
    # The error sits beside the time that is out: the start when it is before the activity's, else the end.
    if start < activity.start_dt:
        raise ActivityError("The session must fall within the activity's start and end: it starts before the "
                            "activity does.", code="session_outside", field="start_local")
    if end > activity.end_dt:
        raise ActivityError("The session must fall within the activity's start and end: it ends after the "
                            "activity does.", code="session_outside", field="end_local")


def _speakers(activity: Activity, fields: dict[str, Any]) -> tuple[dict[str, Any], list[Faculty]]:
    """The session's fields without `speakers`, and its speakers: faculty records of this same activity."""
    fields = dict(fields)
    speakers = list(fields.pop("speakers", None) or [])
    strangers = [p for p in speakers if not any(p is person for person in activity.faculty)]
    if strangers:
        raise ActivityError("Choose the speakers from this activity's faculty.", code="speaker_not_faculty",
                            field="speakers")
    return fields, speakers


def add_session(activity: Activity, fields: dict[str, Any]) -> ActivitySession:
    """A new agenda session (`fields["speakers"]`: faculty records of the activity); a published activity's
    schedule changes with it (see `record_schedule_change`)."""
    _check_session_in_span(activity, fields["start_dt"], fields["end_dt"])
    fields, speakers = _speakers(activity, fields)
    with keeping_publishable(activity, field="speakers"):
        session = ActivitySession(**fields, speakers=speakers)
        activity.sessions.append(session)
        _recheck_hours(activity)
        db.session.flush()
    record_schedule_change(activity)
    return session


def update_session(session: ActivitySession, fields: dict[str, Any]) -> bool:
    """Returns whether a public schedule changed (registrants must be told)."""
    activity = session.activity
    _check_session_in_span(activity, fields["start_dt"], fields["end_dt"])
    fields, speakers = _speakers(activity, fields)
    changed = (session.start_dt, session.end_dt, session.title) != (fields["start_dt"], fields["end_dt"], fields["title"])
    with keeping_publishable(activity, field="speakers"):
        for name, value in fields.items():
            setattr(session, name, value)
        session.speakers = speakers
        _recheck_hours(activity)
        db.session.flush()
    return record_schedule_change(activity) if changed else False


def delete_session(session: ActivitySession) -> bool:
    """Returns whether a public schedule changed (registrants must be told)."""
    activity = session.activity
    if activity.is_cancelled:
        raise ActivityError("A cancelled activity's agenda cannot change.", code="cancelled")
    activity.sessions.remove(session)
    db.session.flush()
    _recheck_hours(activity)
    return record_schedule_change(activity)


def _recheck_hours(activity: Activity) -> None:
    """A published activity must keep its AMA credit within its hours; a draft may not (publishing checks it)."""
    if activity.status != ActivityStatus.PUBLISHED:
        return
    try:
        check_ama_within_hours(activity)
    except ActivityError as error:
        raise ActivityError(f"{error} Lower the AMA designation first.", code=error.code,
                            field="start_local") from None


# ---------------------------------------------------------------- faculty, disclosures, credit

# Every edit of the people in content roles, their disclosures and the agenda's speakers runs inside
# `keeping_publishable`: on a published activity, one that would make `publication_problems` grow is refused.

def add_faculty(activity: Activity, *, full_name: str, degree: str, affiliation: str, role: str,
                disclosure_received: bool, now: datetime | None = None) -> Faculty:
    with keeping_publishable(activity, field="disclosure_received"):
        person = Faculty(full_name=full_name, degree=degree or "", affiliation=affiliation or "", role=role,
                         position=len(activity.faculty),
                         disclosure_received_dt=(now or now_utc()) if disclosure_received else None)
        activity.faculty.append(person)
        db.session.flush()
    return person


def update_faculty(person: Faculty, *, full_name: str, degree: str, affiliation: str, role: str,
                   disclosure_received: bool, now: datetime | None = None) -> None:
    with keeping_publishable(person.activity, field="disclosure_received"):
        person.full_name, person.degree, person.affiliation, person.role = full_name, degree or "", affiliation or "", role
        if disclosure_received and person.disclosure_received_dt is None:
            person.disclosure_received_dt = now or now_utc()
        elif not disclosure_received:
            person.disclosure_received_dt = None
        db.session.flush()


def delete_faculty(person: Faculty) -> None:
    """Remove a person (and so their place as a speaker in the agenda)."""
    activity = person.activity
    with keeping_publishable(activity):
        for session in list(person.sessions):
            session.speakers.remove(person)
        activity.faculty.remove(person)
        db.session.flush()


def add_disclosure(person: Faculty, *, company: str, relationship_type: str, mitigated: bool,
                   now: datetime | None = None) -> Disclosure:
    with keeping_publishable(person.activity, field="mitigated"):
        disclosure = Disclosure(company=company, relationship_type=relationship_type, mitigated=mitigated)
        person.disclosures.append(disclosure)
        if person.disclosure_received_dt is None:
            person.disclosure_received_dt = now or now_utc()
        db.session.flush()
    return disclosure


def set_mitigated(disclosure: Disclosure, mitigated: bool) -> None:
    with keeping_publishable(disclosure.faculty.activity):
        disclosure.mitigated = mitigated
        db.session.flush()


def delete_disclosure(disclosure: Disclosure) -> None:
    with keeping_publishable(disclosure.faculty.activity):
        disclosure.faculty.disclosures.remove(disclosure)
        db.session.flush()


def _designated(activity: Activity, credit_type: str) -> Decimal | None:
    return next((d.max_amount for d in activity.credit_designations if d.credit_type == credit_type), None)


def _check_moc_within_ama(activity: Activity, credit_type: str, amount: Decimal) -> None:
    """ABIM MOC points accompany AMA credit: an activity designates no more MOC points than AMA credit (and so no
    more than its scheduled hours), and the AMA designation cannot drop below the MOC one."""
    amount = Decimal(amount)
    if credit_type == CreditType.ABIM_MOC:
        hours = scheduled_hours(activity)
        if not activity.is_on_demand and amount > hours:
            raise ActivityError(f"ABIM MOC points cannot exceed the scheduled hours of instruction "
                                f"({hours.normalize():f} h).", code="moc_over_hours", field="max_amount")
        ama = _designated(activity, CreditType.AMA_PRA_1)
        if ama is None:
            raise ActivityError("Designate AMA PRA Category 1 Credit™ first: ABIM MOC points never exceed it.",
                                code="moc_without_ama", field="credit_type")
        if amount > ama:
            raise ActivityError(f"ABIM MOC points cannot exceed the AMA designation ({ama.normalize():f}).",
                                code="moc_over_ama", field="max_amount")
    elif credit_type == CreditType.AMA_PRA_1:
        moc = _designated(activity, CreditType.ABIM_MOC)
        if moc is not None and amount < moc:
            raise ActivityError(f"The AMA designation cannot drop below the ABIM MOC designation "
                                f"({moc.normalize():f}): lower the MOC points first.", code="ama_under_moc",
                                field="max_amount")
        highest = highest_moc_registration(activity)
        if highest is not None and amount < highest.points:
            raise ActivityError(f"The AMA designation cannot drop below the {Board(highest.board).acronym} MOC points "
                                f"({highest.points.normalize():f}, Reporting data): lower them first.",
                                code="ama_under_moc", field="max_amount")


def moc_registrations(activity: Activity) -> list[MocRegistration]:
    """The activity's MOC registrations, one per board, in the boards' order."""
    order = {board.value: index for index, board in enumerate(Board)}
    return sorted(db.session.scalars(select(MocRegistration).where(MocRegistration.activity_id == activity.id)),
                  key=lambda registration: order.get(registration.board, len(order)))


def highest_moc_registration(activity: Activity) -> MocRegistration | None:
    """The board registration with the most MOC points (the AMA designation never drops below it)."""
    return max(moc_registrations(activity), key=lambda registration: registration.points, default=None)


def set_designation(activity: Activity, credit_type: str, amount: Decimal) -> CreditDesignation:
    """Create or change the designation of one credit type."""
    _refuse_if_cancelled(activity)
    if credit_type == CreditType.AMA_PRA_1:
        check_ama_within_hours(activity, amount)
    _check_moc_within_ama(activity, credit_type, amount)
    if credit_type == CreditType.ACPE and activity.is_published and not activity.acpe_uan:
        raise ActivityError("Add the activity's ACPE Universal Activity Number first: ACPE credit needs it.",
                            code="acpe_uan_required", field="credit_type")
    designation = next((d for d in activity.credit_designations if d.credit_type == credit_type), None)
    with keeping_publishable(activity, field="credit_type"):
        if designation is None:
            designation = CreditDesignation(credit_type=credit_type, max_amount=amount)
            activity.credit_designations.append(designation)
        else:
            designation.max_amount = amount
        if credit_type == CreditType.ABIM_MOC:  # ABIM's registration carries the designation's points (one home)
            for registration in moc_registrations(activity):
                if registration.board == Board.ABIM:
                    registration.points = designation.max_amount
        db.session.flush()
    return designation


def delete_designation(designation: CreditDesignation) -> None:
    """Remove a designation; a published activity keeps what publishing requires (at least one designation)."""
    activity = designation.activity
    _refuse_if_cancelled(activity)
    if designation.credit_type == CreditType.AMA_PRA_1 and _designated(activity, CreditType.ABIM_MOC) is not None:
        raise ActivityError("Remove the ABIM MOC designation first: MOC points need AMA credit.", code="ama_under_moc")
    registrations = moc_registrations(activity)
    if designation.credit_type == CreditType.AMA_PRA_1 and registrations:
        raise ActivityError(f"Remove the {Board(registrations[0].board).acronym} MOC registration first (Reporting "
                            "data): MOC points need AMA credit.", code="ama_under_moc")
    if designation.credit_type == CreditType.ABIM_MOC and any(r.board == Board.ABIM for r in registrations):
        raise ActivityError("Remove the ABIM MOC registration first (Reporting data): it carries these points.",
                            code="abim_registered")
    with keeping_publishable(activity):
        activity.credit_designations.remove(designation)
        db.session.flush()


def set_acpe_uan(activity: Activity, uan: str | None) -> None:
    """Record (or clear) the activity's ACPE Universal Activity Number. A published activity with ACPE credit
    keeps one: publishing requires it."""
    _refuse_if_cancelled(activity)
    uan = normalise_uan(uan)
    if uan is not None and (problem := uan_problem(uan)):
        raise ActivityError(problem, code="acpe_uan", field="acpe_uan")
    if uan is None and activity.is_published and _designated(activity, CreditType.ACPE) is not None:
        raise ActivityError("A published activity with ACPE credit needs its Universal Activity Number: remove the "
                            "ACPE designation first.", code="acpe_uan_required", field="acpe_uan")
    activity.acpe_uan = uan
    db.session.flush()


# ---------------------------------------------------------------- lifecycle

def publication_problems(activity: Activity) -> list[str]:
    """What stops an activity from being published (ACCME Standard 3 and our own rules). While it is published,
    edits that would add to this list are refused (`keeping_publishable`)."""
    problems = []
    if not activity.credit_designations:
        problems.append("Add at least one credit designation.")
    problems.extend(problem.text for problem in content_role_problems(activity))
    try:
        check_ama_within_hours(activity)
    except ActivityError as error:
        problems.append(str(error))
    moc = _designated(activity, CreditType.ABIM_MOC)
    if moc is not None:
        try:
            _check_moc_within_ama(activity, CreditType.ABIM_MOC, moc)
        except ActivityError as error:
            problems.append(str(error))
    if _designated(activity, CreditType.ACPE) is not None and not activity.acpe_uan:
        problems.append("Add the activity's ACPE Universal Activity Number: ACPE credit needs it.")
    if activity.format == ActivityFormat.LIVE_WEBCAST and not activity.join_url:
        problems.append("Add the webcast's join link.")
    problems.extend(accreditation_problems(activity))
    return problems


@dataclass(frozen=True)
class ContentRoleProblem:
    """A gap in ACCME Standard 3: `text` for the checklist before publishing, `fix` for the organizer whose edit
    of a published activity would open it."""

    text: str
    fix: str


def content_role_problems(activity: Activity) -> list[ContentRoleProblem]:
    """Standard 3: someone controls the content, each person has a disclosure on file with every relevant
    relationship mitigated, and every speaker of the agenda is one of them (with a disclosure)."""
    problems = []
    if not activity.faculty:
        problems.append(ContentRoleProblem(
            "Add the people who control content (faculty, planners, reviewers) with their disclosures.",
            "A published activity keeps at least one person who controls its content: add the new person first."))
    for person in activity.faculty:
        if not person.has_disclosure_on_file:
            problems.append(ContentRoleProblem(
                f"{person.full_name} ({person.role_label.lower()}) has no disclosure on file.",
                f"Add {person.full_name}'s disclosure first: on a published activity everyone who controls content "
                "has one on file."))
        for disclosure in person.unmitigated:
            problems.append(ContentRoleProblem(
                f"{person.full_name}'s relationship with {disclosure.company} "
                f"({disclosure.relationship_label.lower()}) has not been mitigated.",
                f"Mark the relationship of {person.full_name} with {disclosure.company} mitigated first: on a "
                "published activity every relevant relationship is mitigated."))
    for session in activity.sessions:
        for speaker in session.speakers:
            if not any(speaker is person for person in activity.faculty):
                problems.append(ContentRoleProblem(
                    f"“{session.title}” names {speaker.full_name} as a speaker, who is not among this activity's "
                    "faculty.", f"Add {speaker.full_name} to this activity's faculty first, with their disclosure."))
            elif not speaker.has_disclosure_on_file:
                problems.append(ContentRoleProblem(
                    f"“{session.title}” names {speaker.full_name} as a speaker, who has no disclosure on file.",
                    f"Add {speaker.full_name}'s disclosure first: every speaker of a published agenda has one on "
                    "file."))
    return problems


@contextmanager
def keeping_publishable(activity: Activity, *, field: str | None = None) -> Iterator[None]:
    """Run an edit of `activity`; when it is published, refuse the edit (after applying and flushing it, so the
    check reads exactly what would be saved) if `publication_problems` gained anything. What was already wrong
    before (data from before a rule existed) does not block unrelated edits. The caller's unit of work rolls the
    refused change back."""
    before = publication_problems(activity) if activity.is_published else None
    yield
    if before is None:
        return
    db.session.flush()
    new = [problem for problem in publication_problems(activity) if problem not in before]
    if new:
        fixes = {problem.text: problem.fix for problem in content_role_problems(activity)}
        raise ActivityError(fixes.get(new[0], f"A published activity must stay complete: {new[0]}"),
                            code="would_break_publication", field=field, problems=new)


def publish(activity: Activity, *, now: datetime | None = None) -> None:
    if activity.status != ActivityStatus.DRAFT:
        raise ActivityError("Only a draft can be published.", code="not_draft")
    problems = publication_problems(activity)
    if problems:
        raise ActivityError("This activity cannot be published yet.", code="incomplete", problems=problems)
    activity.status = ActivityStatus.PUBLISHED.value
    activity.published_dt = now or now_utc()
    db.session.flush()


def unpublish_problem(activity: Activity, *, now: datetime | None = None) -> tuple[str, str] | None:
    """(message, code) when the activity cannot go back to draft, else None: only a published activity that has
    not ended (an ended one stays, as the record of what took place)."""
    if activity.status != ActivityStatus.PUBLISHED:
        return "Only a published activity can be unpublished.", "not_published"
    if not activity.can_be_unpublished(now):
        return "This activity has ended: it stays published, as the record of what took place.", "ended"
    return None


def unpublish(activity: Activity, *, now: datetime | None = None) -> None:
    """Back to draft. Only `cme.registration.lifecycle.unpublish` calls this: it first makes sure nobody registered."""
    problem = unpublish_problem(activity, now=now)
    if problem:
        raise ActivityError(problem[0], code=problem[1])
    activity.status = ActivityStatus.DRAFT.value
    activity.published_dt = None
    db.session.flush()


def cancel(activity: Activity, *, now: datetime | None = None) -> bool:
    """Cancel and bump the calendar sequence. Returns whether it was public (then `cme.registration.lifecycle`
    tells its registrants)."""
    if activity.status == ActivityStatus.CANCELLED:
        raise ActivityError("This activity is already cancelled.", code="already_cancelled")
    if not activity.can_be_cancelled(now):
        raise ActivityError("This activity has ended: it cannot be cancelled (its registrations, attendance and "
                            "credit stay as the record of what took place).", code="ended")
    was_public = activity.status == ActivityStatus.PUBLISHED
    activity.status = ActivityStatus.CANCELLED.value
    activity.cancelled_dt = now or now_utc()
    activity.schedule_sequence += 1
    db.session.flush()
    return was_public


DUPLICATED_COLUMNS = (
    "format", "summary", "description", "learning_objectives", "target_audience", "specialty", "topics", "time_zone",
    "venue_name", "street_address", "city", "state", "postal_code", "join_url", "access_notes", "capacity",
    "accreditation_statement", "accreditation_kind", "joint_provider", "remind_day_before", "remind_hour_before",
    "offer_days_before", "offer_hours")
# The instants a copy moves to its new dates (its sessions' too); availability follows start and end.
DUPLICATED_TIMES = ("start_dt", "end_dt", "registration_opens_dt", "registration_closes_dt", "claim_deadline_dt")


def duplicate(activity: Activity, organizer: User, *, first_day: date | None = None) -> Activity:
    """A draft copy with the same content, agenda, faculty and credit, and new identities. With `first_day` (the
    copy's first local day) every time of the copy (start and end, registration window, claim deadline, each
    agenda session) moves by the same number of days at the same local wall-clock time, so a 9:00 AM session
    stays at 9:00 AM whatever the clocks do in between; without it the copy keeps the original's dates."""
    by = timedelta(days=(first_day - shift_to_local(activity.start_dt, activity.time_zone).date()).days
                   if first_day else 0)
    moved = {name: _moved(getattr(activity, name), by, activity.time_zone, name) for name in DUPLICATED_TIMES}
    sessions = [(s, _session_times(s, by, activity.time_zone, field="first_day")) for s in activity.sessions]
    copy = Activity(status=ActivityStatus.DRAFT.value, title=f"Copy of {activity.title}"[:300],
                    organizers=list({u.id: u for u in [*activity.organizers, organizer]}.values()),
                    **{name: getattr(activity, name) for name in DUPLICATED_COLUMNS}, **moved)
    _apply_fields(copy, {})
    copies = {f.id: Faculty(full_name=f.full_name, degree=f.degree, affiliation=f.affiliation, role=f.role,
                            position=f.position, disclosure_received_dt=f.disclosure_received_dt,
                            disclosures=[Disclosure(company=d.company, relationship_type=d.relationship_type,
                                                    mitigated=d.mitigated) for d in f.disclosures])
              for f in activity.faculty}
    copy.faculty = list(copies.values())
    copy.sessions = [ActivitySession(title=s.title, description=s.description, start_dt=start, end_dt=end,
                                     room=s.room, speakers=[copies[f.id] for f in s.speakers if f.id in copies])
                     for s, (start, end) in sessions]
    copy.credit_designations = [CreditDesignation(credit_type=d.credit_type, max_amount=d.max_amount)
                                for d in activity.credit_designations]
    copy.commercial_supports = [CommercialSupport(company=s.company, kind=s.kind, amount=s.amount)
                                for s in activity.commercial_supports]
    copy.accme_provider_id = activity.accme_provider_id  # never the activity ID: PARS gives each activity its own
    db.session.add(copy)
    db.session.flush()
    _copy_reporting_data(activity, copy, by)
    return copy


def _copy_reporting_data(activity: Activity, copy: Activity, by: timedelta) -> None:
    """The copy measures the same outcomes, covers the same mandated topics and keeps the MOC registrations (their
    claim deadlines moved with the copy's dates)."""
    db.session.add_all([ActivityOutcomeMeasure(activity_id=copy.id, measure=measure) for measure in db.session.scalars(
        select(ActivityOutcomeMeasure.measure).where(ActivityOutcomeMeasure.activity_id == activity.id))])
    db.session.add_all([ActivityContentTag(activity_id=copy.id, tag=tag) for tag in db.session.scalars(
        select(ActivityContentTag.tag).where(ActivityContentTag.activity_id == activity.id))])
    db.session.add_all([MocRegistration(
        activity_id=copy.id, board=r.board, points=r.points, credit_types=list(r.credit_types),
        practice_areas=list(r.practice_areas),
        claim_deadline_dt=_moved(r.claim_deadline_dt, by, activity.time_zone, "moc_claim_deadline_dt"))
        for r in moc_registrations(activity)])
    db.session.flush()


def suggested_first_day(activity: Activity, *, now: datetime | None = None) -> date:
    """Where a copy usually goes: the same weekday a year on (52 weeks later), a year further until it is after
    today (in the activity's zone)."""
    first = shift_to_local(activity.start_dt, activity.time_zone).date()
    today = shift_to_local(now or now_utc(), activity.time_zone).date()
    day = first + timedelta(weeks=52)
    while day <= today:
        day += timedelta(weeks=52)
    return day


TIME_NAMES = {"start_dt": "Its start", "end_dt": "Its end", "registration_opens_dt": "The opening of registration",
              "registration_closes_dt": "The close of registration", "claim_deadline_dt": "The claim deadline",
              "moc_claim_deadline_dt": "A MOC registration's claim deadline"}


def _moved(instant: datetime | None, by: timedelta, zone_name: str, name: str) -> datetime | None:
    if instant is None or not by:
        return instant
    try:
        return shift_wall_clock(instant, by, zone_name)
    except NonExistentLocalTime as error:
        raise ActivityError(f"{TIME_NAMES[name]} would move to {_skipped(error)}. Choose another day.",
                            code="time_in_dst_gap", field="first_day") from None


def shift_to_local(instant: datetime | None, zone_name: str) -> datetime | None:
    """An aware instant as the naive local wall-clock time a form field shows."""
    return instant.astimezone(zone(zone_name)).replace(tzinfo=None) if instant else None



def set_certificate_issue(activity: Activity, *, automatic: bool) -> None:
    """Issue 12, point 7: certificates issued as soon as a learner claims, or when the organizer issues them."""
    _refuse_if_cancelled(activity)
    activity.certificates_automatic = automatic
    db.session.flush()
