"""The organizer's operations on an activity's reporting data (issue 16, point 2): its ACCME IDs, the outcomes it
measures, the state-mandated topics it covers, and its MOC registration with each certifying board.

Providership (`accreditation_kind`, `joint_provider`), commercial support and the ACPE UAN are edited where they
were before (activities.service); the reporting page shows them.

ABIM's MOC points have one home: the ABIM_MOC credit designation. An ABIM registration's `points` always equal it:
saving the registration sets the designation through `service.set_designation` (whose rules hold: MOC points never
above the AMA designation or the hours), and setting the designation updates the registration. Every board's points
stay at or below the AMA designation; lowering the AMA designation below any board's points is refused
(`service._check_moc_within_ama`). Points never drop below what learners already claimed: that reads credit records,
so `cme.credit.moc_registrations` (above this module) checks it before calling the functions here.

Functions raise ActivityError and never commit.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Iterable

from sqlalchemy import delete, select

from cme.accounts.identity import Board
from cme.activities import service
from cme.activities.acpe import TOPICS as ACPE_TOPICS, uan_problem
from cme.activities.models import Activity, CreditType
from cme.activities.reporting_data import (
    ActivityContentTag, ActivityOutcomeMeasure, MocRegistration, OutcomeMeasure, moc_credit_types,
)
from cme.activities.service import ActivityError, moc_registrations
from cme.amounts import is_quarter_step
from cme.content_tags import ContentTag
from cme.extensions import db
from cme.timeutil import local_to_utc, zone

# PARS numbers an activity (digits, up to the column's 20) and its provider: ACCME provider IDs are digits too; we
# take 4 to 10 of them, leading zeros kept, as the provider's PARS account shows the number.
ACCME_ACTIVITY_ID = re.compile(r"[0-9]{1,20}")
ACCME_PROVIDER_ID = re.compile(r"[0-9]{4,10}")
ACCME_ACTIVITY_ID_PROBLEM = "An ACCME activity ID is the number PARS gave the activity: digits only (at most 20)."
ACCME_PROVIDER_ID_PROBLEM = "An ACCME provider ID is the provider's number in PARS: 4 to 10 digits."
MAX_PRACTICE_AREAS = 20
MAX_PRACTICE_AREA = 100


def accme_activity_id_problem(value: str) -> str | None:
    return None if ACCME_ACTIVITY_ID.fullmatch(value or "") else ACCME_ACTIVITY_ID_PROBLEM


def accme_provider_id_problem(value: str) -> str | None:
    return None if ACCME_PROVIDER_ID.fullmatch(value or "") else ACCME_PROVIDER_ID_PROBLEM


# ---------------------------------------------------------------- reading

def outcome_measures(activity: Activity) -> list[str]:
    """The outcome measures the activity records, in OutcomeMeasure's order."""
    chosen = set(db.session.scalars(select(ActivityOutcomeMeasure.measure).where(
        ActivityOutcomeMeasure.activity_id == activity.id)))
    return [m.value for m in OutcomeMeasure if m.value in chosen]


def content_tags(activity: Activity) -> list[str]:
    return content_tags_for([activity.id])[activity.id]


def covered_topics(activity: Activity) -> list[str]:
    """The labels of the state-mandated content the activity covers (its public page: "Covers: ...")."""
    return [ContentTag(tag).label for tag in content_tags(activity)]


