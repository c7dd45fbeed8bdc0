"""Why a completion cannot be reported (issue 16, point 4): every refusal has a code and a message, and nothing
with a refusal leaves. Learner fields are judged by the one rule of what a learner must give
(`cme.accounts.identity.missing_for`) and the identifier formats beside it; the credit rules by `cme.amounts` and
`cme.credit.service.check_moc_within_ama`; here only what is particular to reporting: the boards' rules (ABP: the
full points, once, after the evaluation is passed), the learner's permission, and what the activity must carry."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cme.accounts.identity import Board, ReportingBody, StateLicence, licence_number_problem, missing_for
from cme.accounts.models import User
from cme.activities.acpe import AUDIENCES, uan_audience, uan_problem
from cme.activities.models import Activity
from cme.amounts import is_quarter_step
from cme.credit.eligibility import ACPE_AUDIENCE
from cme.credit.errors import CreditError
from cme.credit.service import check_moc_within_ama


@dataclass(frozen=True)
class Refusal:
    """Why one record cannot be reported. `field` names the learner's profile field to complete (the reminder
    mail links to it); "" when the learner cannot fix it (the activity's data, a credit rule)."""
    code: str
    message: str
    field: str = ""

    @property
    def learner_can_fix(self) -> bool:
        return bool(self.field)


def learner_refusals(user: User, body: ReportingBody | str, *, licences: list[StateLicence] | None = None,
                     board_ids: dict[str, str] | None = None) -> list[Refusal]:
    """What the learner must still give before a completion goes to `body` (missing_for, the one rule; `licences`
    and `board_ids` when the caller has read them)."""
    return [Refusal(f"missing_{m.field}", m.message, m.field)
            for m in missing_for(user, body, licences=licences, board_ids=board_ids)]


def licence_refusals(licences: list[StateLicence]) -> list[Refusal]:
    """A licence number the board would not match (its format: identity.licence_number_problem)."""
    return [Refusal("licence_number", f"{licence.state} license: {problem}", "licences")
            for licence in licences if (problem := licence_number_problem(licence.number))]


def one_licence_reason(refusals: list[Refusal]) -> list[Refusal]:
    """A malformed licence number is the reason a licence counts as missing (`missing_for` counts well-formed ones
    only): give the specific reason, not both."""
    if any(r.code == "licence_number" for r in refusals):
        return [r for r in refusals if r.code != "missing_licences"]
    return refusals


def amount_refusals(amount: Decimal) -> list[Refusal]:
    if amount is None or amount <= 0 or not is_quarter_step(amount):
        return [Refusal("amount_step", f"The amount {amount} is not a positive multiple of 0.25.")]
    return []


def moc_over_ama_refusals(moc: Decimal, ama: Decimal | None) -> list[Refusal]:
    try:
        check_moc_within_ama({"abim_moc": moc, "ama_pra_1": ama or Decimal(0)})
    except CreditError as error:
        return [Refusal("moc_over_ama", error.message)]
    return []


def abp_refusals(points: Decimal, registered: Decimal, *, evaluated: bool, post_test: bool | None,
                 reported_before: bool) -> list[Refusal]:
    """ABP's rules for MOC: no partial credit (the full registered points), no repeated credit (never a second
    add for the same learner and activity), and only once the evaluation is passed (the evaluation answered and,
    when the activity has a post-test, a passing attempt). `post_test`: None when the activity has none."""
    refusals = []
    if points != registered:
        refusals.append(Refusal("abp_partial", f"ABP takes no partial credit: the learner claimed {points:f} of the "
                                               f"{registered:f} MOC points the activity is registered for."))
    if reported_before:
        refusals.append(ABP_REPEATED)
    if not evaluated:
        refusals.append(Refusal("abp_no_evaluation", "ABP needs the evaluation completed before MOC is reported."))
    if post_test is False:
        refusals.append(Refusal("abp_post_test", "ABP needs the post-test passed before MOC is reported."))
    return refusals


ABP_REPEATED = Refusal("abp_repeated", "ABP takes no repeated credit: this learner's completion was already "
                                       "reported to ABP for this activity.")


def permission_refusals(granted: bool | None, body: ReportingBody | str) -> list[Refusal]:
    """The learner's permission for this body (ReportingConsent): None when never asked, False when withheld."""
    if granted:
        return []
    label = ReportingBody(body).label
    if granted is None:
        return [Refusal("no_permission", f"The learner has not given permission to report to {label}.",
                        "permission")]
    return [Refusal("permission_withheld", f"The learner withheld permission to report to {label}.")]


def pars_activity_refusals(activity: Activity) -> list[Refusal]:
    refusals = []
    if not (activity.accme_activity_id or "").strip():
        refusals.append(Refusal("no_accme_activity_id", "The activity has no ACCME activity ID (its reporting data)."))
    if not (activity.accme_provider_id or "").strip():
        refusals.append(Refusal("no_accme_provider_id", "The activity has no ACCME provider ID (its reporting data)."))
    return refusals


def cpe_activity_refusals(activity: Activity, profession: str | None) -> list[Refusal]:
    """The activity's UAN, and that it is for the learner's profession (P pharmacists, T technicians)."""
    uan = activity.acpe_uan
    if not uan or uan_problem(uan):
        return [Refusal("no_uan", "The activity has no valid ACPE Universal Activity Number.")]
    wanted = ACPE_AUDIENCE.get(profession)
    if wanted != uan_audience(uan):
        return [Refusal("uan_audience", f"The activity's UAN ({uan}) is for {AUDIENCES[uan_audience(uan)]}; "
                                        "this learner is not.")]
    return []


def ce_broker_activity_refusals(activity: Activity) -> list[Refusal]:
    if not (activity.ce_broker_tracking_number or "").strip():
        return [Refusal("no_tracking_number", "The activity has no CE Broker course tracking number.")]
    return []


def board_of(subject: str) -> Board | None:
    return Board(subject) if subject in Board._value2member_map_ else None
