"""Attendance: the one home of "who attended". Check-in to a live meeting (the whole meeting, or one of its
sessions) and its undo, a webcast's viewing time from heartbeats, and the questions the other capabilities
ask: which registrations are checked in, which (user, activity) pairs have any attendance, and how much
credit attendance supports.

Attendance sits above registration (DESIGN.md's order): it reads registrations; registration never asks it.
What rests on attendance (credit claims, certificates) sits above, and passes what it knows as arguments.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import func, select

from cme.accounts.models import User
from cme.activities.models import Activity, ActivitySession
from cme.activities.service import scheduled_hours
from cme.amounts import quarter_floor
from cme.attendance.models import Attendance
from cme.errors import DomainError
from cme.extensions import db
from cme.pairs import found_pairs
from cme.registration.counts import counts_for
from cme.registration.models import Registration, RegistrationStatus
from cme.registration.service import active_registration, join_problem
from cme.timeutil import now_utc, zone

# Check-in to a meeting or a session is open from CHECKIN_OPENS_BEFORE its start, but not before the local day
# it starts on, until CHECKIN_CLOSES_AFTER its end, but not past the local day it ends on.
CHECKIN_OPENS_BEFORE = timedelta(hours=2)
CHECKIN_CLOSES_AFTER = timedelta(hours=12)

HEARTBEAT_SECONDS = 60
# A report counts the wall time since the previous one if that is at most this long (the interval plus slack);
# after a longer gap (page hidden, closed) it starts a new stretch and counts nothing.
MAX_HEARTBEAT_GAP = timedelta(seconds=90)


class AttendanceError(DomainError):
    """A refused check-in or viewing report."""


# ---------------------------------------------------------------- who attended

def checked_in(registrations: Iterable[Registration]) -> set[int]:
    """Which of these registrations (of any users and activities) are checked in to their whole meeting: the ids
    of the active ones whose registrant has a whole-meeting check-in (one query)."""
    active = [r for r in registrations if not r.is_cancelled]
    if not active:
        return set()
    pairs = found_pairs(select(Attendance.user_id, Attendance.activity_id).where(
        Attendance.session_id.is_(None), Attendance.checked_in_dt.isnot(None)),
        {(r.user_id, r.activity_id) for r in active})
    return {r.id for r in active if (r.user_id, r.activity_id) in pairs}


def sessions_checked_in(registration: Registration) -> set[int]:
    """The ids of the sessions the registrant is checked in to."""
    return set(db.session.scalars(select(Attendance.session_id).where(
        Attendance.user_id == registration.user_id, Attendance.activity_id == registration.activity_id,
        Attendance.session_id.isnot(None), Attendance.checked_in_dt.isnot(None))))


def attended(pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of these (user_id, activity_id) pairs have any attendance: a check-in (to the meeting or a session) or
    a webcast's viewing record (one query)."""
    return found_pairs(select(Attendance.user_id, Attendance.activity_id).distinct(), pairs)


def checkin_counts(activity: Activity) -> tuple[int, int]:
    """(confirmed registrants checked in to the whole meeting, confirmed registrants): two count queries."""
    confirmed_users = select(Registration.user_id).where(Registration.activity_id == activity.id,
                                                         Registration.status == RegistrationStatus.CONFIRMED)
    arrived = db.session.scalar(select(func.count()).select_from(Attendance).where(
        Attendance.activity_id == activity.id, Attendance.session_id.is_(None), Attendance.checked_in_dt.isnot(None),
        Attendance.user_id.in_(confirmed_users)))
    return arrived, counts_for(activity.id).confirmed


def supported_hours(user: User, activity: Activity) -> Decimal:
    """The most credit attendance supports: checked-in sessions' hours (or the scheduled hours after a
    whole-meeting check-in), or viewing time rounded down to a quarter hour. A cancelled activity supports none."""
    return supported_hours_for(user, [activity])[activity.id]


