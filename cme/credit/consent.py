"""The learner's permission to report a completion (issue 16, point 1): which bodies a claim is reported to, the
question asked per body at claim time, and the answers (ReportingConsent rows), stored in the claim's transaction
and changeable later from My credit. Withholding permission is allowed: the claim stands, the completion is simply
not reported (the exports read rows with `granted` true only).

Which body a credit type goes to (`BODY_OF`): AMA PRA Category 1 Credit™ to ACCME's PARS (which passes it to state
medical boards), ABIM MOC points to ABIM through PARS, ACPE contact hours to NABP's CPE Monitor, ANCC contact hours
to CE Broker. An activity registered for MOC with another board (MocRegistration) also asks, with AMA credit,
whether to report to that board (a learner who is not its diplomate answers no).
What each body needs from the learner is cme.accounts.identity.missing_for: asked here, never restated."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import select

from cme.accounts.identity import Missing, ReportingBody, missing_for
from cme.accounts.models import User
from cme.activities.models import Activity, CreditType
from cme.activities.reporting_data import MocRegistration
from cme.credit.errors import CreditError
from cme.credit.models import CreditRecord, ReportingConsent
from cme.extensions import db
from cme.timeutil import now_utc

BODY_OF: dict[CreditType, ReportingBody] = {
    CreditType.AMA_PRA_1: ReportingBody.ACCME,
    CreditType.ABIM_MOC: ReportingBody.ABIM,
    CreditType.ACPE: ReportingBody.NABP,
    CreditType.ANCC: ReportingBody.CE_BROKER,
}

QUESTIONS = {
    ReportingBody.ACCME: "Report this completion to ACCME's PARS (and your state medical board)?",
    ReportingBody.NABP: "Report this completion to NABP's CPE Monitor?",
    ReportingBody.CE_BROKER: "Report this completion to CE Broker (for your state board of nursing)?",
}


def question(body: ReportingBody | str) -> str:
    body = ReportingBody(body)
    return QUESTIONS.get(body) or f"Report this completion to the {body.label.removesuffix(' (MOC)')} for MOC?"


def bodies_for(activity: Activity, credit_types: Iterable[str]) -> list[ReportingBody]:
    """The bodies a claim of `credit_types` for `activity` is reported to (module docstring), in ReportingBody
    order."""
    types = {str(t) for t in credit_types}
    bodies = {BODY_OF[CreditType(t)] for t in types if t in CreditType._value2member_map_ and CreditType(t) in BODY_OF}
    if CreditType.AMA_PRA_1.value in types:
        bodies |= {ReportingBody.for_board(board) for board in db.session.scalars(
            select(MocRegistration.board).where(MocRegistration.activity_id == activity.id))}
    return [body for body in ReportingBody if body in bodies]


def missing_by_body(user: User, bodies: Iterable[ReportingBody]) -> dict[ReportingBody, list[Missing]]:
    """What the learner must still give per body (identity.missing_for), bodies with nothing missing left out."""
    return {body: found for body in bodies if (found := missing_for(user, body))}


def consents_of(user: User, activity: Activity) -> dict[str, ReportingConsent]:
    """{body: the learner's answer} for one activity."""
    return {c.body: c for c in db.session.scalars(select(ReportingConsent).where(
        ReportingConsent.user_id == user.id, ReportingConsent.activity_id == activity.id))}


def consents_by_activity(user: User) -> dict[int, list[ReportingConsent]]:
    """Every answer of the learner, by activity (one query), each activity's in ReportingBody order."""
    order = {body.value: i for i, body in enumerate(ReportingBody)}
    found: dict[int, list[ReportingConsent]] = defaultdict(list)
    for consent in db.session.scalars(select(ReportingConsent).where(ReportingConsent.user_id == user.id)):
        found[consent.activity_id].append(consent)
    return {activity_id: sorted(rows, key=lambda c: order[c.body]) for activity_id, rows in found.items()}


def record_consents(user: User, activity: Activity, answers: Mapping[str, bool], *,
                    now: datetime | None = None) -> list[ReportingConsent]:
    """Store the learner's answers ({body: granted}), one row per body; an answer that changes (or is new) gets
    `decided_dt` = now. Called in the claim's transaction, and from My credit to change them later."""
    now = now or now_utc()
    current = consents_of(user, activity)
    saved = []
    for body, granted in answers.items():
        if body not in ReportingBody._value2member_map_:
            raise CreditError("There is no such body to report to.", code="body")
        consent = current.get(str(body))
        if consent is None:
            consent = ReportingConsent(user_id=user.id, activity_id=activity.id, body=str(body),
                                       granted=bool(granted), decided_dt=now)
            db.session.add(consent)
        elif consent.granted != bool(granted):
            consent.granted, consent.decided_dt = bool(granted), now
        saved.append(consent)
    db.session.flush()
    return saved


def claimed_types(user: User, activity: Activity) -> list[str]:
    return list(db.session.scalars(select(CreditRecord.credit_type).where(
        CreditRecord.user_id == user.id, CreditRecord.activity_id == activity.id)))


def reported_bodies(user: User, activity: Activity) -> list[ReportingBody]:
    """The bodies the learner's claim for `activity` goes to (empty when nothing is claimed)."""
    return bodies_for(activity, claimed_types(user, activity))


def missing_for_activity(user: User, activity: Activity) -> list[Missing]:
    """What the learner must still give so that their completion of `activity` can be reported: for each body
    they allowed (or, having not answered, that the claim goes to), identity.missing_for; each field once."""
    consents = consents_of(user, activity)
    bodies = [b for b in reported_bodies(user, activity) if b.value not in consents or consents[b.value].granted]
    seen: dict[str, Missing] = {}
    for items in missing_by_body(user, bodies).values():
        for item in items:
            seen.setdefault(item.field, item)
    return list(seen.values())
