"""The verification code box (issue 14, point 14): /verify takes a certificate's code as printed, typed any way
(any case, with or without spaces and dashes) or a pasted verification address, and goes to /verify/<code>; an
unknown code comes back with the field's error (404), counted like /verify/<code>'s misses; odd input (NUL bytes,
10,000 characters, non-ASCII, an encoded NUL inside a pasted address) gives a field error, never a 500. The box is
linked from every page's footer and from the certificate pages."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from html import unescape
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from cme.accounts import throttle
from cme.accounts.models import ThrottleCounter
from cme.certificates.service import find_by_code, issue_certificate, verification_code_from
from cme.credit.models import CreditRecord
from cme.timeutil import now_utc


@pytest.fixture
def code(db, make_user, make_activity) -> str:
    """The verification code of a physician's certificate for a meeting that ended."""
    learner = make_user("ada@example.org", full_name="Ada Lovelace")
    activity = make_activity(title="Hepatitis B update", start_dt=now_utc() - timedelta(days=3),
                             end_dt=now_utc() - timedelta(days=3, hours=-2))
    db.session.add(CreditRecord(user_id=learner.id, activity_id=activity.id, credit_type="ama_pra_1",
                                amount=Decimal("2"), attested=True))
    certificate, _ = issue_certificate(learner, activity)
    db.session.commit()
    return certificate.verification_code


def typed(client, value: str, **kwargs):
    return client.get("/verify?" + urlencode({"code": value}), **kwargs)


def misses(db) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(ThrottleCounter.hits), 0)).where(
        ThrottleCounter.scope == throttle.VERIFY_CLIENT))


def field_value(page: str) -> str:
    return unescape(re.search(r'<input[^>]*id="code"[^>]*value="([^"]*)"', page)[1])


def test_the_page_has_a_labelled_code_box(client):
    page = client.get("/verify").get_data(as_text=True)
    assert '<label for="code">Verification code</label>' in page
    assert re.search(r'<form method="get" action="/verify"', page)
    assert 'id="error-summary"' not in page and "aria-invalid" not in page  # nothing typed yet: no error


@pytest.mark.parametrize("variant", [
    lambda c: c,
    lambda c: c.lower(),
    lambda c: "-".join(c[i:i + 5] for i in range(0, 20, 5)),
    lambda c: "  " + " ".join(c[i:i + 4] for i in range(0, 20, 4)).lower() + " ",
    lambda c: "–".join(c[i:i + 5] for i in range(0, 20, 5)),  # the en dash a word processor makes of a hyphen
    lambda c: f"https://cme.example.org/verify/{c}",
    lambda c: f"http://127.0.0.1:5000/verify/{c.lower()}?utm_source=qr#top",
    lambda c: f"Verify at cme.example.org/verify/{c} please",
    lambda c: f"{c}\x00",
], ids=["as printed", "lower case", "dashes", "spaces", "en dashes", "address", "address with query",
        "address in a sentence", "NUL"])
def test_a_code_typed_any_way_goes_to_its_certificate(client, db, code, variant):
    response = typed(client, variant(code))
    assert response.status_code == 302 and response.location == f"/verify/{code}"
    assert "Valid." in client.get(response.location).get_data(as_text=True)
    assert misses(db) == 0  # a code that matches counts nothing


def test_the_certificate_page_takes_the_code_typed_any_way_too(client, code):
    grouped = "-".join(code[i:i + 5] for i in range(0, 20, 5)).lower()
    page = client.get(f"/verify/{grouped}").get_data(as_text=True)
    assert "Valid." in page and "Hepatitis B update" in page


def test_an_unknown_code_comes_back_with_the_field_error_and_what_was_typed(client, db, code):
    response = typed(client, "abcd-efgh-jkmn-pqrs-tuvw")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert 'id="error-summary"' in page and "No certificate has this code." in page
    assert 'aria-invalid="true"' in page and field_value(page) == "abcd-efgh-jkmn-pqrs-tuvw"
    assert misses(db) == 1


@pytest.mark.parametrize("value, status, says", [
    ("", 422, "Enter the verification code printed on the certificate."),
    ("   ", 422, "Enter the verification code printed on the certificate."),
    ("\x00\x00", 422, "Enter the verification code printed on the certificate."),
    ("A" * 10_000, 422, "That is too long for a verification code"),
    ("ABCDE\x00FGHJK\r\nLMNPQ", 404, "No certificate has this code."),
    ("https://cme.example.org/verify/AB%00CD", 404, "No certificate has this code."),
    ("zoë名😀", 404, "No certificate has this code."),
    ("'; DROP TABLE certificates; --", 404, "No certificate has this code."),
    ("https://cme.example.org/verify/", 404, "No certificate has this code."),
])
def test_odd_input_gives_a_field_error_not_a_500(client, db, code, value, status, says):
    response = typed(client, value)
    page = response.get_data(as_text=True)
    assert response.status_code == status and says in page and 'id="error-summary"' in page


def test_a_long_paste_is_refused_before_any_lookup_or_count(client, db, code):
    assert typed(client, code + "9" * 10_000).status_code == 422
    assert misses(db) == 0


def test_misses_of_the_box_and_of_the_address_share_one_throttle(app, client, db, code):
    app.config["THROTTLE_LIMITS"] = {**app.config["THROTTLE_LIMITS"], throttle.VERIFY_CLIENT: (3, 60)}
    assert typed(client, "NOPE-ONE").status_code == 404
    assert client.get("/verify/NOPETWO").status_code == 404
    assert typed(client, "nope three").status_code == 404
    refused = typed(client, code)  # past the limit even the right code waits
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    assert "Too many verification codes that match no certificate." in page and field_value(page) == code
    assert client.get(f"/verify/{code}").status_code == 429
    assert typed(client, code, environ_base={"REMOTE_ADDR": "198.51.100.4"}).status_code == 302  # another client


def test_verification_code_from_reads_what_people_paste():
    assert verification_code_from(" abcd efgh-JKMN ") == "ABCDEFGHJKMN"
    assert verification_code_from("https://x.example/verify/abc?x=1#y") == "ABC"
    assert verification_code_from("https://x.example/verify/a%20b") == "AB"
    assert verification_code_from("") == ""


def test_find_by_code_never_sends_what_cannot_be_a_code(db, code, count_queries):
    with count_queries() as statements:
        assert find_by_code("A\x00B") is None and find_by_code("名" * 5) is None and find_by_code("A" * 33) is None
    assert statements == []
    assert find_by_code(code.lower()).verification_code == code


def test_the_footer_and_the_certificate_pages_link_the_box(client, code):
    for url in ("/", f"/verify/{code}", "/verify/NOTACODE", "/help", "/no-such-page"):
        assert 'href="/verify"' in client.get(url).get_data(as_text=True), url
    assert "Verify another certificate" in client.get(f"/verify/{code}").get_data(as_text=True)
    not_found = client.get("/verify/NOTACODE").get_data(as_text=True)
    assert "Try the code again" in not_found and field_value(not_found) == "NOTACODE"
