"""Walk-ins at a live meeting's check-in desk (issue 14, point 13): someone who did not register comes to the desk;
the organizer types their name and email, and they are registered and (by default) checked in, in one unit of work.

- An email that has an account registers that account (its profile, as the roster's "Add someone" does; nothing
  else about the account is shown). Otherwise an account is created with a password nobody knows, and the person
  is mailed a link to choose one (accounts.service.create_invited_account).
- Capacity holds: a full meeting refuses the walk-in, unless the organizer ticks "Seat over capacity", which grows
  the capacity by one seat for them (registration.service.make_room_for_one, as a promotion does). The page says so
  in a flash, the audit of that choice. (A waitlist place is no use to someone standing at the desk.)
- A second submit of the same walk-in (a double click, a reload) registers nobody twice: the person is found
  registered, and checked in if that was asked and not yet done.
- A cancelled or unpublished meeting refuses (registration_problem), and so does one whose check-in window has
  closed (checkin_window_problem); before the window opens a walk-in may be registered without the check-in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cme.accounts.models import Profession, User
from cme.accounts.service import create_invited_account, find_user_by_email
from cme.activities.models import Activity, ActivityStatus
from cme.attendance.service import AttendanceError, check_in, checkin_window_problem
from cme.registration.counts import counts_for
from cme.registration.models import Registration
from cme.registration.service import (Answers, active_registration, lock_activity, make_room_for_one, promote,
                                      register, registration_problem)
from cme.timeutil import now_utc


@dataclass(frozen=True)
class WalkIn:
    """What the desk asks: the person's name and email, and (for credit) their degree and profession."""

    full_name: str
    email: str
    degree: str = ""
    profession: str = ""


@dataclass(frozen=True)
class WalkInOutcome:
    registration: Registration
    new_account: bool  # an account was created and mailed a link to choose a password
    already_registered: bool  # the person was registered before (a second submit, or they had registered online)
    checked_in: bool  # checked in by this walk-in (False when asked not to, or when they already were)
    over_capacity: bool  # seated past the capacity, which grew by one seat for them


def walk_in_problem(activity: Activity, *, check_in_now: bool, now: datetime | None = None) -> tuple[str, str] | None:
    """(message, code) when the desk cannot register a walk-in now, else None."""
    now = now or now_utc()
    if not activity.is_live_meeting:
        return "Walk-ins are registered at a live meeting's check-in desk.", "not_live"
    if activity.status != ActivityStatus.PUBLISHED:
        return registration_problem(activity, now=now) or "This activity is not open for registration.", "closed"
    window = checkin_window_problem(activity, now=now)
    if window and window[1] == "too_late":
        return f"{window[0]} Walk-ins are no longer registered at the desk.", "too_late"
    if window and check_in_now:
        return f"{window[0]} Untick “Check in now” to register the walk-in without checking them in.", "too_early"
    return None


def full_message(activity: Activity) -> str:
    counts = counts_for(activity.id)
    waiting = f"; {counts.waitlisted} on the waitlist" if counts.waitlisted else ""
    held = f", {counts.offered} of them held for people with an offer" if counts.offered else ""
    return (f"The meeting is full ({counts.taken} of {activity.capacity} seats taken{held}{waiting}). Tick “Seat over "
            "capacity” to seat this walk-in anyway: the capacity grows by one seat.")


def register_walk_in(activity_id: int, person: WalkIn, *, by: User, check_in_now: bool = True,
                     over_capacity: bool = False, now: datetime | None = None) -> WalkInOutcome:
    """Register (and by default check in) a walk-in; see the module's docstring for the rules."""
    activity = lock_activity(activity_id)  # before looking the email up: a double submit waits for the first
    now = now or now_utc()
    problem = walk_in_problem(activity, check_in_now=check_in_now, now=now)
    if problem:
        raise AttendanceError(problem[0], code=problem[1])
    user = find_user_by_email(person.email)
    existing = active_registration(user, activity.id) if user is not None else None
    if existing is not None:
        return _already_registered(existing, by=by, check_in_now=check_in_now, over_capacity=over_capacity, now=now)
    full = activity.capacity is not None and counts_for(activity.id).taken >= activity.capacity
    if full and not over_capacity:
        raise AttendanceError(full_message(activity), code="full", field="over_capacity")
    new_account = user is None
    if user is None:
        user = create_invited_account(person.email, invited_to=activity.title, now=now, full_name=person.full_name,
                                      degree=person.degree, profession=person.profession or Profession.OTHER.value)
        answers = Answers(full_name=person.full_name, degree=person.degree, profession=person.profession)
    else:
        answers = Answers.from_profile(user)
        answers.degree = answers.degree or person.degree
    if full:
        make_room_for_one(activity)
    registration = register(user, activity.id, answers, now=now, by_organizer=True, in_person=True)
    checked = check_in(registration, by=by, now=now) if check_in_now else False
    return WalkInOutcome(registration, new_account=new_account, already_registered=False, checked_in=checked,
                         over_capacity=full)


def _already_registered(registration: Registration, *, by: User, check_in_now: bool, over_capacity: bool,
                        now: datetime) -> WalkInOutcome:
    """The walk-in was registered already: a confirmed registrant is checked in (once); a waitlisted one is
    seated only with the over-capacity override (a promotion out of turn), else refused with the way to do it."""
    seated = False
    if registration.is_offered:  # the seat held for them is theirs: standing at the desk is their answer
        promote(registration, now=now)
    elif registration.is_waitlisted:
        if not over_capacity:
            raise AttendanceError(
                f"{registration.full_name} is on the waitlist (number {registration.waitlist_position}). Tick “Seat "
                "over capacity” to seat them now: the capacity grows by one seat if the meeting is full.",
                code="waitlisted", field="over_capacity")
        activity = registration.activity
        seated = activity.capacity is not None and counts_for(activity.id).taken >= activity.capacity
        promote(registration, now=now)
    checked = check_in(registration, by=by, now=now) if check_in_now else False
    return WalkInOutcome(registration, new_account=False, already_registered=True, checked_in=checked,
                         over_capacity=seated)
