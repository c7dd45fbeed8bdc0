"""Mail to registrants when an activity changes: schedule changes and cancellations (through the outbox)."""
from __future__ import annotations

from flask import current_app

from cme.activities.models import Activity
from cme.mail.service import queue_mail
from cme.urls import absolute_url


def _registrations(activity: Activity):
    from cme.activities.service import active_registrations

    return active_registrations(activity)


def queue_schedule_change_notices(activity: Activity) -> int:
    registrations = _registrations(activity)
    url = absolute_url("activities.detail", activity_id=activity.id)
    for registration in registrations:
        user = registration.user
        queue_mail(user.email, f"Schedule change: {activity.title}", "schedule_changed", kind="schedule_changed",
                   recipient_name=user.full_name, user=user, activity=activity, registration=registration,
                   activity_url=url, provider_name=current_app.config["CME_PROVIDER_NAME"])
    return len(registrations)


def queue_cancellation_notices(activity: Activity) -> int:
    registrations = _registrations(activity)
    url = absolute_url("activities.detail", activity_id=activity.id)
    for registration in registrations:
        user = registration.user
        queue_mail(user.email, f"Cancelled: {activity.title}", "activity_cancelled", kind="activity_cancelled",
                   recipient_name=user.full_name, user=user, activity=activity, registration=registration,
                   activity_url=url, provider_name=current_app.config["CME_PROVIDER_NAME"])
    return len(registrations)
