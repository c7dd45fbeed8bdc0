"""Double submits (issue 13, point 6): the same form sent several times at once (a double click, two tabs, a
retrying proxy), as real concurrent requests (a thread and a test client each, released together), never gives
a 500 and never makes two rows where one is meant: a request that loses the race on a unique constraint is run
again and answers as for any repeat (cme.transactions). And a password reset link works once, even when several
requests use it at the same moment."""
from __future__ import annotations

import threading
from datetime import timedelta
from typing import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from cme.accounts.models import User
from cme.accounts.service import make_reset_token
from cme.attendance.models import Attendance
from cme.credit import evaluation
from cme.credit.evaluation_models import EvaluationResponse
from cme.credit.models import CreditRecord
from cme.registration.models import Registration
from cme.timeutil import now_utc
from tests.helpers import TEST_PASSWORD

NOW = now_utc().replace(microsecond=0)


def at_once(app: Flask, count: int, send: Callable[[FlaskClient], object], *, email: str | None = None) -> list:
    """`count` clients (logged in as `email`, if given) send at the same moment, a thread each released by a
    barrier: the responses, or what was raised (the test app lets exceptions through: each would be a 500). Each
    thread logs its own client in: in the test's thread the requests would share the app context (and its `g`)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(n: int) -> None:
        client = app.test_client()
        try:
            if email:
                response = client.post("/account/login", data={"email": email, "password": TEST_PASSWORD})
                assert response.location == "/activities/" or "organize" in response.location
        finally:
            barrier.wait(timeout=30)
        try:
            results[n] = send(client)
        except Exception as error:  # noqa: BLE001  (reported by the test's assertions)
            results[n] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def statuses(results: list) -> list:
    return [getattr(r, "status_code", repr(r)) for r in results]


def count(db, model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_five_sign_ups_with_one_address_at_once_make_one_account_and_answer_alike(app, db):
    form = {"email": "jane@example.org", "password": TEST_PASSWORD, "confirm": TEST_PASSWORD, "full_name": "Jane Doe",
            "degree": "NP", "profession": "nurse_practitioner", "time_zone": "America/New_York"}
    results = at_once(app, 5, lambda c: c.post("/account/signup", data=form))
    assert statuses(results) == [302] * 5
    assert {r.location for r in results} == {"/account/login"}
    assert count(db, User) == 1


def ready_to_evaluate(db, make_user, make_activity, register):
    learner = make_user("ada@example.org", full_name="Ada Lovelace")
    activity = make_activity(start_dt=NOW - timedelta(days=2), end_dt=NOW - timedelta(days=2) + timedelta(hours=3))
    register(learner, activity, by_organizer=True)
    db.session.add(Attendance(user_id=learner.id, activity_id=activity.id, checked_in_dt=activity.start_dt))
    db.session.commit()
    return learner, activity


def test_six_evaluation_submits_at_once_record_one_evaluation_and_all_go_on_to_the_claim(
        app, db, make_user, make_activity, register):
    learner, activity = ready_to_evaluate(db, make_user, make_activity, register)
    answers = {q.key: q.choices[0] if q.choices else "Nothing" for q in evaluation.evaluation_questions(activity)}
    url = f"/activities/{activity.id}/evaluation"
    results = at_once(app, 6, lambda c: c.post(url, data=answers), email=learner.email)
    assert statuses(results) == [302] * 6
    assert {r.location for r in results} == {f"/activities/{activity.id}/claim"}
    assert count(db, EvaluationResponse) == 1


def test_four_claims_at_once_make_one_credit_record(app, db, make_user, make_activity, register):
    learner, activity = ready_to_evaluate(db, make_user, make_activity, register)
    evaluation.submit_evaluation(learner, activity, {})
    db.session.commit()
    url = f"/activities/{activity.id}/claim"
    results = at_once(app, 4, lambda c: c.post(url, data={"ama_pra_1": "3", "attest": "y"}), email=learner.email)
    assert statuses(results) == [302] * 4
    assert count(db, CreditRecord) == 1


def test_five_registrations_at_once_make_one_registration(app, db, make_user, make_activity):
    learner = make_user("ada@example.org")
    activity = make_activity()
    url = f"/activities/{activity.id}/register"
    form = {"full_name": "Ada", "degree": "MD", "profession": "physician", "attest": "y"}
    results = at_once(app, 5, lambda c: c.post(url, data=form), email=learner.email)
    assert statuses(results) == [302] * 5
    assert count(db, Registration) == 1


def test_four_check_ins_of_one_registrant_at_once_record_one_check_in(app, db, make_user, make_activity, register):
    organizer = make_user("org@example.org", role="organizer")
    learner = make_user("ada@example.org")
    activity = make_activity(organizers=[organizer], start_dt=NOW + timedelta(minutes=10))
    registration = register(learner, activity)
    url = f"/organize/activities/{activity.id}/checkin/{registration.id}"
    results = at_once(app, 4, lambda c: c.post(url), email=organizer.email)
    assert statuses(results) == [302] * 4
    assert count(db, Attendance) == 1


def test_four_viewing_reports_at_once_make_one_attendance_record(app, db, make_user, make_activity, register):
    learner = make_user("ada@example.org")
    webcast = make_activity(format="live_webcast", join_url="https://webcast.example.org/live",
                            start_dt=NOW - timedelta(minutes=10), end_dt=NOW + timedelta(hours=1))
    register(learner, webcast)
    url = f"/activities/{webcast.id}/watch/heartbeat"
    results = at_once(app, 4, lambda c: c.post(url), email=learner.email)
    assert statuses(results) == [200] * 4
    assert count(db, Attendance) == 1


def test_a_reset_link_used_by_four_requests_at_once_works_once(app, db, make_user):
    user = make_user("ada@example.org")
    token = make_reset_token(user)
    passwords = iter(f"new password number {n}" for n in range(4))
    lock = threading.Lock()

    def reset(client: FlaskClient):
        with lock:
            password = next(passwords)
        response = client.post(f"/account/reset/{token}", data={"password": password, "confirm": password})
        told = client.get("/account/reset").get_data(as_text=True) if response.location == "/account/reset" else ""
        return response, password, told

    results = at_once(app, 4, reset)
    assert all(isinstance(r, tuple) for r in results), results
    assert all(response.status_code == 302 for response, _, _ in results)
    done = [password for response, password, _ in results if response.location == "/activities/"]
    refused = [told for response, _, told in results if response.location == "/account/reset"]
    assert len(done) == 1 and len(refused) == 3
    assert all("This reset link has already been used." in told for told in refused)
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password(done[0])
