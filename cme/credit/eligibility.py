"""Who may claim what (../shared/DESIGN.md): the one home of the rule that decides which of an activity's credit
types a learner may claim, given their profession (and degree, `User.is_physician`), their board IDs and the
activity's ACPE Universal Activity Number. The rule is data, `WHO_MAY_CLAIM` (one `Claimants` per credit type):
the claim form, claim_status, claim_credit and the certificate ask `eligibility`, which reads it, and the help page
(/help) shows it, so what learners read is what the code does.

- AMA PRA Category 1 Credit™: physicians (MD, DO and equivalents). Other professions claim hours of participation
  against an AMA designation instead, and their certificate of participation states the AMA credit designated.
- ANCC contact hours: nurses and nurse practitioners.
- ACPE contact hours: pharmacists when the activity's UAN ends in P, pharmacy technicians when it ends in T.
- AAPA Category 1 CME credit: physician assistants.
- ABIM MOC points: physicians with their ABIM ID on their profile (never more than the AMA credit claimed: see
  credit.service.claim_credit).
- Participation: everyone who claims no credit of the activity.

How much of each: `claim_limits` (the least of the designation, what attendance supports and, for ABIM MOC points,
the AMA credit), which the claim form's fields, its validation and credit.service.claim_credit all read.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from cme.accounts.models import PHYSICIAN_DEGREES, Profession, User
from cme.activities.acpe import AUDIENCES, uan_audience
from cme.activities.models import Activity, CreditType

ACPE_AUDIENCE = {Profession.PHARMACIST: "P", Profession.PHARMACY_TECHNICIAN: "T"}


def _plural(label: str) -> str:
    return f"{label[0].lower()}{label[1:]}s"


def _listed(words: list[str] | tuple[str, ...], last: str = "and") -> str:
    """"a", "a and b", "a, b and c"."""
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def _noun(credit_type: CreditType) -> str:
    """How a sentence names what is claimed of a type ("claim hours of participation")."""
    return "hours of participation" if credit_type == CreditType.PARTICIPATION else credit_type.label


@dataclass(frozen=True)
class Claimants:
    """Who may claim one credit type (an entry of WHO_MAY_CLAIM)."""

    professions: tuple[Profession, ...] = ()  # () is every profession
    # Also an "Other healthcare professional" whose degree makes them a physician (User.is_physician).
    physician_degree: bool = False
    needs_abim_id: bool = False  # their ABIM ID on their profile
    # The activity's ACPE UAN must be for their profession (ACPE_AUDIENCE: its last letter, P or T).
    uan_for_profession: bool = False
    # Those who may not claim this type claim that one against it instead (at this type's designated amount).
    instead: CreditType | None = None
    # Only for those who claim no other credit of the activity (the same minutes never count twice).
    only_without_other_credit: bool = False
    # Never more than the learner may claim of that type (credit.eligibility.claim_limits).
    at_most: CreditType | None = None

    def admits(self, user: User) -> bool:
        """The learner's profession (and degree) may claim this type (the other conditions aside)."""
        return (not self.professions or user.profession in self.professions
                or (self.physician_degree and user.is_physician))

    @property
    def who(self) -> list[str]:
        """Whom the professions part admits, for people to read: one line each (the profile's own labels)."""
        if not self.professions:
            return ["Every profession"]
        lines = [Profession(p).label for p in self.professions]
        if self.physician_degree:
            lines.append(f"{Profession.OTHER.label}, with an {_listed(PHYSICIAN_DEGREES, 'or')} degree")
        return lines

    @property
    def conditions(self) -> list[str]:
        """What else it takes, for people to read (one sentence each)."""
        lines = []
        if self.needs_abim_id:
            lines.append("Your ABIM ID is on your profile.")
        if self.uan_for_profession:
            letters = _listed([f"{letter} for {AUDIENCES[letter]}" for letter in ACPE_AUDIENCE.values()])
            lines.append(f"The activity's ACPE Universal Activity Number is for your profession: it ends in {letters}.")
        if self.only_without_other_credit:
            lines.append("You claim no other credit of the same activity: the same minutes never count twice.")
        if self.at_most is not None:
            lines.append(f"Never more than the {self.at_most.label} you claim for the same activity.")
        return lines

    @property
    def instead_line(self) -> str | None:
        """What those it does not admit claim instead, for people to read."""
        if self.instead is None:
            return None
        return (f"Everyone else may claim {_noun(self.instead)} against it, and their certificate of participation "
                "states the credit the activity was designated for.")

    def refusal(self, credit_type: CreditType) -> str:
        """Why a learner whose profession it does not admit may not claim it (one sentence, for the claim page)."""
        label = credit_type.label
        who = _listed([_plural(Profession(p).label) for p in self.professions])
        if self.physician_degree:
            who += f" ({_listed([*PHYSICIAN_DEGREES, 'equivalent'], 'or')})"
        if self.needs_abim_id:
            who += " with an ABIM ID"
        verb = "are" if label.endswith("s") else "is"
        if self.instead is not None:
            return (f"{label} {verb} for {who}: you can claim {_noun(self.instead)}, and your certificate of "
                    "participation states the AMA credit designated.")
        return f"{label} {verb} for {who}."


