"""Time: every stored instant is aware UTC; zones are IANA names read with zoneinfo."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from importlib.resources import files
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp that only accepts aware datetimes and always returns aware UTC.

    PostgreSQL stores `timestamptz`; SQLite stores naive UTC text, which this
    type turns back into aware values on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


@lru_cache(maxsize=None)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=1)
def all_zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def is_valid_zone(name: str | None) -> bool:
    return bool(name) and name in all_zone_names()


# The zones a US provider is most likely to want, first in pickers.
US_ZONES: list[tuple[str, str]] = [
    ("America/New_York", "Eastern (New York)"),
    ("America/Chicago", "Central (Chicago)"),
    ("America/Denver", "Mountain (Denver)"),
    ("America/Phoenix", "Mountain, no DST (Phoenix)"),
    ("America/Los_Angeles", "Pacific (Los Angeles)"),
    ("America/Anchorage", "Alaska (Anchorage)"),
    ("Pacific/Honolulu", "Hawaii (Honolulu)"),
    ("America/Puerto_Rico", "Atlantic (Puerto Rico)"),
]


@lru_cache(maxsize=1)
def canonical_zone_names() -> tuple[str, ...]:
    """Current IANA zones (tzdata's zone1970.tab), without the obsolete aliases kept for compatibility."""
    text = files("tzdata").joinpath("zoneinfo", "zone1970.tab").read_text(encoding="utf-8")
    names = {line.split("\t")[2] for line in text.splitlines() if line and not line.startswith("#")}
    return tuple(sorted(names & all_zone_names()))


def zone_choices() -> list[tuple[str, str]]:
    """US zones first, then the other current IANA zones by name."""
    us = {name for name, _ in US_ZONES}
    return US_ZONES + [(n, n.replace("_", " ")) for n in canonical_zone_names() if n not in us]


class NonExistentLocalTime(ValueError):
    """The wall-clock time falls in a DST gap (e.g. 02:30 on a spring-forward night)."""

    def __init__(self, naive: datetime, zone_name: str):
        super().__init__(f"{naive:%Y-%m-%d %H:%M} does not exist in {zone_name} (clocks skip it)")
        self.naive, self.zone_name = naive, zone_name


class AmbiguousLocalTime(ValueError):
    """The wall-clock time happens twice (the repeated hour on a fall-back night)."""


def local_to_utc(naive: datetime, zone_name: str, *, fold: int | None = None) -> datetime:
    """Interpret a naive wall-clock time in `zone_name` and return aware UTC.

    Raises NonExistentLocalTime inside a DST gap, and AmbiguousLocalTime in a
    repeated hour unless `fold` (0 = first, 1 = second occurrence) is given.
    """
    tz = zone(zone_name)
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    # Round-tripping through UTC exposes gaps: the time changes.
    if first.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None) != naive and \
            second.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None) != naive:
        raise NonExistentLocalTime(naive, zone_name)
    if first.utcoffset() != second.utcoffset():
        if fold is None:
            raise AmbiguousLocalTime(f"{naive:%Y-%m-%d %H:%M} happens twice in {zone_name} (clocks go back)")
        return naive.replace(tzinfo=tz, fold=fold).astimezone(timezone.utc)
    return first.astimezone(timezone.utc)


def shift_wall_clock(instant: datetime, by: timedelta, zone_name: str, to_zone: str | None = None) -> datetime:
    """The instant whose wall-clock time in `to_zone` (default: the same zone) is `instant`'s wall-clock time in
    `zone_name` plus `by`: "a week later, at the same local time", whatever the clocks do in between (a 9:00 AM
    session stays at 9:00 AM across a change to or from daylight saving time). A time in the repeated hour keeps
    the occurrence it had; one that lands in a DST gap raises NonExistentLocalTime."""
    local = instant.astimezone(zone(zone_name))
    return local_to_utc(local.replace(tzinfo=None) + by, to_zone or zone_name, fold=local.fold)


def wall_clock_difference(earlier: datetime, earlier_zone: str, later: datetime, later_zone: str) -> timedelta:
    """How far `later` (read on the clocks of `later_zone`) is from `earlier` (read on those of `earlier_zone`), in
    wall-clock time: the `by` of `shift_wall_clock`."""
    return (later.astimezone(zone(later_zone)).replace(tzinfo=None)
            - earlier.astimezone(zone(earlier_zone)).replace(tzinfo=None))


def utc_to_local(instant: datetime, zone_name: str) -> datetime:
    return instant.astimezone(zone(zone_name))


def format_span(start: datetime, end: datetime, zone_name: str) -> str:
    """'Fri Mar 12, 2027, 1:00 – 3:00 PM CST', or with both dates when it runs over several days."""
    tz = zone(zone_name)
    a, b = start.astimezone(tz), end.astimezone(tz)
    if a.date() == b.date():
        if a.tzname() != b.tzname():
            return f"{a:%a %b %-d, %Y, %-I:%M %p %Z} – {b:%-I:%M %p %Z}"
        if a.strftime("%p") == b.strftime("%p"):
            return f"{a:%a %b %-d, %Y, %-I:%M} – {b:%-I:%M %p %Z}"
        return f"{a:%a %b %-d, %Y, %-I:%M %p} – {b:%-I:%M %p %Z}"
    year = "" if a.year == b.year else f", {a.year}"
    return f"{a:%a %b %-d}{year}, {a:%-I:%M %p %Z} – {b:%a %b %-d, %Y, %-I:%M %p %Z}"


def format_local(instant: datetime | None, zone_name: str, fmt: str = "%a %b %-d, %Y %-I:%M %p %Z") -> str:
    if instant is None:
        return ""
    return utc_to_local(instant, zone_name).strftime(fmt)


__all__ = [
    "UTCDateTime", "now_utc", "zone", "is_valid_zone", "zone_choices", "local_to_utc", "utc_to_local",
    "format_local", "NonExistentLocalTime", "AmbiguousLocalTime", "shift_wall_clock", "wall_clock_difference",
]
