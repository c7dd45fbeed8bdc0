"""Credit claims: what a learner may claim and the claim itself, organizer adjustments with an audit trail, the
learner's records and transcript, and who took part in an activity (attendance or a claim).

The claim rules (../shared/DESIGN.md): at most the designated amount, in 0.25 steps, only after the activity
ends (live) or after watching (on demand), only after the evaluation (and a passed post-test where one
exists, within the attempts the organizer allows), with the attestation, and at most what attendance supports (one
claimable maximum per type: credit.eligibility.claim_limits); one record per learner, activity and
credit type, which the learner may correct until the claim deadline. A certificate already issued is reissued
by certificates.service.reissue_if_certified, which the caller runs after a claim or an adjustment
(certificates sit above credit; certificates.service.claim_and_certify does both for the claim page).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from cme.accounts.models import User
from cme.activities import service as activities
from cme.activities.models import Activity, CreditDesignation, CreditType
from cme.attendance.service import attended, last_viewed_dt, supported_hours_for
from cme.credit.eligibility import ClaimLimit, claim_limits, eligibility
from cme.credit.errors import CreditError
from cme.credit.evaluation import (
    PostTestState, evaluated, evaluation_of, evaluation_problem, has_post_test, passed_dt, post_test_states,
)
from cme.credit.evaluation_models import CreditAdjustment
from cme.credit.models import CreditRecord
from cme.credit.transcript import Transcript, TranscriptLine, TranscriptYear
from cme.amounts import is_quarter_step
from cme.extensions import db
from cme.pairs import found_pairs
from cme.registration.models import Registration
from cme.registration.service import lock_activity
from cme.timeutil import now_utc, zone

if TYPE_CHECKING:
    from cme.certificates.models import Certificate



# ---------------------------------------------------------------- who took part

def claimed(pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of these (user_id, activity_id) pairs have claimed credit (one query)."""
    return found_pairs(select(CreditRecord.user_id, CreditRecord.activity_id).distinct(), pairs)


def took_part(registrations: Iterable[Registration]) -> set[int]:
    """The ids of the registrations whose registrant took part: attendance (a check-in or viewing time) or
    claimed credit. Those registrations stay, as the record of who took part (two queries)."""
    registrations = list(registrations)
    pairs = {(r.user_id, r.activity_id) for r in registrations}
    found = attended(pairs) | claimed(pairs)
    return {r.id for r in registrations if (r.user_id, r.activity_id) in found}


# ---------------------------------------------------------------- claims

@dataclass
class ClaimStatus:
    """What a learner may claim of an activity now, and what stands in the way (`reasons`: code -> message, in the
    order a learner meets them: the activity, attendance, the evaluation, the post-test, the deadline)."""

    reasons: dict[str, str] = field(default_factory=dict)
    supported: Decimal = Decimal(0)
    claimable: dict[str, ClaimLimit] = field(default_factory=dict)  # credit type -> the most that may be claimed
    records: dict[str, CreditRecord] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # designated type the learner may not claim -> why
    evaluated: bool = False
    post_test: PostTestState | None = None  # None: the activity has no post-test
    deadline_passed: bool = False

    @property
    def problems(self) -> list[str]:
        return list(self.reasons.values())

    @property
    def limits(self) -> dict[str, Decimal]:
        return {credit_type: limit.amount for credit_type, limit in self.claimable.items()}

    @property
    def open(self) -> bool:
        return not self.reasons


def claim_status(user: User, activity: Activity, *, now: datetime | None = None) -> ClaimStatus:
    return claim_statuses(user, [activity], now=now)[activity.id]


def claim_statuses(user: User, activities: Iterable[Activity], *, now: datetime | None = None) -> dict[int, ClaimStatus]:
    """claim_status of each of these activities, {activity_id: status}, in a fixed number of queries for any number
    of activities (the activities' designations and sessions are best loaded with them)."""
    now = now or now_utc()
    activities = list(activities)
    ids = [a.id for a in activities]
    records: dict[int, dict[str, CreditRecord]] = {}
    if ids:
        for record in db.session.scalars(select(CreditRecord).where(CreditRecord.user_id == user.id,
                                                                    CreditRecord.activity_id.in_(ids))):
            records.setdefault(record.activity_id, {})[record.credit_type] = record
    supported = supported_hours_for(user, activities)
    done = evaluated(user, ids)
    post_tests = post_test_states(user, activities)
    return {a.id: _claim_status(user, a, records.get(a.id, {}), supported[a.id], a.id in done, post_tests.get(a.id),
                                now=now) for a in activities}


