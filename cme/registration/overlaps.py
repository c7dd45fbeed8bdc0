"""Overlapping registrations (issue 14, point 14): the activities a learner is registered for whose times collide
with one they are about to register for. A warning, not a refusal: the activity page and the registration form
ask `overlapping_registrations` and name what collides; `register` never does (people do leave a meeting for an
hour, and an organizer knows better than a rule).

When an activity keeps someone busy (`busy_times`): its agenda sessions when it has any (the breaks and the nights
between them are free: a two-day meeting does not collide with an evening webcast), the sessions a registrant
chose when they chose some, else its whole span. An on-demand webcast, watched whenever one likes, collides with
nothing. Times are compared as UTC instants, so activities in different time zones compare as they happen, and
spans are half-open: one that ends at 10:00 does not collide with one that starts at 10:00.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload

from cme.accounts.models import User
from cme.activities.models import Activity, ActivityFormat, ActivitySession, ActivityStatus
from cme.extensions import db
from cme.registration.models import Registration, RegistrationStatus
from cme.timeutil import format_span, now_utc


@dataclass(frozen=True, order=True)
class Busy:
    """A stretch of time an activity takes: one of its agenda sessions (`title`), or its whole span (no title)."""

    start_dt: datetime
    end_dt: datetime
    title: str = ""

    def collides_with(self, other: "Busy") -> bool:
        return self.start_dt < other.end_dt and other.start_dt < self.end_dt


def busy_times(activity: Activity, sessions: Iterable[ActivitySession] = ()) -> list[Busy]:
    """When `activity` keeps its registrant busy: the given sessions (those the registrant chose), else the agenda,
    else its whole span; nothing for an on-demand webcast."""
    if activity.format == ActivityFormat.ON_DEMAND_WEBCAST:
        return []
    chosen = list(sessions) or list(activity.sessions)
    if chosen:
        return sorted(Busy(s.start_dt, s.end_dt, s.title) for s in chosen)
    return [Busy(activity.start_dt, activity.end_dt)]


@dataclass(frozen=True)
class Overlap:
    """One of the learner's registrations whose activity collides with the one at hand, and the times of it
    (its sessions, or its whole span) that collide."""

    registration: Registration
    times: tuple[Busy, ...]

    @property
    def activity(self) -> Activity:
        return self.registration.activity

    @property
    def local_times(self) -> list[str]:
        """Each colliding time in the other activity's own zone ("Tue Mar 3, 2026, 9:00 – 10:30 AM EST"), with
        the session's title when it is a session."""
        zone_name = self.activity.time_zone
        return [format_span(b.start_dt, b.end_dt, zone_name) + (f" ({b.title})" if b.title else "") for b in self.times]


def overlapping_registrations(user: User, activity: Activity, *, now: datetime | None = None) -> list[Overlap]:
    """The user's active registrations (confirmed or waitlisted) for other activities that have not ended, are not
    cancelled and collide with `activity` (busy_times), in start order. One query, whatever the number of
    registrations: the span test runs in SQL, the sessions come joined in the same statement."""
    if not getattr(user, "is_authenticated", False):
        return []
    mine = busy_times(activity)
    if not mine:
        return []
    start, end = min(b.start_dt for b in mine), max(b.end_dt for b in mine)
    now = now or now_utc()
    statement = (
        select(Registration).join(Registration.activity)
        .where(Registration.user_id == user.id, Registration.activity_id != activity.id,
               Registration.status.in_([RegistrationStatus.CONFIRMED.value, RegistrationStatus.WAITLISTED.value]),
               Activity.status != ActivityStatus.CANCELLED.value,
               Activity.format != ActivityFormat.ON_DEMAND_WEBCAST.value,
               Activity.start_dt < end, Activity.end_dt > start, Activity.end_dt > now)
        .options(contains_eager(Registration.activity).joinedload(Activity.sessions),
                 joinedload(Registration.sessions))
        .order_by(Activity.start_dt, Activity.id))
    overlaps = []
    for registration in db.session.scalars(statement).unique():
        theirs = busy_times(registration.activity, registration.sessions)
        colliding = tuple(b for b in theirs if any(b.collides_with(m) for m in mine))
        if colliding:
            overlaps.append(Overlap(registration, colliding))
    return overlaps
