"""Evaluations and post-tests: the questions (a default set or the organizer's own), the learner's answers and
attempts, and what organizers see of them (anonymous summaries and a CSV).

A post-test attempt keeps the learner's answers, so the page shows which were wrong with the organizer's
explanation; the right answers only once the learner passed or has no attempt left (a retry stays a test). The
organizer may limit attempts; they are counted under the activity's lock, so two submits at once never exceed it.
Once passed, there is nothing to retake."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from cme.accounts.models import User
from cme.activities.models import Activity
from cme.attendance.service import supported_hours
from cme.credit.errors import CreditError
from cme.credit.evaluation_models import (  # noqa: I001
    EvaluationQuestion, EvaluationResponse, PostTestAttempt, PostTestQuestion, QuestionKind,
)
from cme.extensions import db
from cme.pairs import found_pairs
from cme.registration.service import lock_activity
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


def evaluated(user: User, activity_ids: Iterable[int]) -> set[int]:
    """Which of these activities the learner has evaluated (one query)."""
    activity_ids = sorted(set(activity_ids))
    if not activity_ids:
        return set()
    return set(db.session.scalars(select(EvaluationResponse.activity_id).where(
        EvaluationResponse.user_id == user.id, EvaluationResponse.activity_id.in_(activity_ids))))


def evaluated_pairs(pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of these (user_id, activity_id) pairs have submitted the activity's evaluation (one query)."""
    return found_pairs(select(EvaluationResponse.user_id, EvaluationResponse.activity_id), pairs)


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


def _question_counts(activities: Iterable[Activity]) -> dict[int, int]:
    """{activity_id: number of post-test questions} of the activities that may have a post-test (one query)."""
    ids = sorted({a.id for a in activities if a.is_on_demand and a.post_test_passing_score is not None})
    if not ids:
        return {}
    return dict(db.session.execute(select(PostTestQuestion.activity_id, func.count()).where(
        PostTestQuestion.activity_id.in_(ids)).group_by(PostTestQuestion.activity_id)).tuples().all())


def has_post_test(activity: Activity) -> bool:
    return bool(_question_counts([activity]).get(activity.id))


@dataclass(frozen=True)
class PostTestState:
    """Where a learner stands on an activity's post-test."""

    passing_score: int
    max_attempts: int | None  # None: unlimited
    attempts: int
    best: int | None

    @property
    def passed(self) -> bool:
        return self.best is not None and self.best >= self.passing_score

    @property
    def remaining(self) -> int | None:
        """Attempts left (None: unlimited)."""
        return None if self.max_attempts is None else max(0, self.max_attempts - self.attempts)

    @property
    def exhausted(self) -> bool:
        """Not passed, and no attempt left: credit cannot be claimed."""
        return not self.passed and self.remaining == 0

    @property
    def may_attempt(self) -> bool:
        return not self.passed and self.remaining != 0

    @property
    def reveals_answers(self) -> bool:
        """The right answers are shown once they can no longer help a retry: after passing or the last attempt."""
        return self.passed or self.exhausted

    @property
    def problem(self) -> str | None:
        """Why the learner cannot claim credit yet because of the post-test, or None once passed."""
        if self.passed:
            return None
        if self.exhausted:
            return (f"You have used all {self.max_attempts} attempt(s) at the post-test without reaching "
                    f"{self.passing_score}%, so credit cannot be claimed for this activity. If you think this is "
                    "wrong, contact the organizers.")
        return f"Pass the post-test first ({self.passing_score}% needed)."


def post_test_states(user: User, activities: Iterable[Activity]) -> dict[int, PostTestState]:
    """{activity_id: the learner's PostTestState} for those of these activities that have a post-test (two queries
    for any number of activities)."""
    activities = list(activities)
    counts = _question_counts(activities)
    if not counts:
        return {}
    attempts = {activity_id: (n, best) for activity_id, n, best in db.session.execute(
        select(PostTestAttempt.activity_id, func.count(), func.max(PostTestAttempt.score)).where(
            PostTestAttempt.user_id == user.id, PostTestAttempt.activity_id.in_(sorted(counts)))
        .group_by(PostTestAttempt.activity_id)).tuples()}
    return {a.id: PostTestState(a.post_test_passing_score, a.post_test_max_attempts, *attempts.get(a.id, (0, None)))
            for a in activities if counts.get(a.id)}


def post_test_state(user: User, activity: Activity) -> PostTestState | None:
    """The learner's PostTestState, or None when the activity has no post-test."""
    return post_test_states(user, [activity]).get(activity.id)


def best_score(user: User, activity: Activity) -> int | None:
    return db.session.scalar(select(func.max(PostTestAttempt.score)).where(
        PostTestAttempt.user_id == user.id, PostTestAttempt.activity_id == activity.id))


def passed_dt(user: User, activity: Activity) -> datetime | None:
    """When the learner first reached the post-test's passing score, or None."""
    return db.session.scalar(select(func.min(PostTestAttempt.submitted_dt)).where(
        PostTestAttempt.user_id == user.id, PostTestAttempt.activity_id == activity.id,
        PostTestAttempt.score >= activity.post_test_passing_score))