def _claim_status(user: User, activity: Activity, records: dict[str, CreditRecord], supported: Decimal,
                  evaluation_done: bool, post_test: PostTestState | None, *, now: datetime) -> ClaimStatus:
    allowed = eligibility(user, activity)
    status = ClaimStatus(records=records, supported=supported, missing=allowed.missing,
                         claimable=claim_limits(allowed.offers, supported), evaluated=evaluation_done,
                         post_test=post_test)
    reasons = status.reasons
    if activity.is_cancelled:
        reasons["cancelled"] = "This activity has been cancelled: it offers no credit."
    elif not activity.credit_designations:
        reasons["no_credit"] = "This activity offers no credit."
    elif not allowed.offers:
        reasons["not_for_you"] = "None of the credit this activity offers applies to your profession."
    if not activity.is_open_for_credit(now):
        reasons["not_ended"] = "Credit can be claimed once the activity has ended."
    elif supported <= 0:
        reasons["no_attendance"] = "Your attendance does not support any credit yet (no check-in or viewing time)."
    if activity.is_open_for_credit(now) and not evaluation_done:
        reasons["evaluation"] = "Complete the evaluation first."  # before the end it is not open yet either
    if post_test is not None and post_test.problem:
        reasons["post_test_exhausted" if post_test.exhausted else "post_test"] = post_test.problem
    if activity.claim_deadline_dt is not None and now > activity.claim_deadline_dt:
        status.deadline_passed = True
        reasons["deadline"] = "The claim deadline has passed."
    return status


@dataclass
class LearnerProgress:
    """Where a learner stands with an activity's evaluation, post-test and claim (what an ended activity's page
    offers them, issue 14 point 7), read from the rules above."""

    claim: ClaimStatus
    evaluated: bool
    evaluation_problem: str | None  # why the evaluation cannot be taken now (None: it can, or it is done)
    has_post_test: bool
    passed_post_test: bool

    @property
    def took_part(self) -> bool:
        """Attendance that supports credit (a check-in or viewing time), or credit already claimed."""
        return self.claim.supported > 0 or bool(self.claim.records)


def learner_progress(user: User, activity: Activity, *, now: datetime | None = None) -> LearnerProgress:
    status = claim_status(user, activity, now=now)
    evaluated = evaluation_of(user, activity) is not None
    test = has_post_test(activity)
    return LearnerProgress(
        claim=status, evaluated=evaluated,
        evaluation_problem=None if evaluated else evaluation_problem(user, activity, now=now),
        has_post_test=test, passed_post_test=test and passed_dt(user, activity) is not None)


def completion_dt(user: User, activity: Activity, *, now: datetime | None = None) -> datetime:
    """When the learner completed the activity, the date their credit carries: a live activity's end; for an
    on-demand webcast the learner's own, when the viewing, the evaluation and the post-test (where one exists) were
    all done (the latest of the three), never later than now."""
    now = now or now_utc()
    if not activity.is_on_demand:
        return activity.end_dt
    done = [evaluation.submitted_dt if (evaluation := evaluation_of(user, activity)) else None,
            last_viewed_dt(user, activity), passed_dt(user, activity) if has_post_test(activity) else None]
    return min(max((d for d in done if d is not None), default=now), now)


