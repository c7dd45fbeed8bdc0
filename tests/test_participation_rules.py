"""Issue 12, points 3 and 4: credit only for real participation (viewing time only while a webcast is on,
nothing for a cancelled activity, the learner's own completion date) and invariants that later edits cannot
break (designations never below claims, ended activities neither cancelled nor unpublished, capacity under a
race, one current certificate per learner and activity, issued once under concurrent requests)."""
from __future__ import annotations

import csv
import io
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from cme.attendance import service as attendance
from cme.attendance.models import Attendance
from cme.certificates import service as certificates
from cme.certificates.models import Certificate
from cme.credit import evaluation
from cme.credit import service as credit
from cme.credit.errors import CreditError
from cme.credit.models import CreditRecord
from cme.extensions import db as _db
from cme.registration import lifecycle
from cme.registration import service as registration
from cme.registration.models import Registration
from cme.timeutil import UTCDateTime, now_utc
from tests.helpers import POSTGRES_URL, base_config, outbox

NOW = now_utc().replace(microsecond=0)
JOIN = "https://webcast.example.org/live"


def watched(db, user, activity, minutes, *, last=None):
    db.session.add(Attendance(user_id=user.id, activity_id=activity.id, watched_seconds=minutes * 60,
                              minutes_watched=minutes, last_heartbeat_dt=last))
    db.session.commit()


def claimed(db, user, activity, amount, credit_type="ama_pra_1"):
    db.session.add(CreditRecord(user_id=user.id, activity_id=activity.id, credit_type=credit_type,
                                amount=Decimal(amount), attested=True))
    db.session.commit()


def pdf_text(body: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages).split())


# ---------------------------------------------------------------- viewing time only while the webcast is on

def test_heartbeats_sent_only_before_a_live_webcasts_start_earn_nothing(db, make_user, make_activity, register):
    """Reproduces issue 12: the watch page opens 30 minutes early, and heartbeats sent only before the start used to
    earn the whole (30-minute) webcast's credit."""
    start = NOW + timedelta(hours=2)
    webcast = make_activity(format="live_webcast", join_url=JOIN, start_dt=start, end_dt=start + timedelta(minutes=30),
                            credits={"ama_pra_1": "0.5"})
    learner = make_user()
    register(learner, webcast, by_organizer=True)
    for minute in range(31):  # one report a minute, from the moment the page opens until the start
        attendance.heartbeat(learner, webcast, now=start - timedelta(minutes=30) + timedelta(minutes=minute))
    db.session.commit()
    assert attendance.minutes_watched(learner, webcast) == 0
    assert attendance.supported_hours(learner, webcast) == 0
    after = webcast.end_dt + timedelta(minutes=5)
    assert evaluation.evaluation_problem(learner, webcast, now=after).startswith("We have no record of your attendance")
    assert "Your attendance does not support any credit yet" in " ".join(credit.claim_status(learner, webcast,
                                                                                            now=after).problems)


def test_the_watch_page_opens_early_and_says_the_minutes_before_the_start_earn_nothing(client, db, make_user,
                                                                                       make_activity, register, auth):
    start = NOW + timedelta(minutes=20)
    webcast = make_activity(format="live_webcast", join_url=JOIN, start_dt=start, end_dt=start + timedelta(hours=1))
    register(make_user("ada@example.org"), webcast, by_organizer=True)
    auth.login("ada@example.org")
    page = client.get(f"/activities/{webcast.id}/watch").get_data(as_text=True)
    assert "js/watch.js" in page and "the minutes before the start earn no credit" in page
    assert client.post(f"/activities/{webcast.id}/watch/heartbeat").get_json() == {"seconds": 0, "minutes": 0}


