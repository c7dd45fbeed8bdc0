"""Certificates: issue a snapshot of a learner's claimed credit, supersede it when credit changes, verify.

A certificate never changes after issue. Issuing again with different credit supersedes the previous one
(both stay verifiable, with their status); issuing with the same content returns the existing one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from urllib.parse import unquote

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cme.accounts.models import User
from cme.activities.models import Activity, CreditType
from cme.activities.statements import (
    activity_statements, ama_participation_statement, designation_statement, format_amount,
)
from cme.certificates.models import Certificate, CertificateKind, new_verification_code
from cme.credit.eligibility import eligibility
from cme.credit.models import CreditRecord
from cme.credit.service import claim_credit, claimed
from cme.errors import DomainError
from cme.extensions import db
from cme.mail.service import queue_deferred
from cme.registration.service import lock_activity
from cme.timeutil import format_span, now_utc, zone


class CertificateError(DomainError):
    """A refused certificate operation."""


# A learner or an organizer may have a certificate mailed again, but not more often than this.
RESEND_INTERVAL = timedelta(minutes=1)


def _credit_lines(user: User, activity: Activity, records: list[CreditRecord]) -> tuple[str, list[dict]]:
    """(kind, lines): each claim the learner may hold (credit.eligibility) as a line with its designation
    statement. Hours of participation state the AMA credit the activity was designated for, when it was; an AMA
    claim by a non-physician recorded before the rule is printed as participation; any other claim of a type the
    learner may not claim is left off (it is not credit they can hold)."""
    provider = current_app.config["CME_PROVIDER_NAME"]
    designated = {d.credit_type: d.max_amount for d in activity.credit_designations}
    allowed = eligibility(user, activity)
    order = {c.value: i for i, c in enumerate(CreditType)}
    lines, kinds = [], set()

    def statement(credit_type: str, amount) -> str:
        return designation_statement(credit_type, designated.get(credit_type, amount), provider=provider,
                                     activity_format=activity.format, accreditation=activity.accreditation_kind,
                                     acpe_uan=activity.acpe_uan)

    for record in sorted(records, key=lambda r: order[r.credit_type]):
        amount = format_amount(record.amount)
        participation = record.credit_type == CreditType.PARTICIPATION or (
            record.credit_type == CreditType.AMA_PRA_1 and not allowed.may_claim(CreditType.AMA_PRA_1))
        if participation:
            kinds.add(CertificateKind.PARTICIPATION)
            ama = designated.get(CreditType.AMA_PRA_1)
            text = (ama_participation_statement(ama, activity_format=activity.format)
                    if ama is not None and not allowed.may_claim(CreditType.AMA_PRA_1)
                    else statement(CreditType.PARTICIPATION, record.amount))
            lines.append({"type": CreditType.PARTICIPATION.value, "amount": amount, "statement": text,
                          "line": f"{amount} hour(s) of participation"})
        elif allowed.may_claim(record.credit_type):
            kinds.add(CertificateKind.CREDIT)
            label = "AMA PRA Category 1 Credit(s)™" if record.credit_type == CreditType.AMA_PRA_1 else record.credit_type_label
            lines.append({"type": record.credit_type, "amount": amount, "statement": statement(record.credit_type, record.amount),
                          "line": f"{amount} {label} claimed"})
    kind = CertificateKind.CREDIT if CertificateKind.CREDIT in kinds else CertificateKind.PARTICIPATION
    return kind.value, lines


def snapshot_for(user: User, activity: Activity, records: list[CreditRecord], *, code: str, issued: datetime) -> dict:
    kind, credits = _credit_lines(user, activity, records)
    statements = activity_statements(activity, provider=current_app.config["CME_PROVIDER_NAME"])
    tz = zone(activity.time_zone)
    # The learner's completion date (issue 12 point 3): a live activity's last day; on demand, the learner's own.
    completed = max(r.completed_dt for r in records).astimezone(tz)
    dates = (f"Completed {completed:%b %-d, %Y}" if activity.is_on_demand
             else format_span(activity.start_dt, activity.end_dt, activity.time_zone))
    return {
        "kind": kind,
        "heading": "Certificate of Credit" if kind == CertificateKind.CREDIT else "Certificate of Participation",
        "provider": current_app.config["CME_PROVIDER_NAME"],
        "learner": user.display_name,
        "participation_line": "participated in the educational activity",
        "activity_title": activity.title,
        "format": activity.format_label,
        "dates": dates,
        "location": ", ".join(p for p in (activity.venue_name, activity.city and f"{activity.city}, {activity.state}") if p)
        if activity.is_live_meeting else "Internet",
        "credits": credits,
        "accreditation_statement": statements.accreditation,
        "commercial_support": statements.commercial_support,
        "issued": issued.astimezone(zone(user.time_zone)).strftime("%B %-d, %Y"),
        "code": code,
    }


def current_certificate(user: User, activity: Activity) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.user_id == user.id,
                                                       Certificate.activity_id == activity.id,
                                                       Certificate.superseded_dt.is_(None)))


def current_certificates_for(user: User) -> dict[int, Certificate]:
    """{activity_id: the learner's current certificate}."""
    rows = db.session.scalars(select(Certificate).where(Certificate.user_id == user.id,
                                                        Certificate.superseded_dt.is_(None)))
    return {c.activity_id: c for c in rows}


def issue_problem(activity: Activity) -> str | None:
    """Why no certificate can be issued for this activity, or None: never for a cancelled one."""
    if activity.is_cancelled:
        return "This activity has been cancelled: it has no certificates."
    return None


def issue_certificate(user: User, activity: Activity, *, now: datetime | None = None) -> tuple[Certificate, bool]:
    """Issue (or reissue) the learner's certificate. Returns (certificate, created). Idempotent under concurrent
    requests: the activity row is locked before looking for a current certificate, and the database's partial
    unique index (one current certificate per learner and activity) turns a race that slipped through into
    "already issued"."""
    activity = lock_activity(activity.id)
    return _issue_locked(user, activity, now=now)


def _issue_locked(user: User, activity: Activity, *, now: datetime | None = None) -> tuple[Certificate, bool]:
    """issue_certificate, for a caller that holds the activity's lock."""
    problem = issue_problem(activity)
    if problem:
        raise CertificateError(problem, code="cancelled")
    records = list(db.session.scalars(select(CreditRecord).where(CreditRecord.user_id == user.id,
                                                                 CreditRecord.activity_id == activity.id)))
    if not records:
        raise CertificateError(f"{user.full_name} has claimed no credit for this activity.", code="no_credit")
    now = now or now_utc()
    existing = current_certificate(user, activity)
    code = new_verification_code()
    snapshot = snapshot_for(user, activity, records, code=code, issued=now)
    if not snapshot["credits"]:
        raise CertificateError(f"{user.full_name} has claimed no credit they may hold for this activity.",
                               code="not_eligible")
    if existing is not None and _same_content(existing.snapshot, snapshot):
        return existing, False
    certificate = Certificate(user=user, activity=activity, issued_dt=now, verification_code=code,
                              kind=snapshot["kind"], snapshot=snapshot)
    try:
        with db.session.begin_nested():
            if existing is not None:
                existing.superseded_dt = now
                db.session.flush()
            db.session.add(certificate)
            db.session.flush()
    except IntegrityError:
        # Another transaction issued the current certificate first: it stands, as "already issued".
        db.session.expire_all()
        current = current_certificate(user, activity)
        if current is None:
            raise
        return current, False
    if existing is not None:
        existing.superseded_by_id = certificate.id
        db.session.flush()
    return certificate, True


def reissue_if_certified(user: User, activity: Activity, *, now: datetime | None = None) -> Certificate | None:
    """After the learner's credit changed (a corrected claim, an organizer's adjustment): a certificate already
    issued is a snapshot that must match the credit, so it is superseded by a new one, which is mailed to the
    learner (a mail of the old one still waiting is dropped). A learner who withdrew all their credit keeps no
    current certificate (verification then says it was superseded). Nothing happens for a learner without a
    current certificate, nor for a cancelled activity. Returns the new certificate, if any."""
    current = current_certificate(user, activity)
    if issue_problem(activity) or current is None:
        return None
    has_records = db.session.scalar(select(CreditRecord.id).where(
        CreditRecord.user_id == user.id, CreditRecord.activity_id == activity.id).limit(1)) is not None
    if not has_records:
        current.superseded_dt = now or now_utc()
        db.session.flush()
        return None
    certificate, created = issue_certificate(user, activity, now=now)
    if not created:
        return None
    mail_certificate(certificate, now=now)
    return certificate


def _same_content(old: dict, new: dict) -> bool:
    ignore = {"code", "issued"}
    return {k: v for k, v in old.items() if k not in ignore} == {k: v for k, v in new.items() if k not in ignore}


def claimants(activity: Activity) -> list[int]:
    return list(db.session.scalars(select(CreditRecord.user_id).where(CreditRecord.activity_id == activity.id)
                                   .distinct().order_by(CreditRecord.user_id)))


def issue_for_activity(activity: Activity, *, now: datetime | None = None) -> list[Certificate]:
    """Certificates for every learner with claimed credit; each new one is mailed with its link (a deferred row
    here, composed by the `send-mail` worker: cme.certificates.mail). Nothing for a cancelled activity (refused).
    The activity stays locked to the end of the transaction, so concurrent requests issue (and mail) once."""
    activity = lock_activity(activity.id)
    problem = issue_problem(activity)
    if problem:
        raise CertificateError(problem, code="cancelled")
    user_ids = claimants(activity)
    issued = []
    for user_id in user_ids:
        user = db.session.get(User, user_id)
        try:
            certificate, created = _issue_locked(user, activity, now=now)
        except CertificateError as error:
            if error.code != "not_eligible":
                raise
            continue  # only claims recorded before the rule, of credit this learner may not hold
        if created:
            issued.append(certificate)
            mail_certificate(certificate, now=now)
    return issued


def mail_certificate(certificate: Certificate, *, now: datetime | None = None) -> None:
    """Queue the certificate's mail (a deferred row; the worker composes it with the PDF attached)."""
    queue_deferred(certificate.user.email, f"Your certificate: {certificate.activity.title}", kind="certificate_issued",
                   composer="certificate_issued", certificate_id=certificate.id)
    certificate.mailed_dt = now or now_utc()


def issue_after_claim(user: User, activity: Activity, *, now: datetime | None = None) -> Certificate | None:
    """After a learner's claim (or corrected claim): where the activity issues certificates automatically, the
    certificate is issued now, in the claim's transaction, and mailed; elsewhere a certificate already issued is
    reissued to match the credit (and the organizer issues the first). Returns the new certificate, if any."""
    if not activity.certificates_automatic:
        return reissue_if_certified(user, activity, now=now)
    certificate, created = issue_certificate(user, activity, now=now)
    if not created:
        return None
    mail_certificate(certificate, now=now)
    return certificate


class AfterClaim(StrEnum):
    """What became of the learner's certificate when they claimed (or corrected) credit."""

    ISSUED = "issued"  # their first certificate of the activity, issued now and mailed
    REISSUED = "reissued"  # the one they had is superseded by one with the new credit, mailed
    UNCHANGED = "unchanged"  # the one they have already states this credit
    PENDING = "pending"  # none yet: the organizers issue this activity's certificates


@dataclass(frozen=True)
class ClaimOutcome:
    corrected: bool  # the learner had claimed before
    certificate: AfterClaim


def claim_and_certify(user: User, activity: Activity, amounts: dict[str, Decimal | None], *, attested: bool,
                      now: datetime | None = None) -> ClaimOutcome:
    """The learner claims (credit.service.claim_credit), then their certificate follows (issue_after_claim); the
    outcome says which of these happened, so the learner is told what really did."""
    corrected = claimed([(user.id, activity.id)]) != set()
    had = current_certificate(user, activity) is not None
    claim_credit(user, activity, amounts, attested=attested, now=now)
    new = issue_after_claim(user, activity, now=now)
    if new is not None:
        return ClaimOutcome(corrected, AfterClaim.REISSUED if had else AfterClaim.ISSUED)
    return ClaimOutcome(corrected, AfterClaim.UNCHANGED if had else AfterClaim.PENDING)


def resend(certificate: Certificate, *, now: datetime | None = None) -> None:
    """Mail a current certificate again, at most once a minute (the row is locked, so two requests at once
    queue one mail)."""
    now = now or now_utc()
    db.session.refresh(certificate, with_for_update=True)
    if not certificate.is_valid:
        raise CertificateError("This certificate was superseded: the current one can be mailed instead.",
                               code="superseded")
    if certificate.mailed_dt is not None and now - certificate.mailed_dt < RESEND_INTERVAL:
        raise CertificateError("This certificate was mailed less than a minute ago. Please check your inbox "
                               "(and spam folder) before asking again.", code="too_soon")
    mail_certificate(certificate, now=now)


def current_certificates_for_activity(activity: Activity) -> dict[int, Certificate]:
    """{user_id: the learner's current certificate} for an activity."""
    rows = db.session.scalars(select(Certificate).where(Certificate.activity_id == activity.id,
                                                        Certificate.superseded_dt.is_(None)))
    return {c.user_id: c for c in rows}


# What people type between the groups of a code, and the dashes a word processor makes of a hyphen.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_VERIFY_PATH = re.compile(r"/verify/([^/?#\s]*)")


def verification_code_from(typed: str) -> str:
    """The verification code in what someone typed or pasted (issue 14, point 14): the code itself in any case,
    with or without spaces and dashes, or a whole verification address (the part after /verify/, as the QR code
    and the mails give it)."""
    text = typed or ""
    if found := _VERIFY_PATH.findall(text):
        text = unquote(found[-1])
    return _SEPARATORS.sub("", text).upper()


def find_by_code(code: str) -> Certificate | None:
    """The certificate with this verification code (as `verification_code_from` reads it), or None."""
    code = verification_code_from(code)
    if not code or len(code) > 32 or not (code.isascii() and code.isalnum()):
        return None
    return db.session.scalar(select(Certificate).where(Certificate.verification_code == code))

