"""Non-ASCII email addresses (issue 13, point 6): an address with an accented letter before the @ could sign up
but never get a reset mail. Such an address is refused where an account's address is chosen (sign-up, profile,
reset request), with a message that says why; an internationalised domain is welcome and stored in its ASCII
(IDNA) form, so every mail to it is plain SMTP. Log-in takes both spellings."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from cme.accounts.models import User
from cme.accounts.service import create_user
from cme.formtools import NON_ASCII_LOCAL_PART
from cme.mail.models import OutboxMessage
from cme.mail.service import deliver_pending
from tests.helpers import TEST_PASSWORD, outbox

UNICODE_DOMAIN = "ana@bücher.example.org"
ASCII_DOMAIN = "ana@xn--bcher-kva.example.org"
SIGNUP = {"password": TEST_PASSWORD, "confirm": TEST_PASSWORD, "full_name": "Ana Müller", "degree": "MD",
          "profession": "physician", "time_zone": "Europe/Berlin"}


def _page(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


@pytest.mark.parametrize("address", ["zoë@example.org", "名前@example.org", "zoë@bücher.example.org"])
def test_sign_up_refuses_an_accented_letter_before_the_at_and_says_why(client, db, address):
    response = client.post("/account/signup", data={**SIGNUP, "email": address})
    assert response.status_code == 422
    assert NON_ASCII_LOCAL_PART in _page(response) and address in _page(response)  # what was typed stays
    assert db.session.scalar(select(func.count()).select_from(User)) == 0 and outbox(db) == []


def test_a_change_of_address_refuses_an_accented_letter_before_the_at(client, db, provider):
    response = client.post("/account/email", data={"email": "zoë@example.org", "current_password": TEST_PASSWORD})
    assert response.status_code == 422 and NON_ASCII_LOCAL_PART in _page(response)
    db.session.expire_all()
    assert provider.email == "ada@example.org"


def test_an_internationalised_domain_is_stored_in_ascii_and_signs_up_logs_in_and_resets(client, db, smtp):
    assert client.post("/account/signup", data={**SIGNUP, "email": "Ana@Bücher.Example.org"}).status_code == 302
    user = db.session.scalar(select(User))
    assert user.email == ASCII_DOMAIN
    for spelling in (UNICODE_DOMAIN, ASCII_DOMAIN):
        assert client.post("/account/login", data={"email": spelling, "password": TEST_PASSWORD}).status_code == 302
        client.post("/account/logout")

    assert client.post("/account/reset", data={"email": UNICODE_DOMAIN}).status_code == 302
    report = deliver_pending()
    assert report.failed == [] and report.retrying == []
    reset = next(m for m in smtp.messages if m["Subject"] == "Reset your password")
    assert [ASCII_DOMAIN] in [recipients for _, recipients in smtp.envelopes] and ASCII_DOMAIN in reset["To"]
    path = re.search(r"http://cme\.test(/account/reset/\S+)", reset.get_body(("plain",)).get_content()).group(1)
    new = "a brand new password"
    assert client.post(path, data={"password": new, "confirm": new}).status_code == 302
    client.post("/account/logout")
    assert client.post("/account/login", data={"email": UNICODE_DOMAIN, "password": new}).status_code == 302


def test_a_reset_request_for_an_accented_address_says_why_it_cannot_be_mailed(client, db):
    response = client.post("/account/reset", data={"email": "zoë@example.org"})
    assert response.status_code == 422 and NON_ASCII_LOCAL_PART in _page(response)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_an_account_made_before_with_an_accented_address_still_logs_in(client, db):
    create_user("zoë@example.org", TEST_PASSWORD, full_name="Zoë")
    db.session.commit()
    response = client.post("/account/login", data={"email": "Zoë@Example.org", "password": TEST_PASSWORD})
    assert response.status_code == 302
