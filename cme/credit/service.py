"""Credit: attendance (check-ins and viewing time), evaluations and post-tests, claims with their limits,
organizer adjustments with an audit trail, and the learner's transcript.

The claim rules (../shared/DESIGN.md): at most the designated amount, in 0.25 steps, only after the activity
ends (live) or after watching (on demand), only after the evaluation (and a passed post-test where one
exists), with the attestation, and at most what attendance supports; one record per learner, activity and
credit type, which the learner may correct until the claim deadline.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from cme.accounts.models import User
from cme.activities.models import Activity, ActivitySession, CreditType
from cme.activities.service import scheduled_hours
from cme.credit.evaluation_models import (  # noqa: I001
    CreditAdjustment, EvaluationQuestion, EvaluationResponse, PostTestAttempt, PostTestQuestion, QuestionKind,
)
from cme.credit.models import Attendance, CreditRecord
from cme.credit.transcript import Transcript, TranscriptLine, TranscriptYear
from cme.errors import DomainError
from cme.extensions import db
from cme.registration.models import Registration, RegistrationStatus
from cme.timeutil import now_utc

HEARTBEAT_SECONDS = 60
# A report counts the wall time since the previous one if that is at most this long (the interval plus slack);
# after a longer gap (page hidden, closed) it starts a new stretch and counts nothing.
MAX_HEARTBEAT_GAP = timedelta(seconds=90)
QUARTER = Decimal("0.25")

LIKERT = ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"]
DEFAULT_EVALUATION = [
    {"kind": "likert", "prompt": "The activity met its stated learning objectives.", "choices": []},
    {"kind": "likert", "prompt": "The content was free of commercial bias.", "choices": []},
    {"kind": "choice", "prompt": "Will you change your practice as a result of this activity?",
     "choices": ["Yes", "No", "Not sure", "This activity confirmed my current practice"]},
    {"kind": "text", "prompt": "What will you do differently, or what would have made this activity more useful?",
     "choices": [], "required": False},
]


class CreditError(DomainError):
    """A refused credit operation."""

    def __init__(self, message: str, code: str | None = None, field: str | None = None, **kwargs):
        super().__init__(message, code=code or kwargs.pop("code"), field=field, **kwargs)


def quarter_floor(hours: Decimal) -> Decimal:
    return (Decimal(hours) / QUARTER).to_integral_value(rounding=ROUND_DOWN) * QUARTER


# ---------------------------------------------------------------- attendance

def whole_attendance(user: User, activity: Activity) -> Attendance | None:
    return db.session.scalar(select(Attendance).where(Attendance.user_id == user.id,
                                                      Attendance.activity_id == activity.id,
                                                      Attendance.session_id.is_(None)))


def can_watch(user: User, activity: Activity, *, now: datetime | None = None) -> str | None:
    """Why the user may not watch now, or None."""
    now = now or now_utc()
    registration = db.session.scalar(select(Registration).where(
        Registration.user_id == user.id, Registration.activity_id == activity.id,
        Registration.status != RegistrationStatus.CANCELLED))
    if not activity.is_webcast:
        return "This is not a webcast."
    if registration is None or (not activity.is_on_demand and not registration.is_confirmed):
        return "Only registered participants can watch." if registration is None else "You are on the waitlist."
    if activity.is_on_demand and not (activity.start_dt <= now <= activity.end_dt):
        return "This webcast is not available now."
    if not activity.is_on_demand and not (activity.start_dt - timedelta(minutes=30) <= now <= activity.end_dt):
        return "The webcast is not live now."
    return None


def heartbeat(user: User, activity: Activity, *, now: datetime | None = None) -> int:
    """Count viewing time: the wall time since the previous report, capped, never more. Returns seconds."""
    now = now or now_utc()
    problem = can_watch(user, activity, now=now)
    if problem:
        raise CreditError(problem, "cannot_watch")
    attendance = whole_attendance(user, activity)
    if attendance is None:
        attendance = Attendance(user_id=user.id, activity_id=activity.id, watched_seconds=0, minutes_watched=0)
        db.session.add(attendance)
    if attendance.last_heartbeat_dt is not None and attendance.last_heartbeat_dt < now \
            and now - attendance.last_heartbeat_dt <= MAX_HEARTBEAT_GAP:
        gap = now - attendance.last_heartbeat_dt
        limit = int((activity.end_dt - activity.start_dt).total_seconds()) if not activity.is_on_demand else None
        attendance.watched_seconds = attendance.watched_seconds + int(gap.total_seconds())
        if limit is not None:
            attendance.watched_seconds = min(attendance.watched_seconds, limit)
    if attendance.last_heartbeat_dt is None or attendance.last_heartbeat_dt < now:
        attendance.last_heartbeat_dt = now
    attendance.minutes_watched = attendance.watched_seconds // 60
    db.session.flush()
    return attendance.watched_seconds


def supported_hours(user: User, activity: Activity) -> Decimal:
    """The most credit attendance supports: checked-in sessions' hours (or the scheduled hours after a
    whole-meeting check-in), or viewing time rounded down to a quarter hour."""
    rows = db.session.scalars(select(Attendance).where(Attendance.user_id == user.id,
                                                       Attendance.activity_id == activity.id)).all()
    if activity.is_live_meeting:
        session_ids = {a.session_id for a in rows if a.session_id is not None and a.checked_in_dt is not None}
        if session_ids:
            sessions = [s for s in activity.sessions if s.id in session_ids]
            return quarter_floor(sum((s.hours for s in sessions), Decimal(0)))
        if any(a.session_id is None and a.checked_in_dt is not None for a in rows):
            return quarter_floor(scheduled_hours(activity))
        return Decimal(0)
    seconds = sum(a.watched_seconds for a in rows)
    return quarter_floor(Decimal(seconds) / Decimal(3600))


def check_in_session(user: User, activity: Activity, session: ActivitySession, *, by: User,
                     now: datetime | None = None) -> bool:
    """Per-session check-in for multi-session meetings; once per session."""
    now = now or now_utc()
    if now < session.start_dt - timedelta(hours=2) or now > session.end_dt + timedelta(hours=12):
        raise CreditError("Session check-in is open from two hours before the session until the end of its day.",
                          "session_closed")
    existing = db.session.scalar(select(Attendance).where(Attendance.user_id == user.id,
                                                          Attendance.activity_id == activity.id,
                                                          Attendance.session_id == session.id))
    if existing is not None:
        return False
    db.session.add(Attendance(user_id=user.id, activity_id=activity.id, session_id=session.id,
                              checked_in_dt=now, checked_in_by_id=by.id))
    db.session.flush()
    return True


# ---------------------------------------------------------------- evaluation and post-test

@dataclass(frozen=True)
class Question:
    key: str
    kind: str
    prompt: str
    choices: tuple[str, ...]
    required: bool


def evaluation_questions(activity: Activity) -> list[Question]:
    custom = db.session.scalars(select(EvaluationQuestion).where(EvaluationQuestion.activity_id == activity.id)
                                .order_by(EvaluationQuestion.position, EvaluationQuestion.id)).all()
    if custom:
        return [Question(f"q{q.id}", q.kind, q.prompt, tuple(LIKERT if q.kind == "likert" else q.choices), q.required)
                for q in custom]
    return [Question(f"d{i}", q["kind"], q["prompt"], tuple(LIKERT if q["kind"] == "likert" else q["choices"]),
                     q.get("required", True)) for i, q in enumerate(DEFAULT_EVALUATION)]


def evaluation_problem(user: User, activity: Activity, *, now: datetime | None = None) -> str | None:
    """Why the learner cannot evaluate yet, or None."""
    now = now or now_utc()
    if activity.is_on_demand:
        if supported_hours(user, activity) <= 0:
            return "Watch the webcast first: the evaluation opens after at least 15 minutes of recorded viewing."
        return None
    if now < activity.end_dt:
        return "The evaluation opens when the activity ends."
    if supported_hours(user, activity) <= 0:
        return "We have no record of your attendance (check-in or viewing time). Contact the organizers."
    return None


def evaluation_of(user: User, activity: Activity) -> EvaluationResponse | None:
    return db.session.scalar(select(EvaluationResponse).where(EvaluationResponse.user_id == user.id,
                                                              EvaluationResponse.activity_id == activity.id))


def submit_evaluation(user: User, activity: Activity, answers: dict[str, str], *,
                      now: datetime | None = None) -> EvaluationResponse:
    problem = evaluation_problem(user, activity, now=now)
    if problem:
        raise CreditError(problem, "not_open")
    if evaluation_of(user, activity) is not None:
        raise CreditError("You have already completed this evaluation.", "duplicate")
    prompts = {q.key: q.prompt for q in evaluation_questions(activity)}
    response = EvaluationResponse(user_id=user.id, activity_id=activity.id, submitted_dt=now or now_utc(),
                                  answers={key: {"prompt": prompts[key], "answer": answers.get(key, "")} for key in prompts})
    db.session.add(response)
    db.session.flush()
    return response


def post_test_questions(activity: Activity) -> list[PostTestQuestion]:
    return list(db.session.scalars(select(PostTestQuestion).where(PostTestQuestion.activity_id == activity.id)
                                   .order_by(PostTestQuestion.position, PostTestQuestion.id)))


def has_post_test(activity: Activity) -> bool:
    return activity.is_on_demand and activity.post_test_passing_score is not None and bool(post_test_questions(activity))


def best_score(user: User, activity: Activity) -> int | None:
    return db.session.scalar(select(func.max(PostTestAttempt.score)).where(
        PostTestAttempt.user_id == user.id, PostTestAttempt.activity_id == activity.id))


def submit_post_test(user: User, activity: Activity, answers: dict[int, int], *,
                     now: datetime | None = None) -> PostTestAttempt:
    """Score an attempt; attempts may be repeated and the best score counts."""
    questions = post_test_questions(activity)
    if not has_post_test(activity):
        raise CreditError("This activity has no post-test.", "no_post_test")
    if supported_hours(user, activity) <= 0:
        raise CreditError("Watch the webcast before the post-test.", "not_watched")
    correct = sum(1 for q in questions if answers.get(q.id) == q.correct_index)
    score = round(100 * correct / len(questions))
    attempt = PostTestAttempt(user_id=user.id, activity_id=activity.id, score=score,
                              passed=score >= activity.post_test_passing_score, submitted_dt=now or now_utc())
    db.session.add(attempt)
    db.session.flush()
    return attempt


# ---------------------------------------------------------------- claims

@dataclass
class ClaimStatus:
    problems: list[str] = field(default_factory=list)
    supported: Decimal = Decimal(0)
    limits: dict[str, Decimal] = field(default_factory=dict)  # credit type -> the most that may be claimed
    records: dict[str, CreditRecord] = field(default_factory=dict)
    deadline_passed: bool = False

    @property
    def open(self) -> bool:
        return not self.problems


def claim_status(user: User, activity: Activity, *, now: datetime | None = None) -> ClaimStatus:
    now = now or now_utc()
    status = ClaimStatus()
    status.records = {r.credit_type: r for r in db.session.scalars(select(CreditRecord).where(
        CreditRecord.user_id == user.id, CreditRecord.activity_id == activity.id))}
    status.supported = supported_hours(user, activity)
    for designation in activity.designations:
        status.limits[designation.credit_type] = min(designation.max_amount, status.supported)
    if not activity.credit_designations:
        status.problems.append("This activity offers no credit.")
    if not activity.is_on_demand and now < activity.end_dt:
        status.problems.append("Credit can be claimed once the activity has ended.")
    elif status.supported <= 0:
        status.problems.append("Your attendance does not support any credit yet (no check-in or viewing time).")
    if evaluation_of(user, activity) is None:
        status.problems.append("Complete the evaluation first.")
    if has_post_test(activity) and (best_score(user, activity) or 0) < activity.post_test_passing_score:
        status.problems.append(f"Pass the post-test first ({activity.post_test_passing_score}% needed).")
    if activity.claim_deadline_dt is not None and now > activity.claim_deadline_dt:
        status.deadline_passed = True
        status.problems.append("The claim deadline has passed.")
    return status


def claim_credit(user: User, activity: Activity, amounts: dict[str, Decimal | None], *, attested: bool,
                 now: datetime | None = None) -> list[CreditRecord]:
    """Create or correct the learner's credit records. A blank or zero amount claims nothing of that type
    (and withdraws an earlier claim)."""
    now = now or now_utc()
    status = claim_status(user, activity, now=now)
    if status.problems:
        raise CreditError(status.problems[0], "not_open")
    if not attested:
        raise CreditError("Tick the attestation to claim credit.", "attestation", field="attest")
    if not any(amount for amount in amounts.values()):
        raise CreditError("Enter the credit you are claiming.", "nothing", field=next(iter(amounts), None))
    saved = []
    for credit_type, amount in amounts.items():
        if credit_type not in status.limits:
            raise CreditError("This credit type is not designated for the activity.", "not_designated")
        label = CreditType(credit_type).label
        record = status.records.get(credit_type)
        if not amount:
            if record is not None:
                db.session.delete(record)
            continue
        amount = Decimal(amount)
        if amount < 0 or (amount / QUARTER) % 1 != 0:
            raise CreditError(f"Claim {label} in steps of 0.25.", "step", field=credit_type)
        if amount > status.limits[credit_type]:
            designated = next(d.max_amount for d in activity.credit_designations if d.credit_type == credit_type)
            reason = (f"the designated maximum is {designated.normalize():f}" if amount > designated else
                      f"your attendance supports {status.supported.normalize():f}")
            raise CreditError(f"You can claim at most {status.limits[credit_type].normalize():f} {label}: {reason}.",
                              "too_much", field=credit_type)
        if record is None:
            record = CreditRecord(user_id=user.id, activity_id=activity.id, credit_type=credit_type, amount=amount,
                                  attested=True, claimed_dt=now)
            db.session.add(record)
        else:
            record.amount, record.attested = amount, True
        saved.append(record)
    db.session.flush()
    _reissue_if_certified(user, activity, now)
    return saved


def _reissue_if_certified(user: User, activity: Activity, now: datetime) -> None:
    """A changed claim supersedes a certificate already issued for it (a snapshot must match the credit)."""
    from cme.certificates.service import current_certificate, issue_certificate

    if current_certificate(user, activity) is not None:
        has_records = db.session.scalar(select(func.count()).select_from(CreditRecord).where(
            CreditRecord.user_id == user.id, CreditRecord.activity_id == activity.id))
        if has_records:
            issue_certificate(user, activity, now=now)


def adjust_credit(record: CreditRecord, new_amount: Decimal, *, reason: str, by: User,
                  now: datetime | None = None) -> CreditAdjustment:
    """An organizer changes a learner's credit; the change is audited and a current certificate reissued."""
    if not reason.strip():
        raise CreditError("Give the reason for the change (it is kept in the audit trail).", "reason", field="reason")
    if new_amount <= 0 or (new_amount / QUARTER) % 1 != 0:
        raise CreditError("Use a positive amount in steps of 0.25.", "step", field="amount")
    designated = next((d.max_amount for d in record.activity.credit_designations
                       if d.credit_type == record.credit_type), None)
    if designated is not None and new_amount > designated:
        raise CreditError(f"The designated maximum is {designated.normalize():f}.", "too_much", field="amount")
    now = now or now_utc()
    adjustment = CreditAdjustment(credit_record_id=record.id, user_id=record.user_id, activity_id=record.activity_id,
                                  credit_type=record.credit_type, old_amount=record.amount, new_amount=new_amount,
                                  reason=reason.strip(), adjusted_by_id=by.id, adjusted_dt=now)
    record.amount = new_amount
    db.session.add(adjustment)
    db.session.flush()
    _reissue_if_certified(record.user, record.activity, now)
    return adjustment


