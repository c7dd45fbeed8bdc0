"""Evaluations and post-tests: the questions (a default set or the organizer's own), the learner's answers and
attempts, and what organizers see of them (anonymous summaries and a CSV)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, tuple_

from cme.accounts.models import User
from cme.activities.models import Activity
from cme.attendance.service import supported_hours
from cme.credit.errors import CreditError
from cme.credit.evaluation_models import (  # noqa: I001
    EvaluationQuestion, EvaluationResponse, PostTestAttempt, PostTestQuestion, QuestionKind,
)
from cme.extensions import db
from cme.timeutil import now_utc

LIKERT = ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"]
DEFAULT_EVALUATION = [
    {"kind": "likert", "prompt": "The activity met its stated learning objectives.", "choices": []},
    {"kind": "likert", "prompt": "The content was free of commercial bias.", "choices": []},
    {"kind": "choice", "prompt": "Will you change your practice as a result of this activity?",
     "choices": ["Yes", "No", "Not sure", "This activity confirmed my current practice"]},
    {"kind": "text", "prompt": "What will you do differently, or what would have made this activity more useful?",
     "choices": [], "required": False},
]


# ---------------------------------------------------------------- learners

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
    if activity.is_cancelled:
        return "This activity has been cancelled: it has no evaluation."
    if activity.is_on_demand:
        if supported_hours(user, activity) <= 0:
            return "Watch the webcast first: the evaluation opens after at least 15 minutes of recorded viewing."
        return None
    if not activity.is_open_for_credit(now):
        return "The evaluation opens when the activity ends."
    if supported_hours(user, activity) <= 0:
        return "We have no record of your attendance (check-in or viewing time). Contact the organizers."
    return None


def evaluation_of(user: User, activity: Activity) -> EvaluationResponse | None:
    return db.session.scalar(select(EvaluationResponse).where(EvaluationResponse.user_id == user.id,
                                                              EvaluationResponse.activity_id == activity.id))


def evaluated(pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of these (user_id, activity_id) pairs have submitted the activity's evaluation (one query)."""
    pairs = set(pairs)
    if not pairs:
        return set()
    return set(db.session.execute(select(EvaluationResponse.user_id, EvaluationResponse.activity_id).where(
        tuple_(EvaluationResponse.user_id, EvaluationResponse.activity_id).in_(sorted(pairs)))).tuples())


def submit_evaluation(user: User, activity: Activity, answers: dict[str, str], *,
                      now: datetime | None = None) -> EvaluationResponse:
    problem = evaluation_problem(user, activity, now=now)
    if problem:
        raise CreditError(problem, code="not_open")
    if evaluation_of(user, activity) is not None:
        raise CreditError("You have already completed this evaluation.", code="duplicate")
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


def passed_dt(user: User, activity: Activity) -> datetime | None:
    """When the learner first reached the post-test's passing score, or None."""
    return db.session.scalar(select(func.min(PostTestAttempt.submitted_dt)).where(
        PostTestAttempt.user_id == user.id, PostTestAttempt.activity_id == activity.id,
        PostTestAttempt.score >= activity.post_test_passing_score))


def submit_post_test(user: User, activity: Activity, answers: dict[int, int], *,
                     now: datetime | None = None) -> PostTestAttempt:
    """Score an attempt; attempts may be repeated and the best score counts."""
    questions = post_test_questions(activity)
    if not has_post_test(activity):
        raise CreditError("This activity has no post-test.", code="no_post_test")
    if activity.is_cancelled:
        raise CreditError("This activity has been cancelled: it has no post-test.", code="cancelled")
    if supported_hours(user, activity) <= 0:
        raise CreditError("Watch the webcast before the post-test.", code="not_watched")
    correct = sum(1 for q in questions if answers.get(q.id) == q.correct_index)
    score = round(100 * correct / len(questions))
    attempt = PostTestAttempt(user_id=user.id, activity_id=activity.id, score=score,
                              passed=score >= activity.post_test_passing_score, submitted_dt=now or now_utc())
    db.session.add(attempt)
    db.session.flush()
    return attempt


# ---------------------------------------------------------------- organizers

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
        raise CreditError("Post-tests are for on-demand webcasts.", code="not_on_demand")
    position = (db.session.scalar(select(func.max(PostTestQuestion.position))
                                  .where(PostTestQuestion.activity_id == activity.id)) or 0) + 1
    question = PostTestQuestion(activity_id=activity.id, position=position, prompt=prompt, choices=choices,
                                correct_index=correct_index)
    db.session.add(question)
    if activity.post_test_passing_score is None:
        activity.post_test_passing_score = 70
    db.session.flush()
    return question


def remove_question(question: EvaluationQuestion | PostTestQuestion) -> None:
    """Take a question off the evaluation or the post-test (answers already given keep their own copy)."""
    db.session.delete(question)
    db.session.flush()


def set_passing_score(activity: Activity, score: int) -> None:
    """The post-test score (percent) a learner needs before claiming credit."""
    if not 0 <= score <= 100:
        raise CreditError("The passing score is a percentage from 0 to 100.", code="score_range", field="passing_score")
    activity.post_test_passing_score = score
    db.session.flush()
