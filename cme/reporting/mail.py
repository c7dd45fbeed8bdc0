"""The mail that asks a learner for what a report needs (`reporting_missing_fields`, issue 16 point 4), and the
weekly mail of reporting deadlines to organizers (`reporting_deadlines`, point 5). Composed by the `send-mail`
worker; registered by the app factory (`cme.register_mail_composers`)."""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Any

from cme.accounts.models import User
from cme.activities.models import Activity
from cme.extensions import db
from cme.mail.models import OutboxMessage
from cme.mail.service import Composer, compose_mail
from cme.reporting.deadlines import due_for_organizer
from cme.reporting.service import account_reporting_url
from cme.urls import absolute_url


def compose_missing_fields(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    user = db.session.get(User, payload["user_id"])
    activity = db.session.get(Activity, payload["activity_id"])
    if user is None or activity is None:
        raise LookupError("the learner or the activity no longer exists")
    link = account_reporting_url(activity.id)
    items = [(field, text, f"{link}#{field}") for field, text in payload["fields"]]
    return compose_mail(message.recipient, message.subject, "reporting_missing_fields", recipient_name=user.full_name,
                        user=user, activity=activity, items=items, link=link)


def compose_deadlines(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    user = db.session.get(User, payload["user_id"])
    if user is None:
        raise LookupError(f"user {payload['user_id']} no longer exists")
    now = datetime.fromisoformat(payload["now"])
    rows = due_for_organizer(user, now=now)
    return compose_mail(message.recipient, message.subject, "reporting_deadlines", recipient_name=user.full_name,
                        user=user, rows=rows, dashboard_url=absolute_url("organize.dashboard"))


COMPOSERS: dict[str, Composer] = {"reporting_missing_fields": compose_missing_fields,
                                  "reporting_deadlines": compose_deadlines}
