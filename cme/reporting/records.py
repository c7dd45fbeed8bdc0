"""The reportable completion records (issue 16, point 3), built from credit records, the learners' permissions and
their identity, per activity or per date range of completion, one activity at a time and streamed from the
database (`yield_per`): memory holds one activity's learners, never the whole export.

- PARS: one record per learner, activity and credit: CME (the AMA PRA Category 1 credit claimed, body ACCME) and
  MOC per board (ABIM: the ABIM MOC points claimed; another board: the AMA credit claimed, when the activity is
  registered for that board's MOC and the learner has an ID at that board or was asked about it).
- CPE Monitor: the ACPE contact hours of pharmacists and technicians (body NABP).
- CE Broker: ANCC contact hours (nurses, nurse practitioners), and the AAPA or participation hours of anyone with
  a state licence: one record per licence (body CE Broker).

Each record knows its key (kind, user, activity, subject) and the fields it reports (plain strings, the same for
every format: cme/reporting/formats.py writes them); `refusals` says why it cannot leave (validation.py)."""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from itertools import groupby
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, select

from cme.accounts.identity import Board, BoardIdentifier, ReportingBody, StateLicence
from cme.accounts.models import Profession, User, profession_label
from cme.activities.models import Activity, CreditType
from cme.activities.reporting_data import MocRegistration
from cme.credit.evaluation_models import EvaluationResponse, PostTestAttempt, PostTestQuestion
from cme.credit.models import CreditRecord, ReportingConsent
from cme.extensions import db
from cme.reporting import validation as check
from cme.reporting.models import ReportKind
from cme.reporting.validation import Refusal

STREAM_ROWS = 500  # credit records fetched at a time

KIND_CREDIT_TYPES = {
    ReportKind.PARS: (CreditType.AMA_PRA_1, CreditType.ABIM_MOC),
    ReportKind.CPE_MONITOR: (CreditType.ACPE,),
    ReportKind.CE_BROKER: (CreditType.ANCC, CreditType.AAPA_1, CreditType.PARTICIPATION),
}


@dataclass(frozen=True)
class Scope:
    """What an export covers: one activity, or the completions of a date range (inclusive) in the activities
    `activities` selects (an organizer's own, or all for an admin)."""
    label: str
    activities: Select  # a select of activity ids
    start: date | None = None
    end: date | None = None

    @property
    def start_dt(self) -> datetime | None:
        return None if self.start is None else _utc(self.start)

    @property
    def end_dt(self) -> datetime | None:
        return None if self.end is None else _utc(self.end + timedelta(days=1))


def _utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def activity_scope(activity: Activity) -> Scope:
    return Scope(f"activity {activity.id}", select(Activity.id).where(Activity.id == activity.id))


def range_scope(activities: Select, start: date, end: date) -> Scope:
    """`activities`: a select of the activity ids the person may export (their own, or all)."""
    return Scope(f"{start.isoformat()} to {end.isoformat()}", activities, start, end)


@dataclass
class Record:
    kind: ReportKind
    user_id: int
    activity_id: int
    subject: str  # "cme", a board ("abim"...), "acpe", or a licence ("ancc:NY:nurse")
    completed_dt: datetime
    fields: dict[str, Any]
    refusals: list[Refusal] = field(default_factory=list)
    learner_name: str = ""
    learner_email: str = ""

    @property
    def key(self) -> tuple[str, int, int, str]:
        return (self.kind.value, self.user_id, self.activity_id, self.subject)

    @property
    def ready(self) -> bool:
        return not self.refusals

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.fields)


