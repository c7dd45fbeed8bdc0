"""Credit queries and rules."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from cme.accounts.models import User
from cme.credit.models import CreditRecord
from cme.credit.transcript import Transcript, TranscriptLine, TranscriptYear
from cme.extensions import db


def credit_records_for(user: User) -> list[CreditRecord]:
    return list(db.session.scalars(
        select(CreditRecord).options(joinedload(CreditRecord.activity))
        .where(CreditRecord.user_id == user.id).order_by(CreditRecord.claimed_dt.desc())
    ))


def current_certificates_for(user: User) -> dict[int, "Certificate"]:
    """{activity_id: the learner's current certificate}."""
    from cme.certificates.models import Certificate

    rows = db.session.scalars(select(Certificate).where(Certificate.user_id == user.id,
                                                        Certificate.superseded_dt.is_(None)))
    return {c.activity_id: c for c in rows}


def transcript_for(user: User, *, now=None) -> Transcript:
    """Every credit record by the year of its activity, with its current certificate's code."""
    from flask import current_app

    from cme.timeutil import now_utc, zone

    records = credit_records_for(user)
    certificates = current_certificates_for(user)
    years: dict[int, TranscriptYear] = {}
    for record in sorted(records, key=lambda r: (r.activity.start_dt, r.id)):
        local = record.activity.start_dt.astimezone(zone(record.activity.time_zone))
        year = years.setdefault(local.year, TranscriptYear(local.year))
        certificate = certificates.get(record.activity_id)
        year.lines.append(TranscriptLine(
            date=f"{local:%Y-%m-%d}", activity=record.activity.title, format=record.activity.format_label,
            credit_type=record.credit_type_label, amount=record.amount,
            certificate_code=certificate.verification_code if certificate else "",
            certificate_id=certificate.id if certificate else None))
    return Transcript(learner=user.display_name, npi=user.npi or "", provider=current_app.config["CME_PROVIDER_NAME"],
                      generated=now or now_utc(), years=[years[y] for y in sorted(years, reverse=True)])


def totals_by_type(records: list[CreditRecord]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for record in records:
        totals[record.credit_type_label] += record.amount
    return dict(totals)
