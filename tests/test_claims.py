"""Attendance (viewing-time heartbeats, per-session check-in), evaluation, post-test, claims with their
limits and deadline, organizer adjustments with an audit trail that supersede certificates."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cme.activities.models import ActivitySession
from cme.attendance import service as attendance_service
from cme.attendance.models import Attendance
from cme.certificates import service as certificates
from cme.credit import evaluation
from cme.credit import service
from cme.credit.eligibility import claim_limits
from cme.credit.errors import CreditError
from cme.credit.evaluation_models import CreditAdjustment
from cme.credit.models import CreditRecord
from cme.mail.models import OutboxMessage
from cme.timeutil import now_utc

NOW = now_utc().replace(microsecond=0)


@pytest.fixture
def on_demand(db, make_activity):
    return make_activity(format="on_demand_webcast", join_url="https://webcast.example.org/od",
                         start_dt=NOW - timedelta(days=1), end_dt=NOW + timedelta(days=90),
                         credits={"ama_pra_1": "1.5", "ancc": "1.5"})


def test_heartbeats_count_at_most_the_wall_time_between_reports(db, make_user, on_demand, register):
    learner = make_user()
    register(learner, on_demand, by_organizer=True)
    assert attendance_service.heartbeat(learner, on_demand, now=NOW) == 0
    assert attendance_service.heartbeat(learner, on_demand, now=NOW + timedelta(seconds=60)) == 60
    # A second tab reporting 5 s later adds 5 s, not another minute.
    assert attendance_service.heartbeat(learner, on_demand, now=NOW + timedelta(seconds=65)) == 65
    # A report after a long hidden gap counts nothing: it starts a new stretch.
    assert attendance_service.heartbeat(learner, on_demand, now=NOW + timedelta(minutes=30)) == 65
    assert attendance_service.heartbeat(learner, on_demand, now=NOW + timedelta(minutes=31)) == 125
    # A forged report from the past adds nothing.
    assert attendance_service.heartbeat(learner, on_demand, now=NOW + timedelta(minutes=10)) == 125
    [attendance] = db.session.scalars(select(Attendance)).all()
    assert attendance.minutes_watched == 2


def test_only_registrants_watch_and_the_heartbeat_endpoint_needs_csrf(app, client, db, make_user, on_demand, auth):
    make_user("viewer@example.org")
    auth.login("viewer@example.org")
    assert "Only registered participants can watch." in client.get(f"/activities/{on_demand.id}/watch").get_data(as_text=True)
    assert client.post(f"/activities/{on_demand.id}/watch/heartbeat").status_code == 409
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/activities/{on_demand.id}/watch/heartbeat").status_code == 400


def test_watch_page_reports_from_the_browser(client, db, make_user, on_demand, auth, register):
    viewer = make_user("viewer@example.org")
    register(viewer, on_demand, by_organizer=True)
    auth.login("viewer@example.org")
    page = client.get(f"/activities/{on_demand.id}/watch").get_data(as_text=True)
    assert "js/watch.js" in page and f"/activities/{on_demand.id}/watch/heartbeat" in page
    assert client.post(f"/activities/{on_demand.id}/watch/heartbeat").get_json() == {"seconds": 0, "minutes": 0}


def watched(db, user, activity, minutes):
    db.session.add(Attendance(user_id=user.id, activity_id=activity.id, watched_seconds=minutes * 60,
                              minutes_watched=minutes))
    db.session.commit()


def evaluate(client, activity):
    questions = evaluation.evaluation_questions(activity)
    data = {q.key: (q.choices[0] if q.choices else "Great") for q in questions}
    return client.post(f"/activities/{activity.id}/evaluation", data=data)


def test_the_whole_path_from_watching_to_a_claim(client, db, make_user, on_demand, auth, register):
    learner = make_user("ada@example.org", degree="MD")
    register(learner, on_demand, by_organizer=True)
    auth.login("ada@example.org")
    page = client.get(f"/activities/{on_demand.id}/claim").get_data(as_text=True)
    assert "Complete the evaluation first." in page and "does not support any credit" in page
    assert "Watch the webcast first" in client.get(f"/activities/{on_demand.id}/evaluation").get_data(as_text=True)
    watched(db, learner, on_demand, 80)  # 1 h 20 min -> 1.25 h supported
    form = client.get(f"/activities/{on_demand.id}/evaluation").get_data(as_text=True)
    assert "Will you change your practice as a result of this activity?" in form
    incomplete = client.post(f"/activities/{on_demand.id}/evaluation", data={})
    assert incomplete.status_code == 422 and "Please answer this question." in incomplete.get_data(as_text=True)
    assert evaluate(client, on_demand).status_code == 302
    too_much = client.post(f"/activities/{on_demand.id}/claim", data={"ama_pra_1": "1.5", "attest": "y"})
    assert too_much.status_code == 422 and "at most 1.25" in too_much.get_data(as_text=True)
    assert "what your recorded attendance supports" in too_much.get_data(as_text=True)
    step = client.post(f"/activities/{on_demand.id}/claim", data={"ama_pra_1": "1.1", "attest": "y"})
    assert "steps of 0.25" in step.get_data(as_text=True)
    unattested = client.post(f"/activities/{on_demand.id}/claim", data={"ama_pra_1": "1"})
    assert "Tick the attestation" in unattested.get_data(as_text=True)
    assert db.session.scalars(select(CreditRecord)).all() == []
    assert client.post(f"/activities/{on_demand.id}/claim", data={"ama_pra_1": "1", "attest": "y"}).status_code == 302
    # A correction replaces the record (one per type).
    client.post(f"/activities/{on_demand.id}/claim", data={"ama_pra_1": "1.25", "attest": "y"})
    [record] = db.session.scalars(select(CreditRecord)).all()
    assert record.amount == Decimal("1.25") and record.attested


def test_claims_wait_for_the_end_of_a_live_activity_and_follow_attended_sessions(db, make_user, make_activity, register):
    organizer = make_user(role="organizer")
    meeting = make_activity(start_dt=NOW - timedelta(hours=5), end_dt=NOW + timedelta(hours=1), credits={"ama_pra_1": "4"})
    for hour in range(4):
        meeting.sessions.append(ActivitySession(title=f"S{hour}", start_dt=meeting.start_dt + timedelta(hours=hour),
                                                end_dt=meeting.start_dt + timedelta(hours=hour, minutes=60)))
    db.session.commit()
    learner = make_user(degree="MD")
    registration = register(learner, meeting, by_organizer=True)
    status = service.claim_status(learner, meeting)
    assert "Credit can be claimed once the activity has ended." in status.problems
    attendance_service.check_in(registration, meeting.sessions[0], by=organizer, now=meeting.sessions[0].start_dt)
    attendance_service.check_in(registration, meeting.sessions[2], by=organizer, now=meeting.sessions[2].start_dt)
    assert not attendance_service.check_in(registration, meeting.sessions[2], by=organizer,
                                   now=meeting.sessions[2].start_dt)  # once
    with pytest.raises(attendance_service.AttendanceError, match="Check-in to “S3” opens on"):
        attendance_service.check_in(registration, meeting.sessions[3], by=organizer,
                            now=meeting.sessions[3].start_dt - timedelta(days=1))
    later = NOW + timedelta(hours=2)
    evaluation.submit_evaluation(learner, meeting, {}, now=later)
    status = service.claim_status(learner, meeting, now=later)
    assert status.open and status.supported == Decimal("2") and status.limits == {"ama_pra_1": Decimal("2")}
    with pytest.raises(CreditError, match="at most 2"):
        service.claim_credit(learner, meeting, {"ama_pra_1": Decimal("2.25")}, attested=True, now=later)
    meeting.claim_deadline_dt = later + timedelta(days=1)
    service.claim_credit(learner, meeting, {"ama_pra_1": Decimal("2")}, attested=True, now=later)
    with pytest.raises(CreditError, match="deadline has passed"):
        service.claim_credit(learner, meeting, {"ama_pra_1": Decimal("1")}, attested=True, now=later + timedelta(days=2))


def test_the_post_test_can_be_retried_and_the_best_score_counts(client, db, make_user, on_demand, auth, register):
    evaluation.add_post_test_question(on_demand, prompt="First-line HCV therapy?", choices=["A", "B"], correct_index=1)
    evaluation.add_post_test_question(on_demand, prompt="SVR12 means?", choices=["cure", "relapse"], correct_index=0)
    on_demand.post_test_passing_score = 100
    learner = make_user("ada@example.org", degree="MD")
    register(learner, on_demand, by_organizer=True)
    watched(db, learner, on_demand, 90)
    auth.login("ada@example.org")
    assert evaluate(client, on_demand).location.endswith(f"/activities/{on_demand.id}/post-test")
    questions = evaluation.post_test_questions(on_demand)
    fail = client.post(f"/activities/{on_demand.id}/post-test", data={f"p{questions[0].id}": "0", f"p{questions[1].id}": "0"},
                       follow_redirects=True).get_data(as_text=True)
    assert "You scored 50%" in fail
    assert "Pass the post-test first (100% needed)." in client.get(f"/activities/{on_demand.id}/claim").get_data(as_text=True)
    passed = client.post(f"/activities/{on_demand.id}/post-test", data={f"p{questions[0].id}": "1", f"p{questions[1].id}": "0"},
                         follow_redirects=True).get_data(as_text=True)
    assert "You passed with 100%." in passed and evaluation.best_score(learner, on_demand) == 100
    again = client.post(f"/activities/{on_demand.id}/post-test", data={f"p{questions[0].id}": "0",
                                                                        f"p{questions[1].id}": "1"}, follow_redirects=True)
    assert "You have passed this post-test (100%)" in again.get_data(as_text=True)  # nothing to retake once passed
    assert evaluation.best_score(learner, on_demand) == 100
    assert client.post(f"/activities/{on_demand.id}/claim", data={"ama_pra_1": "1.5", "attest": "y"}).status_code == 302


def test_organizer_adjustments_are_audited_and_reissue_the_certificate(client, db, make_user, on_demand, auth):
    organizer = make_user("org@example.org", role="organizer")
    on_demand.organizers.append(organizer)
    learner = make_user(degree="MD", full_name="Ada Lovelace")
    db.session.add(CreditRecord(user_id=learner.id, activity_id=on_demand.id, credit_type="ama_pra_1",
                                amount=Decimal("1"), attested=True))
    db.session.commit()
    first, _ = certificates.issue_certificate(learner, on_demand)
    db.session.commit()
    auth.login("org@example.org")
    record = db.session.scalars(select(CreditRecord)).one()
    no_reason = client.post(f"/organize/activities/{on_demand.id}/credit/adjust",
                            data={"record_id": record.id, "amount": "1.5", "reason": ""})
    assert no_reason.status_code == 422 and "Give the reason." in no_reason.get_data(as_text=True)
    too_much = client.post(f"/organize/activities/{on_demand.id}/credit/adjust",
                           data={"record_id": record.id, "amount": "2", "reason": "x"})
    assert "The designated maximum is 1.5." in too_much.get_data(as_text=True)
    done = client.post(f"/organize/activities/{on_demand.id}/credit/adjust",
                       data={"record_id": record.id, "amount": "1.5", "reason": "Late check-in confirmed"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Late check-in confirmed" in done and "1 → 1.5" in done
    [adjustment] = db.session.scalars(select(CreditAdjustment)).all()
    assert (adjustment.old_amount, adjustment.new_amount, adjustment.adjusted_by_id) == (Decimal("1"), Decimal("1.5"), organizer.id)
    db.session.refresh(first)
    assert first.superseded_dt is not None
    current = certificates.current_certificate(learner, on_demand)
    assert current.snapshot["credits"][0]["line"] == "1.5 AMA PRA Category 1 Credit(s)™ claimed"
    auth.logout()
    make_user("prov@example.org")
    auth.login("prov@example.org")
    assert client.get(f"/organize/activities/{on_demand.id}/credit").status_code == 403
    assert client.post(f"/organize/activities/{on_demand.id}/credit/adjust",
                       data={"record_id": record.id, "amount": "1", "reason": "x"}).status_code == 403


def test_organizers_customise_the_evaluation_keeping_the_default_questions(client, db, make_user, make_activity, auth):
    organizer = make_user("org@example.org", role="organizer")
    activity = make_activity(organizers=[organizer])
    auth.login("org@example.org")
    bad = client.post(f"/organize/activities/{activity.id}/evaluation/questions",
                      data={"question-kind": "choice", "question-prompt": "Pick", "question-choices": "only one"})
    assert bad.status_code == 422 and "at least two choices" in bad.get_data(as_text=True)
    client.post(f"/organize/activities/{activity.id}/evaluation/questions",
                data={"question-kind": "likert", "question-prompt": "The speakers were clear.", "question-required": "y"})
    prompts = [q.prompt for q in evaluation.evaluation_questions(activity)]
    assert "Will you change your practice as a result of this activity?" in prompts
    assert prompts[-1] == "The speakers were clear."


def test_organizers_remove_questions_of_their_own_activity_only(client, db, make_user, make_activity, auth):
    from cme.credit.evaluation_models import EvaluationQuestion

    organizer = make_user("org@example.org", role="organizer")
    activity = make_activity(organizers=[organizer])
    other = make_activity(organizers=[organizer])
    question = evaluation.add_evaluation_question(activity, kind="text", prompt="Anything else?", choices=[], required=False)
    db.session.commit()
    auth.login("org@example.org")
    assert client.post(f"/organize/activities/{other.id}/evaluation/questions/{question.id}/delete").status_code == 404
    response = client.post(f"/organize/activities/{activity.id}/evaluation/questions/{question.id}/delete")
    assert response.status_code == 302 and db.session.get(EvaluationQuestion, question.id) is None


def test_a_learners_corrected_claim_supersedes_their_certificate(db, make_user, on_demand, register):
    learner = make_user(degree="MD")
    register(learner, on_demand, by_organizer=True)
    watched(db, learner, on_demand, 90)
    evaluation.submit_evaluation(learner, on_demand, {})
    service.claim_credit(learner, on_demand, {"ama_pra_1": Decimal("1")}, attested=True)
    first, _ = certificates.issue_certificate(learner, on_demand)
    db.session.commit()
    service.claim_credit(learner, on_demand, {"ama_pra_1": Decimal("1.5")}, attested=True)
    certificates.reissue_if_certified(learner, on_demand)
    db.session.commit()
    db.session.refresh(first)
    current = certificates.current_certificate(learner, on_demand)
    assert first.superseded_dt is not None and current.id != first.id
    assert current.snapshot["credits"][0]["amount"] == "1.5"


def test_a_claim_corrected_on_the_claim_page_supersedes_the_certificate(client, db, make_user, on_demand, auth,
                                                                        register):
    """Credit sits below certificates: the claim page reissues a certificate already issued, the claim does not."""
    learner = make_user("ada@example.org", degree="MD")
    register(learner, on_demand, by_organizer=True)
    watched(db, learner, on_demand, 90)
    evaluation.submit_evaluation(learner, on_demand, {})
    service.claim_credit(learner, on_demand, {"ama_pra_1": Decimal("1")}, attested=True)
    first, _ = certificates.issue_certificate(learner, on_demand)
    db.session.commit()
    auth.login("ada@example.org")
    assert client.post(f"/activities/{on_demand.id}/claim", data={"ama_pra_1": "1", "attest": "y"}).status_code == 302
    assert certificates.current_certificate(learner, on_demand).id == first.id  # the same credit: the same one
    on_demand.certificates_automatic = False  # even where the organizer issues them, a correction is reissued
    db.session.commit()
    corrected = client.post(f"/activities/{on_demand.id}/claim", data={"ama_pra_1": "1.25", "attest": "y"},
                            follow_redirects=True).get_data(as_text=True)
    assert "Your corrected claim is saved. Your certificate was reissued with this credit and mailed to you" in corrected
    db.session.expire_all()
    current = certificates.current_certificate(learner, on_demand)
    assert db.session.get(type(first), first.id).superseded_by_id == current.id
    assert current.snapshot["credits"][0]["amount"] == "1.25"


def test_reissuing_needs_a_current_certificate(db, make_user, on_demand):
    learner = make_user(degree="MD")
    db.session.add(CreditRecord(user_id=learner.id, activity_id=on_demand.id, credit_type="ama_pra_1",
                                amount=Decimal("1"), attested=True))
    db.session.commit()
    assert certificates.reissue_if_certified(learner, on_demand) is None
    assert certificates.current_certificate(learner, on_demand) is None


def test_organizers_see_anonymous_evaluation_results_and_export_them(client, db, make_user, make_activity, auth):
    import csv
    import io

    from cme.credit.evaluation_models import EvaluationResponse

    organizer = make_user("org@example.org", role="organizer")
    meeting = make_activity(organizers=[organizer], start_dt=NOW - timedelta(days=2), end_dt=NOW - timedelta(days=2) + timedelta(hours=3))
    questions = evaluation.evaluation_questions(meeting)
    keys = [q.key for q in questions]  # objectives (likert), bias (likert), change (choice), comments (text)
    answers = [("Strongly agree", "Agree", "Yes", "<b>More cases</b>"), ("Agree", "Agree", "Not sure", ""),
               ("Agree", "Neutral", "Yes", "=HYPERLINK(\"x\")")]
    for n, row in enumerate(answers):
        learner = make_user(f"learner{n}@example.org", full_name=f"Learner Number{n}")
        db.session.add(EvaluationResponse(user_id=learner.id, activity_id=meeting.id, answers={
            key: {"prompt": q.prompt, "answer": value} for key, q, value in zip(keys, questions, row)}))
    db.session.commit()
    summary = dict((s.question.key, s) for s in evaluation.evaluation_summary(meeting)[1])
    assert dict(summary[keys[0]].counts)["Agree"] == 2 and summary[keys[0]].mean == pytest.approx(13 / 3)
    assert dict(summary[keys[2]].counts) == {"Yes": 2, "No": 0, "Not sure": 1,
                                              "This activity confirmed my current practice": 0}
    assert summary[keys[3]].answered == 2 and summary[keys[3]].texts[0] == "<b>More cases</b>"

    auth.login("org@example.org")
    page = client.get(f"/organize/activities/{meeting.id}/evaluations").get_data(as_text=True)
    assert "<strong>3</strong> responses" in page and "average 4.3" in page
    assert "&lt;b&gt;More cases&lt;/b&gt;" in page and "<b>More cases</b>" not in page
    assert "Learner Number" not in page and "learner0@example.org" not in page  # anonymous
    assert f"/organize/activities/{meeting.id}/evaluations" in client.get(
        f"/organize/activities/{meeting.id}/credit").get_data(as_text=True)
    exported = client.get(f"/organize/activities/{meeting.id}/evaluations.csv")
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert rows[0][1:] == [q.prompt for q in questions] and len(rows) == 4
    assert "'=HYPERLINK(\"x\")" in rows[3] and not any("Learner" in cell for row in rows for cell in row)
    # Another organizer's activity, and providers: not theirs.
    auth.logout()
    make_user("prov@example.org")
    auth.login("prov@example.org")
    assert client.get(f"/organize/activities/{meeting.id}/evaluations").status_code == 403
    assert client.get(f"/organize/activities/{meeting.id}/evaluations.csv").status_code == 403


def test_evaluation_claims_and_pages_open_at_the_same_instant_the_activity_ends(db, make_user, make_activity):
    """One rule (Activity.is_open_for_credit) for the evaluation, the claim, My schedule and Issue certificates."""
    meeting = make_activity(start_dt=NOW - timedelta(hours=3), end_dt=NOW)
    learner = make_user()
    before, at_end = NOW - timedelta(seconds=1), NOW
    assert not meeting.is_open_for_credit(before) and meeting.is_open_for_credit(at_end)
    assert evaluation.evaluation_problem(learner, meeting, now=before) == "The evaluation opens when the activity ends."
    assert evaluation.evaluation_problem(learner, meeting, now=at_end) != "The evaluation opens when the activity ends."
    assert "Credit can be claimed once the activity has ended." in service.claim_status(learner, meeting,
                                                                                          now=before).problems
    assert "Credit can be claimed once the activity has ended." not in service.claim_status(learner, meeting,
                                                                                              now=at_end).problems


def test_before_the_end_the_claim_page_says_when_credit_opens_not_to_evaluate_first(db, make_user, make_activity):
    meeting = make_activity(start_dt=NOW + timedelta(days=3), end_dt=NOW + timedelta(days=3, hours=2))
    problems = service.claim_status(make_user(), meeting).problems
    assert "Credit can be claimed once the activity has ended." in problems
    assert "Complete the evaluation first." not in problems  # the evaluation is not open yet either


# ---------------------------------------------------------------- one limit per type (issue 14, point 8)

def test_the_claimable_maximum_is_the_least_of_designation_attendance_and_the_ama_credit():
    limits = claim_limits({"ama_pra_1": Decimal("1.25"), "abim_moc": Decimal("1")}, Decimal("0.25"))
    assert {t: (limit.amount, limit.reason) for t, limit in limits.items()} == {
        "ama_pra_1": (Decimal("0.25"), "what your recorded attendance supports (check-in or viewing time)"),
        "abim_moc": (Decimal("0.25"), "what your recorded attendance supports (check-in or viewing time)")}
    assert limits["ama_pra_1"].help == ("Up to 0.25: what your recorded attendance supports (check-in or viewing "
                                        "time). The activity designates 1.25.")
    enough = claim_limits({"ama_pra_1": Decimal("1.25")}, Decimal("3"))["ama_pra_1"]
    assert (enough.amount, enough.help) == (Decimal("1.25"), "Up to 1.25: the designated maximum.")
    # MOC points never above the AMA credit the learner may claim, whichever comes first in the designations.
    moc = claim_limits({"abim_moc": Decimal("2"), "ama_pra_1": Decimal("1.5")}, Decimal("3"))["abim_moc"]
    assert (moc.amount, moc.reason) == (Decimal("1.5"), "no more than the AMA PRA Category 1 Credit™ you may claim")


def test_the_claim_page_shows_each_types_limit_once_and_the_form_and_service_refuse_above_it_alike(
        client, db, make_user, on_demand, auth, register):
    """Reproduces issue 14: the page said "attendance supports up to 0.25" while each field said "Up to 1.5"."""
    learner = make_user("ada@example.org", degree="MD", profession="physician")
    register(learner, on_demand, by_organizer=True)
    watched(db, learner, on_demand, 20)  # 0.25 h
    evaluation.submit_evaluation(learner, on_demand, {})
    db.session.commit()
    auth.login("ada@example.org")
    page = client.get(f"/activities/{on_demand.id}/claim").get_data(as_text=True)
    assert page.count("Up to 0.25: what your recorded attendance supports") == 1
    assert "Up to 1.5" not in page and "supports up to" not in page
    refused = client.post(f"/activities/{on_demand.id}/claim", data={"ama_pra_1": "0.5", "attest": "y"})
    message = ("You can claim at most 0.25 AMA PRA Category 1 Credit™: what your recorded attendance supports "
               "(check-in or viewing time).")
    assert refused.status_code == 422 and message in refused.get_data(as_text=True)
    with pytest.raises(CreditError) as caught:
        service.claim_credit(learner, on_demand, {"ama_pra_1": Decimal("0.5")}, attested=True)
    assert (caught.value.message, caught.value.field) == (message, "ama_pra_1")


def test_after_a_claim_the_learner_is_told_what_became_of_their_certificate(client, db, make_user, make_activity,
                                                                           auth, register):
    """Reproduces issue 14: after a correction the page said the certificate "will follow" when one was issued."""
    meeting = make_activity(start_dt=NOW - timedelta(days=2), end_dt=NOW - timedelta(days=2) + timedelta(hours=3),
                            certificates_automatic=False)
    learner = make_user("ada@example.org", degree="MD", profession="physician")
    registration = register(learner, meeting, by_organizer=True)
    organizer = make_user(role="organizer")
    attendance_service.check_in(registration, by=organizer, now=meeting.start_dt)
    evaluation.submit_evaluation(learner, meeting, {})
    db.session.commit()
    auth.login("ada@example.org")

    def claim(amount: str) -> str:
        return client.post(f"/activities/{meeting.id}/claim", data={"ama_pra_1": amount, "attest": "y"},
                           follow_redirects=True).get_data(as_text=True)

    def mails() -> int:
        return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "certificate_issued"))

    assert "Your credit is recorded. The organizers issue this activity&#39;s certificates: yours will be mailed" in claim("2")
    assert "Your corrected claim is saved. The organizers issue" in claim("2.5")
    certificates.issue_for_activity(meeting)
    db.session.commit()
    assert mails() == 1
    assert "issued " in client.get(f"/activities/{meeting.id}/claim").get_data(as_text=True)
    assert ("Your corrected claim is saved. Your certificate was reissued with this credit and mailed to you"
            in claim("3"))
    assert mails() == 2
    assert "Your certificate already states this credit: it stays as it is." in claim("3")
    assert mails() == 2
    meeting.certificates_automatic = True
    other = make_user("grace@example.org", degree="MD", profession="physician")
    registration = register(other, meeting, by_organizer=True)
    attendance_service.check_in(registration, by=organizer, now=meeting.start_dt)
    evaluation.submit_evaluation(other, meeting, {})
    outcome = certificates.claim_and_certify(other, meeting, {"ama_pra_1": Decimal("1")}, attested=True)
    assert (outcome.corrected, outcome.certificate) == (False, certificates.AfterClaim.ISSUED)


def test_the_credit_page_keeps_each_question_forms_labels_and_ids_its_own(client, db, make_user, on_demand, auth):
    """Issue 14, point 11: the evaluation's and the post-test's question forms share the page; each has its own
    prefix, so the post-test's "Question" label points at the post-test's field and no id repeats."""
    organizer = make_user("org@example.org", role="organizer")
    on_demand.organizers.append(organizer)
    db.session.commit()
    auth.login("org@example.org")
    page = client.get(f"/organize/activities/{on_demand.id}/credit").get_data(as_text=True)
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert sorted({i for i in ids if ids.count(i) > 1}) == []
    assert '<label for="question-prompt">Question</label>' in page and '<label for="post_test-prompt">Question</label>' in page
    added = client.post(f"/organize/activities/{on_demand.id}/post-test/questions", data={
        "post_test-prompt": "Which test first?", "post_test-choices": "FIB-4\nBiopsy", "post_test-correct": "1"})
    assert added.status_code == 302
    assert [q.prompt for q in evaluation.post_test_questions(on_demand)] == ["Which test first?"]
