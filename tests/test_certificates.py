"""Certificates: PDF content read back with pypdf, the QR code decoded from a pdftoppm rendering with
zxing-cpp and compared bit for bit with segno's, verification (valid, superseded, unknown), reissue on change,
issuing for an activity."""
from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from cme.certificates import service
from cme.certificates.models import Certificate
from cme.credit.models import CreditRecord
from cme.mail.models import OutboxMessage
from cme.mail.service import message_text

AMA_STATEMENT = ("The Liver Education Foundation designates this live activity for a maximum of 3 AMA PRA Category 1 "
                 "Credit(s)™. Physicians should claim only the credit commensurate with the extent of their "
                 "participation in the activity.")


def claim(db, user, activity, credit_type="ama_pra_1", amount="1.5"):
    record = CreditRecord(user_id=user.id, activity_id=activity.id, credit_type=credit_type, amount=Decimal(amount),
                          attested=True)
    db.session.add(record)
    db.session.commit()
    return record


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (float(width), float(height)) == (792.0, 612.0)  # US Letter, landscape
    return " ".join(reader.pages[0].extract_text().split())


def decode_qr(pdf: bytes, tmp_path) -> str:
    import zxingcpp
    from PIL import Image

    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is missing: `make test` installs poppler-utils.")
    (tmp_path / "c.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-singlefile", str(tmp_path / "c.pdf"), str(tmp_path / "c")],
                   check=True, timeout=60)
    with Image.open(tmp_path / "c.png") as image:
        [result] = zxingcpp.read_barcodes(image)
    return result.text


@pytest.fixture
def meeting(make_activity):
    return make_activity(title="Hepatitis C Elimination Summit", time_zone="America/New_York",
                         start_dt=datetime(2026, 10, 16, 13, tzinfo=timezone.utc),
                         end_dt=datetime(2026, 10, 16, 16, tzinfo=timezone.utc), venue_name="Javits Center",
                         city="New York", state="NY", credits={"ama_pra_1": "3", "ancc": "3"},
                         accreditation_kind="custom", accreditation_statement="The Liver Education Foundation is accredited by the ACCME.")


def test_a_physicians_certificate_says_everything_and_its_qr_code_verifies(app, client, db, make_user, meeting, auth, tmp_path):
    physician = make_user("ada@example.org", full_name="Ada Lovelace", degree="MD", profession="physician")
    claim(db, physician, meeting, amount="1.5")
    certificate, created = service.issue_certificate(physician, meeting)
    db.session.commit()
    assert created and certificate.kind == "credit" and re.fullmatch(r"[A-Z2-9]{20}", certificate.verification_code)
    auth.login("ada@example.org")
    response = client.get(f"/my/certificates/{certificate.id}.pdf")
    assert response.mimetype == "application/pdf"
    text = text_of(response.data)
    for expected in ("Certificate of Credit", "Ada Lovelace, MD", "Hepatitis C Elimination Summit",
                     "Fri Oct 16, 2026, 9:00 AM – 12:00 PM EDT", "Javits Center, New York, NY",
                     "1.5 AMA PRA Category 1 Credit(s)™ claimed", AMA_STATEMENT,
                     "The Liver Education Foundation is accredited by the ACCME.", certificate.verification_code,
                     "Issued", "THE LIVER EDUCATION FOUNDATION"):
        assert expected in text, expected
    assert "3 AMA PRA Category 1 Credit(s)™ claimed" not in text  # the claim, never the maximum
    url = decode_qr(response.data, tmp_path)
    assert url == f"http://cme.test/verify/{certificate.verification_code}"
    page = client.get(urlpath(url)).get_data(as_text=True)
    assert "Valid." in page and "Ada Lovelace, MD" in page and "1.5 AMA PRA Category 1 Credit(s)™ claimed" in page
    assert "ada@example.org" not in page  # nothing more than the certificate says


