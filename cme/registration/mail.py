"""The mails a registrant gets (confirmed, waitlisted, promoted, cancelled; a seat offered, accepted, declined or
lapsed; the activity's schedule-change and cancellation notices), each with its calendar invitation when the
registrant holds a seat (an offer is no seat yet: its invitation comes with the acceptance).

They go through the outbox *deferred*: the transaction that changes the registration writes a small row (which
template, the invitation's method and SEQUENCE, the waitlist position, the time), and the delivery worker
composes the message, so a registration holds the activity's lock for a few queries, not for MIME, templates
and an iCalendar file. Whatever must not change after the fact is frozen in the payload; the activity itself is
read when composing, so a late mail carries the current schedule. The composer is registered by the app factory
(`cme.register_mail_composers`), like every composer.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from flask import current_app

from cme.calendar.invitations import Invitation, build_invitation, calendar_window, registrant_uid
from cme.extensions import db
from cme.mail.models import OutboxMessage
from cme.mail.service import Composer, NotNeeded, compose_mail, queue_deferred, sender_address
from cme.registration.changes import describe, street_address
from cme.registration.models import JOIN_LINK_LEAD_MINUTES, Registration, display_checkin_code
from cme.timeutil import now_utc
from cme.urls import absolute_url

SUBJECTS = {
    "registration_confirmed": "You are registered: {title}",
    "registration_waitlisted": "You are on the waitlist: {title}",
    "registration_promoted": "A seat opened up, you are in: {title}",
    "registration_cancelled": "Registration cancelled: {title}",
    "registration_offered": "A seat is offered to you: {title}",
    "registration_accepted": "You are registered: {title}",
    "registration_declined": "Seat declined: {title}",
    "registration_lapsed": "Your seat offer lapsed: {title}",
    "schedule_changed": "Schedule change: {title}",
    "activity_cancelled": "Cancelled: {title}",
}


def queue_registrant_mail(registration: Registration, template: str, *, method: str | None = None,
                          now: datetime | None = None, by_organizer: bool = False) -> None:
    """Queue `template` for the registrant, in the current transaction; with `method` ("REQUEST" or "CANCEL")
    it carries an invitation whose SEQUENCE is taken now, higher than any sent before."""
    activity, user = registration.activity, registration.user
    sequence = take_sequence(registration) if method is not None else None
    if registration.id is None:
        db.session.flush()  # a new registration: insert it (with its sequence) to have its id
    queue_deferred(user.email, SUBJECTS[template].format(title=activity.title), kind=template,
                   composer="registrant", registration_id=registration.id, template=template, method=method,
                   sequence=sequence, stamp=(now or now_utc()).isoformat(), by_organizer=by_organizer,
                   waitlist_position=registration.waitlist_position, status_label=registration.status_label)


def take_sequence(registration: Registration) -> int:
    """The SEQUENCE of the next invitation to this registrant, higher than any mailed before (and than the
    activity's own, so the public event and the personal one agree on which is newer)."""
    registration.invite_sequence = max(registration.invite_sequence + 1, registration.activity.schedule_sequence)
    return registration.invite_sequence


def compose_registrant_mail(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    """The mail as queued: to the row's recipient, under its subject (an address or a title changed since does
    not split the envelope from the headers); the activity's details as they are now."""
    registration = db.session.get(Registration, payload["registration_id"])
    if registration is None:
        raise LookupError(f"registration {payload['registration_id']} no longer exists")
    activity, user = registration.activity, registration.user
    stamp = datetime.fromisoformat(payload["stamp"])
    if payload["template"] == "registration_offered" and not (
            registration.is_offered and now_utc() < registration.offer_deadline):
        raise NotNeeded("the seat offer was answered, withdrawn or lapsed before its mail went")
    method = payload["method"]
    calendar = None
    if method is not None:
        calendar = (invitation_bytes(registration, method, payload["sequence"], stamp, attendee=message.recipient),
                    method)
    return compose_mail(
        message.recipient, message.subject, payload["template"],
        recipient_name=registration.full_name or user.full_name, calendar=calendar, date=stamp,
        registration=registration, activity=activity, user=user, by_organizer=payload["by_organizer"],
        waitlist_position=payload["waitlist_position"], status_label=payload["status_label"],
        join_lead_minutes=JOIN_LINK_LEAD_MINUTES,
        activity_url=absolute_url("activities.detail", activity_id=activity.id),
        schedule_url=absolute_url("registration.my_schedule"),
        accept_url=absolute_url("registration.accept_offer", registration_id=registration.id),
        decline_url=absolute_url("registration.decline_offer", registration_id=registration.id),
        register_url=absolute_url("registration.register", activity_id=activity.id))


def invitation_bytes(registration: Registration, method: str, sequence: int, stamp: datetime, *,
                     attendee: str) -> bytes:
    """The registrant's calendar invitation (one VEVENT, UID stable per activity and registrant), to `attendee`."""
    activity = registration.activity
    config = current_app.config
    url = absolute_url("activities.detail", activity_id=activity.id)
    details = [activity.summary] if activity.summary else []
    if activity.format == "live_webcast" and activity.join_url and method == "REQUEST":
        details.append(f"Join: the link appears on My schedule {JOIN_LINK_LEAD_MINUTES} minutes before the start "
                       f"({absolute_url('registration.my_schedule')}).")
    details.append(url)
    start, end, summary = calendar_window(activity)
    return build_invitation(Invitation(
        uid=registrant_uid(activity.uuid, registration.user_id), sequence=sequence, method=method,
        summary=summary, description="\n\n".join(details),
        location=activity.full_address if activity.is_live_meeting else url, url=url, start=start, end=end,
        organizer_email=organizer_address(attendee), organizer_name=config["CME_PROVIDER_NAME"],
        attendee_email=attendee, attendee_name=registration.full_name or registration.user.full_name,
        stamp=stamp))


def organizer_address(recipient: str) -> str:
    """The invitation's ORGANIZER: the foundation's sender address, never the recipient's own."""
    address = sender_address()
    if address.lower() == recipient.lower():
        local, _, domain = address.partition("@")
        address = f"{local}+organizer@{domain}"
    return address


def compose_change_notice(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    """What changed (issue 12, point 5), as the notice stood when the burst of edits ended: old and new values
    of what matters to a registrant, the organizer's message, and for a registrant holding a seat a calendar
    REQUEST built from the activity as it is now. Waitlisted registrants get their own wording and no invitation
    (they hold no seat; their personal feed shows the place as tentative). Nobody is told of an activity or
    registration cancelled since: the cancellation said it all."""
    registration = db.session.get(Registration, payload["registration_id"])
    if registration is None:
        raise LookupError(f"registration {payload['registration_id']} no longer exists")
    activity, user = registration.activity, registration.user
    if registration.is_cancelled or activity.is_cancelled:
        raise NotNeeded("the registration or the activity was cancelled")
    lines = describe(payload["changes"], activity)
    if not lines:
        raise NotNeeded("nothing left to tell")
    stamp = datetime.fromisoformat(payload["stamp"])
    calendar = None
    if payload["method"] is not None and registration.is_confirmed:
        calendar = (invitation_bytes(registration, payload["method"], payload["sequence"], stamp,
                                     attendee=message.recipient), payload["method"])
    template = "schedule_changed" if registration.is_confirmed else "schedule_changed_waitlisted"
    return compose_mail(
        message.recipient, message.subject, template, recipient_name=registration.full_name or user.full_name,
        calendar=calendar, date=stamp, registration=registration, activity=activity, user=user, changes=lines,
        personal_message=payload.get("message") or "", organizer_names=", ".join(o.full_name for o in activity.organizers),
        activity_url=absolute_url("activities.detail", activity_id=activity.id),
        schedule_url=absolute_url("registration.my_schedule"))


REMINDER_SUBJECTS = {
    "reminder_meeting": "Tomorrow: {title}",
    "reminder_webcast": "Starting in an hour: {title}",
}


def compose_reminder(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    """A reminder (issue 12, point 6), checked when it is due: only to a registrant who holds a seat, of a
    published activity that has not started and whose organizers left that reminder on; anything else drops it."""
    registration = db.session.get(Registration, payload["registration_id"])
    if registration is None:
        raise NotNeeded(f"registration {payload['registration_id']} no longer exists")
    activity, user = registration.activity, registration.user
    why_not = reminder_problem(registration)
    if why_not:
        raise NotNeeded(why_not)
    template = "reminder_meeting" if activity.is_live_meeting else "reminder_webcast"
    return compose_mail(
        message.recipient, message.subject, template, recipient_name=registration.full_name or user.full_name,
        registration=registration, activity=activity, user=user,
        checkin_code=display_checkin_code(registration.checkin_code), address=street_address(activity),
        chosen_sessions=sorted(registration.sessions, key=lambda s: s.start_dt),
        activity_url=absolute_url("activities.detail", activity_id=activity.id),
        schedule_url=absolute_url("registration.my_schedule"))


def reminder_problem(registration: Registration, *, now: datetime | None = None) -> str | None:
    """Why this registrant gets no reminder now, or None."""
    activity = registration.activity
    if not registration.is_confirmed:
        return "the registrant holds no seat"
    if not activity.is_published:
        return "the activity is not published (cancelled)"
    if reminder_lead(activity) is None:
        return "the organizers turned this reminder off (or the format has none)"
    if activity.start_dt <= (now or now_utc()):
        return "the activity has started"
    return None


def reminder_lead(activity) -> timedelta | None:
    """How long before the start registrants are reminded: 24 hours for a live meeting, an hour for a live
    webcast, each unless its organizers turned it off; on-demand webcasts have no start to remind of."""
    if activity.is_live_meeting and activity.remind_day_before:
        return REMIND_MEETING
    if activity.format == "live_webcast" and activity.remind_hour_before:
        return REMIND_WEBCAST
    return None


REMIND_MEETING = timedelta(hours=24)
REMIND_WEBCAST = timedelta(hours=1)


COMPOSERS: dict[str, Composer] = {"registrant": compose_registrant_mail, "change_notice": compose_change_notice,
                                  "reminder": compose_reminder}
