"""Counting registrations: the one query every page and rule asks (seats taken, waitlist length, last position).

A seat is taken by a confirmed registrant and by one holding an offer (issue 14, point 16: the seat is held for them
until they answer or the offer lapses), so `taken` is what capacity is measured against everywhere."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, ScalarSelect, func, select

from cme.activities.models import Activity
from cme.extensions import db
from cme.registration.models import Registration, RegistrationStatus


# Who takes a seat: the one rule `RegistrationCounts.taken` (in Python) and `taken_count` (in SQL) both read.
SEAT_TAKERS = (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED)


@dataclass(frozen=True)
class RegistrationCounts:
    confirmed: int = 0
    waitlisted: int = 0  # waiting, without an offer
    last_position: int = 0  # the highest waitlist position (allocation appends after it; 0 when nobody waits)
    offered: int = 0  # holding a seat offered to them

    @property
    def taken(self) -> int:
        """Seats taken: confirmed, and held for someone with an offer (SEAT_TAKERS, as `taken_count` counts)."""
        return sum(getattr(self, status.value) for status in SEAT_TAKERS)


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
        func.count().filter(Registration.status == RegistrationStatus.OFFERED),
    ).where(Registration.activity_id.in_(activity_ids), Registration.status != RegistrationStatus.CANCELLED)
        .group_by(Registration.activity_id))
    for activity_id, confirmed, waitlisted, last_position, offered in rows:
        counts[activity_id] = RegistrationCounts(confirmed, waitlisted, last_position, offered)
    return counts


def counts_for(activity_id: int) -> RegistrationCounts:
    """One activity's counts."""
    return registration_counts([activity_id])[activity_id]


def taken_counts(activity_ids: list[int]) -> dict[int, int]:
    """{activity_id: seats taken}: what catalog cards, month entries and activity pages show."""
    return {activity_id: c.taken for activity_id, c in registration_counts(activity_ids).items()}


def taken_count(activity_id: ColumnElement[int]) -> ScalarSelect[int]:
    """Seats taken (`RegistrationCounts.taken`) of the activity `activity_id` names, as SQL: a column of a
    statement that lists activities (the catalog's page counts its seats in its own statement)."""
    return select(func.count()).where(Registration.activity_id == activity_id,
                                      Registration.status.in_(SEAT_TAKERS)).scalar_subquery()


def seats_left(activity: Activity) -> int | None:
    """Free seats (None when the capacity is unlimited); never negative."""
    if activity.capacity is None:
        return None
    return max(activity.capacity - counts_for(activity.id).taken, 0)