def claim_credit(user: User, activity: Activity, amounts: dict[str, Decimal | None], *, attested: bool,
                 now: datetime | None = None) -> list[CreditRecord]:
    """Create or correct the learner's credit records. A blank or zero amount claims nothing of that type
    (and withdraws an earlier claim)."""
    now = now or now_utc()
    activity = lock_activity(activity.id)  # a designation lowered at the same moment waits (change_designation)
    status = claim_status(user, activity, now=now)
    for credit_type, amount in amounts.items():
        if amount and credit_type in status.missing:
            raise CreditError(f"You cannot claim this credit: {status.missing[credit_type]}", code="not_eligible",
                              field=credit_type)
    if status.problems:
        raise CreditError(status.problems[0], code="not_open")
    if not attested:
        raise CreditError("Tick the attestation to claim credit.", code="attestation", field="attest")
    if not any(amount for amount in amounts.values()):
        raise CreditError("Enter the credit you are claiming.", code="nothing", field=next(iter(amounts), None))
    final = {t: r.amount for t, r in status.records.items()}  # each type's claim once this one is saved
    for credit_type, amount in amounts.items():
        if credit_type not in CreditType._value2member_map_ or (
                credit_type not in status.limits and credit_type not in status.missing):
            raise CreditError("This credit type is not designated for the activity.", code="not_designated")
        if not amount:
            final.pop(credit_type, None)
            continue
        label = CreditType(credit_type).label
        amount = Decimal(amount)
        if amount < 0 or not is_quarter_step(amount):
            raise CreditError(f"Claim {label} in steps of 0.25.", code="step", field=credit_type)
        if amount > status.claimable[credit_type].amount:
            raise CreditError(status.claimable[credit_type].refusal, code="too_much", field=credit_type)
        final[credit_type] = amount
    check_moc_within_ama(final)
    saved = []
    for credit_type, amount in amounts.items():
        record = status.records.get(credit_type)
        if credit_type not in final:
            if record is not None:
                db.session.delete(record)
            continue
        amount = final[credit_type]
        if record is None:
            record = CreditRecord(user_id=user.id, activity_id=activity.id, credit_type=credit_type, amount=amount,
                                  attested=True, claimed_dt=now, completed_dt=completion_dt(user, activity, now=now))
            db.session.add(record)
        else:
            if amount > record.amount:  # more credit rests on what was done since
                record.completed_dt = completion_dt(user, activity, now=now)
            record.amount, record.attested = amount, True
        saved.append(record)
    db.session.flush()
    return saved


def check_moc_within_ama(amounts: Mapping[str, Decimal], *, field: str | None = CreditType.ABIM_MOC.value) -> None:
    """ABIM MOC points never exceed the AMA credit claimed (`amounts`: a learner's claim per credit type)."""
    moc = amounts.get(CreditType.ABIM_MOC, Decimal(0))
    ama = amounts.get(CreditType.AMA_PRA_1, Decimal(0))
    if moc > ama:
        raise CreditError(f"ABIM MOC points never exceed the AMA PRA Category 1 Credit™ claimed: claim at most "
                          f"{ama.normalize():f} MOC points, or claim the AMA credit too.", code="moc_over_ama",
                          field=field)


def adjust_credit(record: CreditRecord, new_amount: Decimal, *, reason: str, by: User,
                  now: datetime | None = None) -> CreditAdjustment:
    """An organizer changes a learner's credit; the change is audited (the caller then reissues a current
    certificate: certificates.service.reissue_if_certified)."""
    if not reason.strip():
        raise CreditError("Give the reason for the change (it is kept in the audit trail).", code="reason", field="reason")
    if new_amount <= 0 or not is_quarter_step(new_amount):
        raise CreditError("Use a positive amount in steps of 0.25.", code="step", field="amount")
    lock_activity(record.activity_id)  # a designation lowered at the same moment waits (change_designation)
    if record.activity.is_cancelled:
        raise CreditError("This activity has been cancelled: its credit cannot change.", code="cancelled")
    # The learner's maximum of this type (hours of participation against an AMA designation: the AMA one).
    designated = eligibility(record.user, record.activity).offers.get(record.credit_type) or next(
        (d.max_amount for d in record.activity.credit_designations if d.credit_type == record.credit_type), None)
    if designated is not None and new_amount > designated:
        raise CreditError(f"The designated maximum is {designated.normalize():f}.", code="too_much", field="amount")
    claims = {r.credit_type: r.amount for r in db.session.scalars(select(CreditRecord).where(
        CreditRecord.user_id == record.user_id, CreditRecord.activity_id == record.activity_id))}
    check_moc_within_ama({**claims, record.credit_type: new_amount}, field="amount")
    now = now or now_utc()
    adjustment = CreditAdjustment(credit_record_id=record.id, user_id=record.user_id, activity_id=record.activity_id,
                                  credit_type=record.credit_type, old_amount=record.amount, new_amount=new_amount,
                                  reason=reason.strip(), adjusted_by_id=by.id, adjusted_dt=now)
    record.amount = new_amount
    db.session.add(adjustment)
    db.session.flush()
    return adjustment


# ---------------------------------------------------------------- designations that claims rest on

def _resting_on(activity: Activity, credit_type: str) -> list[str]:
    """The claimed credit types a designation limits: its own, and for the AMA designation of an activity with no
    participation designation, the hours of participation non-physicians claimed against it (credit.eligibility)."""
    types = [credit_type]
    if credit_type == CreditType.AMA_PRA_1 and not any(
            d.credit_type == CreditType.PARTICIPATION for d in activity.credit_designations):
        types.append(CreditType.PARTICIPATION.value)
    return types


