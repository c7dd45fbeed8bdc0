"""Credit queries and rules."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from cme.accounts.models import User
from cme.credit.models import CreditRecord
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


def totals_by_type(records: list[CreditRecord]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for record in records:
        totals[record.credit_type_label] += record.amount
    return dict(totals)
