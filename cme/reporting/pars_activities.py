"""PARS activity data for ACCME's yearly report (issue 16, point 3, second bullet): one row per activity of a year.

Which activities: those published (cancelled ones took no learners, drafts never ran) whose end falls in the year
in the activity's own time zone (a webcast ending at 11 PM on December 31 in Los Angeles belongs to that year).

Columns, in this order (the PARS field each fills):
  ACCME activity ID            Activity ID (blank until PARS numbers the activity)
  Provider ID                  Provider ID
  Activity title               Activity Title
  Activity type                Activity Type: Course (a live meeting), Internet Live Course (a live webcast),
                               Internet Enduring Material (an on-demand webcast)
  Start date, End date         Start Date, End Date (MM/DD/YYYY, local to the activity)
  Hours of instruction         Hours of Instruction: the agenda's hours (overlaps counted once); an on-demand webcast
                               without an agenda: the most credit it designates (the time it takes)
  AMA PRA Category 1 Credit    Credits Designated (AMA PRA Category 1 Credit™; blank when none)
  Other credit designated      e.g. "ANCC contact hours 3.00; ACPE contact hours 3.00"
  Providership                 Directly Provided / Jointly Provided (accreditation_kind)
  Joint provider               the joint provider's name(s)
  Commercial support           "None", or each supporter: "AbbVie: monetary 1000.00; Gilead: in-kind"
  Monetary support total       Commercial Support Amount (US dollars, 2 decimals)
  Outcome measures             Outcomes Measured, e.g. "Learner competence; Patient health"
  MOC boards                   MOC registrations: "ABIM 2.00 (Medical Knowledge); ABP 1.00 (...)"
  Physicians                   Number of Physician Learners
  Other learners               Number of Other Learners

Learner counts: a learner "received credit" for an activity when they have a CreditRecord for it (any credit type,
a certificate of participation's hours included). Physicians are those `User.is_physician` says are (profession
physician, or "other" with a physician's degree: `_is_physician` is the same rule in SQL, and a test holds them
equal); other learners are the rest. `learner_counts` is the one home of these counts (the analytics' yearly
summary reads it too).

Builders are pure functions over the rows and return bytes: tab-delimited (UTF-8, CRLF, like the learner file; a
tab or line break inside a value becomes a space), CSV (for spreadsheets: UTF-8 with a BOM) and JSON. Every text
cell is neutralised against formula injection (cme.csvexport.safe_cell).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Iterable, Iterator, Sequence

from sqlalchemy import and_, case, distinct, func, or_, select
from sqlalchemy.orm import selectinload

from cme.accounts.identity import Board
from cme.accounts.models import PHYSICIAN_DEGREES, Profession, User
from cme.activities.models import (
    AccreditationKind, Activity, ActivityFormat, ActivityStatus, CreditType, SupportKind,
)
from cme.activities.reporting_data import ActivityOutcomeMeasure, MocRegistration, OutcomeMeasure
from cme.activities.service import organizer_activities_query, scheduled_hours
from cme.credit.models import CreditRecord
from cme.csvexport import csv_bytes, safe_cell
from cme.extensions import db
from cme.timeutil import now_utc, zone

PARS_ACTIVITY_TYPES = {
    ActivityFormat.LIVE_MEETING: "Course",
    ActivityFormat.LIVE_WEBCAST: "Internet Live Course",
    ActivityFormat.ON_DEMAND_WEBCAST: "Internet Enduring Material",
}
COLUMNS = ("ACCME activity ID", "Provider ID", "Activity title", "Activity type", "Start date", "End date",
           "Hours of instruction", "AMA PRA Category 1 Credit", "Other credit designated", "Providership",
           "Joint provider", "Commercial support", "Monetary support total", "Outcome measures", "MOC boards",
           "Physicians", "Other learners")
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class LearnerCounts:
    physicians: int = 0
    others: int = 0

    @property
    def total(self) -> int:
        return self.physicians + self.others


def _is_physician():
    """`User.is_physician` as SQL."""
    return or_(User.profession == Profession.PHYSICIAN,
               and_(User.profession == Profession.OTHER, User.degree.in_(PHYSICIAN_DEGREES)))


def learner_counts(activity_ids: Iterable[int]) -> dict[int, LearnerCounts]:
    """Per activity, the distinct learners who received credit (a CreditRecord), physicians and others (one
    query; an activity nobody claimed for counts zero)."""
    ids = sorted(set(activity_ids))
    counts = {activity_id: LearnerCounts() for activity_id in ids}
    if not ids:
        return counts
    physician = case((_is_physician(), CreditRecord.user_id), else_=None)
    rows = db.session.execute(
        select(CreditRecord.activity_id, func.count(distinct(physician)), func.count(distinct(CreditRecord.user_id)))
        .join(User, User.id == CreditRecord.user_id).where(CreditRecord.activity_id.in_(ids))
        .group_by(CreditRecord.activity_id))
    for activity_id, physicians, everyone in rows:
        counts[activity_id] = LearnerCounts(physicians=physicians, others=everyone - physicians)
    return counts


# ---------------------------------------------------------------- the year's activities

def local_end_year(activity: Activity) -> int:
    return activity.end_dt.astimezone(zone(activity.time_zone)).year


def activities_of_year(year: int, user: User | None = None) -> list[Activity]:
    """The published activities whose end falls in `year` in their own zone, by end; only those `user` organizes
    unless they are an admin (None: all, for the command line). A fixed number of queries."""
    # Any zone is within 14 hours of UTC: a day on each side holds every candidate; the local year decides.
    start = datetime(year, 1, 1, tzinfo=timezone.utc) - timedelta(days=1)
    end = datetime(year + 1, 1, 1, tzinfo=timezone.utc) + timedelta(days=1)
    stmt = organizer_activities_query(user) if user is not None else select(Activity)
    stmt = (stmt.order_by(None).where(Activity.status == ActivityStatus.PUBLISHED, Activity.end_dt >= start,
                                      Activity.end_dt < end)
            .options(selectinload(Activity.credit_designations), selectinload(Activity.commercial_supports),
                     selectinload(Activity.sessions))
            .order_by(Activity.end_dt, Activity.id))
    return [a for a in db.session.scalars(stmt) if local_end_year(a) == year]


@dataclass(frozen=True)
class ParsActivityRow:
    accme_activity_id: str
    provider_id: str
    title: str
    activity_type: str
    start_date: str
    end_date: str
    hours: str
    ama_credit: str
    other_credit: str
    providership: str
    joint_provider: str
    commercial_support: str
    monetary_total: str
    outcome_measures: str
    moc_boards: str
    physicians: int
    other_learners: int

    def values(self) -> list[object]:
        return list(asdict(self).values())


def _amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _date(instant: datetime, zone_name: str) -> str:
    return instant.astimezone(zone(zone_name)).strftime("%m/%d/%Y")


def hours_of_instruction(activity: Activity) -> Decimal:
    if activity.is_on_demand and not activity.sessions:
        return max((d.max_amount for d in activity.credit_designations), default=Decimal(0))
    return scheduled_hours(activity)


def pars_activity_rows(activities: Sequence[Activity], *, default_provider_id: str | None = None
                       ) -> Iterator[ParsActivityRow]:
    """One row per activity, in the given order (three queries for any number of activities)."""
    ids = [a.id for a in activities]
    measures: dict[int, set[str]] = {i: set() for i in ids}
    registrations: dict[int, list[MocRegistration]] = {i: [] for i in ids}
    if ids:
        for activity_id, measure in db.session.execute(select(
                ActivityOutcomeMeasure.activity_id, ActivityOutcomeMeasure.measure).where(
                ActivityOutcomeMeasure.activity_id.in_(ids))):
            measures[activity_id].add(measure)
        board_order = {board.value: index for index, board in enumerate(Board)}
        for registration in db.session.scalars(select(MocRegistration).where(MocRegistration.activity_id.in_(ids))):
            registrations[registration.activity_id].append(registration)
        for found in registrations.values():
            found.sort(key=lambda r: board_order.get(r.board, len(board_order)))
    counts = learner_counts(ids)
    for activity in activities:
        designations = {d.credit_type: d.max_amount for d in activity.credit_designations}
        supports = activity.commercial_supports
        yield ParsActivityRow(
            accme_activity_id=activity.accme_activity_id or "",
            provider_id=activity.accme_provider_id or default_provider_id or "",
            title=activity.title,
            activity_type=PARS_ACTIVITY_TYPES[ActivityFormat(activity.format)],
            start_date=_date(activity.start_dt, activity.time_zone),
            end_date=_date(activity.end_dt, activity.time_zone),
            hours=_amount(hours_of_instruction(activity)),
            ama_credit=_amount(designations.get(CreditType.AMA_PRA_1)),
            other_credit="; ".join(f"{CreditType(t).label} {_amount(designations[t])}" for t in CreditType
                                   if t != CreditType.AMA_PRA_1 and t in designations),
            providership="Jointly Provided" if activity.accreditation_kind == AccreditationKind.JOINT_PROVIDERSHIP
            else "Directly Provided",
            joint_provider=activity.joint_provider or "",
            commercial_support="; ".join(
                f"{s.company}: " + (f"monetary {_amount(s.amount)}" if s.kind == SupportKind.MONETARY and s.amount
                                    is not None else "monetary" if s.kind == SupportKind.MONETARY else "in-kind")
                for s in supports) or "None",
            monetary_total=_amount(sum((s.amount or Decimal(0) for s in supports if s.kind == SupportKind.MONETARY),
                                       Decimal(0))),
            outcome_measures="; ".join(m.label for m in OutcomeMeasure if m.value in measures[activity.id]),
            moc_boards="; ".join(f"{Board(r.board).acronym} {_amount(r.points)} ({', '.join(r.credit_types)})"
                                 for r in registrations[activity.id]),
            physicians=counts[activity.id].physicians,
            other_learners=counts[activity.id].others)


# ---------------------------------------------------------------- the files

def _tab_cell(value: object) -> str:
    return " ".join(safe_cell(value).replace("\t", " ").splitlines())


def tab_lines(rows: Iterable[ParsActivityRow]) -> Iterator[bytes]:
    """The tab-delimited file, a line at a time (UTF-8, CRLF, header first)."""
    yield ("\t".join(COLUMNS) + "\r\n").encode("utf-8")
    for row in rows:
        yield ("\t".join(_tab_cell(value) for value in row.values()) + "\r\n").encode("utf-8")


def build_tab(rows: Iterable[ParsActivityRow]) -> bytes:
    return b"".join(tab_lines(rows))


def build_csv(rows: Iterable[ParsActivityRow]) -> bytes:
    return csv_bytes(COLUMNS, (row.values() for row in rows))


def build_json(rows: Iterable[ParsActivityRow], *, year: int, created: datetime | None = None) -> bytes:
    """{"year", "created" (UTC, ISO 8601), "columns", "activities": [{field: value}]}; counts are numbers."""
    document = {"year": year, "created": (created or now_utc()).isoformat(timespec="seconds"),
                "columns": list(COLUMNS), "activities": [asdict(row) for row in rows]}
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


FORMATS = {"tab": ("text/tab-separated-values; charset=utf-8", "txt"), "csv": ("text/csv; charset=utf-8", "csv"),
           "json": ("application/json", "json")}


def export(year: int, fmt: str, *, user: User | None = None, default_provider_id: str | None = None) -> bytes:
    """The year's PARS activity file in `fmt` (one of FORMATS) for what `user` organizes (None: everything)."""
    rows = pars_activity_rows(activities_of_year(year, user), default_provider_id=default_provider_id)
    if fmt == "tab":
        return build_tab(rows)
    if fmt == "csv":
        return build_csv(rows)
    if fmt == "json":
        return build_json(rows, year=year)
    raise ValueError(f"Unknown format {fmt!r}: one of {', '.join(FORMATS)}.")


def parse_year(text: str | None, *, today: date | None = None) -> int:
    """A year from a query string, FIRST_YEAR to LAST_YEAR; anything else: the current year."""
    text = (text or "").strip()
    if text.isascii() and text.isdigit() and len(text) == 4 and FIRST_YEAR <= int(text) <= LAST_YEAR:
        return int(text)
    return (today or now_utc().date()).year

