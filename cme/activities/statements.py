"""The wording learners see about credit: designation statements per credit type.

The AMA statement is prescribed word for word (AMA PRA booklet); the others follow each
accreditor's published template. Certificates print the same text (with the claimed amount).
"""
from __future__ import annotations

from decimal import Decimal

from markupsafe import Markup, escape

from cme.activities.acpe import AUDIENCES, uan_audience
from cme.activities.models import ActivityFormat, CreditType


def format_amount(amount: Decimal) -> str:
    """1.00 -> '1', 1.50 -> '1.5', 1.25 -> '1.25'."""
    text = f"{Decimal(amount):.2f}".rstrip("0").rstrip(".")
    return text or "0"


def learning_format(activity_format: str) -> str:
    """AMA's wording: live activities versus enduring material (on-demand)."""
    return "enduring material" if activity_format == ActivityFormat.ON_DEMAND_WEBCAST else "live activity"


def designation_statement(credit_type: str, amount: Decimal, *, provider: str, activity_format: str,
                          acpe_uan: str | None = None) -> str:
    """Plain text of the statement (certificates, ICS descriptions). ACPE's names the audience and the Universal
    Activity Number when the activity has one."""
    n = format_amount(amount)
    match CreditType(credit_type):
        case CreditType.AMA_PRA_1:
            return (f"{provider} designates this {learning_format(activity_format)} for a maximum of {n} "
                    "AMA PRA Category 1 Credit(s)™. Physicians should claim only the credit commensurate with the "
                    "extent of their participation in the activity.")
        case CreditType.ANCC:
            return f"{provider} designates this activity for a maximum of {n} ANCC contact hour(s)."
        case CreditType.ACPE:
            audience = AUDIENCES[uan_audience(acpe_uan) or "P"]
            uan = f" (ACPE Universal Activity Number {acpe_uan})" if uan_audience(acpe_uan) else ""
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
                               acpe_uan: str | None = None) -> Markup:
    """The statement with the credit name in italics, as the AMA requires."""
    text = escape(designation_statement(credit_type, amount, provider=provider, activity_format=activity_format,
                                        acpe_uan=acpe_uan))
    return Markup(str(text).replace("AMA PRA Category 1 Credit(s)™", "<em>AMA PRA Category 1 Credit(s)</em>™"))
