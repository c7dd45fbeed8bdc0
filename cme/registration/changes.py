"""What of an activity matters to its registrants, and how to say what changed (issue 12, point 5).

`registrant_facts` reads the facts a registrant acts on: the format, the times (of the activity and of each agenda
session), the venue, its address and the join link. Titles, descriptions and notes are text: changing them tells
nobody. `changes_between` compares two readings; `merge` folds a later change into a notice still waiting (the
oldest "old" and the newest "new" value; a value back where it was is no change); `describe` turns what is left
into lines such as "Starts: Tue Jun 10, 8:00 AM MDT → 9:00 AM MDT", in the activity's time zone as it is when the
notice is composed. Plain data in and out (JSON-able, as stored in an outbox payload).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cme.activities.models import Activity, ActivityFormat
from cme.timeutil import zone

Facts = dict[str, Any]
Changes = dict[str, list[Any]]  # key -> [old, new]


def registrant_facts(activity: Activity) -> Facts:
    facts: Facts = {
        "format": activity.format,
        "start": activity.start_dt.isoformat(),
        "end": activity.end_dt.isoformat(),
        "venue": activity.venue_name or None,
        "address": street_address(activity) or None,
        "join_url": activity.join_url or None,
    }
    for session in activity.sessions:
        facts[f"session:{session.uuid}"] = {"title": session.title, "start": session.start_dt.isoformat(),
                                            "end": session.end_dt.isoformat()}
    return facts


def street_address(activity: Activity) -> str:
    """The venue's address without its name ("700 14th St, Denver, CO 80202")."""
    city_line = " ".join(p for p in [f"{activity.city}," if activity.city else None, activity.state,
                                     activity.postal_code] if p)
    return ", ".join(p for p in [activity.street_address, city_line] if p)


def _same(old: Any, new: Any) -> bool:
    """Sessions are the same while their times are (a new title alone is text)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return (old["start"], old["end"]) == (new["start"], new["end"])
    return old == new


def changes_between(before: Facts, after: Facts) -> Changes:
    changes: Changes = {}
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key), after.get(key)
        if not _same(old, new):
            changes[key] = [old, new]
    return changes


def merge(waiting: Changes, later: Changes) -> Changes:
    """A notice still waiting, updated with a later change: each value keeps its oldest "old" and takes the newest
    "new"; what went back to where it was drops out (an empty result: nothing left to tell)."""
    merged = {key: list(pair) for key, pair in waiting.items()}
    for key, (old, new) in later.items():
        merged[key] = [merged[key][0] if key in merged else old, new]
    return {key: pair for key, pair in merged.items() if not _same(*pair)}


@dataclass(frozen=True)
class ChangeLine:
    label: str
    old: str | None  # None: there was none (a session added, a join link given for the first time)
    new: str | None  # None: there is none any more
    is_join_link: bool = False

    @property
    def summary(self) -> str:
        if self.old is None:
            return self.new or "none"
        if self.new is None:
            return f"removed (was {self.old})"
        return f"{self.old} → {self.new}"


DAY = "%a %b %-d, "
TIME = "%-I:%M %p %Z"


def _instant(text: str, zone_name: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(zone(zone_name))


def _times(old: str | None, new: str | None, zone_name: str) -> tuple[str | None, str | None]:
    """Both as "Tue Jun 10, 8:00 AM MDT"; the new one without its day when that stays the same."""
    a = _instant(old, zone_name) if old else None
    b = _instant(new, zone_name) if new else None
    old_text = a.strftime(DAY + TIME) if a else None
    new_text = b.strftime(TIME if a and b and a.date() == b.date() else DAY + TIME) if b else None
    return old_text, new_text


def _session_text(value: dict | None, zone_name: str) -> str | None:
    if value is None:
        return None
    start, end = _instant(value["start"], zone_name), _instant(value["end"], zone_name)
    if start.date() == end.date():
        same_half = start.strftime("%p%Z") == end.strftime("%p%Z")
        return f"{start:{DAY}%-I:%M}{'' if same_half else start.strftime(' %p')}–{end:{TIME}}"
    return f"{start:{DAY}{TIME}} – {end:{DAY}{TIME}}"


def describe(changes: Changes, activity: Activity) -> list[ChangeLine]:
    """The lines a notice shows, in a fixed order: format, times, place, then sessions in time order."""
    zone_name = activity.time_zone
    on_demand = activity.is_on_demand
    lines: list[ChangeLine] = []
    if "format" in changes:
        old, new = changes["format"]
        lines.append(ChangeLine("Format", ActivityFormat(old).label if old else None,
                                ActivityFormat(new).label if new else None))
    for key, label in (("start", "Available from" if on_demand else "Starts"),
                       ("end", "Available until" if on_demand else "Ends")):
        if key in changes:
            lines.append(ChangeLine(label, *_times(*changes[key], zone_name)))
    for key, label in (("venue", "Venue"), ("address", "Address"), ("join_url", "Join link")):
        if key in changes:
            lines.append(ChangeLine(label, *changes[key], is_join_link=key == "join_url"))
    sessions = [(key, pair) for key, pair in changes.items() if key.startswith("session:")]
    sessions.sort(key=lambda item: (item[1][1] or item[1][0])["start"])
    for _key, (old, new) in sessions:
        title = (new or old)["title"]
        label = f"Session “{title}”" if old and new else (f"New session “{title}”" if new else f"Session “{title}”")
        old_text, new_text = _session_text(old, zone_name), _session_text(new, zone_name)
        if old_text and new_text:
            day = f"{_instant(old['start'], zone_name):{DAY}}"
            if new_text.startswith(day) and old_text.startswith(day):
                new_text = new_text[len(day):]
        lines.append(ChangeLine(label, old_text, new_text))
    return lines
