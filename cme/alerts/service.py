"""Alerts: saving the catalog's filters, the weekly digest of what is new, and the one-click way out.

An alert is the catalog's own filters (`cme.activities.catalog.CatalogFilters`: free text, format, specialty or
topic, credit type) and matches through the catalog's own query (`filtered_activities`), so an alert finds what
the catalog shows for the same filters. What a digest lists for an alert: activities published since its
watermark (its creation, its last digest, or when it was turned back on) that match it, are still published,
have not ended and still take registrations (a full one still takes the waitlist), and that this alert never
mailed before (`AlertMailing`: an activity unpublished and published again is not news twice).

The cadence is per learner: every active alert of a learner shares `next_digest_dt`, so one mail a week gathers
them all; a digest with nothing new sends nothing and still counts as the week's. `digest_for_user` re-reads the
learner's alerts locked (PostgreSQL: `FOR UPDATE`; SQLite: its one writer), so two runs at once, or one run
twice, send nothing twice. Digests go only to accounts that are open, active and have confirmed their address.

The unsubscribe link is signed (itsdangerous, SECRET_KEY, its own salt) and names the learner and the alerts a
mail carried: it is the authority, no log-in is needed, and it expires after ALERT_UNSUBSCRIBE_MAX_AGE seconds.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import and_, exists, or_, select

from cme.accounts.models import User
from cme.activities.catalog import CatalogFilters, describe_filters, filtered_activities
from cme.activities.models import SPECIALTIES, Activity, ActivityStatus
from cme.alerts.models import ALERT_CREDIT_TYPES, ALERT_FORMATS, ActivityAlert, AlertMailing, filter_key
from cme.errors import DomainError
from cme.extensions import db
from cme.mail.models import OutboxMessage
from cme.mail.service import queue_deferred
from cme.text import single_line
from cme.timeutil import now_utc

WEEK = timedelta(days=7)
# An account keeps at most this many alerts (each is a query every week).
MAX_ALERTS = 20
# A digest lists at most this many activities per alert; a link to the catalog shows the rest.
MAX_LISTED = 10
NAME_LENGTH = 120
Q_LENGTH = 200
EVERYTHING = "All activities"
UNSUBSCRIBE_SALT = "cme.alert-unsubscribe"


class AlertError(DomainError):
    """A refused alert operation."""


# ---------------------------------------------------------------- reading

def alerts_of(user: User) -> list[ActivityAlert]:
    """The learner's alerts, those on first, then in the order they were made."""
    return list(db.session.scalars(select(ActivityAlert).where(ActivityAlert.user_id == user.id)
                                   .order_by(ActivityAlert.stopped_dt.is_not(None), ActivityAlert.id)))


def alert_of(user: User, alert_id: int) -> ActivityAlert | None:
    """One of the learner's own alerts; None for another's (the page answers 404 alike)."""
    return db.session.scalar(select(ActivityAlert).where(ActivityAlert.id == alert_id,
                                                         ActivityAlert.user_id == user.id))


def filters_of(alert: ActivityAlert) -> CatalogFilters:
    return CatalogFilters(q=alert.q, format=alert.format, specialty=alert.specialty, credit_type=alert.credit_type)


def describe(alert_or_filters: ActivityAlert | CatalogFilters) -> str:
    """What an alert watches, in words: "Hepatology · Live meetings · “liver”", or "All activities"."""
    filters = filters_of(alert_or_filters) if isinstance(alert_or_filters, ActivityAlert) else alert_or_filters
    return " · ".join(describe_filters(filters)) or EVERYTHING


def suggested_filters(user: User, filters: CatalogFilters) -> CatalogFilters:
    """What a new alert starts from: the catalog's filters as they were; with none, the learner's specialty from
    the profile (as the catalog's specialty when it is one of the catalog's, else as words to look for)."""
    if filters.q or filters.format or filters.specialty or filters.credit_type or not user.specialty.strip():
        return CatalogFilters(q=filters.q, format=filters.format, specialty=filters.specialty,
                              credit_type=filters.credit_type)
    own = single_line(user.specialty).strip()
    known = {s.lower(): s for s in SPECIALTIES}
    if own.lower() in known:
        return CatalogFilters(specialty=known[own.lower()])
    return CatalogFilters(q=own[:Q_LENGTH])


