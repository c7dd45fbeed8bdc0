"""Outcomes and analytics (issue 16, point 6): what happened at an activity, and a year across activities.

Plain data out, a fixed number of queries in, whatever the number of sessions, questions, learners or activities
(tests/test_analytics.py counts them). The charts and tables are drawn from these by the views' templates.

The yearly summary is the one computation of an accreditation year's activity figures: the pages show it, and the
PARS activity-data export calls `yearly_summary` so the two always agree. Its choices:
- An activity belongs to the year in which it ends, on the calendar of its own time zone (an on-demand webcast: the
  end of its availability), so a meeting ending on Dec 31 at 9 pm in Honolulu is that year's, not the next one's.
- Only published activities count: drafts never ran, and an activity that ran cannot be cancelled afterwards.
- Learners are counted as PARS counts them: the distinct people who received credit (any credit record, including
  a certificate of participation's hours) for the activity; physicians are those `User.is_physician` says are (the
  profession physician, or another profession with an MD, DO or equivalent degree), every other person is an
  "other learner". A year's totals add the activities' counts, as PARS's annual totals do.
- Hours of instruction: a live activity's scheduled hours (`activities.service.scheduled_hours`: its sessions,
  overlaps counted once, or its span); an on-demand webcast's largest designated credit (its estimated time to
  complete; its availability spans weeks and is no measure of instruction)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import distinct, func, select

from cme.accounts.models import Profession, User
from cme.activities.models import Activity, ActivityFormat, ActivitySession, CreditType
from cme.attendance.models import Attendance
from cme.credit.evaluation import DEFAULT_EVALUATION, LIKERT, QuestionSummary, evaluation_summary
from cme.credit.evaluation_models import EvaluationQuestion, QuestionKind
from cme.credit.models import CreditRecord
from cme.extensions import db
from cme.registration.models import Registration, RegistrationStatus
from cme.reporting.pars_activities import activities_of_year, hours_of_instruction, learner_counts, local_end_year
from cme.timeutil import utc_to_local

# ---------------------------------------------------------------- one activity


@dataclass(frozen=True)
class DayCount:
    day: date  # in the activity's time zone
    new: int
    total: int  # registered by the end of that day


def registrations_by_day(activity: Activity) -> list[DayCount]:
    """The people registered now (confirmed, offered a seat or waitlisted: not cancelled), by the day they
    registered in the activity's time zone, cumulative, every day from the first registration to the last."""
    instants = db.session.scalars(select(Registration.registered_dt).where(
        Registration.activity_id == activity.id, Registration.status != RegistrationStatus.CANCELLED)).all()
    per_day = Counter(utc_to_local(instant, activity.time_zone).date() for instant in instants)
    if not per_day:
        return []
    days, total, day, last = [], 0, min(per_day), max(per_day)
    while day <= last:
        total += per_day[day]
        days.append(DayCount(day, per_day[day], total))
        day += timedelta(days=1)
    return days


@dataclass(frozen=True)
class AttendanceCount:
    label: str
    count: int
    session_id: int | None = None


@dataclass(frozen=True)
class AttendanceSummary:
    kind: str  # "sessions" (check-ins per agenda session), "meeting" (whole-meeting check-ins), "viewers" (webcasts)
    counts: list[AttendanceCount]


def attendance_by_session(activity: Activity) -> AttendanceSummary:
    """Checked-in people per agenda session, in the agenda's order; with no agenda, the people checked in to the
    whole meeting; for a webcast, the people with recorded viewing time. Two queries."""
    if activity.is_webcast:
        viewers = db.session.scalar(select(func.count(distinct(Attendance.user_id))).where(
            Attendance.activity_id == activity.id, Attendance.watched_seconds > 0)) or 0
        return AttendanceSummary("viewers", [AttendanceCount("Watched", viewers)])
    sessions = db.session.scalars(select(ActivitySession).where(ActivitySession.activity_id == activity.id)
                                  .order_by(ActivitySession.start_dt, ActivitySession.id)).all()
    counts = dict(db.session.execute(
        select(Attendance.session_id, func.count(distinct(Attendance.user_id)))
        .where(Attendance.activity_id == activity.id, Attendance.checked_in_dt.isnot(None))
        .group_by(Attendance.session_id)).tuples().all())
    if not sessions:
        return AttendanceSummary("meeting", [AttendanceCount("Whole meeting", counts.get(None, 0))])
    return AttendanceSummary("sessions", [
        AttendanceCount(f"{utc_to_local(s.start_dt, activity.time_zone):%a %-I:%M %p} · {s.title}",
                        counts.get(s.id, 0), s.id) for s in sessions])