def test_a_stretch_across_the_start_or_the_end_counts_only_its_part_inside(db, make_user, make_activity, register):
    start = NOW + timedelta(hours=2)
    webcast = make_activity(format="live_webcast", join_url=JOIN, start_dt=start, end_dt=start + timedelta(hours=1))
    learner = make_user()
    register(learner, webcast, by_organizer=True)
    assert attendance.heartbeat(learner, webcast, now=start - timedelta(seconds=40)) == 0
    assert attendance.heartbeat(learner, webcast, now=start + timedelta(seconds=20)) == 20
    assert attendance.heartbeat(learner, webcast, now=start + timedelta(seconds=80)) == 80
    # The end: a report at the very end counts up to it; later ones are refused (the webcast is over).
    assert attendance.heartbeat(learner, webcast, now=webcast.end_dt - timedelta(seconds=50)) == 80  # new stretch
    assert attendance.heartbeat(learner, webcast, now=webcast.end_dt) == 130
    with pytest.raises(attendance.AttendanceError, match="not live now"):
        attendance.heartbeat(learner, webcast, now=webcast.end_dt + timedelta(seconds=10))
    # An on-demand webcast counts only while available: the same clipping to its start and end.
    on_demand = make_activity(format="on_demand_webcast", join_url=JOIN, start_dt=start,
                              end_dt=start + timedelta(days=30))
    assert attendance.counted_seconds(on_demand, start - timedelta(seconds=45), start + timedelta(seconds=15)) == 15
    assert attendance.counted_seconds(on_demand, on_demand.end_dt - timedelta(seconds=25),
                                      on_demand.end_dt + timedelta(seconds=35)) == 25
    assert attendance.counted_seconds(on_demand, start - timedelta(minutes=2), start - timedelta(minutes=1)) == 0


# ---------------------------------------------------------------- a cancelled activity yields nothing

@pytest.fixture
def cancelled_on_demand(db, make_user, make_activity, organizer, register):
    """An on-demand webcast an organizer cancelled while available, after one learner (returned with it) watched,
    evaluated and claimed, and another only watched."""
    webcast = make_activity(organizers=[organizer], format="on_demand_webcast", join_url=JOIN,
                            start_dt=NOW - timedelta(days=3), end_dt=NOW + timedelta(days=60),
                            credits={"ama_pra_1": "1.5"})
    claimant, viewer = make_user("claimant@example.org"), make_user("viewer@example.org")
    for person in (claimant, viewer):
        register(person, webcast, by_organizer=True)
        watched(db, person, webcast, 80, last=NOW - timedelta(days=1))
    evaluation.submit_evaluation(claimant, webcast, {})
    credit.claim_credit(claimant, webcast, {"ama_pra_1": Decimal("1.25")}, attested=True)
    db.session.commit()
    lifecycle.cancel_activity(webcast)
    db.session.commit()
    return webcast, viewer


def test_a_cancelled_on_demand_webcast_accepts_no_viewing_evaluation_claim_or_certificate(
        app, client, db, cancelled_on_demand, auth):
    """Reproduces issue 12: a cancelled on-demand webcast still accepted viewing, evaluation and a claim, and
    "Issue certificates" issued a valid certificate for it."""
    webcast, viewer = cancelled_on_demand
    with pytest.raises(attendance.AttendanceError, match="cancelled"):
        attendance.heartbeat(viewer, webcast)
    assert attendance.supported_hours(viewer, webcast) == 0
    assert evaluation.evaluation_problem(viewer, webcast) == "This activity has been cancelled: it has no evaluation."
    with pytest.raises(CreditError, match="cancelled"):
        evaluation.submit_evaluation(viewer, webcast, {})
    status = credit.claim_status(viewer, webcast)
    assert status.problems[0] == "This activity has been cancelled: it offers no credit."
    with pytest.raises(CreditError, match="cancelled"):
        credit.claim_credit(viewer, webcast, {"ama_pra_1": Decimal("1")}, attested=True)
    # Through the pages too.
    auth.login("viewer@example.org")
    page = client.get(f"/activities/{webcast.id}/evaluation").get_data(as_text=True)
    assert "This activity has been cancelled: it has no evaluation." in page
    assert client.post(f"/activities/{webcast.id}/claim", data={"ama_pra_1": "1", "attest": "y"}).status_code == 422
    assert client.post(f"/activities/{webcast.id}/watch/heartbeat").status_code == 409
    assert db.session.scalars(select(CreditRecord).where(CreditRecord.user_id == viewer.id)).all() == []
    # The claim made before the cancellation earns no certificate, by any path.
    auth.login("org@example.org")
    page = client.post(f"/organize/activities/{webcast.id}/certificates", follow_redirects=True).get_data(as_text=True)
    assert "This activity has been cancelled: it has no certificates." in page
    assert "certificate(s) issued" not in page and "Issue certificates" not in page
    cli = app.test_cli_runner().invoke(args=["cme", "issue-certificates", str(webcast.id)])
    assert cli.exit_code == 1 and "This activity has been cancelled: it has no certificates." in cli.output
    [record] = db.session.scalars(select(CreditRecord)).all()
    with pytest.raises(certificates.CertificateError, match="cancelled"):
        certificates.issue_certificate(record.user, webcast)
    assert certificates.reissue_if_certified(record.user, webcast) is None
    db.session.rollback()
    assert db.session.scalars(select(Certificate)).all() == [] and outbox(db, "certificate_issued") == []


