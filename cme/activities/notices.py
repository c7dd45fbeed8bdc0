"""Mail to registrants when an activity changes: schedule changes (a new calendar REQUEST with a higher
SEQUENCE) and cancellations (a calendar CANCEL), through the outbox."""
from __future__ import annotations

from flask import current_app

from cme.activities.models import Activity
from cme.mail.service import queue_mail
from cme.urls import absolute_url


def _notify(activity: Activity, *, kind: str, subject: str, method: str) -> int:
    from cme.activities.service import active_registrations
    from cme.registration.service import invitation_for

    registrations = active_registrations(activity)
    url = absolute_url("activities.detail", activity_id=activity.id)
    for registration in registrations:
        user = registration.user
        calendar = (invitation_for(registration, method), method) if registration.is_confirmed else None
        queue_mail(user.email, subject, kind, kind=kind, recipient_name=registration.full_name or user.full_name,
                   calendar=calendar, user=user, activity=activity, registration=registration, activity_url=url,
                   provider_name=current_app.config["CME_PROVIDER_NAME"])
    return len(registrations)


def queue_schedule_change_notices(activity: Activity) -> int:
    return _notify(activity, kind="schedule_changed", subject=f"Schedule change: {activity.title}", method="REQUEST")


def queue_cancellation_notices(activity: Activity) -> int:
    return _notify(activity, kind="activity_cancelled", subject=f"Cancelled: {activity.title}", method="CANCEL")
