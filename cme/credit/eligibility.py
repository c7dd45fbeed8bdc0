"""Who may claim what (../shared/DESIGN.md): the one home of the rule that decides which of an activity's credit
types a learner may claim, given their profession (and degree, `User.is_physician`), their board IDs and the
activity's ACPE Universal Activity Number. The claim form, claim_status, claim_credit and the certificate all ask
`eligibility`.

- AMA PRA Category 1 Credit™: physicians (MD, DO and equivalents). Other professions claim hours of participation
  against an AMA designation instead, and their certificate of participation states the AMA credit designated.
- ANCC contact hours: nurses and nurse practitioners.
- ACPE contact hours: pharmacists when the activity's UAN ends in P, pharmacy technicians when it ends in T.
- AAPA Category 1 CME credit: physician assistants.
- ABIM MOC points: physicians with their ABIM ID on their profile (never more than the AMA credit claimed: see
  credit.service.claim_credit).
- Participation: everyone.

How much of each: `claim_limits` (the least of the designation, what attendance supports and, for ABIM MOC points,
the AMA credit), which the claim form's fields, its validation and credit.service.claim_credit all read.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from cme.accounts.models import Profession, User
from cme.activities.acpe import AUDIENCES, uan_audience
from cme.activities.models import Activity, CreditType

NURSES = (Profession.NURSE, Profession.NURSE_PRACTITIONER)
ACPE_AUDIENCE = {Profession.PHARMACIST: "P", Profession.PHARMACY_TECHNICIAN: "T"}


@dataclass
class Eligibility:
    """What a learner may claim for an activity: `offers` maps each claimable credit type (CreditType order) to
    the activity's designated maximum of it; `missing` says, per designated type they may not claim, why."""

    offers: dict[str, Decimal] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def may_claim(self, credit_type: str) -> bool:
        return credit_type in self.offers


def _why_not(user: User, activity: Activity, credit_type: str) -> str | None:
    """None when the learner may claim this type, else the reason (one sentence, for the claim page)."""
    label = CreditType(credit_type).label
    match CreditType(credit_type):
        case CreditType.AMA_PRA_1:
            if not user.is_physician:
                return (f"{label} is for physicians (MD, DO or equivalent): you can claim hours of participation, "
                        "and your certificate of participation states the AMA credit designated.")
        case CreditType.ANCC:
            if user.profession not in NURSES:
                return f"{label} are for nurses and nurse practitioners."
        case CreditType.ACPE:
            wanted = ACPE_AUDIENCE.get(user.profession)
            if wanted is None:
                return f"{label} are for pharmacists and pharmacy technicians."
            audience = uan_audience(activity.acpe_uan)
            if audience is None:
                return f"{label}: this activity has no ACPE Universal Activity Number yet."
            if audience != wanted:
                return f"{label}: this activity's UAN ({activity.acpe_uan}) is for {AUDIENCES[audience]}."
        case CreditType.AAPA_1:
            if user.profession != Profession.PHYSICIAN_ASSISTANT:
                return f"{label} is for physician assistants."
        case CreditType.ABIM_MOC:
            if not user.is_physician:
                return f"{label} are for physicians with an ABIM ID."
            if not user.abim_id:
                return f"{label}: add your ABIM ID to your profile."
    return None


def eligibility(user: User, activity: Activity) -> Eligibility:
    """Which of the activity's designated credit types the learner may claim, and why not the others. A learner
    who may not claim AMA credit may claim participation against an AMA designation (up to the participation
    designation when there is one, else up to the AMA one); nobody claims participation besides credit."""
    result = Eligibility()
    designated = {d.credit_type: d.max_amount for d in activity.designations}
    for credit_type, amount in designated.items():
        reason = _why_not(user, activity, credit_type)
        if reason is None:
            result.offers[credit_type] = amount
        else:
            result.missing[credit_type] = reason
    if CreditType.AMA_PRA_1 in result.missing and CreditType.PARTICIPATION not in result.offers:
        result.offers[CreditType.PARTICIPATION.value] = designated[CreditType.AMA_PRA_1]
    # Hours of participation are for those who claim no credit of the activity: the same minutes never count twice
    # (a nurse claims ANCC contact hours, not ANCC hours plus participation).
    credit = [label for credit_type, label in ((t, CreditType(t).label) for t in result.offers)
              if credit_type != CreditType.PARTICIPATION]
    if credit and CreditType.PARTICIPATION in result.offers:
        del result.offers[CreditType.PARTICIPATION]
        result.missing[CreditType.PARTICIPATION.value] = (
            f"Hours of participation are for those who claim no credit of this activity: you claim {credit[0]}.")
    return result


# ---------------------------------------------------------------- how much

@dataclass(frozen=True)
class ClaimLimit:
    """The most a learner may claim of one credit type, and what sets it (`reason` completes "Up to N: ...")."""

    credit_type: str
    amount: Decimal
    designated: Decimal
    reason: str

    @property
    def label(self) -> str:
        return CreditType(self.credit_type).label

    @property
    def help(self) -> str:
        """The one line the claim form shows under the type's field."""
        text = f"Up to {self.amount.normalize():f}: {self.reason}."
        if self.amount < self.designated:
            text += f" The activity designates {self.designated.normalize():f}."
        return text

    @property
    def refusal(self) -> str:
        """Why more than `amount` is refused (the form's validation and claim_credit say the same)."""
        return f"You can claim at most {self.amount.normalize():f} {self.label}: {self.reason}."


def claim_limits(offers: Mapping[str, Decimal], supported: Decimal) -> dict[str, ClaimLimit]:
    """The claimable maximum of each credit type the learner may claim (`offers`: Eligibility.offers, each type's
    designated maximum; `supported`: attendance.service.supported_hours): the designation, no more than attendance
    supports, and ABIM MOC points no more than the AMA credit the learner may claim (MOC points never exceed the AMA
    credit claimed: credit.service.check_moc_within_ama holds the claim to it)."""
    limits: dict[str, ClaimLimit] = {}
    ama = CreditType.AMA_PRA_1.value
    for credit_type in sorted(offers, key=lambda t: t != ama):  # AMA first: the MOC limit reads it
        designated = offers[credit_type]
        limit = ClaimLimit(credit_type, designated, designated, "the designated maximum")
        if supported < limit.amount:
            limit = ClaimLimit(credit_type, supported, designated,
                               "what your recorded attendance supports (check-in or viewing time)")
        if credit_type == CreditType.ABIM_MOC and ama in limits and limits[ama].amount < limit.amount:
            limit = ClaimLimit(credit_type, limits[ama].amount, designated,
                               "no more than the AMA PRA Category 1 Credit™ you may claim")
        limits[credit_type] = limit
    return {credit_type: limits[credit_type] for credit_type in offers}