def adjustments_for(activity: Activity) -> list[CreditAdjustment]:
    return list(db.session.scalars(select(CreditAdjustment).where(CreditAdjustment.activity_id == activity.id)
                                   .order_by(CreditAdjustment.adjusted_dt.desc(), CreditAdjustment.id.desc())))


def activity_records(activity: Activity) -> list[CreditRecord]:
    return list(db.session.scalars(select(CreditRecord).options(joinedload(CreditRecord.user))
                                   .where(CreditRecord.activity_id == activity.id)
                                   .order_by(CreditRecord.user_id, CreditRecord.credit_type)))


# ---------------------------------------------------------------- the learner's credit

def credit_records_for(user: User) -> list[CreditRecord]:
    return list(db.session.scalars(
        select(CreditRecord).options(joinedload(CreditRecord.activity))
        .where(CreditRecord.user_id == user.id).order_by(CreditRecord.claimed_dt.desc())
    ))


def current_certificates_for(user: User) -> dict[int, "Certificate"]:
    """{activity_id: the learner's current certificate}."""
    from cme.certificates.models import Certificate

    rows = db.session.scalars(select(Certificate).where(Certificate.user_id == user.id,
                                                        Certificate.superseded_dt.is_(None)))
    return {c.activity_id: c for c in rows}