@pytest.mark.parametrize("url", [
    "http://cme.test/verify/ABCDEFGHJKLMNPQRSTUV", "http://cme.test/verify/ZZZZZZZZZZZZZZZZZZZZ",
    "https://cme.example.org/verify/8H87TLGSTQZCM4R5XUW9", "https://cme.example.org/verify/23456789ABCDEFGHJKLM",
    "http://x/verify/A", "https://cme.example.org/verify/~\x7f\x00" + "Z" * 30, "https://cmé.example.org/verify/AB",
])
def test_the_qr_code_on_a_certificate_is_segnos_code_of_its_url(url):
    import segno

    from cme.certificates.qr import SEGNO_OPTIONS, qr_bitmap

    matrix = segno.make(url, **SEGNO_OPTIONS).matrix
    padded = -len(matrix) % 8
    expected = "".join("".join("1" if dark == 0 else "0" for dark in row) + "1" * padded for row in matrix)
    code = qr_bitmap(url)
    assert code.size == len(matrix) and code.rows == int(expected, 2).to_bytes(len(expected) // 8, "big")


def urlpath(url: str) -> str:
    return url.replace("http://cme.test", "")


def test_non_physicians_get_a_certificate_of_participation(db, make_user, make_activity):
    webcast = make_activity(format="live_webcast", join_url="https://x.example/j", credits={"ama_pra_1": "2"})
    nurse = make_user(full_name="Nina Nurse", degree="RN", profession="nurse")
    claim(db, nurse, webcast, amount="2")
    certificate, _ = service.issue_certificate(nurse, webcast)
    db.session.commit()
    assert certificate.kind == "participation"
    snapshot = certificate.snapshot
    assert snapshot["heading"] == "Certificate of Participation" and snapshot["location"] == "Internet"
    assert snapshot["credits"][0]["line"] == "2 hour(s) of participation"


def test_changed_credit_supersedes_and_both_stay_verifiable(client, db, make_user, meeting):
    physician = make_user(degree="MD")
    record = claim(db, physician, meeting, amount="1.5")
    first, _ = service.issue_certificate(physician, meeting)
    db.session.commit()
    same, created = service.issue_certificate(physician, meeting)
    assert same.id == first.id and not created  # nothing changed, nothing new
    record.amount = Decimal("2.25")
    db.session.commit()
    second, created = service.issue_certificate(physician, meeting)
    db.session.commit()
    assert created and second.id != first.id
    db.session.refresh(first)
    assert first.superseded_dt is not None and first.superseded_by_id == second.id
    old_page = client.get(f"/verify/{first.verification_code}").get_data(as_text=True)
    assert "Superseded." in old_page and second.verification_code in old_page and "1.5 AMA" in old_page
    new_page = client.get(f"/verify/{second.verification_code}").get_data(as_text=True)
    assert "Valid." in new_page and "2.25 AMA PRA Category 1 Credit(s)™ claimed" in new_page


def test_unknown_codes_are_a_clear_404(client):
    response = client.get("/verify/NOTAREALCODE2345678")
    assert response.status_code == 404 and "No certificate has this code" in response.get_data(as_text=True)


def test_only_the_owner_downloads_a_certificate(client, db, make_user, meeting, auth):
    owner = make_user(degree="MD")
    claim(db, owner, meeting)
    certificate, _ = service.issue_certificate(owner, meeting)
    db.session.commit()
    make_user("other@example.org")
    auth.login("other@example.org")
    assert client.get(f"/my/certificates/{certificate.id}.pdf").status_code == 404
    assert client.get("/my/certificates/999999.pdf").status_code == 404


def test_organizers_issue_certificates_for_everyone_who_claimed(app, client, db, make_user, make_activity, auth):
    organizer = make_user("org@example.org", role="organizer")
    activity = make_activity(organizers=[organizer], credits={"ama_pra_1": "3", "ancc": "3"})
    for n, (degree, profession, credit) in enumerate((("MD", "physician", "ama_pra_1"), ("RN", "nurse", "ancc"))):
        claim(db, make_user(f"learner{n}@example.org", degree=degree, profession=profession), activity, credit, "3")
    make_user("noclaim@example.org")
    auth.login("org@example.org")
    page = client.post(f"/organize/activities/{activity.id}/certificates", follow_redirects=True).get_data(as_text=True)
    assert "2 certificate(s) issued and mailed." in page
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "certificate_issued")).all()
    assert sorted(m.recipient for m in mails) == ["learner0@example.org", "learner1@example.org"]
    assert "/verify/" in message_text(mails[0])
    again = app.test_cli_runner().invoke(args=["cme", "issue-certificates", str(activity.id)])
    assert again.exit_code == 0 and "Issued 0 certificate(s)" in again.output
    kinds = sorted(c.kind for c in db.session.scalars(select(Certificate)))
    assert kinds == ["credit", "credit"]  # ANCC contact hours are credit for the nurse
    auth.logout()
    make_user("prov@example.org")
    auth.login("prov@example.org")
    assert client.post(f"/organize/activities/{activity.id}/certificates").status_code == 403