def test_nobody_checks_in_to_a_cancelled_meeting(db, make_user, make_activity, register):
    meeting = make_activity(start_dt=NOW - timedelta(hours=1), end_dt=NOW + timedelta(hours=2))
    staff = make_user(role="organizer")
    seat = register(make_user(), meeting, by_organizer=True)
    lifecycle.cancel_activity(meeting)
    db.session.commit()
    with pytest.raises(attendance.AttendanceError, match="cancelled") as refused:
        attendance.check_in(seat, by=staff)
    assert refused.value.code == "cancelled"
    assert db.session.scalars(select(Attendance)).all() == []


# ---------------------------------------------------------------- the learner's completion date

def test_on_demand_credit_carries_the_learners_completion_date_everywhere(client, db, make_user, make_activity,
                                                                          register, auth):
    """Reproduces issue 12: on-demand credit was dated by the release date (My credit, transcript CSV and PDF, and
    the certificate). It carries the day the learner's viewing and evaluation were done."""
    release = datetime(2026, 1, 10, 15, tzinfo=timezone.utc)
    webcast = make_activity(title="MASLD on demand", format="on_demand_webcast", join_url=JOIN, start_dt=release,
                            end_dt=release + timedelta(days=700), credits={"ama_pra_1": "1"})
    learner = make_user("ada@example.org", full_name="Ada Lovelace")
    register(learner, webcast, by_organizer=True)
    watched(db, learner, webcast, 70, last=datetime(2026, 3, 2, 23, tzinfo=timezone.utc))
    evaluated = datetime(2026, 3, 3, 15, tzinfo=timezone.utc)  # 10:00 in New York
    evaluation.submit_evaluation(learner, webcast, {}, now=evaluated)
    [record] = credit.claim_credit(learner, webcast, {"ama_pra_1": Decimal("1")}, attested=True,
                                   now=datetime(2026, 3, 9, 15, tzinfo=timezone.utc))
    certificate, _ = certificates.issue_certificate(learner, webcast)
    db.session.commit()
    assert record.completed_dt == evaluated
    assert certificate.snapshot["dates"] == "Completed Mar 3, 2026"
    auth.login("ada@example.org")
    page = client.get("/my/credit").get_data(as_text=True)
    assert "2026-03-03" in page and "2026-01-10" not in page
    rows = list(csv.reader(io.StringIO(client.get("/my/credit.csv").data.decode("utf-8-sig"))))
    assert rows[1][:3] == ["2026", "2026-03-03", "MASLD on demand"]
    text = pdf_text(client.get("/my/credit/transcript.pdf").data)
    assert "2026-03-03" in text and "2026-01-10" not in text
    assert "Completed Mar 3, 2026" in pdf_text(client.get(f"/my/certificates/{certificate.id}.pdf").data)


