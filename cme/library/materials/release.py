"""Who may open a material, and who may see that it exists: the one rule that the activity page, downloads, the
ZIP of all materials and the library's search ask.

- The activity's organizers (and administrators) may open every material of it, at any time.
- Nobody else sees anything of an activity the public may not see (a draft).
- Before its embargo date nobody else may open a material, nor see its title (pages say only how many files
  will be released, and when).
- Otherwise its release rule decides: "public" opens for everyone; "registrants" for people with a confirmed
  registration; "registrants, after the session ends" for them once the session is over (`Material.
  released_after_dt`); "organizers only" for nobody else, and is never listed to anybody else.
- What a viewer may not open but whose rule is not "organizers only" (and is not under embargo) is listed, with
  when and for whom it opens: learners see what the meeting offers; its bytes, thumbnail and text stay closed.

`Viewer` holds what the rule needs to know of a person for a set of activities (two queries for any number of
materials), so a list or a search asks it per material without a query each.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import select

from cme.activities.models import Activity, activity_organizers
from cme.extensions import db
from cme.library.materials.models import Material, Release
from cme.registration.models import Registration, RegistrationStatus
from cme.timeutil import format_local, now_utc


@dataclass(frozen=True)
class Viewer:
    """Someone looking at materials: the activities (of those asked about) they organize and those they hold a
    confirmed registration for. Anonymous: nothing."""

    user_id: int | None = None
    is_admin: bool = False
    organizes: frozenset[int] = frozenset()
    registered: frozenset[int] = frozenset()

    def manages(self, activity: Activity) -> bool:
        return self.is_admin or activity.id in self.organizes

    def is_registered(self, activity: Activity) -> bool:
        return activity.id in self.registered


ANONYMOUS = Viewer()


def viewer_for(user, activity_ids: Iterable[int]) -> Viewer:
    """The Viewer of `user` (a User, or Flask-Login's anonymous user, or None) for these activities."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ANONYMOUS
    ids = sorted(set(activity_ids))
    if not ids:
        return Viewer(user_id=user.id, is_admin=user.is_admin)
    organizes = frozenset(db.session.scalars(select(activity_organizers.c.activity_id).where(
        activity_organizers.c.user_id == user.id, activity_organizers.c.activity_id.in_(ids)))) \
        if user.is_organizer else frozenset()
    registered = frozenset(db.session.scalars(select(Registration.activity_id).where(
        Registration.user_id == user.id, Registration.activity_id.in_(ids),
        Registration.status == RegistrationStatus.CONFIRMED)))
    return Viewer(user_id=user.id, is_admin=user.is_admin, organizes=organizes, registered=registered)


def _viewer(viewer, material: Material) -> Viewer:
    return viewer if isinstance(viewer, Viewer) else viewer_for(viewer, [material.activity_id])


def is_embargoed(material: Material, now: datetime) -> bool:
    return material.embargo_until_dt is not None and now < material.embargo_until_dt


def may_open(viewer, material: Material, now: datetime | None = None) -> bool:
    """Whether `viewer` (a Viewer, or a user) may open (download, preview, read the text of) `material` now."""
    viewer, now = _viewer(viewer, material), now or now_utc()
    activity = material.activity
    if viewer.manages(activity):
        return True
    if not activity.is_public or is_embargoed(material, now):
        return False
    if material.release == Release.PUBLIC:
        return True
    if material.release == Release.ORGANIZERS or not viewer.is_registered(activity):
        return False
    return material.release == Release.REGISTRANTS or now >= material.released_after_dt


def is_listed(viewer, material: Material, now: datetime | None = None) -> bool:
    """Whether `viewer` may see that `material` exists (its title, speaker and release), opened or not."""
    viewer, now = _viewer(viewer, material), now or now_utc()
    if may_open(viewer, material, now):
        return True
    return (material.activity.is_public and material.release != Release.ORGANIZERS
            and not is_embargoed(material, now))


def _when(material: Material, instant: datetime) -> str:
    return format_local(instant, material.activity.time_zone, "%a %b %-d, %-I:%M %p %Z")


def _after_what(material: Material) -> str:
    return "the session ends" if material.session_id is not None else (
        "the webcast is released" if material.activity.is_on_demand else "the activity ends")


def locked_reason(viewer, material: Material, now: datetime | None = None) -> str:
    """Why a listed material does not open for this viewer now, in a few words ("" when it opens)."""
    viewer, now = _viewer(viewer, material), now or now_utc()
    if may_open(viewer, material, now):
        return ""
    if material.release == Release.REGISTRANTS:
        return "For registrants"
    if material.release == Release.REGISTRANTS_AFTER_SESSION:
        when = _when(material, material.released_after_dt)
        if viewer.is_registered(material.activity):
            return f"Opens for you when {_after_what(material)} ({when})"
        return f"For registrants, after {_after_what(material)} ({when})"
    return "Not available"


def release_summary(material: Material, now: datetime | None = None) -> str:
    """Who may open it, in words, for its organizers ("Registrants, after the session ends (Tue Mar 3, 10:45 AM
    EST); embargoed until Mar 1, 2027, 9:00 AM EST")."""
    if material.release == Release.REGISTRANTS_AFTER_SESSION:
        text = f"Registrants, after {_after_what(material)} ({_when(material, material.released_after_dt)})"
    else:
        text = material.release_label
    if is_embargoed(material, now or now_utc()):
        until = format_local(material.embargo_until_dt, material.activity.time_zone, "%b %-d, %Y, %-I:%M %p %Z")
        text += f"; embargoed until {until}"
    return text


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _what(materials: list[Material]) -> tuple[str, bool]:
    """("Slides for 3 talks and 1 other file", plural?) for a group of materials."""
    talks = len({m.session_id for m in materials if m.session_id is not None})
    others = sum(1 for m in materials if m.session_id is None)
    parts = []
    if talks:
        parts.append(f"Slides for {_count(talks, 'talk')}")
    if others:
        parts.append(_count(others, "other file" if talks else "file"))
    return " and ".join(parts), bool(talks) or others > 1


def pending_notes(viewer: Viewer, materials: list[Material], now: datetime | None = None) -> list[str]:
    """What exists but does not open for this viewer yet, in sentences ("Slides for 3 talks are released to
    registrants after each session."). Nothing about "organizers only" materials; embargoed ones by count and
    date only."""
    now = now or now_utc()
    if not materials or viewer.manages(materials[0].activity):
        return []
    locked = [m for m in materials if is_listed(viewer, m, now) and not may_open(viewer, m, now)]
    registered = bool(locked) and viewer.is_registered(locked[0].activity)
    notes = []
    after_sessions = [m for m in locked if m.release == Release.REGISTRANTS_AFTER_SESSION and m.session_id]
    if after_sessions:
        what, plural = _what(after_sessions)
        each = "each session ends" if len({m.session_id for m in after_sessions}) > 1 else "the session ends"
        notes.append(f"{what} will open here for you when {each}." if registered else
                     f"{what} {'are' if plural else 'is'} released to registrants after {each.removesuffix(' ends')}.")
    after_activity = [m for m in locked if m.release == Release.REGISTRANTS_AFTER_SESSION and not m.session_id]
    if after_activity:
        what, plural = _what(after_activity)
        after = _after_what(after_activity[0])
        notes.append(f"{what} will open here for you when {after}." if registered else
                     f"{what} {'are' if plural else 'is'} released to registrants after {after}.")
    for_registrants = [m for m in locked if m.release == Release.REGISTRANTS]
    if for_registrants:
        what, plural = _what(for_registrants)
        notes.append(f"{what} {'are' if plural else 'is'} for registrants only.")
    embargoed: dict[datetime, int] = {}
    for m in materials:
        if m.activity.is_public and m.release != Release.ORGANIZERS and is_embargoed(m, now):
            embargoed[m.embargo_until_dt] = embargoed.get(m.embargo_until_dt, 0) + 1
    for until, count in sorted(embargoed.items()):
        when = format_local(until, materials[0].activity.time_zone, "%a %b %-d, %Y, %-I:%M %p %Z")
        more = "more file" if any(is_listed(viewer, m, now) for m in materials) else "file"
        notes.append(f"{_count(count, more)} will be released on {when}.")
    return notes
