"""A learner's data rights (issue 13, point 8): the download of everything held about them (JSON, checked against
the schema in the repository), closing the account (what is kept for six years, what is erased, what follows:
sessions end, seats go to the waitlist, certificates still verify), and the purge after the retention period."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from cme.accounts.identity import BoardIdentifier, licences_of
from cme.accounts.models import User
from cme.attendance.models import Attendance
from cme.audit.actor import acting_as
from cme.audit.models import AuditEntry
from cme.calendar.service import feed_token
from cme.certificates import service as certificates
from cme.certificates.models import Certificate
from cme.credit.evaluation_models import EvaluationResponse
from cme.credit.models import CreditRecord, ReportingConsent
from cme.credit.service import adjust_credit
from cme.mail.models import OutboxMessage
from cme.mail.service import deliver_pending, queue_deferred
from cme.privacy import service as privacy
from cme.registration.models import Registration
from cme.timeutil import now_utc
from tests.helpers import TEST_PASSWORD

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "cme" / "privacy" / "export.schema.json").read_text())
WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def ada_with_history(db, make_user, make_activity, register):
    """Ada (a physician, logged out) with a bit of everything: a past meeting she attended, evaluated and claimed
    (adjusted by its organizer, certified), and a seat at an upcoming meeting of one seat that Bea waits for."""
    organizer = make_user("org@example.org", role="organizer", full_name="Olga Organizer")
    ada = make_user("ada@example.org", full_name="Ada Lovelace", degree="MD", npi="1234567893", licence_state="NY",
                    licence_number="NY-12345", specialty="Hepatology", time_zone="America/Chicago")
    bea = make_user("bea@example.org", full_name="Bea Waiting", degree="RN", profession="nurse")
    past = make_activity(title="Past summit", organizers=[organizer], start_dt=now_utc() - timedelta(days=10),
                         end_dt=now_utc() - timedelta(days=10) + timedelta(hours=3))
    upcoming = make_activity(title="Upcoming course", organizers=[organizer], capacity=1)
    seat = register(ada, upcoming, dietary_needs="No peanuts", accessibility_needs="Wheelchair access")
    waiting = register(bea, upcoming)
    attended = Registration(user_id=ada.id, activity_id=past.id, status="confirmed", full_name=ada.full_name,
                            degree="MD", npi=ada.npi, dietary_needs="Vegetarian", confirmed_dt=past.start_dt)
    with acting_as(ada):  # her own evaluation and claim: not organizer actions, so not in the audit log
        db.session.add_all([attended, Attendance(user_id=ada.id, activity_id=past.id, checked_in_dt=past.start_dt,
                                                 checked_in_by_id=organizer.id),
                            EvaluationResponse(user_id=ada.id, activity_id=past.id,
                                               answers={"useful": {"prompt": "Was it useful?", "answer": "Very"}}),
                            CreditRecord(user_id=ada.id, activity_id=past.id, credit_type="ama_pra_1",
                                         amount=Decimal("2"), attested=True),
                            # Issue 16, point 1: her reporting identity and the permission given with the claim.
                            BoardIdentifier(user_id=ada.id, board="abs", value="123456"),
                            ReportingConsent(user_id=ada.id, activity_id=past.id, body="accme", granted=True)])
        ada.birth_month, ada.birth_day, ada.nabp_eprofile_id = 2, 29, "1234567"
        db.session.commit()
    record = db.session.scalar(select(CreditRecord).where(CreditRecord.user_id == ada.id))
    with acting_as(organizer):
        adjust_credit(record, Decimal("2.5"), reason="Stayed for the last session", by=organizer)
        certificate, _ = certificates.issue_certificate(ada, past)
        db.session.commit()
    assert waiting.is_waitlisted
    return {"ada": ada, "bea": bea, "past": past, "upcoming": upcoming, "seat": seat, "waiting": waiting,
            "certificate": certificate, "organizer": organizer}


def download(client, password=TEST_PASSWORD):
    return client.post("/account/data", data={"current_password": password})


def test_the_download_holds_everything_about_the_learner_and_nothing_about_others(client, auth, ada_with_history):
    auth.login("ada@example.org")
    assert "Download your data" in client.get("/account/profile").get_data(as_text=True)
    response = download(client)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="my-cme-data-')
    assert "no-store" in response.headers["Cache-Control"]
    data = response.get_json()
    Draft202012Validator.check_schema(SCHEMA)
    assert [error.message for error in Draft202012Validator(SCHEMA).iter_errors(data)] == []

    ada, certificate = ada_with_history["ada"], ada_with_history["certificate"]
    assert data["profile"]["email"] == "ada@example.org" and data["profile"]["npi"] == "1234567893"
    assert (data["profile"]["birth_month"], data["profile"]["birth_day"], data["profile"]["nabp_eprofile_id"]) == (
        2, 29, "1234567")
    assert [(lic["state"], lic["number"], lic["profession"]) for lic in data["licences"]] == [
        ("NY", "NY-12345", "physician")]
    assert data["board_ids"] == {"abs": "123456"}
    assert [(c["activity"]["title"], c["body"], c["granted"]) for c in data["reporting_permissions"]] == [
        ("Past summit", "accme", True)]
    assert {r["activity"]["title"]: r["dietary_needs"] for r in data["registrations"]} == {
        "Upcoming course": "No peanuts", "Past summit": "Vegetarian"}
    assert data["attendance"][0]["activity"]["title"] == "Past summit" and data["attendance"][0]["checked_in"]
    assert data["evaluations"][0]["answers"] == [{"question": "Was it useful?", "answer": "Very"}]
    assert [(c["credit_type"], c["amount"]) for c in data["credit_claims"]] == [("ama_pra_1", "2.50")]
    assert data["credit_adjustments"][0]["reason"] == "Stayed for the last session"
    assert [c["verification_code"] for c in data["certificates"]] == [certificate.verification_code]
    assert data["certificates"][0]["verification_url"].endswith(f"/verify/{certificate.verification_code}")
    assert [(m["subject"], m["status"]) for m in data["mail"]] == [
        ("You are registered: Upcoming course", "pending"), ("Tomorrow: Upcoming course", "pending")]
    assert {e["action"] for e in data["audit"]} == {"claim.adjusted", "certificate.issued"}
    assert all(e["who"] == "Olga Organizer" for e in data["audit"])

    text = response.get_data(as_text=True)
    assert "bea@example.org" not in text and "Bea Waiting" not in text
    assert f'"id": {ada.id}' in text


def test_the_schema_refuses_what_the_download_must_not_be(client, auth, ada_with_history):
    auth.login("ada@example.org")
    data = download(client).get_json()
    validator = Draft202012Validator(SCHEMA)
    data["credit_claims"][0]["amount"] = 2.5  # amounts are exact decimal strings, never floats
    data["profile"]["created"] = "yesterday"
    data["surprise"] = True
    assert len(list(validator.iter_errors(data))) == 3


def test_the_download_writes_nothing(client, auth, count_queries, ada_with_history):
    auth.login("ada@example.org")
    with count_queries() as statements:
        assert download(client).status_code == 200
    assert [s for s in statements if s.lstrip().upper().startswith(WRITES)] == []


def test_downloading_and_closing_need_the_right_password(client, db, auth, ada_with_history):
    auth.login("ada@example.org")
    wrong = download(client, "not my password")
    assert wrong.status_code == 422 and "Your password is not correct." in wrong.get_data(as_text=True)
    assert wrong.mimetype == "text/html"
    refused = client.post("/account/close", data={"current_password": "not my password", "understood": "y"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Your password is not correct." in page
    assert '<input checked id="understood" name="understood"' in page  # the ticked box stays ticked
    unticked = client.post("/account/close", data={"current_password": TEST_PASSWORD})
    assert unticked.status_code == 422 and "Tick this box" in unticked.get_data(as_text=True)
    db.session.expire_all()
    ada = db.session.get(User, ada_with_history["ada"].id)
    assert ada.closed_dt is None and ada.email == "ada@example.org"
    assert client.get("/account/profile").status_code == 200  # still logged in


def test_the_close_page_says_what_is_kept_why_and_what_is_erased(client, auth, ada_with_history):
    auth.login("ada@example.org")
    page = client.get("/account/close").get_data(as_text=True)
    for words in ("Kept for 6 years, because accreditation requires it", "certificates", "verification code",
                  "name, degree, profession, NPI, state license and ABIM ID", "Erased at once",
                  "your email address", "dietary and accessibility needs", "next person on the waitlist"):
        assert words in page


def test_closing_keeps_what_accreditation_needs_and_erases_the_rest(app, client, db, auth, ada_with_history):
    ada = ada_with_history["ada"]
    ada_id, old_token = ada.id, feed_token(ada)
    auth.login("ada@example.org")
    elsewhere = app.test_client()
    elsewhere.post("/account/login", data={"email": "ada@example.org", "password": TEST_PASSWORD})
    assert elsewhere.get("/account/profile").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.recipient == "ada@example.org")) > 0

    response = client.post("/account/close", data={"current_password": TEST_PASSWORD, "understood": "y"})
    assert response.status_code == 302
    db.session.expire_all()

    # Nobody is logged in as Ada any more, anywhere, and nobody can log in.
    assert client.get("/account/profile").status_code == 302
    assert elsewhere.get("/account/profile").status_code == 302
    assert auth.login("ada@example.org").status_code == 422
    assert client.get(f"/calendar/feed/{old_token}.ics").status_code == 404

    ada = db.session.get(User, ada_id)
    assert ada.email == f"closed-{ada_id}@invalid.example" and not ada.is_active and ada.closed_dt is not None
    assert not ada.check_password(TEST_PASSWORD) and ada.feed_token_hash is None and ada.feed_token_nonce is None
    assert (ada.specialty, ada.time_zone) == ("", "America/New_York")
    assert (ada.full_name, ada.degree, ada.profession, ada.npi) == (
        "Ada Lovelace", "MD", "physician", "1234567893")  # what reporting her credit needs
    assert [(lic.state, lic.number) for lic in licences_of(ada)] == [("NY", "NY-12345")]
    assert (ada.birth_month, ada.birth_day, ada.nabp_eprofile_id) == (2, 29, "1234567")

    # The upcoming seat went to the waitlist; the past registration stays (she took part), without her needs.
    seat, waiting = (db.session.get(Registration, ada_with_history[k].id) for k in ("seat", "waiting"))
    assert seat.is_cancelled and waiting.is_confirmed
    assert (seat.full_name, seat.npi, seat.dietary_needs, seat.accessibility_needs) == ("Closed account", None, "", "")
    attended = db.session.scalar(select(Registration).where(Registration.user_id == ada_id,
                                                            Registration.activity_id == ada_with_history["past"].id))
    assert (attended.status, attended.full_name, attended.dietary_needs) == ("confirmed", "Ada Lovelace", "")
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.recipient == "ada@example.org")) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.recipient == "bea@example.org", OutboxMessage.kind ==
                                    "registration_promoted")) == 1

    # Credit, attendance and certificates stay; the certificate still verifies.
    assert db.session.scalar(select(CreditRecord.amount).where(CreditRecord.user_id == ada_id)) == Decimal("2.5")
    assert db.session.scalar(select(func.count()).select_from(Attendance).where(Attendance.user_id == ada_id)) == 1
    verified = client.get(f"/verify/{ada_with_history['certificate'].verification_code}")
    assert verified.status_code == 200 and "Ada Lovelace, MD" in verified.get_data(as_text=True)
    assert "Valid." in verified.get_data(as_text=True)

    # The address is free: signing up with it again makes a new account.
    client.post("/account/signup", data={
        "email": "ada@example.org", "password": "a brand new password", "confirm": "a brand new password",
        "full_name": "Ada Lovelace", "degree": "MD", "profession": "physician", "time_zone": "America/New_York"})
    again = db.session.scalar(select(User).where(User.email == "ada@example.org"))
    assert again is not None and again.id != ada_id
    assert auth.login("ada@example.org", "a brand new password").status_code == 302


def test_an_administrator_cannot_close_their_own_account(client, db, make_user, auth):
    make_user("root@example.org", role="admin")
    auth.login("root@example.org")
    response = client.post("/account/close", data={"current_password": TEST_PASSWORD, "understood": "y"})
    assert response.status_code == 422 and "ask another administrator" in response.get_data(as_text=True)
    assert db.session.scalar(select(User.closed_dt).where(User.email == "root@example.org")) is None


def test_closed_accounts_are_deleted_once_six_years_have_passed_since_their_last_record(app, db, make_user,
                                                                                      make_activity):
    long_ago = now_utc() - timedelta(days=7 * 365)
    old_meeting = make_activity(title="Old meeting", start_dt=long_ago, end_dt=long_ago + timedelta(hours=3))
    recent = make_activity(title="Recent meeting", start_dt=now_utc() - timedelta(days=30),
                           end_dt=now_utc() - timedelta(days=30) + timedelta(hours=3))
    old, newer, idle, open_account = (make_user(full_name=name) for name in ("Old Learner", "New Learner",
                                                                                 "Idle Learner", "Open Learner"))
    for user, meeting in ((old, old_meeting), (newer, recent), (open_account, old_meeting)):
        db.session.add(CreditRecord(user_id=user.id, activity_id=meeting.id, credit_type="ama_pra_1",
                                    amount=Decimal("1"), attested=True, claimed_dt=meeting.end_dt,
                                    completed_dt=meeting.end_dt))
    db.session.commit()
    old_certificate, _ = certificates.issue_certificate(old, old_meeting, now=old_meeting.end_dt)
    code = old_certificate.verification_code
    for user in (old, newer, idle):
        privacy.close_account(user, TEST_PASSWORD)
    db.session.commit()
    ids = {"old": old.id, "newer": newer.id, "idle": idle.id, "open": open_account.id}

    result = app.test_cli_runner().invoke(args=["cme", "purge-closed-accounts"])
    assert result.exit_code == 0, result.output
    assert "Deleted 2 closed account(s)" in result.output and "1 closed account(s) kept" in result.output
    db.session.expire_all()
    assert db.session.get(User, ids["old"]) is None and db.session.get(User, ids["idle"]) is None
    assert db.session.get(User, ids["newer"]) is not None and db.session.get(User, ids["open"]) is not None
    assert db.session.scalar(select(func.count()).select_from(CreditRecord).where(
        CreditRecord.user_id == ids["old"])) == 0
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
    assert app.test_client().get(f"/verify/{code}").status_code == 404
    purged = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "account.purged")).all()
    assert sorted(e.subject_id for e in purged) == sorted([ids["old"], ids["idle"]])
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.user_id == ids["old"])) == 0


def test_mail_queued_to_a_closed_account_later_is_dropped_unsent(app, db, smtp, ada_with_history):
    """A closed learner keeps the registration of an activity she took part in; a notice queued about it later
    goes to her pseudonym, which the worker drops instead of sending (or failing on)."""
    ada = ada_with_history["ada"]
    privacy.close_account(ada, TEST_PASSWORD)
    db.session.commit()
    row = queue_deferred(ada.email, "Schedule changed", kind="schedule_changed", composer="signup_taken",
                         user_id=ada.id)
    db.session.commit()
    row_id = row.id
    report = deliver_pending()
    assert row_id in report.dropped and row_id not in report.sent and report.failed == []
    assert db.session.get(OutboxMessage, row_id) is None
    assert not any("invalid.example" in str(m["To"]) for m in smtp.messages)