def supported_hours_for(user: User, activities: Iterable[Activity]) -> dict[int, Decimal]:
    """supported_hours of each of these activities, {activity_id: hours}, in at most two queries for any number."""
    activities = list(activities)
    ids = [a.id for a in activities if not a.is_cancelled]
    rows: dict[int, list[Attendance]] = {}
    if ids:
        for row in db.session.scalars(select(Attendance).where(Attendance.user_id == user.id,
                                                               Attendance.activity_id.in_(ids))):
            rows.setdefault(row.activity_id, []).append(row)
    session_ids = {a.session_id for a in (r for group in rows.values() for r in group)
                   if a.session_id is not None and a.checked_in_dt is not None}
    sessions = list(db.session.scalars(select(ActivitySession).where(ActivitySession.id.in_(session_ids)))
                    ) if session_ids else []
    hours = {}
    for activity in activities:
        found = rows.get(activity.id, []) if not activity.is_cancelled else []
        if activity.is_live_meeting:
            checked = {a.session_id for a in found if a.session_id is not None and a.checked_in_dt is not None}
            if checked:
                hours[activity.id] = quarter_floor(sum((s.hours for s in sessions if s.id in checked), Decimal(0)))
            elif any(a.session_id is None and a.checked_in_dt is not None for a in found):
                hours[activity.id] = quarter_floor(scheduled_hours(activity))
            else:
                hours[activity.id] = Decimal(0)
        else:
            hours[activity.id] = quarter_floor(Decimal(sum(a.watched_seconds for a in found)) / Decimal(3600))
    return hours


# ---------------------------------------------------------------- check-in

def checkin_window(activity: Activity, session: ActivitySession | None = None) -> tuple[datetime, datetime]:
    """(opens, closes), in UTC: when check-in to the whole meeting, or to one of its sessions, is open."""
    start, end = (session or activity).start_dt, (session or activity).end_dt
    tz = zone(activity.time_zone)
    first_day = datetime.combine(start.astimezone(tz).date(), time(), tzinfo=tz)
    after_last_day = datetime.combine(end.astimezone(tz).date() + timedelta(days=1), time(), tzinfo=tz)
    opens = max(start - CHECKIN_OPENS_BEFORE, first_day)
    closes = min(end + CHECKIN_CLOSES_AFTER, after_last_day)
    return opens.astimezone(timezone.utc), closes.astimezone(timezone.utc)


def checkin_window_problem(activity: Activity, session: ActivitySession | None = None, *,
                           now: datetime | None = None) -> tuple[str, str] | None:
    """(message, code) when check-in to the meeting (or the session) is not open now, else None."""
    now = now or now_utc()
    opens, closes = checkin_window(activity, session)
    what = f"Check-in to “{session.title}”" if session is not None else "Check-in"
    tz = zone(activity.time_zone)
    if now < opens:
        return f"{what} opens on {opens.astimezone(tz):%a %b %-d at %-I:%M %p %Z}.", "too_early"
    if now >= closes:
        return f"{what} closed on {closes.astimezone(tz):%a %b %-d at %-I:%M %p %Z}.", "too_late"
    return None


def check_in(registration: Registration, session: ActivitySession | None = None, *, by: User,
             now: datetime | None = None) -> bool:
    """Record that the registrant came, to the whole meeting or to one session, once. Returns False when they
    were already checked in."""
    activity = registration.activity
    if session is not None and session.activity_id != activity.id:
        raise AttendanceError("This session belongs to another activity.", code="not_found")
    if not registration.is_confirmed:
        raise AttendanceError(f"{registration.full_name} is {registration.status_label.lower()}, not confirmed.",
                              code="not_confirmed")
    if not activity.is_live_meeting:
        raise AttendanceError("Check-in is for live meetings.", code="not_live")
    if activity.is_cancelled:
        raise AttendanceError("This activity has been cancelled: nobody checks in.", code="cancelled")
    now = now or now_utc()
    problem = checkin_window_problem(activity, session, now=now)
    if problem:
        raise AttendanceError(problem[0], code=problem[1])
    session_id = session.id if session is not None else None
    attendance = _attendance(registration.user_id, activity.id, session_id)
    if attendance is not None and attendance.checked_in_dt is not None:
        return False
    if attendance is None:
        attendance = Attendance(user_id=registration.user_id, activity_id=activity.id, session_id=session_id)
        db.session.add(attendance)
    attendance.checked_in_dt = now
    attendance.checked_in_by_id = by.id
    db.session.flush()
    return True


