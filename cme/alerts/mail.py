"""The weekly digest of new activities (`alert_digest`), composed by the `send-mail` worker from the row
`service.digest_for_user` queued: per alert, the activities as they are now (one cancelled or ended since is left
out, an alert turned off since is left out; nothing left, nothing sent), each alert with its own link to turn it
off, and the RFC 8058 headers (List-Unsubscribe, List-Unsubscribe-Post) whose link turns off every alert the
mail carries with one POST from the mail client.

Registered by the app factory (`cme.register_mail_composers`), like every composer.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select

from cme.accounts.models import User
from cme.activities.catalog import seat_state
from cme.activities.models import Activity
from cme.alerts.models import ActivityAlert
from cme.alerts.service import describe, digest_recipient, filters_of, unsubscribe_token
from cme.extensions import db
from cme.mail.models import OutboxMessage
from cme.mail.service import Composer, NotNeeded, compose_mail, set_unfolded_header
from cme.registration.counts import taken_counts
from cme.timeutil import now_utc
from cme.urls import absolute_url

ONE_CLICK = "List-Unsubscribe=One-Click"


@dataclass
class Section:
    """One alert's part of a digest."""

    alert: ActivityAlert
    watches: str
    activities: list[tuple[Activity, str, str]]  # (activity, its page, its seat state's label)
    more: int
    catalog_url: str
    stop_url: str


def compose_alert_digest(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    user = db.session.get(User, payload["user_id"])
    if user is None:
        raise LookupError(f"user {payload['user_id']} no longer exists")
    if digest_recipient(user.id) is None:
        raise NotNeeded("the account no longer receives digests (closed or deactivated)")
    stamp = datetime.fromisoformat(payload["stamp"])
    now = now_utc()
    signed_at = min(stamp, now)  # never in the future (a run given a later `now`): itsdangerous refuses those
    wanted = [(db.session.get(ActivityAlert, item["alert_id"]), item) for item in payload["sections"]]
    wanted = [(alert, item) for alert, item in wanted if alert is not None and alert.user_id == user.id
              and alert.is_on]
    activities = {a.id: a for a in db.session.scalars(select(Activity).where(
        Activity.id.in_([i for _, item in wanted for i in item["activity_ids"]])))}
    taken = taken_counts(list(activities))
    sections = []
    for alert, item in wanted:
        shown = [activities[i] for i in item["activity_ids"] if i in activities
                 and activities[i].is_published and not activities[i].has_ended(now)]
        if not shown and not item["more"]:
            continue
        sections.append(Section(
            alert=alert, watches=describe(alert), more=item["more"],
            activities=[(a, absolute_url("activities.detail", activity_id=a.id),
                         seat_state(a, taken[a.id], now=now)[1]) for a in shown],
            catalog_url=absolute_url("activities.catalog", **filters_of(alert).args()),
            stop_url=absolute_url("alerts.unsubscribe",
                                  token=unsubscribe_token(user.id, [alert.id], signed_at=signed_at))))
    if not sections:
        raise NotNeeded("nothing in the digest still holds (cancelled, ended, or its alerts turned off)")
    stop_all_url = absolute_url("alerts.unsubscribe", token=unsubscribe_token(
        user.id, [s.alert.id for s in sections], signed_at=signed_at))
    msg = compose_mail(message.recipient, message.subject, "alert_digest", recipient_name=user.full_name,
                       date=stamp, user=user, sections=sections, stop_all_url=stop_all_url,
                       alerts_url=absolute_url("alerts.index"))
    set_unfolded_header(msg, "List-Unsubscribe", f"<{stop_all_url}>")  # a folded URL is no link to a client
    msg["List-Unsubscribe-Post"] = ONE_CLICK
    return msg


COMPOSERS: dict[str, Composer] = {"alert_digest": compose_alert_digest}
