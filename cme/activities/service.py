"""Activity queries and rules. The catalog and the organizer pages grow here."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from cme.accounts.models import User
from cme.activities.models import Activity, ActivityFormat, ActivityStatus, activity_organizers
from cme.extensions import db
from cme.registration.models import Registration, RegistrationStatus
from cme.timeutil import now_utc

WEBCAST_FORMATS = (ActivityFormat.LIVE_WEBCAST, ActivityFormat.ON_DEMAND_WEBCAST)


def upcoming_catalog_query(*, fmt: str | None = None, now: datetime | None = None) -> Select:
    """Published (or cancelled, so the banner shows) activities that have not ended, soonest first."""
    now = now or now_utc()
    stmt = (
        select(Activity)
        .where(Activity.status.in_([ActivityStatus.PUBLISHED, ActivityStatus.CANCELLED]), Activity.end_dt >= now)
        .options(selectinload(Activity.credit_designations))
        .order_by(Activity.start_dt, Activity.id)
    )
    if fmt == "webcast":
        stmt = stmt.where(Activity.format.in_(WEBCAST_FORMATS))
    elif fmt in {f.value for f in ActivityFormat}:
        stmt = stmt.where(Activity.format == fmt)
    return stmt


def public_activity(activity_id: int) -> Activity | None:
    activity = db.session.get(Activity, activity_id)
    if activity is None or activity.status == ActivityStatus.DRAFT:
        return None
    return activity


def confirmed_counts(activity_ids: list[int]) -> dict[int, int]:
    if not activity_ids:
        return {}
    rows = db.session.execute(
        select(Registration.activity_id, func.count())
        .where(Registration.activity_id.in_(activity_ids), Registration.status == RegistrationStatus.CONFIRMED)
        .group_by(Registration.activity_id)
    )
    return dict(rows.all())


def organizer_activities_query(user: User) -> Select:
    """Activities the user organizes (all of them for an admin), newest first."""
    stmt = select(Activity).order_by(Activity.start_dt.desc(), Activity.id.desc())
    if not user.is_admin:
        stmt = stmt.where(Activity.id.in_(
            select(activity_organizers.c.activity_id).where(activity_organizers.c.user_id == user.id)))
    return stmt


def registration_counts(activity_ids: list[int]) -> dict[int, dict[str, int]]:
    """{activity_id: {"confirmed": n, "waitlisted": m}} in one query."""
    counts: dict[int, dict[str, int]] = {i: {"confirmed": 0, "waitlisted": 0} for i in activity_ids}
    if not activity_ids:
        return counts
    rows = db.session.execute(
        select(Registration.activity_id, Registration.status, func.count())
        .where(Registration.activity_id.in_(activity_ids), Registration.status != RegistrationStatus.CANCELLED)
        .group_by(Registration.activity_id, Registration.status)
    )
    for activity_id, status, count in rows:
        counts[activity_id][status] = count
    return counts