@dataclass(frozen=True)
class AnswerCount:
    label: str
    count: int


@dataclass(frozen=True)
class QuestionResult:
    key: str
    kind: str
    prompt: str
    answered: int
    counts: list[AnswerCount]  # likert ("1 · Strongly disagree" .. "5 · Strongly agree") and choice questions
    texts: list[str]  # free-text answers, oldest first
    mean: float | None


def _result(summary: QuestionSummary) -> QuestionResult:
    question = summary.question
    if question.kind == QuestionKind.LIKERT:
        counts = [AnswerCount(f"{LIKERT.index(label) + 1} · {label}", n) for label, n in summary.counts]
    else:
        counts = [AnswerCount(label, n) for label, n in summary.counts]
    return QuestionResult(question.key, question.kind, question.prompt, summary.answered, counts,
                          list(summary.texts), summary.mean)


# "Will you change your practice as a result of this activity?": the default evaluation's question, and the answer
# that says yes. Found by its place in DEFAULT_EVALUATION, never by its wording (see practice_change_key).
PRACTICE_CHANGE_INDEX = 2
PRACTICE_CHANGE = DEFAULT_EVALUATION[PRACTICE_CHANGE_INDEX]
PRACTICE_CHANGE_YES = PRACTICE_CHANGE["choices"][0]


def practice_change_key(activity: Activity) -> str | None:
    """The answer key of the activity's "change your practice" question, or None when it has none. With the
    default evaluation it is the default's key (`d2`, credit.evaluation); once the organizer customises the
    evaluation, the default set is copied into its questions in order (`add_evaluation_question`), so it is the
    copy at that position, as long as it is still the same choice question (one removed and replaced by another at
    that position is not it). One query."""
    rows = db.session.execute(select(EvaluationQuestion.id, EvaluationQuestion.position, EvaluationQuestion.kind,
                                     EvaluationQuestion.choices)
                              .where(EvaluationQuestion.activity_id == activity.id)).all()
    if not rows:
        return f"d{PRACTICE_CHANGE_INDEX}"
    for question_id, position, kind, choices in rows:
        if (position == PRACTICE_CHANGE_INDEX and kind == PRACTICE_CHANGE["kind"]
                and list(choices or []) == PRACTICE_CHANGE["choices"]):
            return f"q{question_id}"
    return None


@dataclass(frozen=True)
class PracticeChange:
    answered: int
    intending: int  # answered "Yes"
    counts: list[AnswerCount]

    @property
    def share(self) -> float:
        return self.intending / self.answered if self.answered else 0.0


@dataclass(frozen=True)
class EvaluationResults:
    responses: int
    questions: list[QuestionResult]
    practice_change: PracticeChange | None  # None: the evaluation does not ask it


def evaluation_results(activity: Activity) -> EvaluationResults:
    """Answers per question (credit.evaluation's anonymous summary) and the share intending to change practice."""
    responses, summaries = evaluation_summary(activity)
    questions = [_result(summary) for summary in summaries]
    key = practice_change_key(activity)
    asked = next((q for q in questions if q.key == key), None)
    change = None
    if asked is not None:
        intending = next((c.count for c in asked.counts if c.label == PRACTICE_CHANGE_YES), 0)
        change = PracticeChange(asked.answered, intending, asked.counts)
    return EvaluationResults(responses, questions, change)


@dataclass(frozen=True)
class CreditCell:
    credit_type: str
    credit_label: str
    profession: str
    profession_label: str
    amount: Decimal
    learners: int


@dataclass(frozen=True)
class CreditTotal:
    key: str
    label: str
    amount: Decimal | None  # by credit type: the amount claimed; by profession: None (units differ across types)
    learners: int


@dataclass(frozen=True)
class CreditClaimed:
    cells: list[CreditCell]  # per credit type and profession
    by_type: list[CreditTotal]
    by_profession: list[CreditTotal]
    learners: int  # distinct people credited


def _profession_label(value: str) -> str:
    return Profession(value).label if value in Profession._value2member_map_ else "Not given"


