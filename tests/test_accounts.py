"""Accounts: sign-up, log-in with next, log-out, profile, passwords, reset by mail, roles, CLI."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cme.accounts.identity import licences_of
from cme.accounts.models import User
from cme.accounts.npi import make_npi
from cme.mail.models import OutboxMessage
from cme.mail.service import deliver_pending
from cme.timeutil import now_utc
from tests.helpers import TEST_PASSWORD, outbox

VALID_NPI = make_npi("123456789")

SIGNUP = {
    "email": "Jane.Doe@Clinic.org",
    "password": "long enough password",
    "confirm": "long enough password",
    "full_name": "Jane Doe",
    "degree": "NP",
    "profession": "nurse_practitioner",
    "specialty": "Hepatology",
    "npi": VALID_NPI,
    "licence_state": "CA",
    "licence_number": "NP-12345",
    "time_zone": "America/Los_Angeles",
}


def count_users(db) -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_sign_up_creates_an_unverified_hashed_account_mails_a_welcome_and_logs_nobody_in(client, db, smtp):
    response = client.post("/account/signup", data=SIGNUP)
    assert response.status_code == 302 and response.location == "/account/login"
    user = db.session.scalar(select(User))
    assert user.email == "jane.doe@clinic.org"
    assert user.profession == "nurse_practitioner" and user.npi == VALID_NPI and user.time_zone == "America/Los_Angeles"
    assert user.password_hash != SIGNUP["password"] and user.password_hash.startswith("pbkdf2:sha256:1000$")
    assert user.check_password(SIGNUP["password"])
    assert user.email_verified_dt is None  # until the link in the welcome mail is followed
    # Issue 16, point 1: the licence given at sign-up is the learner's first licence (its one home).
    [licence] = licences_of(user)
    assert (licence.state, licence.number, licence.profession) == ("CA", "NP-12345", "nurse_practitioner")
    page = client.get(response.location).get_data(as_text=True)
    assert "check your inbox" in page and "Log out" not in page  # the same answer as for a taken address
    [row] = outbox(db)
    assert (row.kind, row.recipient, row.raw_message) == ("account_welcome", "jane.doe@clinic.org", None)
    assert deliver_pending().sent
    [message] = smtp.messages
    assert message["Subject"] == "Your account is ready: confirm your email address"
    assert message.get_body(("html",)) is not None
    body = message.get_body(("plain",)).get_content()
    assert "http://cme.test/account/login" in body and "http://cme.test/account/verify/" in body
    login = client.post("/account/login", data={"email": SIGNUP["email"], "password": SIGNUP["password"]})
    assert login.status_code == 302
    assert "Log out" in client.get("/").get_data(as_text=True)


def test_passwords_are_hashed_with_scrypt_by_default(app, db):
    from cme.accounts.service import create_user

    app.config["PASSWORD_HASH_METHOD"] = "scrypt"
    user = create_user("s@example.org", "a secret of length", full_name="S")
    assert user.password_hash.startswith("scrypt:") and user.check_password("a secret of length")


@pytest.mark.parametrize("changes, field, message", [
    ({"npi": "1234567890"}, "npi", "not a valid NPI"),
    ({"confirm": "something else entirely"}, "confirm", "do not match"),
    ({"password": "short", "confirm": "short"}, "password", "at least 10"),
    ({"email": "not-an-email"}, "email", "Invalid email"),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "Not a valid choice"),
    ({"licence_state": ""}, "licence_number", "Choose the state"),
    ({"licence_number": "NP 12345"}, "licence_number", "letters, digits, dots and hyphens"),
    ({"full_name": "  "}, "full_name", "required"),
])
def test_sign_up_errors_re_render_with_the_field_error_and_keep_what_was_typed(client, db, changes, field, message):
    data = {**SIGNUP, **changes}
    response = client.post("/account/signup", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert f'id="{field}-error"' in page
    assert 'value="Hepatology"' in page and f'value="{data["licence_number"]}"' in page  # typed values survive
    assert 'value="long enough password"' not in page  # passwords are never echoed back
    assert count_users(db) == 0


def _answer(response, client, email: str) -> tuple:
    """What a visitor sees (status, location, the page followed to), with CSRF tokens and the typed address
    blanked: the parts that may differ between two addresses without telling anything."""
    page = client.get(response.location).get_data(as_text=True) if response.location else response.get_data(as_text=True)
    page = re.sub(r'(name="csrf_token"[^>]*value=")[^"]*|(name="csrf-token" content=")[^"]*', r"\1\2", page)
    return response.status_code, response.location, page.replace(email, "EMAIL")


def test_sign_up_with_a_taken_address_answers_as_for_a_new_one_and_mails_the_owner(client, db, make_user, smtp,
                                                                                   rendered_templates):
    """Issue 13, point 4: the page does not tell whether an address has an account. The owner's account is
    untouched (password, name), nobody is logged in, and the owner gets a mail instead, composed by the worker."""
    owner = make_user("jane.doe@clinic.org", full_name="Jane Original")
    before = owner.password_hash
    taken = client.post("/account/signup", data=SIGNUP)  # the same address in another case
    taken_answer = _answer(taken, client, SIGNUP["email"])
    new = client.post("/account/signup", data={**SIGNUP, "email": "newcomer@clinic.org"})
    assert taken_answer == _answer(new, client, "newcomer@clinic.org")
    assert taken.status_code == 302 and "Log out" not in client.get("/").get_data(as_text=True)
    assert not [name for name in rendered_templates if name.startswith("mail/")]  # nothing composed in the request
    db.session.refresh(owner)
    assert owner.password_hash == before and owner.full_name == "Jane Original"
    assert not owner.check_password(SIGNUP["password"])
    assert count_users(db) == 2
    [row] = outbox(db, "signup_taken")
    assert row.recipient == "jane.doe@clinic.org" and row.raw_message is None
    assert len(deliver_pending().sent) == 2
    [message] = [m for m in smtp.messages if m["To"].addresses[0].addr_spec == "jane.doe@clinic.org"]
    assert message["Subject"] == "Someone tried to sign up with your address"
    body = message.get_body(("plain",)).get_content()
    assert "Nothing about your account has changed" in body and "http://cme.test/account/reset" in body
    assert message.get_body(("html",)) is not None


def test_sign_up_keeps_next_for_the_log_in_that_follows(client, db):
    response = client.post("/account/signup", data=SIGNUP, query_string={"next": "/my/schedule"})
    assert response.status_code == 302 and response.location == "/account/login?next=/my/schedule"
    evil = client.post("/account/signup", data={**SIGNUP, "email": "x@clinic.org"},
                       query_string={"next": "//evil.example/"})
    assert "evil" not in evil.location


def test_log_in_answers_alike_for_a_wrong_password_and_an_unknown_address(client, db, make_user):
    make_user("ada@example.org")
    wrong = client.post("/account/login", data={"email": "ada@example.org", "password": "not the password"})
    wrong_answer = _answer(wrong, client, "ada@example.org")
    unknown = client.post("/account/login", data={"email": "bob@example.org", "password": "not the password"})
    assert wrong.status_code == 422 and wrong_answer == _answer(unknown, client, "bob@example.org")
    assert "The email or password is not correct." in wrong.get_data(as_text=True)


def test_log_in_checks_a_password_hash_whether_or_not_the_address_has_an_account(app, client, db, make_user,
                                                                                   monkeypatch):
    """An unknown address costs one hash check too (a dummy hash made with the configured method), so the time
    a log-in takes does not tell whether the account exists."""
    from werkzeug import security

    from cme.accounts import models, service

    make_user("ada@example.org")
    checked: list[str] = []

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash.partition("$")[0])
        return security.check_password_hash(pwhash, password)

    monkeypatch.setattr(models, "check_password_hash", counting)
    monkeypatch.setattr(service, "check_password_hash", counting)
    for email in ("ada@example.org", "bob@example.org"):
        client.post("/account/login", data={"email": email, "password": "not the password"})
    method = app.config["PASSWORD_HASH_METHOD"]
    assert len(checked) == 2 and checked[0] == checked[1] == method


def test_a_reset_request_answers_byte_for_byte_alike_for_known_and_unknown_addresses(client, db, make_user):
    make_user("ada@example.org")
    known = client.post("/account/reset", data={"email": "ada@example.org"})
    known_answer = _answer(known, client, "ada@example.org")
    unknown = client.post("/account/reset", data={"email": "bob@example.org"})
    assert known_answer == _answer(unknown, client, "bob@example.org")
    assert [row.recipient for row in outbox(db)] == ["ada@example.org"]


def test_login_follows_next_back_to_the_page_that_asked(client, make_user, auth):
    make_user("ada@example.org")
    response = client.get("/my/schedule")
    assert response.status_code == 302 and "/account/login?next=" in response.location
    response = auth.login("ADA@example.org", follow_redirects=False, query_string={"next": "/my/schedule"})
    assert response.status_code == 302 and response.location == "/my/schedule"
    assert client.get("/my/schedule").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site(client, make_user, auth, target):
    make_user("ada@example.org")
    response = auth.login("ada@example.org", query_string={"next": target})
    assert response.status_code == 302 and response.location == "/activities/"


def test_organizers_land_on_their_activities_and_providers_on_the_catalog(client, make_user, auth):
    make_user("org@example.org", role="organizer")
    make_user("ada@example.org")
    assert auth.login("org@example.org").location == "/organize/"
    auth.logout()
    assert auth.login("ada@example.org").location == "/activities/"


def test_wrong_password_is_refused_with_one_message_and_keeps_the_email(client, make_user, auth):
    make_user("ada@example.org")
    response = auth.login("ada@example.org", "wrong password!")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The email or password is not correct." in page and 'value="ada@example.org"' in page
    unknown = auth.login("nobody@example.org", "wrong password!")
    assert "The email or password is not correct." in unknown.get_data(as_text=True)


def test_logout_is_a_post_and_ends_the_session(client, make_user, auth):
    make_user("ada@example.org")
    auth.login("ada@example.org")
    assert client.get("/account/logout").status_code == 405
    assert auth.logout().status_code == 302
    assert client.get("/account/profile").status_code == 302


def test_profile_edit_saves_and_validates_and_never_changes_the_email(client, db, make_user, auth):
    """The email address changes only through a link mailed to the new one (tests/test_email_address.py): an
    email posted with the profile is ignored."""
    user = make_user("ada@example.org", full_name="Ada Lovelace")
    auth.login("ada@example.org")
    form = {**SIGNUP, "email": "someone.else@example.org", "full_name": "Ada King", "degree": "DO",
            "profession": "physician"}
    assert client.post("/account/profile", data=form).status_code == 302
    db.session.refresh(user)
    assert (user.full_name, user.degree, user.time_zone) == ("Ada King", "DO", "America/Los_Angeles")
    assert user.email == "ada@example.org" and user.pending_email is None and outbox(db) == []
    response = client.post("/account/profile", data={**form, "npi": "1234567890", "full_name": "Ada Byron"})
    assert response.status_code == 422 and "not a valid NPI" in response.get_data(as_text=True)
    assert 'value="Ada Byron"' in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.full_name == "Ada King" and user.email == "ada@example.org"


def test_password_change_needs_the_current_password(client, db, make_user, auth):
    user = make_user("ada@example.org")
    auth.login("ada@example.org")
    bad = client.post("/account/password", data={"current_password": "nope nope nope", "password": "a brand new secret",
                                                 "confirm": "a brand new secret"})
    assert bad.status_code == 422 and "current password is not correct" in bad.get_data(as_text=True)
    good = client.post("/account/password", data={"current_password": TEST_PASSWORD, "password": "a brand new secret",
                                                  "confirm": "a brand new secret"})
    assert good.status_code == 302
    db.session.refresh(user)
    assert user.check_password("a brand new secret") and not user.check_password(TEST_PASSWORD)


def _reset_link(message) -> str:
    body = message.get_body(("plain",)).get_content()
    return re.search(r"http://cme\.test(/account/reset/\S+)", body).group(1)


def test_password_reset_by_an_emailed_single_use_link(app, client, db, make_user, smtp):
    user = make_user("ada@example.org", full_name="Ada Lovelace")
    response = client.post("/account/reset", data={"email": "Ada@Example.org"})
    assert response.status_code == 302
    assert deliver_pending().sent
    [message] = smtp.messages
    assert message["To"].addresses[0].addr_spec == "ada@example.org" and message["Subject"] == "Reset your password"
    assert message.get_body(("html",)) is not None
    path = _reset_link(message)
    assert client.get(path).status_code == 200
    assert client.post(path, data={"password": "new password here", "confirm": "new password here"}).status_code == 302
    db.session.refresh(user)
    assert user.check_password("new password here")
    # The same link does not work twice.
    again = client.post(path, data={"password": "third password!", "confirm": "third password!"}, follow_redirects=True)
    assert "already been used" in again.get_data(as_text=True)
    db.session.refresh(user)
    assert user.check_password("new password here")


def test_password_reset_links_expire(app, client, make_user):
    from cme.accounts.service import make_reset_token

    user = make_user("ada@example.org")
    token = make_reset_token(user)
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    response = client.get(f"/account/reset/{token}", follow_redirects=True)
    assert "has expired" in response.get_data(as_text=True)
    forged = client.get(f"/account/reset/{token[:-3]}abc", follow_redirects=True)
    assert "not valid" in forged.get_data(as_text=True)


def test_password_reset_for_an_unknown_email_says_the_same_and_sends_nothing(client, db):
    response = client.post("/account/reset", data={"email": "nobody@example.org"}, follow_redirects=True)
    assert "If an account uses that email" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


@pytest.mark.parametrize("path", ["/organize/", "/admin/users"])
def test_providers_get_403_on_organizer_and_admin_pages(client, make_user, auth, path):
    make_user("provider@example.org")
    auth.login("provider@example.org")
    response = client.get(path)
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True)


def test_organizers_reach_organize_but_not_admin(client, make_user, auth):
    make_user("org@example.org", role="organizer")
    auth.login("org@example.org")
    assert client.get("/organize/").status_code == 200
    assert client.get("/admin/users").status_code == 403


def test_admins_reach_everything_and_can_change_roles(client, db, make_user, auth):
    make_user("admin@example.org", role="admin")
    other = make_user("someone@example.org")
    auth.login("admin@example.org")
    assert client.get("/organize/").status_code == 200
    assert "someone@example.org" in client.get("/admin/users?q=SOMEONE").get_data(as_text=True)
    assert client.post(f"/admin/users/{other.id}/role", data={"role": "organizer"}).status_code == 302
    db.session.refresh(other)
    assert other.role == "organizer"
    assert client.post("/admin/users/999999/role", data={"role": "organizer"}).status_code == 404


def test_provider_cannot_change_roles(client, db, make_user, auth):
    provider = make_user("provider@example.org")
    auth.login("provider@example.org")
    assert client.post(f"/admin/users/{provider.id}/role", data={"role": "admin"}).status_code == 403
    db.session.refresh(provider)
    assert provider.role == "provider"


def test_logged_out_visitors_are_sent_to_log_in_from_organizer_pages(client):
    response = client.get("/organize/")
    assert response.status_code == 302 and response.location.startswith("/account/login?next=")


def test_create_user_command(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["cme", "create-user", "--role", "organizer", "--name", "Olive Organizer",
                                 "--password", "organizer-pass-1", "Olive@Example.org"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "olive@example.org"))
    assert user.role == "organizer" and user.check_password("organizer-pass-1")
    assert user.is_email_verified  # whoever runs the command vouches for the address
    again = runner.invoke(args=["cme", "create-user", "--password", "organizer-pass-1", "olive@example.org"])
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(args=["cme", "create-user", "--password", "short", "x@example.org"])
    assert short.exit_code != 0 and "at least 10" in short.output


def test_create_user_command_prompts_for_the_password(app, db):
    result = app.test_cli_runner().invoke(args=["cme", "create-user", "p@example.org"],
                                          input="prompted-pass-1\nprompted-pass-1\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "p@example.org"))
    assert user.role == "provider" and user.check_password("prompted-pass-1")


def _reset_rows(db) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "password_reset")))


def _composed(row: OutboxMessage):
    from email import message_from_string, policy

    from cme.mail.service import message_text

    return message_from_string(message_text(row), policy=policy.default)


def test_a_reset_request_answers_the_same_for_known_and_unknown_emails_and_only_queues_a_row(client, db, make_user,
                                                                                            rendered_templates):
    """Asking for a real account builds no mail in the request (nothing to time apart from an unknown one): it
    writes a deferred row holding no usable link; the worker composes the link later."""
    from cme.accounts.service import AccountError, user_for_reset_token

    make_user("ada@example.org", full_name="Ada Lovelace")
    answers = []
    for email in ("ada@example.org", "nobody@example.org"):
        response = client.post("/account/reset", data={"email": email})
        answers.append((response.status_code, response.location, client.get(response.location).get_data(as_text=True)))
    assert answers[0] == answers[1] and answers[0][:2] == (302, "/account/login")
    assert "If an account uses that email, a reset link is on its way." in answers[0][2]
    assert not [name for name in rendered_templates if name.startswith("mail/")]
    [row] = _reset_rows(db)
    assert row.recipient == "ada@example.org" and row.raw_message is None and "/account/reset/" not in row.payload
    for value in json.loads(row.payload).values():  # no token that would open the account
        with pytest.raises(AccountError):
            user_for_reset_token(str(value))
    path = _reset_link(_composed(row))
    assert client.get(path).status_code == 200


def test_a_reset_link_composed_late_expires_counted_from_the_request(app, client, db, make_user):
    from cme.accounts.service import request_password_reset

    make_user("ada@example.org")
    asked = now_utc() - timedelta(seconds=app.config["PASSWORD_RESET_MAX_AGE"] + 60)
    request_password_reset("ada@example.org", now=asked)
    db.session.commit()
    [row] = _reset_rows(db)
    message = _composed(row)  # composed now, requested over an hour ago
    assert message["Date"].datetime == asked.replace(microsecond=0)
    assert "has expired" in client.get(_reset_link(message), follow_redirects=True).get_data(as_text=True)


def test_a_reset_link_composed_after_the_password_changed_is_already_used(client, db, make_user):
    from cme.accounts.service import change_password, request_password_reset

    user = make_user("ada@example.org")
    request_password_reset("ada@example.org")
    db.session.commit()
    change_password(user, TEST_PASSWORD, "a newer password here")
    db.session.commit()
    [row] = _reset_rows(db)
    page = client.get(_reset_link(_composed(row)), follow_redirects=True).get_data(as_text=True)
    assert "already been used" in page
