"""Mail to registrants when an activity changes (issue 12, point 5), through the outbox (composed by the
delivery worker).

A change that matters to registrants (`cme.registration.changes`: times, venue, address, join link, format)
queues one notice per registrant naming the old and new values; confirmed registrants' carries a calendar REQUEST
with a higher SEQUENCE, waitlisted registrants get their own wording and no invitation. The notice waits
NOTICE_DELAY in the outbox; a later change while it waits updates it instead of queueing another (each value
keeps its oldest "old" and newest "new"; a value back where it was drops out; nothing left, the notice goes), and
pushes it back again, never beyond NOTICE_MAX_DELAY after the first change. So a burst of saves is one mail.
A cancellation is told at once, with a calendar CANCEL, and drops the notices and reminders still waiting.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cme.activities.models import Activity
from cme.extensions import db
from cme.mail.service import drop_waiting, queue_deferred, update_waiting, waiting_messages
from cme.registration.changes import Changes, merge
from cme.registration.mail import SUBJECTS, queue_registrant_mail, take_sequence
from cme.registration.models import Registration, RegistrationStatus
from cme.timeutil import now_utc

# A notice waits this long after the last change of a burst, and never longer than NOTICE_MAX_DELAY after the
# first; within NOTICE_DELAY of the start it goes at once.
NOTICE_DELAY = timedelta(minutes=5)
NOTICE_MAX_DELAY = timedelta(minutes=30)


def active_registrations(activity: Activity) -> list[Registration]:
    """Everyone confirmed or waitlisted, in registration order."""
    return list(db.session.scalars(
        select(Registration).where(Registration.activity_id == activity.id,
                                   Registration.status != RegistrationStatus.CANCELLED)
        .options(selectinload(Registration.user)).order_by(Registration.id)))


def notice_key(registration_id: int) -> str:
    return f"notice:{registration_id}"


def reminder_key(registration_id: int) -> str:
    return f"reminder:{registration_id}"


def _send_after(activity: Activity, now: datetime, first: datetime) -> datetime:
    if activity.start_dt - now <= NOTICE_DELAY:
        return now
    return min(now + NOTICE_DELAY, first + NOTICE_MAX_DELAY)


def queue_change_notices(activity: Activity, changes: Changes, *, message: str = "",
                         now: datetime | None = None) -> int:
    """Tell every registrant of `changes` (coalesced with a notice still waiting for them). Returns how many
    registrants have a notice waiting afterwards."""
    if not changes or not activity.is_published:
        return 0
    now = now or now_utc()
    registrations = active_registrations(activity)
    waiting = waiting_messages([notice_key(r.id) for r in registrations])
    emptied, updates, fresh = [], [], []
    with db.session.no_autoflush:  # the registrations' new SEQUENCEs are written together, not one by one
        for registration in registrations:
            row = waiting.get(notice_key(registration.id))
            if row is None:
                fresh.append(registration)
                continue
            payload = json.loads(row.payload)
            merged = merge(payload["changes"], changes)
            if not merged:
                emptied.append(row.coalesce_key)
                continue
            payload.update(_notice_fields(registration, merged, message or payload.get("message") or "", now))
            updates.append({"id": row.id, "send_after": _send_after(activity, now, row.created_dt),
                            "payload": payload})
    drop_waiting(emptied)
    updated = update_waiting(updates)
    # None waiting (or a worker took it meanwhile, and sends what it said): this change goes in a new one.
    fresh += [r for r in registrations if (row := waiting.get(notice_key(r.id))) is not None
              and row.coalesce_key not in emptied and row.id not in updated]
    for registration in fresh:
        queue_deferred(registration.user.email, SUBJECTS["schedule_changed"].format(title=activity.title),
                       kind="schedule_changed", composer="change_notice", key=notice_key(registration.id),
                       send_after=_send_after(activity, now, now), registration_id=registration.id,
                       **_notice_fields(registration, changes, message, now))
    return len(updated) + len(fresh)


def _notice_fields(registration: Registration, changes: Changes, message: str, now: datetime) -> dict:
    """What a notice freezes: the changes, the organizer's message, the time, and for a registrant holding a
    seat the invitation's method and a SEQUENCE higher than any mailed before."""
    method = "REQUEST" if registration.is_confirmed else None
    return {"changes": changes, "message": message, "stamp": now.isoformat(), "method": method,
            "sequence": take_sequence(registration) if method else None}


def queue_cancellation_notices(activity: Activity) -> int:
    """Tell every registrant at once (a calendar CANCEL for those who held a seat); notices and reminders still
    waiting are dropped."""
    registrations = active_registrations(activity)
    drop_waiting([key(r.id) for r in registrations for key in (notice_key, reminder_key)])
    for registration in registrations:
        queue_registrant_mail(registration, "activity_cancelled",
                              method="CANCEL" if registration.is_confirmed else None)
    return len(registrations)


def drop_waiting_mail_of(registration: Registration) -> None:
    """A cancelled registration: its notices and reminders still waiting are not sent."""
    drop_waiting([notice_key(registration.id), reminder_key(registration.id)])