def undo_problem(registration: Registration, *, credit_claimed: bool, evaluated: bool) -> tuple[str, str] | None:
    """(message, code) when the registrant's check-in may not be taken back, else None: not once they claimed
    credit for the activity (their certificate rests on it) nor once they submitted its evaluation (which opened
    on their attendance). Credit, above attendance, answers both (credit.participation)."""
    if credit_claimed:
        return (f"{registration.full_name} has claimed credit for this activity: the check-in stays.",
                "credit_claimed")
    if evaluated:
        return (f"{registration.full_name} has completed this activity's evaluation, which rests on the check-in: "
                "the check-in stays.", "evaluated")
    return None


def undo_check_in(registration: Registration, *, session_id: int | None = None, credit_claimed: bool,
                  evaluated: bool = False) -> bool:
    """Take back a check-in recorded by mistake (the whole meeting's, or one session's), unless undo_problem
    refuses. False when there was no check-in."""
    problem = undo_problem(registration, credit_claimed=credit_claimed, evaluated=evaluated)
    if problem:
        raise AttendanceError(problem[0], code=problem[1])
    attendance = db.session.scalar(select(Attendance).where(
        Attendance.user_id == registration.user_id, Attendance.activity_id == registration.activity_id,
        Attendance.session_id.is_(None) if session_id is None else Attendance.session_id == session_id,
        Attendance.checked_in_dt.isnot(None)))
    if attendance is None:
        return False
    db.session.delete(attendance)
    db.session.flush()
    return True


def _attendance(user_id: int, activity_id: int, session_id: int | None) -> Attendance | None:
    return db.session.scalar(select(Attendance).where(
        Attendance.user_id == user_id, Attendance.activity_id == activity_id,
        Attendance.session_id.is_(None) if session_id is None else Attendance.session_id == session_id))


# ---------------------------------------------------------------- webcast viewing time

def watch_problem(user: User, activity: Activity, *, now: datetime | None = None) -> str | None:
    """Why the user may not watch the webcast now, or None: the join rule of registration (join_problem)."""
    return join_problem(active_registration(user, activity.id), activity, now=now)


def minutes_watched(user: User, activity: Activity) -> int:
    attendance = _attendance(user.id, activity.id, None)
    return attendance.watched_seconds // 60 if attendance is not None else 0


def counted_seconds(activity: Activity, since: datetime, until: datetime) -> int:
    """The seconds of the stretch [since, until] that count as viewing: only those while the webcast is on (a live
    one between its start and end, an on-demand one while available). The watch page opens before a live
    webcast's start, but the minutes before it (or after its end) earn nothing."""
    start, end = max(since, activity.start_dt), min(until, activity.end_dt)
    return max(0, int((end - start).total_seconds()))


def last_viewed_dt(user: User, activity: Activity) -> datetime | None:
    """When the learner's counted viewing of the webcast last grew (their last report, within its availability),
    or None when they have not watched."""
    attendance = _attendance(user.id, activity.id, None)
    if attendance is None or not attendance.watched_seconds or attendance.last_heartbeat_dt is None:
        return None
    return min(attendance.last_heartbeat_dt, activity.end_dt)


def heartbeat(user: User, activity: Activity, *, now: datetime | None = None) -> int:
    """Count viewing time: the wall time since the previous report, capped, never more. Returns seconds."""
    now = now or now_utc()
    problem = watch_problem(user, activity, now=now)
    if problem:
        raise AttendanceError(problem, code="cannot_watch")
    attendance = _attendance(user.id, activity.id, None)
    if attendance is None:
        attendance = Attendance(user_id=user.id, activity_id=activity.id, watched_seconds=0, minutes_watched=0)
        db.session.add(attendance)
    if attendance.last_heartbeat_dt is not None and attendance.last_heartbeat_dt < now \
            and now - attendance.last_heartbeat_dt <= MAX_HEARTBEAT_GAP:
        counted = counted_seconds(activity, attendance.last_heartbeat_dt, now)
        limit = int((activity.end_dt - activity.start_dt).total_seconds()) if not activity.is_on_demand else None
        attendance.watched_seconds = attendance.watched_seconds + counted
        if limit is not None:
            attendance.watched_seconds = min(attendance.watched_seconds, limit)
    if attendance.last_heartbeat_dt is None or attendance.last_heartbeat_dt < now:
        attendance.last_heartbeat_dt = now
    attendance.minutes_watched = attendance.watched_seconds // 60
    db.session.flush()
    return attendance.watched_seconds
