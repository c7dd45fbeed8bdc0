"""My credit: the transcript by year and credit type with totals, as a page, CSV (read back with the csv
module) and PDF (read back with pypdf)."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from pypdf import PdfReader

from cme.certificates import service as certificates
from cme.credit.models import CreditRecord


def record(db, user, activity, credit_type, amount):
    db.session.add(CreditRecord(user_id=user.id, activity_id=activity.id, credit_type=credit_type,
                                amount=Decimal(amount), attested=True))
    db.session.commit()


@pytest.fixture
def ada_transcript(client, db, make_user, make_activity, auth):
    """Ada's credit over two years and two types, a certificate for the newer activity; someone else's credit too.
    Ada is logged in; the fixture gives her certificate."""
    ada = make_user("ada@example.org", full_name="Ada Lovelace", degree="MD", npi="1234567893")
    older = make_activity(title="=SUM(A1) HCV 2025", start_dt=datetime(2025, 5, 1, 14, tzinfo=timezone.utc),
                          credits={"ama_pra_1": "3"})
    newer = make_activity(title="MASLD 2026", start_dt=datetime(2026, 3, 1, 15, tzinfo=timezone.utc),
                          credits={"ama_pra_1": "3", "abim_moc": "3"})
    record(db, ada, older, "ama_pra_1", "2.5")
    record(db, ada, newer, "ama_pra_1", "1.25")
    record(db, ada, newer, "abim_moc", "1.25")
    certificate, _ = certificates.issue_certificate(ada, newer)
    db.session.commit()
    other = make_user("other@example.org")
    record(db, other, newer, "ama_pra_1", "3")
    auth.login("ada@example.org")
    return certificate


def test_my_credit_page_totals_by_year_and_type_with_certificates(client, ada_transcript):
    page = client.get("/my/credit").get_data(as_text=True)
    assert "<strong>3.75</strong> AMA PRA Category 1 Credit™" in page and "<h2>2026</h2>" in page and "<h2>2025</h2>" in page
    assert "2025 totals: 2.5 AMA PRA Category 1 Credit™" in page and ada_transcript.verification_code in page


def test_the_transcript_csv_lists_each_credit_newest_first_with_formulas_defused(client, ada_transcript):
    response = client.get("/my/credit.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8" and response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["Year", "Date", "Activity", "Format", "Credit type", "Amount", "Certificate"]
    assert [(r[0], r[2], r[4], r[5]) for r in rows[1:]] == [
        ("2026", "MASLD 2026", "AMA PRA Category 1 Credit™", "1.25"), ("2026", "MASLD 2026", "ABIM MOC points", "1.25"),
        ("2025", "'=SUM(A1) HCV 2025", "AMA PRA Category 1 Credit™", "2.5")]
    assert rows[1][6] == ada_transcript.verification_code and rows[3][6] == ""


def test_the_transcript_pdf_names_the_learner_and_totals_only_their_credit(client, ada_transcript):
    pdf = client.get("/my/credit/transcript.pdf")
    assert pdf.mimetype == "application/pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages).split())
    for expected in ("Transcript of continuing education credit", "Ada Lovelace, MD", "NPI 1234567893", "MASLD 2026",
                     "2026 totals: 1.25 ABIM MOC points; 1.25 AMA PRA Category 1 Credit™",
                     "All years: 1.25 ABIM MOC points; 3.75 AMA PRA Category 1 Credit™", ada_transcript.verification_code):
        assert expected in text, expected
    assert "other@example.org" not in text and "3 AMA" not in text.replace("3.75", "")


def test_an_empty_transcript_says_so(client, make_user, auth):
    make_user("new@example.org")
    auth.login("new@example.org")
    assert "You have not claimed any credit yet." in client.get("/my/credit").get_data(as_text=True)
    text = PdfReader(io.BytesIO(client.get("/my/credit/transcript.pdf").data)).pages[0].extract_text()
    assert "No credit has been claimed yet." in text