def test_my_credit_links_the_current_certificate(client, db, make_user, meeting, auth):
    physician = make_user("ada@example.org", degree="MD")
    claim(db, physician, meeting)
    certificate, _ = service.issue_certificate(physician, meeting)
    db.session.commit()
    auth.login("ada@example.org")
    page = client.get("/my/credit").get_data(as_text=True)
    assert f"/my/certificates/{certificate.id}.pdf" in page and f"/verify/{certificate.verification_code}" in page


def test_issuing_for_many_learners_renders_no_mail_and_the_worker_composes_each_as_before(app, client, db, make_user,
                                                                                           make_activity, auth,
                                                                                           rendered_templates):
    from email import message_from_string, policy

    from cme.mail.service import compose_mail, deliver_pending
    from cme.urls import absolute_url

    organizer = make_user("org@example.org", role="organizer")
    activity = make_activity(organizers=[organizer], title="Hepatitis B update", credits={"ama_pra_1": "3"})
    learners = [make_user(f"learner{n}@example.org", full_name=f"Learner {n}", profession="physician")
                for n in range(36)]
    for learner in learners:
        claim(db, learner, activity, amount="2")
    auth.login("org@example.org")
    rendered_templates.clear()
    response = client.post(f"/organize/activities/{activity.id}/certificates")
    assert response.status_code == 302
    assert not [name for name in rendered_templates if name.startswith("mail/")]  # no mail built in the request
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert len(rows) == 36 and all(r.kind == "certificate_issued" and r.raw_message is None and r.payload for r in rows)

    assert len(deliver_pending().sent) == 36  # the worker composes them (.eml files here)
    certificates = {c.user_id: c for c in db.session.scalars(select(Certificate))}
    for learner in learners:
        certificate = certificates[learner.id]
        [row] = [r for r in rows if r.recipient == learner.email]
        sent = message_from_string(row.raw_message, policy=policy.default)
        pdf_url = f"http://cme.test/my/certificates/{certificate.id}.pdf"
        verify_url = f"http://cme.test/verify/{certificate.verification_code}"
        # What composing in the request used to give.
        before = compose_mail(learner.email, "Your certificate: Hepatitis B update", "certificate_issued",
                              recipient_name=learner.full_name, user=learner, activity=activity,
                              certificate=certificate,
                              pdf_url=absolute_url("certificates.pdf", certificate_id=certificate.id),
                              verify_url=absolute_url("certificates.verify", code=certificate.verification_code),
                              my_credit_url=absolute_url("credit.my_credit"))
        before = message_from_string(before.as_string(), policy=policy.default)
        assert sent["Subject"] == before["Subject"] == "Your certificate: Hepatitis B update"
        assert str(sent["To"]) == str(before["To"]) == f"{learner.full_name} <{learner.email}>"
        text = sent.get_body(("plain",)).get_content()
        assert text == before.get_body(("plain",)).get_content()
        assert sent.get_body(("html",)).get_content() == before.get_body(("html",)).get_content()
        assert pdf_url in text and verify_url in text and f"Hello {learner.full_name}," in text
