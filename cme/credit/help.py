"""What the help page (/help) says of credit (issue 14, point 14): each credit type, what it is for and who may
claim it. Who may claim it is read from the rule itself (`eligibility.WHO_MAY_CLAIM`, which the claim form, claims
and certificates apply), never written here, so the page cannot disagree with what the claim form offers; what
each type is for is the one thing this module says in its own words. The AMA statement's example is the
statement the activity pages print (`activities.statements`)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup

from cme.activities.models import ActivityFormat, CreditType
from cme.activities.statements import designation_statement_html, format_amount, learning_format
from cme.amounts import QUARTER
from cme.credit.eligibility import WHO_MAY_CLAIM, Claimants

# What each credit type is for (not who may claim it: that is WHO_MAY_CLAIM's).
PURPOSES: dict[CreditType, str] = {
    CreditType.AMA_PRA_1: "The credit state medical boards, hospitals and specialty boards accept for a physician's "
                          "continuing medical education: licence renewal, hospital privileges and board certification.",
    CreditType.ANCC: "Nursing continuing professional development, accepted for licence renewal by state boards of "
                     "nursing and for ANCC certification.",
    CreditType.ACPE: "Continuing pharmacy education, accepted by state boards of pharmacy for licence renewal. Each "
                     "activity with ACPE credit carries an ACPE Universal Activity Number (UAN).",
    CreditType.AAPA_1: "Continuing medical education for PAs, logged with the AAPA and counted for NCCPA "
                       "certification maintenance.",
    CreditType.ABIM_MOC: "Maintenance of Certification points that count toward an internist's American Board of "
                         "Internal Medicine certification, reported with the ABIM ID.",
    CreditType.PARTICIPATION: "A record of the hours you took part in an accredited activity, for a profession or "
                              "employer that accepts a certificate of participation.",
}

# The AMA statement's example: a three-hour live activity.
EXAMPLE_AMOUNT = Decimal("3")


@dataclass(frozen=True)
class CreditTypeHelp:
    """One credit type as the help page shows it."""

    credit_type: CreditType
    purpose: str
    claimants: Claimants

    @property
    def label(self) -> str:
        return self.credit_type.label

    @property
    def anchor(self) -> str:
        return f"credit-{self.credit_type.value.replace('_', '-')}"


def credit_types_help() -> list[CreditTypeHelp]:
    """Every credit type, in CreditType order (AMA first), with what it is for and who may claim it."""
    return [CreditTypeHelp(credit_type, PURPOSES[credit_type], WHO_MAY_CLAIM[credit_type])
            for credit_type in CreditType]


@dataclass(frozen=True)
class AmaStatementHelp:
    example: Markup  # the statement as an activity page prints it
    amount: str  # the example's maximum, as the statement writes it
    example_format: str  # the example's words for its format ("live activity")
    formats: dict[str, str]  # the statement's words for each format ("live activity", "enduring material")
    step: Decimal  # claims go in steps of this much


def ama_statement_help(provider: str) -> AmaStatementHelp:
    example_format = ActivityFormat.LIVE_MEETING.value
    return AmaStatementHelp(
        example=designation_statement_html(CreditType.AMA_PRA_1.value, EXAMPLE_AMOUNT, provider=provider,
                                           activity_format=example_format),
        amount=format_amount(EXAMPLE_AMOUNT), example_format=learning_format(example_format),
        formats={f.label: learning_format(f.value) for f in ActivityFormat}, step=QUARTER)