def default_name(filters: CatalogFilters) -> str:
    return describe(filters)[:NAME_LENGTH]


# ---------------------------------------------------------------- saving

@dataclass(frozen=True)
class AlertFilters:
    """An alert's name and filters as a learner gives them (a blank name: the filters in words)."""

    name: str = ""
    q: str = ""
    format: str = ""
    specialty: str = ""
    credit_type: str = ""


def _clean(fields: AlertFilters) -> AlertFilters:
    """The values as stored, or AlertError naming the field: text on one line with single spaces, within its
    column; format, specialty and credit type among the catalog's."""
    q = " ".join(single_line(fields.q or "").split())
    name = " ".join(single_line(fields.name or "").split())
    if len(q) > Q_LENGTH:
        raise AlertError(f"Use at most {Q_LENGTH} characters.", code="too_long", field="q")
    if len(name) > NAME_LENGTH:
        raise AlertError(f"Use at most {NAME_LENGTH} characters.", code="too_long", field="name")
    if (fields.format or "") not in ALERT_FORMATS:
        raise AlertError("Choose a format from the list.", code="unknown_format", field="format")
    if (fields.credit_type or "") not in ALERT_CREDIT_TYPES:
        raise AlertError("Choose a credit type from the list.", code="unknown_credit_type", field="credit_type")
    if fields.specialty and fields.specialty not in SPECIALTIES:
        raise AlertError("Choose a specialty or topic from the list.", code="unknown_specialty", field="specialty")
    cleaned = AlertFilters(name=name, q=q, format=fields.format or "", specialty=fields.specialty or "",
                           credit_type=fields.credit_type or "")
    if not cleaned.name:
        cleaned = replace(cleaned, name=default_name(CatalogFilters(
            q=q, format=cleaned.format, specialty=cleaned.specialty, credit_type=cleaned.credit_type)))
    return cleaned


def _key(fields: AlertFilters) -> str:
    return filter_key(fields.q, fields.format, fields.specialty, fields.credit_type)


def _refuse_a_twin(user_id: int, fields: AlertFilters, *, besides: int | None = None) -> None:
    """The same filters twice would mail the same activities twice. (A unique constraint backs this up: of two
    submits at once, the second is run again by `unit_of_work` and refused here.)"""
    for other in db.session.scalars(select(ActivityAlert).where(ActivityAlert.user_id == user_id,
                                                                ActivityAlert.filter_key == _key(fields))):
        if other.id != besides:
            # Beside the first filter on the form: change any of them, or the other alert.
            raise AlertError(f"You already have an alert for these filters: “{other.name}”.", code="duplicate",
                             field="specialty")


def _shared_next_digest(user_id: int, now: datetime, *, besides: int | None = None) -> datetime:
    """When a learner's next digest is due: as their other active alerts' (one mail a week gathers them all), or a
    week from now when they have none."""
    dates = [dt for alert_id, dt in db.session.execute(
        select(ActivityAlert.id, ActivityAlert.next_digest_dt).where(
            ActivityAlert.user_id == user_id, ActivityAlert.stopped_dt.is_(None))) if alert_id != besides]
    return min(dates) if dates else now + WEEK


