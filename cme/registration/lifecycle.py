"""An activity's changes that concern its registrants: capacity (never below the confirmed count; a raise
promotes from the waitlist), unpublishing (only while nobody registered), cancelling, and every change of what
matters to them (times, sessions, venue, address, join link: one notice per registrant naming the old and new
values, coalesced over a burst of edits; reminders that follow the start). Activities' own rules are in
`cme.activities.service`; these wrap them."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

from cme.activities import service as activities
from cme.activities.models import Activity, ActivitySession
from cme.registration.changes import changes_between, registrant_facts
from cme.registration.notices import queue_cancellation_notices, queue_change_notices
from cme.registration.counts import RegistrationCounts, counts_for
from cme.registration.models import Registration
from cme.registration.reminders import reminder_time, sync_reminders
from cme.registration.service import (
    RegistrationError, fill_free_seats, lock_activity, open_offers, withdraw_offers,
)


@dataclass
class Told:
    """How many registrants a change will be told to (filled in when the block ends)."""
    count: int = 0


@contextmanager
def telling_registrants(activity: Activity, *, message: str = "", now: datetime | None = None) -> Iterator[Told]:
    """Run the activity operations of one save inside this block: afterwards its registrants are told, once, of
    what changed that matters to them (with the organizer's `message`), and their reminders follow the start."""
    before, reminder_before = registrant_facts(activity), reminder_time(activity)
    told = Told()
    yield told
    told.count = queue_change_notices(activity, changes_between(before, registrant_facts(activity)),
                                      message=message, now=now)
    if reminder_time(activity) != reminder_before:
        sync_reminders(activity, now=now)


def notice_audience(activity: Activity) -> RegistrationCounts | None:
    """Who a change of this activity's time, venue or join link would be told to (None while it is not
    published: nobody is registered), for the organizer's forms."""
    return counts_for(activity.id) if activity.is_published else None


def change_capacity(activity: Activity, capacity: int | None, *, now: datetime | None = None) -> list[Registration]:
    """Set the number of seats (None: unlimited). It never drops below the seats taken (confirmed, and held for
    people with an offer); seats it adds go to the waitlist in order (offered or given: fill_free_seats). Returns
    the registrations offered a seat or promoted."""
    if capacity == activity.capacity:
        return []
    locked = lock_activity(activity.id)
    counts = counts_for(locked.id)
    if capacity is not None and capacity < counts.taken:
        held = f" and {counts.offered} more hold a seat offered to them" if counts.offered else ""
        raise RegistrationError(f"{counts.confirmed} registrants are already confirmed{held}; the capacity cannot go "
                                f"below {counts.taken}.", code="capacity_below_confirmed", field="capacity")
    locked.capacity = capacity
    return fill_free_seats(locked, now=now) if locked.is_published else []


def reschedule(activity: Activity, *, time_zone: str, start_dt: datetime, end_dt: datetime,
               format: str | None = None, move_sessions: bool = False, message: str = "",
               now: datetime | None = None) -> int:
    """Move the activity (or change its format), its agenda with it when `move_sessions`, and tell its
    registrants, once, of every time that changed. Returns how many will be told."""
    with telling_registrants(activity, message=message, now=now) as told:
        activities.reschedule(activity, time_zone=time_zone, start_dt=start_dt, end_dt=end_dt, format=format,
                              move_sessions=move_sessions, now=now)
    return told.count


def add_session(activity: Activity, fields: dict[str, Any], *, message: str = "") -> ActivitySession:
    """A new agenda session; registrants of a published activity are told."""
    with telling_registrants(activity, message=message):
        session = activities.add_session(activity, fields)
    return session


def update_session(session: ActivitySession, fields: dict[str, Any], *, message: str = "") -> int:
    """Change a session; when its times changed, registrants are told (a new title alone tells nobody). Returns
    how many will be told."""
    with telling_registrants(session.activity, message=message) as told:
        activities.update_session(session, fields)
    return told.count


def delete_session(session: ActivitySession, *, message: str = "") -> int:
    """Remove a session and tell registrants. Returns how many will be told."""
    with telling_registrants(session.activity, message=message) as told:
        activities.delete_session(session)
    return told.count


def set_reminders(activity: Activity, *, remind_day_before: bool, remind_hour_before: bool,
                  now: datetime | None = None) -> None:
    """Turn the reminders on or off: waiting reminders go, or are queued for the registrants."""
    with telling_registrants(activity, now=now):
        activities.set_reminders(activity, remind_day_before=remind_day_before,
                                 remind_hour_before=remind_hour_before)


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
    """Cancel the activity and tell every registrant (a calendar CANCEL for confirmed ones); seat offers still open
    are withdrawn (an acceptance at the same moment waits for the lock, then finds the activity cancelled).
    Returns how many."""
    lock_activity(activity.id)
    if not activities.cancel(activity, now=now):
        return 0
    withdraw_offers(open_offers(activity))
    return queue_cancellation_notices(activity)
