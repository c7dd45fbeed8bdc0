"""Certificates as soon as they are earned (issue 12, point 7): per activity, issued with the claim (on-demand
webcasts start so) or by the organizer; the mail carries the PDF; learners and organizers have it mailed again,
at most once a minute."""
from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from email import message_from_string, policy

import pytest
from pypdf import PdfReader

from cme.certificates import service as certificates
from cme.credit import evaluation
from cme.credit import service as credit
from cme.credit.models import CreditRecord
from cme.mail.service import deliver_pending
from cme.attendance.models import Attendance
from cme.timeutil import now_utc
from tests.helpers import outbox

NOW = now_utc().replace(microsecond=0)


@pytest.fixture
def on_demand(db, make_user, make_activity):
    organizer = make_user("org@example.org", role="organizer")
    return make_activity(format="on_demand_webcast", join_url="https://webcast.example.org/od",
                         organizers=[organizer], title="Hepatitis C on demand",
                         start_dt=NOW - timedelta(days=1), end_dt=NOW + timedelta(days=90))


def ready_to_claim(db, register, learner, activity, minutes=180):
    """Registered, watched (on-demand) and evaluated: the claim page is open."""
    register(learner, activity, by_organizer=True)
    if activity.is_on_demand:
        db.session.add(Attendance(user_id=learner.id, activity_id=activity.id, watched_seconds=minutes * 60,
                                  minutes_watched=minutes))
    else:
        db.session.add(Attendance(user_id=learner.id, activity_id=activity.id, checked_in_dt=activity.start_dt))
    db.session.commit()
    evaluation.submit_evaluation(learner, activity, {})
    db.session.commit()


def test_on_demand_webcasts_issue_certificates_with_the_claim_and_live_activities_wait_for_the_organizer(
        db, make_activity, on_demand):
    assert on_demand.certificates_automatic is True
    assert make_activity(title="A meeting").certificates_automatic is False
    assert make_activity(format="live_webcast", join_url="https://webcast.example.org/live").certificates_automatic \
        is False


