"""An activity's changes that concern its registrants: capacity (never below the confirmed count; a raise
promotes from the waitlist), unpublishing (only while nobody registered), cancelling and rescheduling (both
tell every registrant). Activities' own rules are in `cme.activities.service`; these wrap them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from cme.activities import service as activities
from cme.activities.models import Activity, ActivitySession
from cme.registration.notices import queue_cancellation_notices, queue_schedule_change_notices
from cme.registration.counts import counts_for
from cme.registration.models import Registration
from cme.registration.service import RegistrationError, fill_free_seats, lock_activity


def change_capacity(activity: Activity, capacity: int | None, *, now: datetime | None = None) -> list[Registration]:
    """Set the number of seats (None: unlimited). It never drops below the confirmed count; seats it adds go to
    the waitlist in order. Returns the registrations promoted."""
    if capacity == activity.capacity:
        return []
    locked = lock_activity(activity.id)
    confirmed = counts_for(locked.id).confirmed
    if capacity is not None and capacity < confirmed:
        raise RegistrationError(f"{confirmed} registrants are already confirmed; the capacity cannot go below that.",
                                code="capacity_below_confirmed", field="capacity")
    locked.capacity = capacity
    return fill_free_seats(locked, now=now) if locked.is_published else []


def tell_of_schedule_change(activity: Activity, changed: bool) -> int:
    """After a public schedule changed (`changed`: what `activities.record_schedule_change` returned, or that a
    session was added to a published activity), registrants get the new schedule. Returns how many."""
    return queue_schedule_change_notices(activity) if changed else 0


def reschedule(activity: Activity, *, time_zone: str, start_dt: datetime, end_dt: datetime,
               format: str | None = None, now: datetime | None = None) -> int:
    """Move the activity (or change its format) and tell its registrants. Returns how many were told."""
    return tell_of_schedule_change(activity, activities.reschedule(
        activity, time_zone=time_zone, start_dt=start_dt, end_dt=end_dt, format=format, now=now))


def add_session(activity: Activity, fields: dict[str, Any]) -> ActivitySession:
    """A new agenda session; registrants of a published activity get the new schedule."""
    session = activities.add_session(activity, fields)
    tell_of_schedule_change(activity, activity.is_published)
    return session


def update_session(session: ActivitySession, fields: dict[str, Any]) -> int:
    """Change a session; when its time or title changed, registrants are told. Returns how many."""
    activity = session.activity
    return tell_of_schedule_change(activity, activities.update_session(session, fields))


def delete_session(session: ActivitySession) -> int:
    """Remove a session and tell registrants. Returns how many."""
    activity = session.activity
    return tell_of_schedule_change(activity, activities.delete_session(session))


def unpublish(activity: Activity, *, now: datetime | None = None) -> None:
    """Back to draft, only while nobody is registered (once people are, cancel instead, so they are told) and
    never after the end."""
    problem = activities.unpublish_problem(activity, now=now)
    if problem:
        raise activities.ActivityError(problem[0], code=problem[1])
    counts = counts_for(activity.id)
    if counts.confirmed or counts.waitlisted:
        raise RegistrationError("People have registered for this activity: cancel it instead, so they are told.",
                                code="has_registrations")
    activities.unpublish(activity, now=now)


def cancel_activity(activity: Activity, *, now: datetime | None = None) -> int:
    """Cancel the activity and tell every registrant (a calendar CANCEL for confirmed ones). Returns how many."""
    return queue_cancellation_notices(activity) if activities.cancel(activity, now=now) else 0