def content_tags_for(activity_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each activity's content tags, in ContentTag's order (one query)."""
    ids = list(activity_ids)
    found: dict[int, set[str]] = {activity_id: set() for activity_id in ids}
    if ids:
        for activity_id, tag in db.session.execute(select(ActivityContentTag.activity_id, ActivityContentTag.tag)
                                                   .where(ActivityContentTag.activity_id.in_(ids))):
            found[activity_id].add(tag)
    return {activity_id: [t.value for t in ContentTag if t.value in tags] for activity_id, tags in found.items()}


def acpe_topic(activity: Activity) -> tuple[str, str] | None:
    """The topic designator of the activity's ACPE UAN and its name, e.g. ("08", "Pain management/opioids")."""
    uan = activity.acpe_uan
    if not uan or uan_problem(uan):
        return None
    designator = uan.rsplit("-", 2)[1][1:]
    return designator, ACPE_TOPICS[designator]


def claim_deadline_date(registration: MocRegistration, zone_name: str) -> date | None:
    """The registration's claim deadline as the local date it was entered as."""
    if registration.claim_deadline_dt is None:
        return None
    return registration.claim_deadline_dt.astimezone(zone(zone_name)).date()


def end_of_local_day(day: date, zone_name: str) -> datetime:
    """The last minute of `day` in the zone (23:59, which no zone skips), as aware UTC."""
    return local_to_utc(datetime.combine(day, time(23, 59)), zone_name, fold=0)


# ---------------------------------------------------------------- the ACCME IDs, outcome measures, content tags

def set_reporting_fields(activity: Activity, *, accme_activity_id: str | None, accme_provider_id: str | None,
                         measures: Iterable[str], tags: Iterable[str]) -> None:
    """Save the reporting page's main form: the two ACCME IDs (blank clears), the outcome measures and the
    content tags (each the whole new set)."""
    accme_activity_id, accme_provider_id = (accme_activity_id or "").strip() or None, \
        (accme_provider_id or "").strip() or None
    if accme_activity_id is not None and (problem := accme_activity_id_problem(accme_activity_id)):
        raise ActivityError(problem, code="accme_activity_id", field="accme_activity_id")
    if accme_provider_id is not None and (problem := accme_provider_id_problem(accme_provider_id)):
        raise ActivityError(problem, code="accme_provider_id", field="accme_provider_id")
    measures, tags = set(measures), set(tags)
    if unknown := measures - set(OutcomeMeasure._value2member_map_):
        raise ActivityError(f"Unknown outcome measure: {sorted(unknown)[0]}.", code="measure", field="outcome_measures")
    if unknown := tags - set(ContentTag._value2member_map_):
        raise ActivityError(f"Unknown content tag: {sorted(unknown)[0]}.", code="tag", field="content_tags")
    activity.accme_activity_id, activity.accme_provider_id = accme_activity_id, accme_provider_id
    db.session.execute(delete(ActivityOutcomeMeasure).where(ActivityOutcomeMeasure.activity_id == activity.id))
    db.session.execute(delete(ActivityContentTag).where(ActivityContentTag.activity_id == activity.id))
    db.session.add_all([ActivityOutcomeMeasure(activity_id=activity.id, measure=m) for m in sorted(measures)])
    db.session.add_all([ActivityContentTag(activity_id=activity.id, tag=t) for t in sorted(tags)])
    db.session.flush()


# ---------------------------------------------------------------- MOC registrations

def check_board_points(activity: Activity, board: str, points: Decimal) -> None:
    """A board's MOC points: positive, in 0.25 steps, never above the AMA designation."""
    acronym = Board(board).acronym
    if points <= 0 or not is_quarter_step(points):
        raise ActivityError(f"Give the {acronym} MOC points in steps of 0.25, more than 0.", code="points_step",
                            field="points")
    ama = next((d.max_amount for d in activity.credit_designations if d.credit_type == CreditType.AMA_PRA_1), None)
    if ama is None:
        raise ActivityError(f"Designate AMA PRA Category 1 Credit™ first: {acronym} MOC points never exceed it.",
                            code="moc_without_ama", field="points")
    if points > ama:
        raise ActivityError(f"{acronym} MOC points cannot exceed the AMA designation ({ama.normalize():f}).",
                            code="moc_over_ama", field="points")


def save_moc_registration(activity: Activity, registration: MocRegistration | None, *, board: str, points: Decimal,
                          credit_types: Iterable[str], practice_areas: Iterable[str],
                          claim_deadline: date | None) -> MocRegistration:
    """Add (`registration` None) or change the activity's registration with `board`. An ABIM registration's
    points are the ABIM_MOC designation's, set through `service.set_designation`."""
    if board not in Board._value2member_map_:
        raise ActivityError("Choose a certifying board.", code="board", field="board")
    if activity.is_cancelled:
        raise ActivityError("This activity has been cancelled: it can no longer be changed.", code="cancelled")
    acronym = Board(board).acronym
    others = [r for r in moc_registrations(activity) if r is not registration]
    if any(r.board == board for r in others):
        raise ActivityError(f"The activity is already registered with {acronym}: change that registration.",
                            code="board_taken", field="board")
    if registration is not None and registration.board != board:
        raise ActivityError("A registration's board cannot change: remove it and add one for the other board.",
                            code="board_fixed", field="board")
    allowed, chosen = moc_credit_types(board), set(credit_types)
    if chosen - set(allowed):
        raise ActivityError(f"{acronym} takes these credit types: {', '.join(allowed)}.", code="credit_types",
                            field="credit_types")
    credit_types = [t for t in allowed if t in chosen]
    if not credit_types:
        raise ActivityError(f"Tick at least one {acronym} credit type: {', '.join(allowed)}.", code="credit_types",
                            field="credit_types")
    areas = list(dict.fromkeys(area.strip() for area in practice_areas if area and area.strip()))
    if len(areas) > MAX_PRACTICE_AREAS or any(len(area) > MAX_PRACTICE_AREA for area in areas):
        raise ActivityError(f"List at most {MAX_PRACTICE_AREAS} practice areas, each at most {MAX_PRACTICE_AREA} "
                            "characters.", code="practice_areas", field="practice_areas")
    points = Decimal(points)
    check_board_points(activity, board, points)
    if registration is None:
        registration = MocRegistration(activity_id=activity.id, board=board, points=points)
        db.session.add(registration)
    registration.credit_types, registration.practice_areas = credit_types, areas
    registration.claim_deadline_dt = end_of_local_day(claim_deadline, activity.time_zone) if claim_deadline else None
    registration.points = points
    db.session.flush()
    if board == Board.ABIM:
        service.set_designation(activity, CreditType.ABIM_MOC.value, points)  # and so the registration's points
    return registration


def delete_moc_registration(registration: MocRegistration) -> None:
    """Remove a registration (ABIM's leaves the ABIM_MOC designation as it is: remove that on the credit panel)."""
    if registration.activity.is_cancelled:
        raise ActivityError("This activity has been cancelled: it can no longer be changed.", code="cancelled")
    db.session.delete(registration)
    db.session.flush()