def test_a_claim_on_an_on_demand_webcast_issues_the_certificate_at_once_and_its_mail_carries_the_pdf(
        client, db, make_user, on_demand, auth, register):
    learner = make_user("lukasz@example.org", full_name="Łukasz Żółć", degree="MD")
    ready_to_claim(db, register, learner, on_demand)
    auth.login("lukasz@example.org")
    response = client.post(f"/activities/{on_demand.id}/claim", data={"ama_pra_1": "2.5", "attest": "y"},
                           follow_redirects=True)
    assert "on its way to your inbox" in response.get_data(as_text=True)
    certificate = certificates.current_certificate(learner, on_demand)
    assert certificate is not None and certificate.snapshot["credits"][0]["amount"] == "2.5"
    assert "Mail it again" in response.get_data(as_text=True)
    [row] = outbox(db, "certificate_issued")
    assert row.recipient == "lukasz@example.org" and certificate.mailed_dt is not None
    deliver_pending()
    sent = message_from_string(outbox(db, "certificate_issued")[0].raw_message, policy=policy.default)
    [attachment] = list(sent.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"certificate-{certificate.verification_code}.pdf"
    text = " ".join(PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text().split())
    assert "Łukasz Żółć, MD" in text and certificate.verification_code in text
    assert "is attached" in sent.get_body(("plain",)).get_content()
    # A corrected claim supersedes it and mails the new one; the same claim again changes nothing.
    client.post(f"/activities/{on_demand.id}/claim", data={"ama_pra_1": "2.5", "attest": "y"})
    assert len(outbox(db, "certificate_issued")) == 1
    client.post(f"/activities/{on_demand.id}/claim", data={"ama_pra_1": "3", "attest": "y"})
    db.session.expire_all()
    current = certificates.current_certificate(learner, on_demand)
    assert current.id != certificate.id and db.session.get(type(certificate), certificate.id).superseded_by_id == current.id
    assert len(outbox(db, "certificate_issued")) == 2


def test_where_the_organizer_issues_a_claim_makes_no_certificate_until_they_switch_to_automatic(
        client, db, make_user, make_activity, auth, register):
    organizer = make_user("org@example.org", role="organizer")
    meeting = make_activity(organizers=[organizer], start_dt=NOW - timedelta(days=2),
                            end_dt=NOW - timedelta(days=2) + timedelta(hours=3))
    first, second = make_user("first@example.org", degree="MD"), make_user("second@example.org", degree="MD")
    for learner in (first, second):
        ready_to_claim(db, register, learner, meeting)
    credit.claim_credit(first, meeting, {"ama_pra_1": Decimal("2")}, attested=True)
    certificates.issue_after_claim(first, meeting)
    db.session.commit()
    assert certificates.current_certificate(first, meeting) is None and outbox(db, "certificate_issued") == []

    auth.login("org@example.org")
    page = client.get(f"/organize/activities/{meeting.id}/credit").get_data(as_text=True)
    assert "As soon as a learner claims credit" in page and '<input checked id="issue-1" name="issue"' in page
    assert client.post(f"/organize/activities/{meeting.id}/credit/certificate-issue",
                       data={"issue": "automatic"}).status_code == 302
    db.session.expire_all()
    assert meeting.certificates_automatic is True
    auth.logout()
    auth.login("second@example.org")
    client.post(f"/activities/{meeting.id}/claim", data={"ama_pra_1": "2", "attest": "y"})
    assert certificates.current_certificate(second, meeting) is not None
    assert [r.recipient for r in outbox(db, "certificate_issued")] == ["second@example.org"]


def test_a_learner_has_the_certificate_mailed_again_at_most_once_a_minute(client, db, make_user, on_demand, auth):
    learner = make_user("ada@example.org", degree="MD")
    make_user("eve@example.org")
    db.session.add(CreditRecord(user_id=learner.id, activity_id=on_demand.id, credit_type="ama_pra_1",
                                amount=Decimal("1"), attested=True))
    db.session.commit()
    certificate = certificates.issue_after_claim(learner, on_demand)
    db.session.commit()
    assert len(outbox(db, "certificate_issued")) == 1
    auth.login("eve@example.org")
    assert client.post(f"/my/certificates/{certificate.id}/resend").status_code == 404  # not hers
    auth.logout()
    auth.login("ada@example.org")
    too_soon = client.post(f"/my/certificates/{certificate.id}/resend", follow_redirects=True)
    assert "less than a minute ago" in too_soon.get_data(as_text=True)
    assert len(outbox(db, "certificate_issued")) == 1
    certificate.mailed_dt = now_utc() - timedelta(minutes=2)
    db.session.commit()
    again = client.post(f"/my/certificates/{certificate.id}/resend", follow_redirects=True)
    assert "on its way to ada@example.org" in again.get_data(as_text=True)
    assert len(outbox(db, "certificate_issued")) == 2
    assert client.get(f"/my/certificates/{certificate.id}/resend").status_code == 405  # never on a GET


def test_a_superseded_certificate_is_not_mailed_again(db, make_user, on_demand):
    learner = make_user(degree="MD")
    record = CreditRecord(user_id=learner.id, activity_id=on_demand.id, credit_type="ama_pra_1",
                          amount=Decimal("1"), attested=True)
    db.session.add(record)
    db.session.commit()
    old = certificates.issue_after_claim(learner, on_demand, now=NOW - timedelta(hours=1))
    record.amount = Decimal("1.5")
    certificates.issue_after_claim(learner, on_demand, now=NOW - timedelta(minutes=30))
    db.session.commit()
    with pytest.raises(certificates.CertificateError, match="superseded"):
        certificates.resend(old, now=NOW)


def test_an_organizer_has_a_learners_certificate_mailed_again_from_the_credit_page(client, db, make_user, on_demand,
                                                                                  auth, make_activity):
    learner = make_user("ada@example.org", degree="MD")
    db.session.add(CreditRecord(user_id=learner.id, activity_id=on_demand.id, credit_type="ama_pra_1",
                                amount=Decimal("1"), attested=True))
    db.session.commit()
    certificate = certificates.issue_after_claim(learner, on_demand, now=NOW - timedelta(minutes=5))
    db.session.commit()
    auth.login("org@example.org")
    page = client.get(f"/organize/activities/{on_demand.id}/credit").get_data(as_text=True)
    action = f"/organize/activities/{on_demand.id}/certificates/{certificate.id}/resend"
    assert action in page and certificate.verification_code in page
    assert client.post(action).status_code == 302
    assert [r.recipient for r in outbox(db, "certificate_issued")] == ["ada@example.org"] * 2
    # Another of their activities does not reach this certificate.
    other = make_activity(organizers=[on_demand.organizers[0]], title="Another")
    assert client.post(f"/organize/activities/{other.id}/certificates/{certificate.id}/resend").status_code == 404


def test_an_organizer_has_a_learners_certificate_mailed_again_from_the_roster(client, db, make_user, on_demand, auth,
                                                                              register):
    learner = make_user("ada@example.org", degree="MD")
    register(learner, on_demand, by_organizer=True)
    db.session.add(CreditRecord(user_id=learner.id, activity_id=on_demand.id, credit_type="ama_pra_1",
                                amount=Decimal("1"), attested=True))
    db.session.commit()
    certificate = certificates.issue_after_claim(learner, on_demand, now=NOW - timedelta(minutes=5))
    db.session.commit()
    auth.login("org@example.org")
    roster = client.get(f"/organize/activities/{on_demand.id}/roster").get_data(as_text=True)
    action = f"/organize/activities/{on_demand.id}/certificates/{certificate.id}/resend"
    assert action in roster and "Mail certificate again" in roster
    response = client.post(action, data={"back": "roster"})
    assert response.status_code == 302 and response.location.endswith(f"/organize/activities/{on_demand.id}/roster")
    assert [r.recipient for r in outbox(db, "certificate_issued")] == ["ada@example.org"] * 2