def last_attempt(user: User, activity: Activity) -> PostTestAttempt | None:
    return db.session.scalar(select(PostTestAttempt).where(
        PostTestAttempt.user_id == user.id, PostTestAttempt.activity_id == activity.id)
        .order_by(PostTestAttempt.submitted_dt.desc(), PostTestAttempt.id.desc()).limit(1))


def submit_post_test(user: User, activity: Activity, answers: dict[int, int], *,
                     now: datetime | None = None) -> PostTestAttempt:
    """Score an attempt and keep its answers. Until the learner passes they may try again, within the organizer's
    limit of attempts (counted under the activity's lock: two submits at once cannot both take the last one);
    their best score counts."""
    activity = lock_activity(activity.id)
    if not has_post_test(activity):
        raise CreditError("This activity has no post-test.", code="no_post_test")
    if activity.is_cancelled:
        raise CreditError("This activity has been cancelled: it has no post-test.", code="cancelled")
    if supported_hours(user, activity) <= 0:
        raise CreditError("Watch the webcast before the post-test.", code="not_watched")
    state = post_test_state(user, activity)
    if state.passed:
        raise CreditError(f"You have passed this post-test ({state.best}%): claim your credit.", code="passed")
    if state.exhausted:
        raise CreditError(state.problem, code="no_attempts")
    questions = post_test_questions(activity)
    results = [{"question_id": q.id, "chosen": answers.get(q.id), "correct": answers.get(q.id) == q.correct_index}
               for q in questions]
    score = round(100 * sum(r["correct"] for r in results) / len(questions))
    attempt = PostTestAttempt(user_id=user.id, activity_id=activity.id, score=score, answers=results,
                              passed=score >= activity.post_test_passing_score, submitted_dt=now or now_utc())
    db.session.add(attempt)
    db.session.flush()
    return attempt


@dataclass(frozen=True)
class ReviewItem:
    """One question of an attempt, as the learner sees it after submitting."""

    number: int
    prompt: str
    chosen: str | None  # the learner's answer (None: not answered)
    correct: bool
    right_answer: str | None  # shown only when the state reveals answers (PostTestState.reveals_answers)
    explanation: str


def review(attempt: PostTestAttempt, questions: list[PostTestQuestion], *, reveal: bool) -> list[ReviewItem]:
    """The attempt question by question, scored as it was (questions removed since are left out)."""
    by_id = {q.id: q for q in questions}
    items = []
    for result in attempt.answers or []:
        question = by_id.get(result["question_id"])
        if question is None:
            continue
        chosen = result["chosen"]
        items.append(ReviewItem(
            number=len(items) + 1, prompt=question.prompt,
            chosen=question.choices[chosen] if chosen is not None and 0 <= chosen < len(question.choices) else None,
            correct=bool(result["correct"]), explanation=question.explanation,
            right_answer=question.choices[question.correct_index] if reveal else None))
    return items


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


def add_post_test_question(activity: Activity, *, prompt: str, choices: list[str], correct_index: int,
                           explanation: str = "") -> PostTestQuestion:
    if not activity.is_on_demand:
        raise CreditError("Post-tests are for on-demand webcasts.", code="not_on_demand")
    _check_question(choices, correct_index)
    position = (db.session.scalar(select(func.max(PostTestQuestion.position))
                                  .where(PostTestQuestion.activity_id == activity.id)) or 0) + 1
    question = PostTestQuestion(activity_id=activity.id, position=position, prompt=prompt, choices=choices,
                                correct_index=correct_index, explanation=explanation.strip())
    db.session.add(question)
    if activity.post_test_passing_score is None:
        activity.post_test_passing_score = 70
    db.session.flush()
    return question


def update_post_test_question(question: PostTestQuestion, *, prompt: str, choices: list[str], correct_index: int,
                              explanation: str) -> None:
    """Change a post-test question (attempts already made keep the score they had)."""
    _check_question(choices, correct_index)
    question.prompt, question.choices, question.correct_index = prompt, choices, correct_index
    question.explanation = explanation.strip()
    db.session.flush()


def _check_question(choices: list[str], correct_index: int) -> None:
    if len(choices) < 2:
        raise CreditError("Give at least two choices.", code="choices", field="choices")
    if not 0 <= correct_index < len(choices):
        raise CreditError(f"There are only {len(choices)} choices.", code="correct", field="correct")


def remove_question(question: EvaluationQuestion | PostTestQuestion) -> None:
    """Take a question off the evaluation or the post-test (answers already given keep their own copy)."""
    db.session.delete(question)
    db.session.flush()


def set_post_test_rules(activity: Activity, *, passing_score: int, max_attempts: int | None) -> None:
    """The post-test score (percent) a learner needs before claiming credit, and how many attempts they have (None:
    unlimited). A learner who already used more attempts than a lowered limit has none left."""
    if not 0 <= passing_score <= 100:
        raise CreditError("The passing score is a percentage from 0 to 100.", code="score_range", field="passing_score")
    if max_attempts is not None and max_attempts < 1:
        raise CreditError("Allow at least one attempt, or leave it empty for no limit.", code="attempts_range",
                          field="max_attempts")
    activity.post_test_passing_score = passing_score
    activity.post_test_max_attempts = max_attempts
    db.session.flush()
