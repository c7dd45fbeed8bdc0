"""Counting registrations: the one query every page and rule asks (seats taken, waitlist length, last position)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from cme.activities.models import Activity
from cme.extensions import db
from cme.registration.models import Registration, RegistrationStatus


@dataclass(frozen=True)
class RegistrationCounts:
    confirmed: int = 0
    waitlisted: int = 0
    last_position: int = 0  # the highest waitlist position (allocation appends after it; 0 when nobody waits)


def registration_counts(activity_ids: list[int]) -> dict[int, RegistrationCounts]:
    """{activity_id: its counts} for every id asked (zeros when nobody registered), in one query."""
    counts = {activity_id: RegistrationCounts() for activity_id in activity_ids}
    if not activity_ids:
        return counts
    rows = db.session.execute(select(
        Registration.activity_id,
        func.count().filter(Registration.status == RegistrationStatus.CONFIRMED),
        func.count().filter(Registration.status == RegistrationStatus.WAITLISTED),
        func.coalesce(func.max(Registration.waitlist_position), 0),
    ).where(Registration.activity_id.in_(activity_ids), Registration.status != RegistrationStatus.CANCELLED)
        .group_by(Registration.activity_id))
    for activity_id, confirmed, waitlisted, last_position in rows:
        counts[activity_id] = RegistrationCounts(confirmed, waitlisted, last_position)
    return counts


def counts_for(activity_id: int) -> RegistrationCounts:
    """One activity's counts."""
    return registration_counts([activity_id])[activity_id]


def confirmed_counts(activity_ids: list[int]) -> dict[int, int]:
    """{activity_id: seats taken}: what catalog cards and month entries show."""
    return {activity_id: c.confirmed for activity_id, c in registration_counts(activity_ids).items()}


def seats_left(activity: Activity) -> int | None:
    """Free seats (None when the capacity is unlimited); never negative."""
    if activity.capacity is None:
        return None
    return max(activity.capacity - counts_for(activity.id).confirmed, 0)
