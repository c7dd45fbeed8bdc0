"""A learner's data rights (issue 13, point 8): everything held about them, as JSON; closing their account; and
erasing closed accounts once the accreditation retention period is over.

What closing keeps, and why (ACCME: records of learner participation are kept for six years, and a certificate
stays verifiable that long): the credit records and their adjustments, the certificates (their snapshot carries
the name and degree printed on them; /verify/<code> keeps answering), attendance (check-ins, viewing time),
evaluations and post-test results that the credit rests on, the registrations of activities the learner took
part in, and on the account only what reporting that credit needs: name, degree, profession, NPI, state licences,
board IDs, NABP e-Profile ID, birth month and day, and the permissions to report. Everything else is erased or replaced with a pseudonym (`KEPT`, `ERASED`): the email becomes
closed-<id>@invalid.example (so the address may sign up again, as a new account), the password can no longer
match, sessions end, the calendar feed token and the new-activity alerts go, specialty and time zone are reset,
dietary and accessibility
needs are erased from every registration, registrations of activities the learner did not take part in lose the
identity they held, upcoming registrations are cancelled (the seat goes to the waitlist as for any
cancellation), and every mail to the address, sent or waiting, is deleted. Once six years have passed since the
last of those records (`RETENTION`), `purge_closed_accounts` deletes the account and everything it kept.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from flask import current_app
from sqlalchemy import delete, func, select, update

from cme.accounts.identity import BoardIdentifier, StateLicence
from cme.accounts.models import User
from cme.activities.models import Activity
from cme.alerts.models import ActivityAlert
from cme.alerts.service import describe as describe_alert
from cme.attendance.models import Attendance
from cme.audit import service as audit
from cme.audit.models import AuditEntry
from cme.certificates.models import Certificate
from cme.credit import participation
from cme.credit.evaluation_models import CreditAdjustment, EvaluationResponse, PostTestAttempt
from cme.credit.models import CreditRecord, ReportingConsent
from cme.credit.service import took_part
from cme.errors import DomainError
from cme.extensions import db
from cme.mail.models import OutboxMessage
from cme.mail.service import UNDELIVERABLE_DOMAIN
from cme.registration.models import Registration
from cme.timeutil import now_utc
from cme.urls import absolute_url

# ACCME: records of learner participation are kept, and certificates verifiable, for six years.
RETENTION = relativedelta(years=6)
RETENTION_YEARS = 6

# On a closed account: what reporting the credit needs stays; the rest is reset or replaced.
KEPT = ("full_name", "degree", "profession", "npi", "state licenses", "abim_id", "other board IDs",
        "NABP e-Profile ID", "birth month and day", "reporting permissions")
ERASED = ("email", "password", "specialty", "time_zone", "calendar feed token", "alerts")
CLOSED_EMAIL_DOMAIN = UNDELIVERABLE_DOMAIN
UNUSABLE_PASSWORD = "!closed"  # no hash method: werkzeug's check_password_hash never matches it
# A registration of an activity the learner did not take part in keeps no identity.
CLOSED_NAME = "Closed account"


class PrivacyError(DomainError):
    """A refused data-rights operation."""


def check_password(user: User, password: str) -> None:
    """Downloading everything or closing the account asks for the password again (a session left open on a
    shared computer is not enough)."""
    if not password or not user.check_password(password):
        raise PrivacyError("Your password is not correct.", code="wrong_password", field="current_password")


def closed_email(user_id: int) -> str:
    return f"closed-{user_id}@{CLOSED_EMAIL_DOMAIN}"


def is_closed(user: User) -> bool:
    return user.closed_dt is not None


# ---------------------------------------------------------------- everything held about a learner

EXPORT_FORMAT = "cme-personal-data/1"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _activity(activity: Activity) -> dict[str, Any]:
    return {"id": activity.id, "title": activity.title, "format": activity.format, "time_zone": activity.time_zone,
            "start": _iso(activity.start_dt), "end": _iso(activity.end_dt)}


def personal_data(user: User, password: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything held about `user`, as plain JSON data (cme/privacy/export.schema.json describes it). Reads
    only."""
    check_password(user, password)
    activities: dict[int, Activity] = {}

    def activity(activity_id: int) -> dict[str, Any]:
        if activity_id not in activities:
            activities[activity_id] = db.session.get(Activity, activity_id)
        return _activity(activities[activity_id])

    def rows(model, *order):
        return list(db.session.scalars(select(model).where(model.user_id == user.id).order_by(*order, model.id)))

    return {
        "format": EXPORT_FORMAT,
        "generated": (now or now_utc()).isoformat(),
        "provider": current_app.config["CME_PROVIDER_NAME"],
        "profile": {
            "id": user.id, "email": user.email, "full_name": user.full_name, "degree": user.degree,
            "profession": user.profession, "specialty": user.specialty, "npi": user.npi,
            "abim_id": user.abim_id, "nabp_eprofile_id": user.nabp_eprofile_id,
            "birth_month": user.birth_month, "birth_day": user.birth_day,
            "time_zone": user.time_zone, "role": user.role, "created": _iso(user.created_dt),
            "password_changed": _iso(user.password_changed_dt),
            "calendar_feed": user.feed_token_hash is not None,
        },
        # Issue 16, point 1: the identity reporting uses, and the permissions given at each claim.
        "licences": [{
            "state": lic.state, "number": lic.number, "profession": lic.profession,
            "renewal": lic.expires_on.isoformat() if lic.expires_on else None,
            "required_hours": str(lic.required_hours) if lic.required_hours is not None else None,
            "cycle_months": lic.cycle_months,
            "topics": {r.topic: str(r.hours) for r in lic.requirements},
        } for lic in rows(StateLicence)],
        "board_ids": {b.board: b.value for b in rows(BoardIdentifier)},
        "reporting_permissions": [{
            "activity": activity(c.activity_id), "body": c.body, "body_label": c.body_label, "granted": c.granted,
            "decided": _iso(c.decided_dt),
        } for c in rows(ReportingConsent, ReportingConsent.decided_dt)],
        "registrations": [{
            "id": r.id, "activity": activity(r.activity_id), "status": r.status,
            "waitlist_position": r.waitlist_position, "registered": _iso(r.registered_dt),
            "confirmed": _iso(r.confirmed_dt), "cancelled": _iso(r.cancelled_dt), "offered": _iso(r.offered_dt),
            "offer_expires": _iso(r.offer_expires_dt), "offer_outcome": r.offer_outcome, "full_name": r.full_name,
            "degree": r.degree, "profession": r.profession, "npi": r.npi, "licence_state": r.licence_state,
            "licence_number": r.licence_number, "dietary_needs": r.dietary_needs,
            "accessibility_needs": r.accessibility_needs, "attested_professional": r.attested_professional,
            "sessions": [s.title for s in r.sessions], "checkin_code": r.checkin_code,
        } for r in rows(Registration, Registration.registered_dt)],
        "attendance": [{
            "activity": activity(a.activity_id), "session": a.session.title if a.session else None,
            "checked_in": _iso(a.checked_in_dt), "minutes_watched": a.minutes_watched,
            "seconds_watched": a.watched_seconds, "last_viewed": _iso(a.last_heartbeat_dt),
        } for a in rows(Attendance, Attendance.created_dt)],
        "evaluations": [{
            "activity": activity(e.activity_id), "submitted": _iso(e.submitted_dt),
            "answers": [{"question": str((answer or {}).get("prompt", "")), "answer": str((answer or {}).get("answer", ""))}
                        for answer in (e.answers or {}).values()],
        } for e in rows(EvaluationResponse, EvaluationResponse.submitted_dt)],
        "post_tests": [{
            "activity": activity(p.activity_id), "score": p.score, "passed": p.passed, "submitted": _iso(p.submitted_dt),
        } for p in rows(PostTestAttempt, PostTestAttempt.submitted_dt)],
        "credit_claims": [{
            "activity": activity(c.activity_id), "credit_type": c.credit_type, "credit_type_label": c.credit_type_label,
            "amount": str(c.amount), "claimed": _iso(c.claimed_dt), "updated": _iso(c.updated_dt),
            "completed": _iso(c.completed_dt),
        } for c in rows(CreditRecord, CreditRecord.claimed_dt)],
        "credit_adjustments": [{
            "activity": activity(a.activity_id), "credit_type": a.credit_type, "old_amount": str(a.old_amount),
            "new_amount": str(a.new_amount), "reason": a.reason, "adjusted": _iso(a.adjusted_dt),
            "adjusted_by": a.adjusted_by.full_name if a.adjusted_by else None,
        } for a in rows(CreditAdjustment, CreditAdjustment.adjusted_dt)],
        "certificates": [{
            "verification_code": c.verification_code,
            "verification_url": absolute_url("certificates.verify", code=c.verification_code),
            "activity": activity(c.activity_id), "kind": c.kind, "issued": _iso(c.issued_dt),
            "superseded": _iso(c.superseded_dt), "learner": str(c.snapshot.get("learner", "")),
            "credits": [str(line.get("line", "")) for line in c.snapshot.get("credits", [])],
        } for c in rows(Certificate, Certificate.issued_dt)],
        "alerts": [{
            "name": a.name, "watches": describe_alert(a), "q": a.q, "format": a.format, "specialty": a.specialty,
            "credit_type": a.credit_type, "on": a.is_on, "created": _iso(a.created_dt),
            "last_mailed": _iso(a.last_sent_dt), "stopped": _iso(a.stopped_dt),
        } for a in rows(ActivityAlert, ActivityAlert.created_dt)],
        "mail": [{
            "subject": m.subject, "kind": m.kind, "status": m.status, "queued": _iso(m.created_dt),
            "sent": _iso(m.sent_dt),
        } for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == user.email)
                                      .order_by(OutboxMessage.created_dt, OutboxMessage.id))],
        "audit": [{
            "when": _iso(e.created_dt), "who": e.actor_label, "action": e.action, "what": e.summary,
            "before": e.before, "after": e.after,
        } for e in audit.entries_about(user.id)],
    }


