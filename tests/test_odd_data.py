"""Odd text already in the database (issue 13, point 6): a name or an activity title with a line break or another
control character, saved before the forms collapsed them (or by anything that bypasses a form), never stops a
mail, a certificate, a calendar file or a page."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cme.attendance.models import Attendance
from cme.certificates.models import Certificate
from cme.credit import evaluation
from cme.credit import service as credit
from cme.mail.service import deliver_pending
from cme.timeutil import now_utc

NOW = now_utc().replace(microsecond=0)
# Put between two words: what a pasted line break, a header injection or another control character leaves.
ODD_TEXTS = ["\r\n", "\nBcc: eve@example.org\n", "\x0b\x1f", "\u2028", "\x85"]


@pytest.mark.parametrize("odd", ODD_TEXTS)
def test_a_name_and_a_title_with_line_breaks_in_the_database_still_get_every_mail_and_certificate(
        client, db, make_user, make_activity, register, smtp, auth, odd):
    organizer = make_user("org@example.org", role="organizer", full_name=f"Olga{odd}Organizer")
    learner = make_user("ada@example.org", full_name="Ada")
    other = make_user("bob@example.org", full_name="Bob")
    activity = make_activity(organizers=[organizer], title=f"Hepatitis{odd}update", capacity=1,
                             start_dt=NOW + timedelta(days=1), end_dt=NOW + timedelta(days=1, hours=3))
    for user in (learner, other):
        register(user, activity)  # the second is waitlisted
    learner.full_name = f"Ada{odd}Lovelace"  # written directly, as old data or a script would
    db.session.commit()
    activity.start_dt, activity.end_dt = NOW - timedelta(days=2), NOW - timedelta(days=2) + timedelta(hours=3)
    db.session.add(Attendance(user_id=learner.id, activity_id=activity.id, checked_in_dt=activity.start_dt))
    db.session.commit()
    evaluation.submit_evaluation(learner, activity, {})
    credit.claim_credit(learner, activity, {"ama_pra_1": "3"}, attested=True)
    db.session.commit()

    auth.login("org@example.org")
    assert client.post(f"/organize/activities/{activity.id}/certificates").status_code == 302
    report = deliver_pending()
    assert report.failed == [] and report.retrying == [] and len(report.sent) >= 3
    for message in smtp.messages:
        assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
        assert "Bcc" not in message and len(message.get_all("To")) == 1
    certificate = db.session.scalar(select(Certificate))
    assert certificate is not None
    client.post("/account/logout")
    auth.login("ada@example.org")
    for url in (f"/my/certificates/{certificate.id}.pdf", "/my/credit", "/my/credit/transcript.pdf",
                "/my/credit.csv", "/my/schedule", f"/activities/{activity.id}", f"/activities/{activity.id}.ics"):
        assert client.get(url).status_code == 200, url