def test_a_post_test_passed_later_is_the_completion_and_live_credit_carries_the_last_day(db, make_user, make_activity,
                                                                                         register):
    release = datetime(2026, 1, 10, 15, tzinfo=timezone.utc)
    webcast = make_activity(format="on_demand_webcast", join_url=JOIN, start_dt=release,
                            end_dt=release + timedelta(days=700), credits={"ama_pra_1": "1"})
    evaluation.add_post_test_question(webcast, prompt="SVR12 means?", choices=["cure", "relapse"], correct_index=0)
    webcast.post_test_passing_score = 100
    learner = make_user()
    register(learner, webcast, by_organizer=True)
    watched(db, learner, webcast, 70, last=datetime(2026, 3, 2, 23, tzinfo=timezone.utc))
    evaluation.submit_evaluation(learner, webcast, {}, now=datetime(2026, 3, 3, 15, tzinfo=timezone.utc))
    evaluation.submit_post_test(learner, webcast, {}, now=datetime(2026, 3, 4, 15, tzinfo=timezone.utc))  # failed
    passed = datetime(2026, 3, 5, 15, tzinfo=timezone.utc)
    evaluation.submit_post_test(learner, webcast, {webcast_question.id: 0 for webcast_question in
                                                   evaluation.post_test_questions(webcast)}, now=passed)
    with pytest.raises(CreditError, match="You have passed this post-test"):  # nothing to retake once passed
        evaluation.submit_post_test(learner, webcast, {}, now=passed + timedelta(days=1))
    [record] = credit.claim_credit(learner, webcast, {"ama_pra_1": Decimal("1")}, attested=True,
                                   now=datetime(2026, 3, 20, tzinfo=timezone.utc))
    assert record.completed_dt == passed
    # A live meeting over two days: its credit carries the last day.
    meeting = make_activity(time_zone="America/New_York", start_dt=datetime(2026, 5, 1, 13, tzinfo=timezone.utc),
                            end_dt=datetime(2026, 5, 2, 21, tzinfo=timezone.utc), credits={"ama_pra_1": "3"})
    claimed(db, learner, meeting, "3")
    transcript = credit.transcript_for(learner, certificates={})
    assert [line.date for year in transcript.years for line in year.lines] == ["2026-03-05", "2026-05-02"]


# ---------------------------------------------------------------- designations never below claims