# ---------------------------------------------------------------- closing an account

@dataclass
class Closed:
    """What closing did: registrations cancelled (and the waitlisted people promoted into their seats)."""

    cancelled: list[Registration]
    promoted: list[Registration]


def close_account(user: User, password: str, *, now: datetime | None = None) -> Closed:
    """Close `user`'s account: keep what accreditation requires, erase or pseudonymise the rest (module
    docstring). The account can no longer log in; its sessions end at once."""
    check_password(user, password)
    if is_closed(user):
        raise PrivacyError("This account is already closed.", code="closed")
    if user.is_admin:
        raise PrivacyError("An administrator's account cannot be closed: ask another administrator to change your "
                           "role first.", code="admin")
    now = now or now_utc()
    registrations = list(db.session.scalars(select(Registration).where(Registration.user_id == user.id)
                                            .order_by(Registration.id)))
    active = [r for r in registrations if not r.is_cancelled]
    cancelled, promoted = [], []
    for registration in [r for r in active if r.id in participation.cancellable(active, now=now)]:
        promoted += participation.cancel_registration(registration, now=now)
        cancelled.append(registration)
    participated = took_part(registrations)
    for registration in registrations:
        registration.dietary_needs = registration.accessibility_needs = ""
        if registration.id not in participated:
            registration.full_name, registration.degree = CLOSED_NAME, ""
            registration.npi = registration.licence_state = registration.licence_number = None
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.recipient == user.email))
    db.session.execute(delete(ActivityAlert).where(ActivityAlert.user_id == user.id))  # no digest, ever
    user.email = closed_email(user.id)
    user.password_hash = UNUSABLE_PASSWORD
    user.feed_token_nonce = user.feed_token_hash = None
    user.drop_pending_email()
    user.specialty = ""
    user.time_zone = User.__table__.c.time_zone.default.arg
    user.is_active_account = False
    user.closed_dt = now
    user.end_sessions()
    db.session.flush()
    return Closed(cancelled=cancelled, promoted=promoted)


