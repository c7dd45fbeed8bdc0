"""The mails a registrant gets (confirmed, waitlisted, promoted, cancelled, and the activity's schedule-change and
cancellation notices), each with its calendar invitation when the registrant holds a seat.

They go through the outbox *deferred*: the transaction that changes the registration writes a small row (which
template, the invitation's method and SEQUENCE, the waitlist position, the time), and the delivery worker
composes the message, so a registration holds the activity's lock for a few queries, not for MIME, templates
and an iCalendar file. Whatever must not change after the fact is frozen in the payload; the activity itself is
read when composing, so a late mail carries the current schedule. The composer is registered by the app factory
(`cme.register_mail_composers`), like every composer.
"""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from flask import current_app

from cme.calendar.invitations import Invitation, build_invitation, calendar_window, registrant_uid
from cme.extensions import db
from cme.mail.models import OutboxMessage
from cme.mail.service import Composer, compose_mail, queue_deferred
from cme.registration.models import JOIN_LINK_LEAD_MINUTES, Registration
from cme.timeutil import now_utc
from cme.urls import absolute_url

SUBJECTS = {
    "registration_confirmed": "You are registered: {title}",
    "registration_waitlisted": "You are on the waitlist: {title}",
    "registration_promoted": "A seat opened up, you are in: {title}",
    "registration_cancelled": "Registration cancelled: {title}",
    "schedule_changed": "Schedule change: {title}",
    "activity_cancelled": "Cancelled: {title}",
}


def queue_registrant_mail(registration: Registration, template: str, *, method: str | None = None,
                          now: datetime | None = None, by_organizer: bool = False) -> None:
    """Queue `template` for the registrant, in the current transaction; with `method` ("REQUEST" or "CANCEL")
    it carries an invitation whose SEQUENCE is taken now, higher than any sent before."""
    activity, user = registration.activity, registration.user
    sequence = None
    if method is not None:
        registration.invite_sequence = max(registration.invite_sequence + 1, activity.schedule_sequence)
        sequence = registration.invite_sequence
    if registration.id is None:
        db.session.flush()  # a new registration: insert it (with its sequence) to have its id
    queue_deferred(user.email, SUBJECTS[template].format(title=activity.title), kind=template,
                   composer="registrant", registration_id=registration.id, template=template, method=method,
                   sequence=sequence, stamp=(now or now_utc()).isoformat(), by_organizer=by_organizer,
                   waitlist_position=registration.waitlist_position, status_label=registration.status_label)


def compose_registrant_mail(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    """The mail as queued: to the row's recipient, under its subject (an address or a title changed since does
    not split the envelope from the headers); the activity's details as they are now."""
    registration = db.session.get(Registration, payload["registration_id"])
    if registration is None:
        raise LookupError(f"registration {payload['registration_id']} no longer exists")
    activity, user = registration.activity, registration.user
    stamp = datetime.fromisoformat(payload["stamp"])
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
        schedule_url=absolute_url("registration.my_schedule"))


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
    address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1] or "cme@example.org"
    if address.lower() == recipient.lower():
        local, _, domain = address.partition("@")
        address = f"{local}+organizer@{domain}"
    return address


COMPOSERS: dict[str, Composer] = {"registrant": compose_registrant_mail}