def credit_claimed(activity: Activity) -> CreditClaimed:
    """Credit claimed, per credit type and profession (the learner's profile): the amount and the learners. Three
    queries (the grouped sums, and distinct learners per profession and overall)."""
    rows = db.session.execute(
        select(CreditRecord.credit_type, User.profession, func.sum(CreditRecord.amount),
               func.count(distinct(CreditRecord.user_id)))
        .join(User, User.id == CreditRecord.user_id).where(CreditRecord.activity_id == activity.id)
        .group_by(CreditRecord.credit_type, User.profession)).all()
    per_profession = dict(db.session.execute(
        select(User.profession, func.count(distinct(CreditRecord.user_id)))
        .join(User, User.id == CreditRecord.user_id).where(CreditRecord.activity_id == activity.id)
        .group_by(User.profession)).tuples().all())
    learners = db.session.scalar(select(func.count(distinct(CreditRecord.user_id)))
                                 .where(CreditRecord.activity_id == activity.id)) or 0
    type_order = {c.value: i for i, c in enumerate(CreditType)}
    profession_order = {p.value: i for i, p in enumerate(Profession)}
    cells = sorted((CreditCell(t, CreditType(t).label, p, _profession_label(p), Decimal(amount or 0), n)
                    for t, p, amount, n in rows),
                   key=lambda c: (type_order.get(c.credit_type, 99), profession_order.get(c.profession, 99)))
    by_type: dict[str, CreditTotal] = {}
    for cell in cells:
        known = by_type.get(cell.credit_type)
        by_type[cell.credit_type] = CreditTotal(
            cell.credit_type, cell.credit_label, (known.amount if known else Decimal(0)) + cell.amount,
            (known.learners if known else 0) + cell.learners)  # one profession per person: the counts add up
    by_profession = [CreditTotal(p, _profession_label(p), None, n) for p, n in
                     sorted(per_profession.items(), key=lambda item: profession_order.get(item[0], 99))]
    return CreditClaimed(cells, list(by_type.values()), by_profession, learners)


# ---------------------------------------------------------------- a year across activities


@dataclass(frozen=True)
class ActivityYear:
    activity_id: int
    title: str
    format: str
    format_label: str
    time_zone: str
    start_day: date  # in the activity's time zone
    end_day: date
    physicians: int
    others: int
    hours: Decimal

    @property
    def learners(self) -> int:
        return self.physicians + self.others


@dataclass(frozen=True)
class FormatCount:
    format: str
    label: str
    activities: int


@dataclass(frozen=True)
class YearlySummary:
    year: int
    rows: list[ActivityYear]  # by end, then title
    by_format: list[FormatCount]  # every format, zero included, in ActivityFormat's order
    physicians: int
    others: int
    hours: Decimal

    @property
    def activities(self) -> int:
        return len(self.rows)

    @property
    def learners(self) -> int:
        return self.physicians + self.others


def year_of(activity: Activity) -> int:
    """The accreditation year an activity is reported in: the year of its end in its own time zone."""
    return local_end_year(activity)


def yearly_summary(year: int, *, user: User | None = None,
                   activities: Iterable[Activity] | None = None) -> YearlySummary:
    """The year's published activities (all of them; those `user` organizes unless an admin; or those among
    `activities`), each with its learners and hours, and the totals. The activities, their hours and learner counts
    are the PARS activity export's own (cme/reporting/pars_activities.py), so the two always agree. A fixed number
    of queries whatever the number of activities and learners."""
    chosen = activities_of_year(year, user)
    if activities is not None:
        wanted = {a.id for a in activities}
        chosen = [a for a in chosen if a.id in wanted]
    counts = learner_counts(a.id for a in chosen)
    rows = []
    for activity in chosen:
        learners = counts[activity.id]
        rows.append(ActivityYear(
            activity.id, activity.title, activity.format, activity.format_label, activity.time_zone,
            utc_to_local(activity.start_dt, activity.time_zone).date(),
            utc_to_local(activity.end_dt, activity.time_zone).date(), learners.physicians, learners.others,
            hours_of_instruction(activity)))
    rows.sort(key=lambda r: (r.end_day, r.title.casefold(), r.activity_id))
    formats = Counter(r.format for r in rows)
    return YearlySummary(
        year, rows, [FormatCount(f.value, f.label, formats[f.value]) for f in ActivityFormat],
        sum(r.physicians for r in rows), sum(r.others for r in rows), sum((r.hours for r in rows), Decimal(0)))