# ---------------------------------------------------------------- the end of the retention period

def retained_until(user: User) -> datetime | None:
    """When the records a closed account keeps may go: six years after the last participation they record (its
    last credit completion, certificate or attendance), None when it keeps none."""
    latest = [db.session.scalar(select(func.max(column)).where(model.user_id == user.id)) for model, column in (
        (CreditRecord, CreditRecord.completed_dt), (Certificate, Certificate.issued_dt),
        (Attendance, Attendance.created_dt))]
    latest = [moment for moment in latest if moment is not None]
    return max(latest) + RETENTION if latest else None


def purge_closed_accounts(*, now: datetime | None = None) -> list[int]:
    """Delete every closed account whose retention period is over (or that keeps nothing), with all it kept. The
    audit log keeps that it happened (by the account's number); its entries about the learner go, and the
    actions they took as an organizer stay, without their name. Returns the ids deleted."""
    now = now or now_utc()
    purged = []
    for user in db.session.scalars(select(User).where(User.closed_dt.is_not(None)).order_by(User.id)).all():
        until = retained_until(user)
        if until is not None and until > now:
            continue
        user_id = user.id
        purged.append(user_id)
        db.session.execute(update(Certificate).where(Certificate.user_id == user_id).values(superseded_by_id=None))
        db.session.execute(delete(Certificate).where(Certificate.user_id == user_id))
        db.session.execute(delete(AuditEntry).where(AuditEntry.user_id == user_id))
        db.session.execute(update(AuditEntry).where(AuditEntry.actor_id == user_id)
                           .values(actor_id=None, actor_label=f"Erased account {user_id}"))
        db.session.execute(update(Attendance).where(Attendance.checked_in_by_id == user_id).values(checked_in_by_id=None))
        db.session.execute(update(CreditAdjustment).where(CreditAdjustment.adjusted_by_id == user_id)
                           .values(adjusted_by_id=None))
        for model in (CreditAdjustment, CreditRecord, EvaluationResponse, PostTestAttempt, Attendance, Registration,
                      ActivityAlert):
            db.session.execute(delete(model).where(model.user_id == user_id))
        db.session.execute(delete(User).where(User.id == user_id))
        audit.record("account.purged", summary=f"Closed account {user_id}: its records' retention period ended",
                     subject_table="users", subject_id=user_id, now=now)
    db.session.expire_all()
    return purged


def closed_accounts_kept() -> int:
    """How many closed accounts are still kept (for the command's report)."""
    return db.session.scalar(select(func.count()).select_from(User).where(User.closed_dt.is_not(None))) or 0