WHO_MAY_CLAIM: dict[CreditType, Claimants] = {
    CreditType.AMA_PRA_1: Claimants((Profession.PHYSICIAN,), physician_degree=True, instead=CreditType.PARTICIPATION),
    CreditType.ANCC: Claimants((Profession.NURSE, Profession.NURSE_PRACTITIONER)),
    CreditType.ACPE: Claimants((Profession.PHARMACIST, Profession.PHARMACY_TECHNICIAN), uan_for_profession=True),
    CreditType.AAPA_1: Claimants((Profession.PHYSICIAN_ASSISTANT,)),
    CreditType.ABIM_MOC: Claimants((Profession.PHYSICIAN,), physician_degree=True, needs_abim_id=True,
                                   at_most=CreditType.AMA_PRA_1),
    CreditType.PARTICIPATION: Claimants(only_without_other_credit=True),
}


def credit_types_for_profession(profession: str) -> list[CreditType]:
    """The credit types a holder of `profession` may claim, by WHO_MAY_CLAIM's professions part (a licence's hours
    count these: cme.credit.licence_progress)."""
    return [credit_type for credit_type, rule in WHO_MAY_CLAIM.items()
            if not rule.professions or profession in rule.professions]


@dataclass
class Eligibility:
    """What a learner may claim for an activity: `offers` maps each claimable credit type (CreditType order) to
    the activity's designated maximum of it; `missing` says, per designated type they may not claim, why."""

    offers: dict[str, Decimal] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def may_claim(self, credit_type: str) -> bool:
        return credit_type in self.offers


def _why_not(user: User, activity: Activity, credit_type: str) -> str | None:
    """None when the learner may claim this type (WHO_MAY_CLAIM), else the reason (one sentence, for the claim
    page)."""
    credit_type = CreditType(credit_type)
    label = credit_type.label
    rule = WHO_MAY_CLAIM[credit_type]
    if not rule.admits(user):
        return rule.refusal(credit_type)
    if rule.needs_abim_id and not user.abim_id:
        return f"{label}: add your ABIM ID to your profile."
    if rule.uan_for_profession:
        audience = uan_audience(activity.acpe_uan)
        if audience is None:
            return f"{label}: this activity has no ACPE Universal Activity Number yet."
        if audience != ACPE_AUDIENCE.get(user.profession):
            return f"{label}: this activity's UAN ({activity.acpe_uan}) is for {AUDIENCES[audience]}."
    return None


def eligibility(user: User, activity: Activity) -> Eligibility:
    """Which of the activity's designated credit types the learner may claim, and why not the others. A learner
    who may not claim a type with an `instead` (AMA credit) may claim that one against it (up to its own
    designation when there is one, else up to the other's); a type only for those who claim no other credit
    (participation) is withdrawn when they claim some."""
    result = Eligibility()
    designated = {d.credit_type: d.max_amount for d in activity.designations}
    for credit_type, amount in designated.items():
        reason = _why_not(user, activity, credit_type)
        if reason is None:
            result.offers[credit_type] = amount
        else:
            result.missing[credit_type] = reason
    for credit_type in list(result.missing):
        instead = WHO_MAY_CLAIM[CreditType(credit_type)].instead
        if instead is not None and instead.value not in result.offers:
            result.offers[instead.value] = designated[credit_type]
    # Hours of participation are for those who claim no credit of the activity: the same minutes never count twice
    # (a nurse claims ANCC contact hours, not ANCC hours plus participation).
    for credit_type in list(result.offers):
        if not WHO_MAY_CLAIM[CreditType(credit_type)].only_without_other_credit:
            continue
        credit = [CreditType(t).label for t in result.offers if t != credit_type]
        if credit:
            del result.offers[credit_type]
            result.missing[credit_type] = (
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
    ceilings = {rule.at_most.value for rule in WHO_MAY_CLAIM.values() if rule.at_most is not None}
    for credit_type in sorted(offers, key=lambda t: t not in ceilings):  # AMA first: the MOC limit reads it
        designated = offers[credit_type]
        limit = ClaimLimit(credit_type, designated, designated, "the designated maximum")
        if supported < limit.amount:
            limit = ClaimLimit(credit_type, supported, designated,
                               "what your recorded attendance supports (check-in or viewing time)")
        ceiling = WHO_MAY_CLAIM[CreditType(credit_type)].at_most
        if ceiling is not None and ceiling.value in limits and limits[ceiling.value].amount < limit.amount:
            limit = ClaimLimit(credit_type, limits[ceiling.value].amount, designated,
                               f"no more than the {ceiling.label} you may claim")
        limits[credit_type] = limit
    return {credit_type: limits[credit_type] for credit_type in offers}