def fingerprint(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def names_of(user: User) -> tuple[str, str]:
    """(given name, family name): the first word, and the rest ("Maria van der Berg" -> Maria, van der Berg)."""
    words = (user.full_name or "").split()
    return (words[0] if words else "", " ".join(words[1:]))


def _birth(user: User, sep: str = "/") -> str:
    if user.birth_month is None or user.birth_day is None:
        return ""
    return f"{user.birth_month:02d}{sep}{user.birth_day:02d}"


def activities_in(scope: Scope, kind: ReportKind) -> list[int]:
    """The ids of the scope's activities with credit of the kind's types (in the scope's dates), in order: ids
    only, each activity is loaded when its turn comes."""
    has_credit = exists().where(CreditRecord.activity_id == Activity.id,
                                CreditRecord.credit_type.in_(KIND_CREDIT_TYPES[kind]), *_dates(scope))
    return list(db.session.scalars(select(Activity.id).where(Activity.id.in_(scope.activities), has_credit)
                                   .order_by(Activity.id)))


def _dates(scope: Scope, column=CreditRecord.completed_dt) -> list:
    conditions = []
    if scope.start is not None:
        conditions.append(column >= scope.start_dt)
    if scope.end is not None:
        conditions.append(column < scope.end_dt)
    return conditions


def records(kind: ReportKind, scope: Scope, *, provider: str) -> Iterator[Record]:
    """Every record of `kind` in `scope`, ready or refused, activity by activity (by id), then by learner."""
    learners = LearnerChecks()
    for activity_id in activities_in(scope, kind):
        yield from activity_records(kind, db.session.get(Activity, activity_id), scope, provider=provider,
                                    learners=learners)


class LearnerChecks:
    """What each learner still has to give per body (`validation.learner_refusals`), asked once per export run:
    a learner completes many activities. Bounded (least recently used out), so memory does not grow with them."""

    LIMIT = 20_000

    def __init__(self) -> None:
        self._known: OrderedDict[tuple[int, str], list[Refusal]] = OrderedDict()

    def __call__(self, user: User, body: ReportingBody, *, licences: list[StateLicence],
                 board_ids: dict[str, str]) -> list[Refusal]:
        key = (user.id, body.value)
        if key in self._known:
            self._known.move_to_end(key)
        else:
            self._known[key] = check.learner_refusals(user, body, licences=licences, board_ids=board_ids)
            if len(self._known) > self.LIMIT:
                self._known.popitem(last=False)
        return self._known[key]


class _Context:
    """What one activity's records need about its learners, each read in one query."""

    def __init__(self, activity: Activity, users: Select, learners: LearnerChecks):
        self.activity = activity
        self.learners = learners
        self.consents: dict[tuple[int, str], bool] = {
            (c.user_id, c.body): c.granted for c in db.session.execute(
                select(ReportingConsent.user_id, ReportingConsent.body, ReportingConsent.granted)
                .where(ReportingConsent.activity_id == activity.id))}
        self.licences: dict[int, list[StateLicence]] = defaultdict(list)
        for licence in db.session.scalars(select(StateLicence).where(StateLicence.user_id.in_(users))
                                          .order_by(StateLicence.user_id, StateLicence.state, StateLicence.id)):
            self.licences[licence.user_id].append(licence)
        self.board_ids: dict[int, dict[str, str]] = defaultdict(dict)
        for row in db.session.execute(select(BoardIdentifier.user_id, BoardIdentifier.board, BoardIdentifier.value)
                                      .where(BoardIdentifier.user_id.in_(users))):
            self.board_ids[row.user_id][row.board] = row.value
        self.moc = {r.board: r for r in db.session.scalars(
            select(MocRegistration).where(MocRegistration.activity_id == activity.id))}
        self.evaluated: set[int] | None = None
        self.passed: set[int] | None = None
        self.has_post_test: bool | None = None

    def learner(self, user: User, body: ReportingBody) -> list[Refusal]:
        return list(self.learners(user, body, licences=self.licences[user.id], board_ids=self.board_ids[user.id]))

    def permission(self, user_id: int, body: ReportingBody) -> list[Refusal]:
        return check.permission_refusals(self.consents.get((user_id, body.value)), body)

    def evaluation_state(self, user_id: int) -> tuple[bool, bool | None]:
        """(evaluation answered, post-test passed: None when the activity has no post-test)."""
        if self.evaluated is None:
            self.evaluated = set(db.session.scalars(select(EvaluationResponse.user_id).where(
                EvaluationResponse.activity_id == self.activity.id)))
            self.has_post_test = db.session.scalar(select(PostTestQuestion.id).where(
                PostTestQuestion.activity_id == self.activity.id).limit(1)) is not None
            self.passed = set(db.session.scalars(select(PostTestAttempt.user_id).where(
                PostTestAttempt.activity_id == self.activity.id, PostTestAttempt.passed)))
        return user_id in self.evaluated, (user_id in self.passed) if self.has_post_test else None

    def board_id(self, user: User, board: Board) -> str:
        return (user.abim_id if board == Board.ABIM else self.board_ids[user.id].get(board.value)) or ""


def activity_records(kind: ReportKind, activity: Activity, scope: Scope, *, provider: str,
                     learners: LearnerChecks | None = None) -> Iterator[Record]:
    credit = (CreditRecord.activity_id == activity.id, CreditRecord.credit_type.in_(KIND_CREDIT_TYPES[kind]),
              *_dates(scope))
    users = select(CreditRecord.user_id).where(*credit)
    context = _Context(activity, users, learners or LearnerChecks())
    rows = db.session.execute(select(CreditRecord, User).join(User, User.id == CreditRecord.user_id)
                              .where(*credit).order_by(CreditRecord.user_id, CreditRecord.credit_type)
                              .execution_options(yield_per=STREAM_ROWS))
    build = {ReportKind.PARS: _pars, ReportKind.CPE_MONITOR: _cpe, ReportKind.CE_BROKER: _ce_broker}[kind]
    for _user_id, group in groupby(rows, key=lambda row: row[0].user_id):
        group = list(group)
        user = group[0][1]
        credits = {row[0].credit_type: row[0] for row in group}
        for record in build(context, user, credits, provider):
            record.learner_name, record.learner_email = user.full_name, user.email
            yield record


def _common(activity: Activity, user: User, completed_dt: datetime) -> dict[str, Any]:
    given, family = names_of(user)
    # The completion date is the activity's local date (an evening in Los Angeles is not tomorrow).
    local_day = completed_dt.astimezone(ZoneInfo(activity.time_zone)).date()
    return {"given_name": given, "family_name": family, "activity_title": activity.title,
            "completed_on": local_day.isoformat()}


def _pars(context: _Context, user: User, credits: dict[str, CreditRecord], provider: str) -> Iterator[Record]:
    activity = context.activity
    ama = credits.get(CreditType.AMA_PRA_1)
    moc = credits.get(CreditType.ABIM_MOC)
    activity_side = check.pars_activity_refusals(activity)
    licences = context.licences[user.id]
    base = {"provider_id": activity.accme_provider_id or "", "activity_id": activity.accme_activity_id or "",
            "organization": provider, "birth": _birth(user, "-")}
    if ama is not None:
        identifiers = [[lic.state, lic.number] for lic in licences]
        identifiers += [[Board(b).acronym, v] for b, v in sorted(context.board_ids[user.id].items())]
        if user.abim_id:
            identifiers.append(["ABIM", user.abim_id])
        fields = {**base, **_common(activity, user, ama.completed_dt), "credit": "cme", "board": "",
                  "identifiers": identifiers, "amount": f"{ama.amount:.2f}",
                  "completed_dt": ama.completed_dt.isoformat()}
        refusals = check.one_licence_reason([
            *context.learner(user, ReportingBody.ACCME), *check.licence_refusals(licences),
            *check.amount_refusals(ama.amount), *context.permission(user.id, ReportingBody.ACCME), *activity_side])
        yield Record(ReportKind.PARS, user.id, activity.id, "cme", ama.completed_dt, fields, refusals)
    boards: dict[Board, Decimal] = {}
    if moc is not None:
        boards[Board.ABIM] = moc.amount
    if ama is not None:
        for board_value in context.moc:
            board = Board(board_value)
            if board == Board.ABIM:
                continue
            asked = (user.id, board.value) in context.consents or board.value in context.board_ids[user.id]
            if asked:
                boards[board] = ama.amount
    for board, points in boards.items():
        source = moc if board == Board.ABIM else ama
        body = ReportingBody.for_board(board)
        fields = {**base, **_common(activity, user, source.completed_dt), "credit": "moc", "board": board.acronym,
                  "identifiers": [[board.acronym, context.board_id(user, board)]], "amount": f"{points:.2f}",
                  "completed_dt": source.completed_dt.isoformat()}
        refusals = [*context.learner(user, body), *check.amount_refusals(points),
                    *check.moc_over_ama_refusals(points, ama.amount if ama else None),
                    *context.permission(user.id, body), *activity_side]
        if board == Board.ABP:
            evaluated, passed = context.evaluation_state(user.id)
            registration = context.moc.get(board.value)
            refusals += check.abp_refusals(points, registration.points if registration else points,
                                           evaluated=evaluated, post_test=passed, reported_before=False)
        yield Record(ReportKind.PARS, user.id, activity.id, board.value, source.completed_dt, fields, refusals)


def _cpe(context: _Context, user: User, credits: dict[str, CreditRecord], provider: str) -> Iterator[Record]:
    activity = context.activity
    acpe = credits.get(CreditType.ACPE)
    if acpe is None:
        return
    uan = activity.acpe_uan or ""
    fields = {**_common(activity, user, acpe.completed_dt), "nabp_id": user.nabp_eprofile_id or "",
              "birth": _birth(user, "-"), "uan": uan, "hours": f"{acpe.amount:.2f}",
              "participant": {Profession.PHARMACIST: "P", Profession.PHARMACY_TECHNICIAN: "T"}.get(user.profession, "")}
    refusals = [*context.learner(user, ReportingBody.NABP), *check.amount_refusals(acpe.amount),
                *context.permission(user.id, ReportingBody.NABP),
                *check.cpe_activity_refusals(activity, user.profession)]
    yield Record(ReportKind.CPE_MONITOR, user.id, activity.id, "acpe", acpe.completed_dt, fields, refusals)


def _ce_broker(context: _Context, user: User, credits: dict[str, CreditRecord], provider: str) -> Iterator[Record]:
    activity = context.activity
    licences = context.licences[user.id]
    for credit_type, record in credits.items():
        if credit_type != CreditType.ANCC and not licences:
            continue  # CE Broker takes the hours of those it holds a licence of; nurses are asked for theirs
        activity_side = check.ce_broker_activity_refusals(activity)
        common = {**_common(activity, user, record.completed_dt), "tracking_number":
                  activity.ce_broker_tracking_number or "", "hours": f"{record.amount:.2f}",
                  "credit_type": CreditType(credit_type).label}
        base_refusals = [*context.learner(user, ReportingBody.CE_BROKER), *check.amount_refusals(record.amount),
                         *context.permission(user.id, ReportingBody.CE_BROKER), *activity_side]
        if not licences:
            yield Record(ReportKind.CE_BROKER, user.id, activity.id, f"{credit_type}:none", record.completed_dt,
                         {**common, "licence_number": "", "state": "", "profession": ""}, base_refusals)
            continue
        for licence in licences:
            fields = {**common, "licence_number": licence.number, "state": licence.state,
                      "profession": profession_label(licence.profession)}
            yield Record(ReportKind.CE_BROKER, user.id, activity.id,
                         f"{credit_type}:{licence.state}:{licence.profession}", record.completed_dt, fields,
                         check.one_licence_reason([*base_refusals, *check.licence_refusals([licence])]))