def create_alert(user: User, fields: AlertFilters, *, now: datetime | None = None) -> ActivityAlert:
    """A new alert, on: it tells of activities published from now on, in the learner's next weekly digest."""
    now = now or now_utc()
    fields = _clean(fields)
    count = len(db.session.scalars(select(ActivityAlert.id).where(ActivityAlert.user_id == user.id)).all())
    if count >= MAX_ALERTS:
        raise AlertError(f"You have {count} alerts, the most one account may keep. Delete one you no longer need "
                         "first.", code="too_many")
    _refuse_a_twin(user.id, fields)
    alert = ActivityAlert(user_id=user.id, name=fields.name, q=fields.q, format=fields.format,
                          specialty=fields.specialty, credit_type=fields.credit_type, filter_key=_key(fields),
                          created_dt=now,
                          watermark_dt=now, next_digest_dt=_shared_next_digest(user.id, now))
    db.session.add(alert)
    db.session.flush()
    return alert


def update_alert(alert: ActivityAlert, fields: AlertFilters) -> None:
    """A new name or new filters; what was already mailed stays mailed, the cadence stays."""
    fields = _clean(fields)
    _refuse_a_twin(alert.user_id, fields, besides=alert.id)
    alert.name, alert.q, alert.format = fields.name, fields.q, fields.format
    alert.specialty, alert.credit_type = fields.specialty, fields.credit_type
    alert.filter_key = _key(fields)
    db.session.flush()


def delete_alert(alert: ActivityAlert) -> None:
    db.session.delete(alert)
    db.session.flush()


def stop_alert(alert: ActivityAlert, *, now: datetime | None = None) -> bool:
    """Turn it off (no more digests for it); False when it already was."""
    if alert.stopped_dt is not None:
        return False
    alert.stopped_dt = now or now_utc()
    db.session.flush()
    return True


def resume_alert(alert: ActivityAlert, *, now: datetime | None = None) -> None:
    """Turn it back on: it tells of what is published from now on (not of what came out while it was off), in
    the learner's next digest."""
    if alert.stopped_dt is None:
        return
    now = now or now_utc()
    alert.stopped_dt = None
    alert.watermark_dt = now
    alert.next_digest_dt = _shared_next_digest(alert.user_id, now, besides=alert.id)
    db.session.flush()


# ---------------------------------------------------------------- the weekly digest

def _receives_digests():
    """The accounts digests go to: open, active, their address confirmed (the one home of that rule)."""
    return and_(User.closed_dt.is_(None), User.is_active_account.is_(True), User.email_verified_dt.is_not(None))


def digest_recipient(user_id: int) -> User | None:
    return db.session.scalar(select(User).where(User.id == user_id, _receives_digests()))


def new_activities(alert: ActivityAlert, *, now: datetime | None = None) -> list[Activity]:
    """What a digest tells of for this alert (module docstring), soonest first."""
    now = now or now_utc()
    stmt = filtered_activities(filters_of(alert), now=now).where(
        Activity.status == ActivityStatus.PUBLISHED,
        Activity.published_dt > alert.watermark_dt, Activity.published_dt <= now,
        Activity.end_dt > now,
        or_(Activity.registration_closes_dt.is_(None), Activity.registration_closes_dt > now),
        ~exists().where(AlertMailing.alert_id == alert.id, AlertMailing.activity_id == Activity.id))
    return list(db.session.scalars(stmt))


def users_due(*, now: datetime | None = None) -> list[int]:
    """The learners whose weekly digest is due, by id."""
    now = now or now_utc()
    return list(db.session.scalars(
        select(ActivityAlert.user_id).join(User, User.id == ActivityAlert.user_id)
        .where(ActivityAlert.stopped_dt.is_(None), ActivityAlert.next_digest_dt <= now, _receives_digests())
        .distinct().order_by(ActivityAlert.user_id)))


def digest_subject(names: list[str], count: int) -> str:
    what = f"{count} new activit{'y' if count == 1 else 'ies'}"
    return f"{what} for your alert “{names[0]}”" if len(names) == 1 else f"{what} for your {len(names)} alerts"


