"""VTIMEZONE components generated from zoneinfo, with RRULE-defined STANDARD/DAYLIGHT observances.

Outlook builds a time zone only from TZID, DTSTART, RRULE and the offsets (MS-STANOICAL), so the RDATE
lists that `Calendar.add_missing_timezones()` writes shift events by an hour there. We read each year's
transitions from zoneinfo, express them as yearly rules ("2nd Sunday of March at 02:00"), and emit one
observance per rule per run of years it holds for (with UNTIL when it stops).
"""
from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

from cme.timeutil import zone

WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@dataclass(frozen=True)
class Transition:
    utc: datetime  # the instant the offset changes
    local: datetime  # naive wall-clock time just before it, in the old offset (what DTSTART means)
    offset_from: timedelta
    offset_to: timedelta
    is_dst: bool
    name: str


def transitions(zone_name: str, year: int) -> list[Transition]:
    """The offset changes in `year`, found from zoneinfo (daily scan, then bisection to the second)."""
    tz = zone(zone_name)
    start = datetime(year, 1, 1, tzinfo=timezone.utc)
    found = []
    previous = start.astimezone(tz).utcoffset()
    for day in range(1, 367):
        probe = start + timedelta(days=day)
        offset = probe.astimezone(tz).utcoffset()
        if offset != previous:
            low, high = probe - timedelta(days=1), probe
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(tz).utcoffset() == previous:
                    low = middle
                else:
                    high = middle
            instant = high.replace(microsecond=0)
            after = instant.astimezone(tz)
            if instant.year == year:
                found.append(Transition(utc=instant, local=(instant + previous).replace(tzinfo=None),
                                        offset_from=previous, offset_to=offset, is_dst=bool(after.dst()),
                                        name=after.tzname() or ""))
            previous = offset
    return found


def _rule(local: datetime) -> set[str]:
    """The BYDAY encodings that describe this date: '2SU', and '-1SU' when it is the month's last."""
    weekday = WEEKDAYS[local.weekday()]
    encodings = {f"{(local.day - 1) // 7 + 1}{weekday}"}
    if local.day + 7 > month_calendar.monthrange(local.year, local.month)[1]:
        encodings.add(f"-1{weekday}")
    return encodings


@lru_cache(maxsize=256)
def vtimezone(zone_name: str, first_year: int, last_year: int) -> Timezone:
    """A VTIMEZONE for `zone_name` valid for events from `first_year` to `last_year` (inclusive).

    It starts a year early, so an event in January finds the observance that began the autumn before.
    """
    first_year -= 1
    component = Timezone()
    component.add("tzid", zone_name)
    by_kind: dict[bool, list[tuple[int, Transition]]] = {True: [], False: []}
    for year in range(first_year, last_year + 1):
        for transition in transitions(zone_name, year):
            by_kind[transition.is_dst].append((year, transition))
    if not by_kind[True] and not by_kind[False]:
        # No changes in these years: one fixed standard observance.
        probe = datetime(first_year, 1, 1, 12, tzinfo=timezone.utc).astimezone(zone(zone_name))
        observance = TimezoneStandard()
        observance.add("dtstart", datetime(1970, 1, 1))
        observance.add("tzoffsetfrom", probe.utcoffset())
        observance.add("tzoffsetto", probe.utcoffset())
        observance.add("tzname", probe.tzname())
        component.add_component(observance)
        return component
    for is_dst, items in by_kind.items():
        for run in _runs(items):
            component.add_component(_observance(is_dst, run, last_year))
    return component


def _runs(items: list[tuple[int, Transition]]) -> list[list[Transition]]:
    """Split consecutive years into runs that one yearly rule (month, BYDAY, time, offsets) describes."""
    runs: list[list[Transition]] = []
    current: list[Transition] = []
    current_rules: set[str] = set()
    for _, transition in items:
        signature = (transition.local.month, transition.local.time(), transition.offset_from, transition.offset_to)
        rules = _rule(transition.local)
        if current:
            head = current[0]
            same = (head.local.month, head.local.time(), head.offset_from, head.offset_to) == signature
            consecutive = transition.local.year == current[-1].local.year + 1
            if same and consecutive and current_rules & rules:
                current.append(transition)
                current_rules &= rules
                continue
            runs.append(current)
        current, current_rules = [transition], rules
    if current:
        runs.append(current)
    return runs


def _observance(is_dst: bool, run: list[Transition], last_year: int):
    first = run[0]
    observance = TimezoneDaylight() if is_dst else TimezoneStandard()
    observance.add("dtstart", first.local)
    observance.add("tzoffsetfrom", first.offset_from)
    observance.add("tzoffsetto", first.offset_to)
    observance.add("tzname", first.name)
    if len(run) > 1 or run[-1].local.year == last_year:
        common = set.intersection(*(_rule(t.local) for t in run))
        byday = sorted(common, key=lambda r: (r.startswith("-"), r))[0]  # prefer "2SU" over "-1SU" when both fit
        rule = {"FREQ": "YEARLY", "BYMONTH": first.local.month, "BYDAY": byday}
        if run[-1].local.year < last_year:
            rule["UNTIL"] = run[-1].utc.astimezone(timezone.utc)
        observance.add("rrule", rule)
    return observance