def claims_above(activity: Activity, credit_type: str, amount: Decimal) -> int:
    """How many learners claimed more than `amount` of what this designation limits (one query)."""
    return db.session.scalar(select(func.count(func.distinct(CreditRecord.user_id))).where(
        CreditRecord.activity_id == activity.id, CreditRecord.credit_type.in_(_resting_on(activity, credit_type)),
        CreditRecord.amount > amount))


def change_designation(activity: Activity, credit_type: str, amount: Decimal) -> CreditDesignation:
    """Create or change a designation (activities.service.set_designation), never below the largest claim already
    made of that credit type: the organizer first adjusts those claims (adjust_credit, with the audit trail)."""
    activity = lock_activity(activity.id)  # claims lock it too: none slips in above the new amount
    above = claims_above(activity, credit_type, amount)
    if above:
        label = CreditType(credit_type).label
        raise CreditError(f"{above} learner(s) claimed more than {amount.normalize():f} {label}. Adjust their claims "
                          "first (Credit & evaluation, “Adjust a learner's credit”, which keeps the audit trail), "
                          "then lower the designation.", code="below_claims", field="max_amount")
    return activities.set_designation(activity, credit_type, amount)


def remove_designation(designation: CreditDesignation) -> None:
    """Remove a designation (activities.service.delete_designation), only while nobody claimed that credit type."""
    activity = lock_activity(designation.activity_id)
    claims = claims_above(activity, designation.credit_type, Decimal(0))
    if claims:
        raise CreditError(f"{claims} learner(s) claimed {designation.credit_type_label} for this activity: the "
                          "designation stays while their claims rest on it.", code="has_claims")
    activities.delete_designation(designation)


def change_acpe_uan(activity: Activity, uan: str | None) -> None:
    """Set the activity's ACPE Universal Activity Number (activities.service.set_acpe_uan). Once pharmacists or
    technicians claimed ACPE credit, the number their certificates carry stays as it is."""
    activity = lock_activity(activity.id)
    if (uan or None) != activity.acpe_uan and claims_above(activity, CreditType.ACPE.value, Decimal(0)):
        raise CreditError("Learners have claimed ACPE credit under this Universal Activity Number: it stays as it "
                          "is (their certificates and ACPE's records carry it).", code="uan_claimed", field="acpe_uan")
    activities.set_acpe_uan(activity, uan)


def adjustments_for(activity: Activity) -> list[CreditAdjustment]:
    return list(db.session.scalars(select(CreditAdjustment).where(CreditAdjustment.activity_id == activity.id)
                                   .order_by(CreditAdjustment.adjusted_dt.desc(), CreditAdjustment.id.desc())))


def activity_records(activity: Activity) -> list[CreditRecord]:
    return list(db.session.scalars(select(CreditRecord).options(joinedload(CreditRecord.user))
                                   .where(CreditRecord.activity_id == activity.id)
                                   .order_by(CreditRecord.user_id, CreditRecord.credit_type)))


# ---------------------------------------------------------------- the learner's credit

def credit_records_for(user: User) -> list[CreditRecord]:
    return list(db.session.scalars(
        select(CreditRecord).options(joinedload(CreditRecord.activity))
        .where(CreditRecord.user_id == user.id).order_by(CreditRecord.claimed_dt.desc())
    ))


def transcript_for(user: User, *, certificates: Mapping[int, Certificate],
                   now: datetime | None = None) -> Transcript:
    """Every credit record by the year of its completion (a live activity's last day, the learner's own for an
    on-demand webcast), with its current certificate's code (`certificates`: {activity_id: the learner's current
    certificate}, from certificates.service.current_certificates_for)."""
    records = credit_records_for(user)
    years: dict[int, TranscriptYear] = {}
    for record in sorted(records, key=lambda r: (r.completed_dt, r.id)):
        local = record.completed_dt.astimezone(zone(record.activity.time_zone))
        year = years.setdefault(local.year, TranscriptYear(local.year))
        certificate = certificates.get(record.activity_id)
        year.lines.append(TranscriptLine(
            date=f"{local:%Y-%m-%d}", activity=record.activity.title, format=record.activity.format_label,
            credit_type=record.credit_type_label, amount=record.amount,
            certificate_code=certificate.verification_code if certificate else "",
            certificate_id=certificate.id if certificate else None, activity_id=record.activity_id))
    return Transcript(learner=user.display_name, npi=user.npi or "", provider=current_app.config["CME_PROVIDER_NAME"],
                      generated=now or now_utc(), years=[years[y] for y in sorted(years, reverse=True)])
