"""ICS documents for downloads and subscription feeds (RFC 5545, RFC 5546 PUBLISH, RFC 7986 properties).

Pure functions over plain data. A calendar is assembled from VEVENTs already serialised (`event_bytes`), so
the public feed can join the fragments stored on each activity's row instead of serialising thousands of
events per request. VTIMEZONEs depend only on the zone and the years (the tz database, no stored data), so
their bytes are memoised.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Iterable

from icalendar import Calendar, vDuration, vText

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
    """One VEVENT, byte for byte as icalendar writes it (`Event.add(...)` then `to_ical()`: its property order,
    TEXT escaping, parameter quoting and line folding), written directly: icalendar's component machinery was
    nine tenths of building the public feed from nothing. tests/test_calendar.py compares the two on awkward
    data."""
    tz = zone(data.zone_name)
    lines = [
        b"BEGIN:VEVENT",
        _line("SUMMARY", _text(data.summary)),
        # Local wall-clock time with an explicit TZID (the VTIMEZONE we write), not icalendar's zone guessing.
        _wall_clock("DTSTART", data.start.astimezone(tz), data.zone_name),
        _wall_clock("DTEND", data.end.astimezone(tz), data.zone_name),
        _instant("DTSTAMP", data.last_modified),
        _line("UID", _text(data.uid)),
        _line("SEQUENCE", str(data.sequence)),
    ]
    # The other properties in icalendar's order: alphabetical.
    if data.categories:
        lines.append(_line("CATEGORIES", ",".join(map(_text, data.categories))))
    if data.conference_url:
        lines.append(_line("CONFERENCE", _uri(data.conference_url),
                           [("FEATURE", '"AUDIO,VIDEO"'), ("LABEL", "Join the webcast"), ("VALUE", "URI")]))
    lines.append(_line("DESCRIPTION", _text(data.description)))
    lines.append(_instant("LAST-MODIFIED", data.last_modified))
    if data.location:
        lines.append(_line("LOCATION", _text(data.location)))
    lines.append(_line("ORGANIZER", _uri(f"mailto:{data.organizer_email}"),
                       [("CN", _param(data.organizer_name, quote_also=" '"))]))
    lines.append(_line("STATUS", _text(data.status)))
    lines.append(_line("URL", _uri(data.url)))
    if data.alarm_minutes is not None and data.status != "CANCELLED":
        lines += [b"BEGIN:VALARM", b"ACTION:DISPLAY", _line("DESCRIPTION", _text(data.summary)),
                  _line("TRIGGER", vDuration(timedelta(minutes=-data.alarm_minutes)).to_ical().decode()),
                  b"END:VALARM"]
    lines.append(b"END:VEVENT\r\n")
    return b"\r\n".join(lines)


def _text(value: str) -> str:
    """A TEXT value escaped as icalendar escapes it (the order of the replacements matters)."""
    return (value.replace(r"\N", "\n").replace("\\", "\\\\").replace(";", r"\;").replace(",", r"\,")
            .replace("\r\n", r"\n").replace("\n", r"\n").replace("\r", r"\n"))


def _uri(value: str) -> str:
    """A URI or CAL-ADDRESS value: written as it is, refused (as icalendar refuses it) if it would break the line."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"A URI value may not contain CR or LF characters: {value!r}")
    return value


_QUOTABLE = re.compile("[,;:\u2019]")
_RFC_6868 = re.compile(r'\^|\r\n|\r|\n|"')
_RFC_6868_REPLACEMENTS = {"^": "^^", "\n": "^n", "\r": "^n", "\r\n": "^n", '"': "^'"}


def _param(value: str, *, quote_also: str = "") -> str:
    """A parameter value as icalendar writes it: RFC 6868 escapes, in double quotes when it holds , ; : or a
    right single quote (or one of `quote_also`)."""
    always = any(c in value for c in quote_also)  # looked for before escaping, as icalendar does
    value = _RFC_6868.sub(lambda m: _RFC_6868_REPLACEMENTS[m.group(0)], value)
    return f'"{value}"' if always or _QUOTABLE.search(value) else value


def _wall_clock(name: str, moment: datetime, zone_name: str) -> bytes:
    """The local time with TZID; in UTC, icalendar writes it with a Z and no TZID."""
    if zone_name == "UTC":
        return _line(name, _local(moment) + "Z")
    return _line(name, _local(moment), [("TZID", _param(zone_name))])


def _local(moment: datetime) -> str:
    return f"{moment.year:04}{moment.month:02}{moment.day:02}T{moment.hour:02}{moment.minute:02}{moment.second:02}"


def _instant(name: str, moment: datetime) -> bytes:
    """DTSTAMP and LAST-MODIFIED are UTC: icalendar converts an aware time to UTC and takes a naive one as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return _line(name, _local(moment) + "Z")


def _line(name: str, value: str, params: list[tuple[str, str]] = ()) -> bytes:
    """A content line, folded as icalendar folds: as many whole characters as fit in 74 octets a line (a folded
    line starts with a space), never ending a line on a backslash or a caret (it goes to the next, with what it
    escapes)."""
    line = (f"{name};{';'.join(f'{k}={v}' for k, v in params)}:{value}" if params else f"{name}:{value}").encode()
    if len(line) < 75:
        return line
    parts, start = [], 0
    while len(line) - start > 74:
        end = start + 74
        while line[end] & 0xC0 == 0x80:  # a UTF-8 continuation octet: the character starts before it
            end -= 1
        if line[end - 1] in b"\\^":
            end -= 1
        parts.append(line[start:end])
        start = end
    parts.append(line[start:])
    return b"\r\n ".join(parts)


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
