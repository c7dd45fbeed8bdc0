"""Mail to registrants when an activity changes: schedule changes (a new calendar REQUEST with a higher
SEQUENCE) and cancellations (a calendar CANCEL), through the outbox (composed by the delivery worker)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cme.activities.models import Activity
from cme.extensions import db
from cme.registration.mail import queue_registrant_mail
from cme.registration.models import Registration, RegistrationStatus


def active_registrations(activity: Activity) -> list[Registration]:
    """Everyone confirmed or waitlisted, in registration order."""
    return list(db.session.scalars(
        select(Registration).where(Registration.activity_id == activity.id,
                                   Registration.status != RegistrationStatus.CANCELLED)
        .options(selectinload(Registration.user)).order_by(Registration.id)))


def _notify(activity: Activity, *, template: str, method: str) -> int:
    registrations = active_registrations(activity)
    for registration in registrations:
        queue_registrant_mail(registration, template, method=method if registration.is_confirmed else None)
    return len(registrations)


def queue_schedule_change_notices(activity: Activity) -> int:
    return _notify(activity, template="schedule_changed", method="REQUEST")


def queue_cancellation_notices(activity: Activity) -> int:
    return _notify(activity, template="activity_cancelled", method="CANCEL")