def digest_for_user(user_id: int, *, now: datetime | None = None) -> OutboxMessage | None:
    """The learner's weekly digest, when due: every active alert's new activities recorded as mailed, the
    watermarks and the next due date moved on, and one mail queued gathering them (none when nothing is new).
    Returns the mail queued, or None. Flushes; the caller commits (one learner per transaction)."""
    now = now or now_utc()
    alerts = list(db.session.scalars(
        select(ActivityAlert).where(ActivityAlert.user_id == user_id, ActivityAlert.stopped_dt.is_(None))
        .order_by(ActivityAlert.id).with_for_update().execution_options(populate_existing=True)))
    if not alerts or min(a.next_digest_dt for a in alerts) > now:
        return None  # not due (another run did it meanwhile)
    user = digest_recipient(user_id)
    if user is None:
        return None
    next_due = min(a.next_digest_dt for a in alerts) + WEEK
    if next_due <= now:  # no digest ran for over a week (the worker was down): a week from now
        next_due = now + WEEK
    sections: list[dict[str, Any]] = []
    names: list[str] = []
    told: set[int] = set()
    for alert in alerts:
        found = new_activities(alert, now=now)
        db.session.add_all(AlertMailing(alert_id=alert.id, activity_id=a.id, mailed_dt=now) for a in found)
        alert.watermark_dt = now
        alert.next_digest_dt = next_due
        if found:
            alert.last_sent_dt = now
            sections.append({"alert_id": alert.id, "activity_ids": [a.id for a in found[:MAX_LISTED]],
                             "more": max(len(found) - MAX_LISTED, 0)})
            names.append(alert.name)
            told.update(a.id for a in found)
    db.session.flush()
    if not sections:
        return None
    return queue_deferred(user.email, digest_subject(names, len(told)), kind="alert_digest", composer="alert_digest",
                          user_id=user.id, sections=sections, stamp=now.isoformat())


# ---------------------------------------------------------------- unsubscribing without logging in

class _SignedAt(TimestampSigner):
    """Signs as of a given moment (the digest's), so the link expires counted from the mail and a mail composed
    again after a crash carries the same link."""

    def __init__(self, *args: Any, signed_at: int | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.signed_at = signed_at

    def get_timestamp(self) -> int:
        return super().get_timestamp() if self.signed_at is None else self.signed_at


def _serializer(signed_at: datetime | None = None) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT, signer=_SignedAt,
                                  signer_kwargs={"signed_at": None if signed_at is None else int(signed_at.timestamp())})


def unsubscribe_token(user_id: int, alert_ids: list[int], *, signed_at: datetime | None = None) -> str:
    """The token of a link that turns these alerts of this learner off."""
    return _serializer(signed_at).dumps({"u": user_id, "a": sorted(alert_ids)})


INVALID_LINK = ("This link to stop your alerts is not valid. Log in to see and turn off your alerts on the "
                "Alerts page.")
EXPIRED_LINK = ("This link to stop your alerts has expired. Log in to turn them off on the Alerts page; the link in "
                "your latest digest works too.")


def alerts_for_token(token: str) -> list[ActivityAlert]:
    """The alerts a link names that still exist (on or off), or AlertError ("invalid" or "expired"). Reads."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["ALERT_UNSUBSCRIBE_MAX_AGE"])
    except SignatureExpired:
        raise AlertError(EXPIRED_LINK, code="expired") from None
    except BadSignature:
        raise AlertError(INVALID_LINK, code="invalid") from None
    if not (isinstance(data, dict) and isinstance(data.get("u"), int) and isinstance(data.get("a"), list)
            and all(isinstance(i, int) for i in data["a"])):
        raise AlertError(INVALID_LINK, code="invalid")
    ids = data["a"]
    return list(db.session.scalars(select(ActivityAlert).where(
        ActivityAlert.user_id == data["u"], ActivityAlert.id.in_(ids)).order_by(ActivityAlert.id)))


def unsubscribe(token: str, *, now: datetime | None = None) -> list[ActivityAlert]:
    """Turn off the alerts a link names (those still on); returns them all. Safe to repeat."""
    alerts = alerts_for_token(token)
    for alert in alerts:
        stop_alert(alert, now=now)
    return alerts
