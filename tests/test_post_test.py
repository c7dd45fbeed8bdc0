"""Post-tests (issue 14, point 15): after submitting, the learner sees which answers were wrong with the
organizer's explanation (the right answers once they pass or have no attempt left); organizers limit attempts, and
the limit holds when two submits arrive at once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cme.attendance.models import Attendance
from cme.credit import evaluation
from cme.credit import service as credit
from cme.credit.errors import CreditError
from cme.credit.evaluation_models import PostTestAttempt
from cme.extensions import db as _db
from cme.timeutil import now_utc

NOW = now_utc().replace(microsecond=0)


@pytest.fixture
def webcast(db, make_activity, make_user):
    """An on-demand webcast with a two-question post-test (70% to pass), its organizer, and a learner who watched
    and evaluated it."""
    organizer = make_user("org@example.org", role="organizer")
    activity = make_activity(format="on_demand_webcast", join_url="https://webcast.example.org/od",
                             organizers=[organizer], start_dt=NOW - timedelta(days=1), end_dt=NOW + timedelta(days=90),
                             credits={"ama_pra_1": "1"})
    evaluation.add_post_test_question(activity, prompt="SVR12 means?", choices=["Cure", "Relapse"], correct_index=0,
                                      explanation="A sustained <b>virologic</b> response 12 weeks after treatment is a cure.")
    evaluation.add_post_test_question(activity, prompt="Genotype before treatment?", choices=["Always", "Not needed"],
                                      correct_index=1, explanation="Pan-genotypic regimens need no genotype.")
    db.session.commit()
    return activity


@pytest.fixture
def learner(db, make_user, webcast, register):
    user = make_user("ada@example.org", full_name="Ada Lovelace")
    register(user, webcast, by_organizer=True)
    db.session.add(Attendance(user_id=user.id, activity_id=webcast.id, watched_seconds=3600, minutes_watched=60))
    evaluation.submit_evaluation(user, webcast, {})
    db.session.commit()
    return user


def answers(webcast, *picks: int) -> dict[str, str]:
    """The post-test form's fields, one pick per question."""
    return {f"p{q.id}": str(pick) for q, pick in zip(evaluation.post_test_questions(webcast), picks)}


def test_after_submitting_the_learner_sees_which_answers_were_wrong_with_the_explanation(client, db, webcast, learner,
                                                                                          auth):
    auth.login("ada@example.org")
    page = client.post(f"/activities/{webcast.id}/post-test", data=answers(webcast, 0, 0),
                       follow_redirects=True).get_data(as_text=True)
    assert "You scored 50%; 70% is needed. See which answers were wrong below, then try again." in page
    wrong = page[page.index("Genotype before treatment?", page.index('id="review"')):]
    assert "Incorrect" in wrong[:400] and "Your answer: Always" in wrong and "Pan-genotypic regimens need no genotype." in wrong
    # The organizer's text is shown as text, and the right answer waits while attempts remain.
    assert "A sustained &lt;b&gt;virologic&lt;/b&gt; response" in page and "<b>virologic" not in page
    assert "Right answer:" not in page and "Try again" in page
    passed = client.post(f"/activities/{webcast.id}/post-test", data=answers(webcast, 0, 1),
                         follow_redirects=True).get_data(as_text=True)
    assert "You passed with 100%." in passed and "Submit answers" not in passed
    assert f'href="/activities/{webcast.id}/claim"' in passed


def test_after_the_last_attempt_the_right_answers_show_and_no_attempt_remains(client, db, webcast, learner, auth):
    evaluation.set_post_test_rules(webcast, passing_score=70, max_attempts=1)
    db.session.commit()
    auth.login("ada@example.org")
    page = client.get(f"/activities/{webcast.id}/post-test").get_data(as_text=True)
    assert "You have 1 attempt(s) in all" in page
    page = client.post(f"/activities/{webcast.id}/post-test", data=answers(webcast, 1, 0),
                       follow_redirects=True).get_data(as_text=True)
    assert "No attempts left." in page and "You have used all 1 attempt(s) at the post-test without reaching 70%" in page
    assert page.count("Right answer:") == 2 and "Submit answers" not in page
    again = client.post(f"/activities/{webcast.id}/post-test", data=answers(webcast, 0, 1), follow_redirects=True)
    assert "You have used all 1 attempt(s)" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PostTestAttempt)) == 1
    status = credit.claim_status(learner, webcast)
    assert list(status.reasons) == ["post_test_exhausted"]
    assert "credit cannot be claimed for this activity" in client.get(
        f"/activities/{webcast.id}/claim").get_data(as_text=True)
    # Raising the limit gives the learner another attempt.
    evaluation.set_post_test_rules(webcast, passing_score=70, max_attempts=2)
    db.session.commit()
    assert evaluation.post_test_state(learner, webcast).may_attempt


