"""Registration queries and rules."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from cme.accounts.models import User
from cme.activities.models import Activity
from cme.extensions import db
from cme.registration.models import Registration
from cme.timeutil import now_utc


def schedule_for(user: User, *, now: datetime | None = None) -> tuple[list[Registration], list[Registration]]:
    """The user's registrations split into upcoming (soonest first) and past (latest first)."""
    now = now or now_utc()
    registrations = db.session.scalars(
        select(Registration).join(Registration.activity).options(joinedload(Registration.activity))
        .where(Registration.user_id == user.id).order_by(Activity.start_dt)
    ).all()
    upcoming = [r for r in registrations if r.activity.end_dt >= now]
    past = [r for r in reversed(registrations) if r.activity.end_dt < now]
    return upcoming, past
