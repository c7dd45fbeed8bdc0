"""Reminders (issue 12, point 6): 24 hours before a live meeting starts (venue and address, the sessions chosen,
the check-in code) and one hour before a live webcast starts (the join link), to registrants holding a seat;
organizers may turn either off per activity (`Activity.remind_day_before`, `remind_hour_before`).

Each is an outbox row queued when the registration is made, waiting (`send_after`) for its time, so it survives
restarts and one worker sends it (claims take `FOR UPDATE SKIP LOCKED`). Its key (`reminder:<registration id>`)
lets later changes find it while it waits: a reschedule moves it with the start, a cancelled registration or
activity drops it, and the composer checks again when it is due (`mail.reminder_problem`), so a mail for a
registration cancelled in between is dropped, never sent.

A registration made after its reminder time gets none: the confirmation it just received says everything a
reminder would (and My schedule shows the join link and the check-in code). Each registration gets at most one
reminder: a reschedule after the reminder went out queues no second one (the change notice names the new time).
"""
from __future__ import annotations

from datetime import datetime

from cme.activities.models import Activity
from cme.mail.service import drop_waiting, keys_ever_queued, queue_deferred, update_waiting, waiting_messages
from cme.registration.mail import REMINDER_SUBJECTS, reminder_lead
from cme.registration.models import Registration
from cme.registration.notices import active_registrations, reminder_key
from cme.timeutil import now_utc


def reminder_time(activity: Activity) -> datetime | None:
    """When this activity's registrants are reminded, or None (not published, no reminder for its format, or
    turned off)."""
    lead = reminder_lead(activity)
    return activity.start_dt - lead if lead is not None and activity.is_published else None


def _template(activity: Activity) -> str:
    return "reminder_meeting" if activity.is_live_meeting else "reminder_webcast"


def _queue(registration: Registration, when: datetime) -> None:
    activity = registration.activity
    template = _template(activity)
    queue_deferred(registration.user.email, REMINDER_SUBJECTS[template].format(title=activity.title), kind=template,
                   composer="reminder", key=reminder_key(registration.id), send_after=when,
                   registration_id=registration.id)


def queue_reminder(registration: Registration, *, now: datetime | None = None) -> bool:
    """At registration (confirmed or waitlisted: a seat may free up before the day): the reminder, waiting for
    its time. None when that time has passed. Returns whether one was queued."""
    when = reminder_time(registration.activity)
    if when is None or when <= (now or now_utc()):
        return False
    _queue(registration, when)
    return True


def sync_reminders(activity: Activity, *, now: datetime | None = None) -> None:
    """After the start, the format or the reminder switches changed: each waiting reminder follows the new time
    (or goes, when there is none); a registrant who never had one (registered after the old reminder time, or
    while reminders were off) gets one when the new time is still ahead."""
    now = now or now_utc()
    when = reminder_time(activity)
    registrations = active_registrations(activity)
    keys = [reminder_key(r.id) for r in registrations]
    if when is None or when <= now:  # none, or moved so close that its time has passed (as a late registration)
        drop_waiting(keys)
        return
    waiting = waiting_messages(keys)
    ever = keys_ever_queued(keys)
    template = _template(activity)
    subject = REMINDER_SUBJECTS[template].format(title=activity.title)
    update_waiting([{"id": row.id, "send_after": when, "subject": subject, "kind": template}
                    for row in waiting.values()])
    for registration in registrations:
        key = reminder_key(registration.id)
        if key not in waiting and key not in ever:
            _queue(registration, when)
