"""Calendar invitations mailed to registrants (iTIP, RFC 5546): REQUEST when they hold a seat, CANCEL when
they no longer do. One VEVENT per message; a UID stable per activity and registrant, so clients replace or
remove the event they already have; SEQUENCE grows with every message.

`build_invitation` is pure: plain data in, bytes out.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Calendar, Event, vCalAddress, vText

from cme.timeutil import zone

PRODID = "-//cme//Continuing medical education//EN"


@dataclass(frozen=True)
class Invitation:
    uid: str
    sequence: int
    method: str  # "REQUEST" or "CANCEL"
    summary: str
    description: str
    location: str
    url: str
    start: datetime  # aware
    end: datetime
    organizer_email: str
    organizer_name: str
    attendee_email: str
    attendee_name: str
    stamp: datetime
    conference_url: str | None = None


ON_DEMAND_EVENT = timedelta(hours=1)


def calendar_window(activity) -> tuple[datetime, datetime, str]:
    """(start, end, summary) of an activity in calendars. An on-demand webcast is not a months-long event:
    it shows as its last hour of availability, a reminder of the deadline that stays put (a feed's events
    must not move with the clock)."""
    if activity.is_on_demand:
        until = activity.end_dt.astimezone(zone(activity.time_zone))
        return (activity.end_dt - ON_DEMAND_EVENT, activity.end_dt,
                f"Last day to watch (on demand until {until:%b %-d, %Y}): {activity.title}")
    return activity.start_dt, activity.end_dt, activity.title


def registrant_uid(activity_uuid: uuid.UUID, user_id: int) -> str:
    """Stable per activity and registrant (a person's event, distinct from the public one's UID)."""
    return f"{uuid.uuid5(activity_uuid, f'registrant:{user_id}')}@cme"


def _address(email: str, name: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(name)
    for key, value in params.items():
        address.params[key] = value
    return address


def build_invitation(invitation: Invitation) -> bytes:
    if invitation.method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iTIP method {invitation.method!r}")
    if invitation.organizer_email.lower() == invitation.attendee_email.lower():
        raise ValueError("the ORGANIZER must not be the attendee's own address")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", invitation.method)
    event = Event()
    event.add("uid", invitation.uid)
    event.add("sequence", invitation.sequence)
    event.add("dtstamp", invitation.stamp)
    event.add("dtstart", invitation.start)
    event.add("dtend", invitation.end)
    event.add("summary", invitation.summary)
    event.add("description", invitation.description)
    if invitation.location:
        event.add("location", invitation.location)
    event.add("url", invitation.url)
    event.add("organizer", _address(invitation.organizer_email, invitation.organizer_name))
    cancelled = invitation.method == "CANCEL"
    event.add("attendee", _address(invitation.attendee_email, invitation.attendee_name, ROLE="REQ-PARTICIPANT",
                                   PARTSTAT="DECLINED" if cancelled else "ACCEPTED", RSVP="FALSE"))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    return calendar.to_ical()