def test_a_designation_never_drops_below_what_learners_claimed(client, db, make_user, make_activity, organizer):
    """Reproduces issue 12: lowering a designation below what learners already claimed was accepted."""
    activity = make_activity(organizers=[organizer], accreditation_kind="joint_accreditation", start_dt=NOW - timedelta(days=2),
                             end_dt=NOW - timedelta(days=2) + timedelta(hours=3), credits={"ama_pra_1": "3"})
    high, low = make_user(), make_user()
    claimed(db, high, activity, "3")
    claimed(db, low, activity, "2")
    response = client.post(f"/organize/activities/{activity.id}/designations",
                           data={"credit_type": "ama_pra_1", "max_amount": "2.5"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "1 learner(s) claimed more than 2.5 AMA PRA Category 1 Credit™" in page and "Adjust a learner" in page
    removed = client.post(f"/organize/activities/{activity.id}/designations/{activity.credit_designations[0].id}/delete",
                          follow_redirects=True).get_data(as_text=True)
    assert "2 learner(s) claimed AMA PRA Category 1 Credit™ for this activity" in removed
    db.session.expire_all()
    assert [d.max_amount for d in activity.credit_designations] == [Decimal("3")]
    with pytest.raises(CreditError) as refused:
        credit.change_designation(activity, "ama_pra_1", Decimal("1.75"))
    assert refused.value.code == "below_claims" and refused.value.message.startswith("2 learner(s)")
    db.session.rollback()
    # The organizer adjusts the larger claim first (audited), then lowers the designation.
    record = db.session.scalar(select(CreditRecord).where(CreditRecord.user_id == high.id))
    client.post(f"/organize/activities/{activity.id}/credit/adjust",
                data={"record_id": record.id, "amount": "2.5", "reason": "Left at the break"})
    assert client.post(f"/organize/activities/{activity.id}/designations",
                       data={"credit_type": "ama_pra_1", "max_amount": "2.5"}).status_code == 302
    db.session.expire_all()
    assert [d.max_amount for d in activity.credit_designations] == [Decimal("2.5")]
    # Raising and designating a type nobody claimed stay free.
    credit.change_designation(activity, "ancc", Decimal("1"))
    credit.remove_designation(next(d for d in activity.credit_designations if d.credit_type == "ancc"))


# ---------------------------------------------------------------- an ended activity stays as it was

def test_an_activity_that_ended_weeks_ago_can_be_neither_cancelled_nor_unpublished(client, db, make_user,
                                                                                   make_activity, organizer, register):
    """Reproduces issue 12: an activity that ended five weeks ago could be cancelled (its attendees got a
    "cancelled" mail with a calendar CANCEL), and ended activities still offered Unpublish."""
    ended = NOW - timedelta(weeks=5)
    attended = make_activity(organizers=[organizer], start_dt=ended - timedelta(hours=3), end_dt=ended)
    register(make_user(), attended, by_organizer=True)
    empty = make_activity(organizers=[organizer], title="Nobody came", start_dt=ended - timedelta(hours=3),
                          end_dt=ended)
    for activity in (attended, empty):
        page = client.get(f"/organize/activities/{activity.id}").get_data(as_text=True)
        assert "Cancel activity" not in page and "Unpublish" not in page
        refused = client.post(f"/organize/activities/{activity.id}/cancel", follow_redirects=True).get_data(as_text=True)
        assert "This activity has ended: it cannot be cancelled" in refused
    refused = client.post(f"/organize/activities/{empty.id}/unpublish", follow_redirects=True).get_data(as_text=True)
    assert "This activity has ended: it stays published" in refused
    db.session.expire_all()
    assert (attended.status, empty.status) == ("published", "published")
    assert outbox(db, "activity_cancelled") == []
    # Before the end both are offered, and the rule is the model's.
    upcoming = make_activity(organizers=[organizer], title="Upcoming")
    page = client.get(f"/organize/activities/{upcoming.id}").get_data(as_text=True)
    assert "Cancel activity" in page and "Unpublish" in page
    assert upcoming.can_be_cancelled() and not upcoming.can_be_cancelled(now=upcoming.end_dt)
    assert upcoming.can_be_unpublished() and not upcoming.can_be_unpublished(now=upcoming.end_dt)


# ---------------------------------------------------------------- capacity under a race

def test_a_capacity_drop_racing_registrations_never_leaves_more_confirmed_than_seats(app, db, make_user,
                                                                                    make_activity, backend):
    """Twelve registrations and a drop from unlimited to 4 seats at once: the drop either lands first (then 4
    seats, the rest waitlisted) or is refused for the confirmed count it found; never more confirmed than seats."""
    activity = make_activity(capacity=None, title="Racing")
    activity_id = activity.id
    user_ids = [make_user(f"race{i}@example.org").id for i in range(12)]
    errors: list[BaseException] = []
    outcomes: list[str] = []
    barrier = threading.Barrier(len(user_ids) + 1)

    def attempt(user_id: int | None) -> None:
        from cme.accounts.models import User
        from cme.activities.models import Activity
        from cme.transactions import commit_with_retry

        try:
            barrier.wait(timeout=30)
            with app.app_context():
                if user_id is None:
                    try:
                        commit_with_retry(lambda: lifecycle.change_capacity(_db.session.get(Activity, activity_id), 4))
                        outcomes.append("lowered")
                    except registration.RegistrationError:
                        _db.session.rollback()
                        outcomes.append("refused")
                else:
                    user = _db.session.get(User, user_id)
                    commit_with_retry(lambda: registration.register(
                        user, activity_id, registration.Answers.from_profile(user, attested_professional=True)))
                _db.session.remove()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in [*user_ids[:6], None, *user_ids[6:]]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(outcomes) == 1
    db.session.expire_all()
    rows = db.session.scalars(select(Registration).where(Registration.activity_id == activity_id)).all()
    confirmed = sum(r.status == "confirmed" for r in rows)
    capacity = db.session.get(type(activity), activity_id).capacity
    assert len(rows) == 12
    if outcomes == ["lowered"]:
        assert capacity == 4 and confirmed == 4
    else:
        assert capacity is None and confirmed == 12


# ---------------------------------------------------------------- one current certificate

def test_the_database_holds_at_most_one_current_certificate_per_learner_and_activity(db, make_user, make_activity):
    activity = make_activity()
    learner = make_user()
    snapshot = {"kind": "credit"}
    db.session.add(Certificate(user_id=learner.id, activity_id=activity.id, kind="credit", snapshot=snapshot))
    db.session.commit()
    db.session.add(Certificate(user_id=learner.id, activity_id=activity.id, kind="credit", snapshot=snapshot))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # Superseded ones are any number.
    db.session.add(Certificate(user_id=learner.id, activity_id=activity.id, kind="credit", snapshot=snapshot,
                               issued_dt=NOW - timedelta(days=2), superseded_dt=NOW - timedelta(days=1)))
    db.session.add(Certificate(user_id=learner.id, activity_id=activity.id, kind="credit", snapshot=snapshot,
                               issued_dt=NOW - timedelta(days=2), superseded_dt=NOW - timedelta(days=1)))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 3


def test_concurrent_issue_certificates_give_one_current_certificate_and_one_mail_per_learner(
        app, db, make_user, make_activity, backend):
    """Reproduces issue 12: four concurrent "Issue certificates" requests gave one learner four current, valid
    certificates and four mails."""
    activity = make_activity(start_dt=NOW - timedelta(days=2), end_dt=NOW - timedelta(days=2) + timedelta(hours=3))
    learners = [make_user(f"learner{i}@example.org") for i in range(3)]
    for learner in learners:
        claimed(db, learner, activity, "2")
    activity_id = activity.id
    errors: list[BaseException] = []
    issued: list[int] = []
    barrier = threading.Barrier(4)

    def issue() -> None:
        from cme.activities.models import Activity
        from cme.transactions import commit_with_retry

        try:
            barrier.wait(timeout=30)
            with app.app_context():
                issued.append(len(commit_with_retry(
                    lambda: certificates.issue_for_activity(_db.session.get(Activity, activity_id)))))
                _db.session.remove()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=issue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(issued) == [0, 0, 0, 3]
    db.session.expire_all()
    rows = db.session.scalars(select(Certificate)).all()
    assert sorted(c.user_id for c in rows) == sorted(u.id for u in learners)
    assert all(c.is_valid for c in rows)
    assert sorted(m.recipient for m in outbox(db, "certificate_issued")) == sorted(u.email for u in learners)


def test_a_race_that_slips_past_the_check_is_already_issued_not_a_second_certificate(db, make_user, make_activity,
                                                                                     monkeypatch):
    """Should a transaction not see the current certificate another committed (the lock prevents it; the index
    is the last word), the unique violation reads as "already issued": the same certificate, no new mail."""
    activity = make_activity(start_dt=NOW - timedelta(days=2), end_dt=NOW - timedelta(days=2) + timedelta(hours=3))
    learner = make_user()
    claimed(db, learner, activity, "2")
    first, _ = certificates.issue_certificate(learner, activity)
    db.session.commit()
    real, calls = certificates.current_certificate, []

    def stale_once(*args):
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(certificates, "current_certificate", stale_once)
    assert certificates.issue_for_activity(activity) == []
    db.session.commit()
    assert [c.id for c in db.session.scalars(select(Certificate))] == [first.id] and first.is_valid
    assert outbox(db, "certificate_issued") == [] and len(calls) == 2


def test_reissuing_after_a_correction_keeps_one_current_certificate(db, make_user, make_activity):
    activity = make_activity(start_dt=NOW - timedelta(days=2), end_dt=NOW - timedelta(days=2) + timedelta(hours=3))
    learner = make_user()
    claimed(db, learner, activity, "2")
    first, created = certificates.issue_certificate(learner, activity)
    db.session.commit()
    assert created
    assert certificates.issue_certificate(learner, activity) == (first, False)
    record = db.session.scalar(select(CreditRecord))
    record.amount = Decimal("2.5")
    second = certificates.reissue_if_certified(learner, activity)
    db.session.commit()
    db.session.expire_all()
    assert second is not None and second.is_valid and not first.is_valid and first.superseded_by_id == second.id
    current = db.session.scalars(select(Certificate).where(Certificate.superseded_dt.is_(None))).all()
    assert [c.id for c in current] == [second.id]


# ---------------------------------------------------------------- the migration's backfill

@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
def scratch_database_url(request, tmp_path):
    """An empty database that is not the test database: a SQLite file, or the run's scratch PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'backfill.sqlite3'}"
    return request.getfixturevalue("postgres_scratch_url")


def test_the_migration_dates_existing_credit_and_leaves_one_current_certificate(scratch_database_url, tmp_path):
    """Records from before the column: a live activity's credit gets its end, an on-demand webcast's the later of
    the evaluation and the claim; duplicate current certificates left by concurrent issues are superseded by the
    newest, so the unique index can be built."""
    from flask_migrate import downgrade, upgrade

    from cme import create_app
    from cme.accounts.service import create_user
    from cme.activities.models import Activity
    from cme.credit.evaluation_models import EvaluationResponse

    app = create_app(base_config(scratch_database_url, tmp_path / "instance"))
    day = datetime(2026, 3, 1, 15, tzinfo=timezone.utc)
    with app.app_context():
        upgrade()
        learner = create_user("ada@example.org", "correct horse battery", full_name="Ada Lovelace", degree="MD")
        meeting = Activity(format="live_meeting", status="published", title="Meeting", time_zone="UTC",
                           start_dt=day, end_dt=day + timedelta(hours=3))
        webcast = Activity(format="on_demand_webcast", status="published", title="Webcast", time_zone="UTC",
                           start_dt=day - timedelta(days=60), end_dt=day + timedelta(days=300))
        _db.session.add_all([meeting, webcast])
        _db.session.flush()
        for activity, claimed_at in ((meeting, day + timedelta(days=2)), (webcast, day + timedelta(days=5))):
            _db.session.add(CreditRecord(user_id=learner.id, activity_id=activity.id, credit_type="ama_pra_1",
                                         amount=Decimal("1"), attested=True, claimed_dt=claimed_at,
                                         completed_dt=claimed_at))
        _db.session.add(EvaluationResponse(user_id=learner.id, activity_id=webcast.id, answers={},
                                           submitted_dt=day + timedelta(days=7)))
        _db.session.commit()
        learner_id, meeting_id, meeting_end, webcast_id = learner.id, meeting.id, meeting.end_dt, webcast.id
        _db.session.remove()
        downgrade(revision="e7a4c2b91d3f")  # the migration before this one
        certificates_table = sa.table("certificates", sa.column("verification_code"), sa.column("user_id"),
                                      sa.column("activity_id"), sa.column("kind"), sa.column("snapshot", sa.JSON),
                                      sa.column("issued_dt", UTCDateTime(timezone=True)))
        with _db.engine.begin() as connection:
            connection.execute(certificates_table.insert(), [
                {"verification_code": f"CODE{n}", "user_id": learner_id, "activity_id": meeting_id, "kind": "credit",
                 "snapshot": {}, "issued_dt": day + timedelta(days=3, minutes=n)} for n in range(3)])
        upgrade()
        _db.session.expire_all()
        completed = dict(_db.session.execute(select(CreditRecord.activity_id, CreditRecord.completed_dt)).tuples().all())
        assert completed == {meeting_id: meeting_end, webcast_id: day + timedelta(days=7)}
        rows = _db.session.scalars(select(Certificate).order_by(Certificate.id)).all()
        assert [(c.verification_code, c.is_valid) for c in rows] == [("CODE0", False), ("CODE1", False), ("CODE2", True)]
        assert {c.superseded_by_id for c in rows[:2]} == {rows[2].id}
        _db.session.remove()
        _db.engine.dispose()
