"""The wording learners see about credit: the accreditation statement, designation statements per credit type,
and the commercial support acknowledgement.

The AMA statement is prescribed word for word (AMA PRA booklet); the others follow each
accreditor's published template. Certificates print the same text (with the claimed amount).
The accreditation statement follows the activity's `accreditation_kind` (point 9 of issue 12): an ACCME-accredited
provider, a jointly accredited provider (Joint Accreditation for Interprofessional Continuing Education), joint
providership with a non-accredited organization, or a statement of the organizer's own.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

from cme.activities.acpe import AUDIENCES, uan_audience
from cme.activities.models import AccreditationKind, Activity, ActivityFormat, CreditType, SupportKind

ACCME = "Accreditation Council for Continuing Medical Education (ACCME)"


def format_amount(amount: Decimal) -> str:
    """1.00 -> '1', 1.50 -> '1.5', 1.25 -> '1.25'."""
    text = f"{Decimal(amount):.2f}".rstrip("0").rstrip(".")
    return text or "0"


def learning_format(activity_format: str) -> str:
    """AMA's wording: live activities versus enduring material (on-demand)."""
    return "enduring material" if activity_format == ActivityFormat.ON_DEMAND_WEBCAST else "live activity"


def accreditation_statement(kind: str, *, provider: str, joint_provider: str = "", custom: str = "") -> str:
    """The accreditation statement an activity of this kind must carry (blank for a custom one not yet written, or
    joint providership without its joint provider: publishing refuses both)."""
    match AccreditationKind(kind):
        case AccreditationKind.ACCME:
            return f"{provider} is accredited by the {ACCME} to provide continuing medical education for physicians."
        case AccreditationKind.JOINT_ACCREDITATION:
            return (f"In support of improving patient care, {provider} is jointly accredited by the {ACCME}, the "
                    "Accreditation Council for Pharmacy Education (ACPE), and the American Nurses Credentialing Center "
                    "(ANCC), to provide continuing education for the healthcare team.")
        case AccreditationKind.JOINT_PROVIDERSHIP:
            if not joint_provider:
                return ""
            return ("This activity has been planned and implemented in accordance with the accreditation requirements "
                    "and policies of the ACCME through the joint providership of "
                    f"{provider} and {joint_provider}. {provider} is accredited by the ACCME to provide continuing "
                    "medical education for physicians.")
        case AccreditationKind.CUSTOM:
            return custom


def _names(companies: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return companies[0] if len(companies) == 1 else f"{', '.join(companies[:-1])} and {companies[-1]}"


def commercial_support_statements(supports: list[tuple[str, str]]) -> list[str]:
    """The acknowledgement learners see of (company, kind) support: empty when the activity had none."""
    grants = list(dict.fromkeys(company for company, kind in supports if kind == SupportKind.MONETARY))
    in_kind = list(dict.fromkeys(company for company, kind in supports if kind == SupportKind.IN_KIND))
    lines = []
    if grants:
        what = "an educational grant" if len(grants) == 1 else "educational grants"
        lines.append(f"This activity is supported by {what} from {_names(grants)}.")
    if in_kind:
        lines.append(f"This activity is supported by in-kind support from {_names(in_kind)}.")
    return lines


@dataclass(frozen=True)
class ActivityStatements:
    """What an activity says about its accreditation and its commercial support (page, manage page, certificate)."""

    accreditation: str
    commercial_support: list[str]

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in (self.accreditation, *self.commercial_support) if p]


def activity_statements(activity: Activity, *, provider: str) -> ActivityStatements:
    return ActivityStatements(
        accreditation_statement(activity.accreditation_kind, provider=provider, joint_provider=activity.joint_provider,
                                custom=activity.accreditation_statement),
        commercial_support_statements([(s.company, s.kind) for s in activity.commercial_supports]))


def designation_statement(credit_type: str, amount: Decimal, *, provider: str, activity_format: str,
                          accreditation: str = AccreditationKind.ACCME.value, acpe_uan: str | None = None) -> str:
    """Plain text of the statement (certificates, ICS descriptions). A jointly accredited provider designates
    nursing, pharmacy and PA credit itself, in the logo-free text forms; ACPE's names the audience and the Universal
    Activity Number when the activity has one."""
    n = format_amount(amount)
    uan = f" (ACPE Universal Activity Number {acpe_uan})" if uan_audience(acpe_uan) else ""
    if accreditation == AccreditationKind.JOINT_ACCREDITATION:
        match CreditType(credit_type):
            case CreditType.ANCC:
                return f"Nurses: {provider} designates this activity for a maximum of {n} ANCC contact hour(s)."
            case CreditType.ACPE:
                audience = AUDIENCES[uan_audience(acpe_uan) or "P"]
                return (f"{audience.capitalize()}: {provider} designates this activity for a maximum of {n} ACPE "
                        f"contact hour(s){uan}.")
            case CreditType.AAPA_1:
                return (f"Physician assistants: {provider} has been authorized by the American Academy of PAs (AAPA) "
                        "to award AAPA Category 1 CME credit for activities planned in accordance with AAPA CME "
                        f"Criteria. This activity is designated for {n} AAPA Category 1 CME credit(s). PAs should "
                        "only claim credit commensurate with the extent of their participation.")
    match CreditType(credit_type):
        case CreditType.AMA_PRA_1:
            return (f"{provider} designates this {learning_format(activity_format)} for a maximum of {n} "
                    "AMA PRA Category 1 Credit(s)™. Physicians should claim only the credit commensurate with the "
                    "extent of their participation in the activity.")
        case CreditType.ANCC:
            return f"{provider} designates this activity for a maximum of {n} ANCC contact hour(s)."
        case CreditType.ACPE:
            audience = AUDIENCES[uan_audience(acpe_uan) or "P"]
            return f"{provider} designates this activity for a maximum of {n} ACPE contact hour(s) for {audience}{uan}."
        case CreditType.AAPA_1:
            return (f"This activity is designated for {n} AAPA Category 1 CME credit(s). PAs should only claim "
                    "credit commensurate with the extent of their participation.")
        case CreditType.ABIM_MOC:
            return (f"Successful completion of this CME activity enables the participant to earn up to {n} MOC "
                    "points in the American Board of Internal Medicine's (ABIM) Maintenance of Certification (MOC) "
                    "program.")
        case CreditType.PARTICIPATION:
            return (f"Other healthcare professionals will receive a certificate of participation for up to {n} "
                    "hour(s) of participation.")


def ama_participation_statement(amount: Decimal, *, activity_format: str) -> str:
    """What a non-physician's certificate of participation says of the AMA designation (the AMA lets providers
    give non-physicians a certificate of participation stating that the activity was designated for AMA credit)."""
    return (f"This {learning_format(activity_format)} was designated for a maximum of {format_amount(amount)} "
            "AMA PRA Category 1 Credit(s)™.")


def designation_statement_html(credit_type: str, amount: Decimal, *, provider: str, activity_format: str,
                               accreditation: str = AccreditationKind.ACCME.value, acpe_uan: str | None = None) -> Markup:
    """The statement with the credit name in italics, as the AMA requires."""
    text = escape(designation_statement(credit_type, amount, provider=provider, activity_format=activity_format,
                                        accreditation=accreditation, acpe_uan=acpe_uan))
    return Markup(str(text).replace("AMA PRA Category 1 Credit(s)™", "<em>AMA PRA Category 1 Credit(s)</em>™"))