def transcript_for(user: User, *, now=None) -> Transcript:
    """Every credit record by the year of its activity, with its current certificate's code."""
    from flask import current_app

    from cme.timeutil import zone

    records = credit_records_for(user)
    certificates = current_certificates_for(user)
    years: dict[int, TranscriptYear] = {}
    for record in sorted(records, key=lambda r: (r.activity.start_dt, r.id)):
        local = record.activity.start_dt.astimezone(zone(record.activity.time_zone))
        year = years.setdefault(local.year, TranscriptYear(local.year))
        certificate = certificates.get(record.activity_id)
        year.lines.append(TranscriptLine(
            date=f"{local:%Y-%m-%d}", activity=record.activity.title, format=record.activity.format_label,
            credit_type=record.credit_type_label, amount=record.amount,
            certificate_code=certificate.verification_code if certificate else "",
            certificate_id=certificate.id if certificate else None))
    return Transcript(learner=user.display_name, npi=user.npi or "", provider=current_app.config["CME_PROVIDER_NAME"],
                      generated=now or now_utc(), years=[years[y] for y in sorted(years, reverse=True)])


def totals_by_type(records: list[CreditRecord]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for record in records:
        totals[record.credit_type_label] += record.amount
    return dict(totals)




# ---------------------------------------------------------------- organizers: evaluation and post-test

def add_evaluation_question(activity: Activity, *, kind: str, prompt: str, choices: list[str],
                            required: bool) -> EvaluationQuestion:
    if not evaluation_questions_customised(activity):
        # Start from the default set, so adding a question keeps "Will you change your practice...?".
        for position, default in enumerate(DEFAULT_EVALUATION):
            db.session.add(EvaluationQuestion(activity_id=activity.id, position=position, kind=default["kind"],
                                              prompt=default["prompt"], choices=default["choices"],
                                              required=default.get("required", True)))
    position = (db.session.scalar(select(func.max(EvaluationQuestion.position))
                                  .where(EvaluationQuestion.activity_id == activity.id)) or 0) + 1
    question = EvaluationQuestion(activity_id=activity.id, position=position, kind=kind, prompt=prompt,
                                  choices=choices if kind == QuestionKind.CHOICE else [], required=required)
    db.session.add(question)
    db.session.flush()
    return question


@dataclass(frozen=True)
class QuestionSummary:
    """How learners answered one evaluation question."""

    question: Question
    answered: int
    counts: tuple[tuple[str, int], ...]  # likert and choice questions, in the question's order
    mean: float | None  # likert: 1 (strongly disagree) to 5 (strongly agree)
    texts: tuple[str, ...]  # text questions: the non-empty answers, oldest first


def evaluation_summary(activity: Activity) -> tuple[int, list[QuestionSummary]]:
    """(number of responses, a summary per current question), from one query; learners stay anonymous."""
    responses = db.session.scalars(select(EvaluationResponse.answers).where(
        EvaluationResponse.activity_id == activity.id).order_by(EvaluationResponse.submitted_dt,
                                                                 EvaluationResponse.id)).all()
    summaries = []
    for question in evaluation_questions(activity):
        answers = [str((r.get(question.key) or {}).get("answer") or "").strip() for r in responses]
        answers = [a for a in answers if a]
        counts: tuple[tuple[str, int], ...] = ()
        mean = None
        texts: tuple[str, ...] = ()
        if question.kind in ("likert", "choice"):
            counts = tuple((choice, answers.count(choice)) for choice in question.choices)
            if question.kind == "likert":
                scored = [LIKERT.index(a) + 1 for a in answers if a in LIKERT]
                mean = sum(scored) / len(scored) if scored else None
        else:
            texts = tuple(answers)
        summaries.append(QuestionSummary(question, len(answers), counts, mean, texts))
    return len(responses), summaries


def evaluation_rows(activity: Activity) -> tuple[list[str], list[list[str]]]:
    """The responses as a table (header, rows) for CSV: one anonymous row per learner, a column per question."""
    questions = evaluation_questions(activity)
    responses = db.session.scalars(select(EvaluationResponse).where(
        EvaluationResponse.activity_id == activity.id).order_by(EvaluationResponse.submitted_dt,
                                                                 EvaluationResponse.id)).all()
    header = ["Submitted (UTC)"] + [q.prompt for q in questions]
    rows = [[r.submitted_dt.strftime("%Y-%m-%d %H:%M")]
            + [str((r.answers.get(q.key) or {}).get("answer") or "") for q in questions] for r in responses]
    return header, rows


def evaluation_questions_customised(activity: Activity) -> bool:
    return db.session.scalar(select(func.count()).select_from(EvaluationQuestion)
                             .where(EvaluationQuestion.activity_id == activity.id)) > 0


def add_post_test_question(activity: Activity, *, prompt: str, choices: list[str], correct_index: int) -> PostTestQuestion:
    if not activity.is_on_demand:
        raise CreditError("Post-tests are for on-demand webcasts.", "not_on_demand")
    position = (db.session.scalar(select(func.max(PostTestQuestion.position))
                                  .where(PostTestQuestion.activity_id == activity.id)) or 0) + 1
    question = PostTestQuestion(activity_id=activity.id, position=position, prompt=prompt, choices=choices,
                                correct_index=correct_index)
    db.session.add(question)
    if activity.post_test_passing_score is None:
        activity.post_test_passing_score = 70
    db.session.flush()
    return question