def test_two_submits_at_once_never_exceed_the_attempts_allowed(app, db, webcast, learner, backend):
    """Six submits at the same moment with one attempt left: one is scored, five are refused."""
    evaluation.set_post_test_rules(webcast, passing_score=100, max_attempts=2)
    evaluation.submit_post_test(learner, webcast, {})
    db.session.commit()
    activity_id, user_id = webcast.id, learner.id
    barrier = threading.Barrier(6)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def submit() -> None:
        from cme.accounts.models import User
        from cme.activities.models import Activity
        from cme.transactions import commit_with_retry

        try:
            barrier.wait(timeout=30)
            with app.app_context():
                try:
                    commit_with_retry(lambda: evaluation.submit_post_test(
                        _db.session.get(User, user_id), _db.session.get(Activity, activity_id), {}))
                    outcomes.append("scored")
                except CreditError as refused:
                    _db.session.rollback()
                    outcomes.append(refused.code)
                _db.session.remove()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes) == ["no_attempts"] * 5 + ["scored"]
    assert db.session.scalar(select(func.count()).select_from(PostTestAttempt)) == 2


def test_organizers_limit_attempts_and_explain_each_question(client, db, webcast, auth):
    auth.login("org@example.org")
    url = f"/organize/activities/{webcast.id}"
    refused = client.post(f"{url}/post-test/score", data={"passing_score": "80", "max_attempts": "0"})
    assert refused.status_code == 422 and "Allow from 1 to 100 attempts" in refused.get_data(as_text=True)
    saved = client.post(f"{url}/post-test/score", data={"passing_score": "80", "max_attempts": "3"},
                        follow_redirects=True).get_data(as_text=True)
    assert "Post-test saved: 80% to pass, 3 attempt(s) allowed." in saved
    assert (webcast.post_test_passing_score, webcast.post_test_max_attempts) == (80, 3)
    client.post(f"{url}/post-test/score", data={"passing_score": "80", "max_attempts": ""})
    db.session.refresh(webcast)
    assert webcast.post_test_max_attempts is None  # empty: unlimited
    client.post(f"{url}/post-test/questions", data={"post_test-prompt": "First-line therapy?", "post_test-choices": "A\nB\nC",
                                                     "post_test-correct": "3", "post_test-explanation": "C is pan-genotypic."})
    question = evaluation.post_test_questions(webcast)[-1]
    assert (question.correct_index, question.explanation) == (2, "C is pan-genotypic.")
    form = client.get(f"{url}/post-test/questions/{question.id}/edit").get_data(as_text=True)
    assert "C is pan-genotypic.</textarea>" in form and 'value="3"' in form
    too_few = client.post(f"{url}/post-test/questions/{question.id}/edit",
                          data={"post_test-prompt": "First-line therapy?", "post_test-choices": "A\nB", "post_test-correct": "3", "post_test-explanation": ""})
    assert too_few.status_code == 422 and "There are only 2 choices." in too_few.get_data(as_text=True)
    client.post(f"{url}/post-test/questions/{question.id}/edit",
                data={"post_test-prompt": "First-line therapy?", "post_test-choices": "A\nB", "post_test-correct": "2", "post_test-explanation": "B, now."})
    db.session.refresh(question)
    assert (question.choices, question.correct_index, question.explanation) == (["A", "B"], 1, "B, now.")
    page = client.get(f"{url}/credit").get_data(as_text=True)
    assert "Explanation: B, now." in page and f"{url}/post-test/questions/{question.id}/edit" in page


def test_the_service_refuses_a_limit_below_one_attempt(db, webcast):
    with pytest.raises(CreditError, match="Allow at least one attempt"):
        evaluation.set_post_test_rules(webcast, passing_score=70, max_attempts=0)
