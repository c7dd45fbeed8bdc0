"""ICS documents for downloads and subscription feeds (RFC 5545, RFC 5546 PUBLISH, RFC 7986 properties).

Pure functions over plain data. A calendar is assembled from VEVENTs already serialised (`event_bytes`), so
the public feed can join the fragments stored on each activity's row instead of serialising thousands of
events per request. VTIMEZONEs depend only on the zone and the years (the tz database, no stored data), so
their bytes are memoised.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Iterable

from icalendar import Alarm, Calendar, Event, vCalAddress, vDuration, vText

from cme.calendar.timezones import vtimezone
from cme.timeutil import zone

PRODID = "-//cme//Continuing medical education//EN"


@dataclass(frozen=True)
class EventData:
    uid: str
    sequence: int
    summary: str
    description: str
    location: str
    url: str
    start: datetime  # aware
    end: datetime
    zone_name: str
    status: str  # CONFIRMED, TENTATIVE or CANCELLED
    last_modified: datetime
    organizer_email: str
    organizer_name: str
    categories: tuple[str, ...] = ()
    conference_url: str | None = None
    alarm_minutes: int | None = None


@dataclass(frozen=True)
class CalendarMeta:
    name: str
    description: str
    zone_name: str
    method: str = "PUBLISH"
    refresh: timedelta | None = timedelta(hours=1)


def event_bytes(data: EventData) -> bytes:
    """One VEVENT as icalendar writes it."""
    tz = zone(data.zone_name)
    event = Event()
    event.add("uid", data.uid)
    event.add("sequence", data.sequence)
    event.add("dtstamp", data.last_modified)
    event.add("last-modified", data.last_modified)
    # Local wall-clock time with an explicit TZID (the VTIMEZONE we write), not icalendar's zone guessing.
    event.add("dtstart", data.start.astimezone(tz).replace(tzinfo=None), parameters={"TZID": data.zone_name})
    event.add("dtend", data.end.astimezone(tz).replace(tzinfo=None), parameters={"TZID": data.zone_name})
    event.add("summary", data.summary)
    event.add("description", data.description)
    if data.location:
        event.add("location", data.location)
    event.add("url", data.url)
    event.add("status", data.status)
    if data.categories:
        event.add("categories", list(data.categories))
    organizer = vCalAddress(f"mailto:{data.organizer_email}")
    organizer.params["CN"] = vText(data.organizer_name)
    event.add("organizer", organizer)
    if data.conference_url:
        event.add("conference", data.conference_url, parameters={"VALUE": "URI", "FEATURE": "AUDIO,VIDEO",
                                                                  "LABEL": "Join the webcast"})
    if data.alarm_minutes is not None and data.status != "CANCELLED":
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", data.summary)
        alarm.add("trigger", timedelta(minutes=-data.alarm_minutes))
        event.add_component(alarm)
    return event.to_ical()


def build_calendar(meta: CalendarMeta, events: Iterable[EventData]) -> bytes:
    """A VCALENDAR with the header properties, one VTIMEZONE per zone used (covering the events' years), and
    the events."""
    events = list(events)
    return assemble_calendar(meta, [event_bytes(data) for data in events],
                             [(data.zone_name, data.start, data.end) for data in events])


def assemble_calendar(meta: CalendarMeta, fragments: list[bytes], spans: Iterable[tuple[str, datetime, datetime]]) -> bytes:
    """The calendar around already serialised VEVENTs; `spans` (zone, start, end) decide the VTIMEZONEs."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", meta.method)
    # X- properties have no registered type: pass vText so they are escaped like the standard ones.
    name = " ".join(meta.name.split())
    calendar.add("name", vText(name))
    calendar.add("x-wr-calname", vText(name))
    calendar.add("description", vText(meta.description))
    calendar.add("x-wr-caldesc", vText(meta.description))
    calendar.add("x-wr-timezone", vText(meta.zone_name))
    if meta.refresh is not None:
        calendar.add("refresh-interval", meta.refresh, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(meta.refresh))
    years: dict[str, tuple[int, int]] = {}
    for zone_name, start, end in spans:
        low, high = start.year, end.year  # UTC years; the VTIMEZONE spans one more year on each side anyway
        first, last = years.get(zone_name, (low, high))
        years[zone_name] = (min(first, low), max(last, high))
    head = calendar.to_ical()
    end = b"END:VCALENDAR\r\n"
    assert head.endswith(end)
    parts = [head[: -len(end)]]
    parts.extend(_timezone_bytes(name, first, last + 1) for name, (first, last) in sorted(years.items()))
    parts.extend(fragments)
    parts.append(end)
    return b"".join(parts)


@lru_cache(maxsize=1024)
def _timezone_bytes(zone_name: str, first_year: int, last_year: int) -> bytes:
    return vtimezone(zone_name, first_year, last_year).to_ical()
