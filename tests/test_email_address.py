"""The email address (issue 13, point 2): a change needs the current password and happens only through a link
mailed to the new address (once, for a limited time, while it is the pending change), with notices to the old
address; new accounts verify their address before registering for activities (they may browse and fill the
profile), by the link in the welcome mail or one sent again."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from cme.accounts import service
from cme.accounts.models import User
from cme.mail.service import deliver_pending
from cme.registration import service as registration
from cme.timeutil import now_utc
from tests.helpers import TEST_PASSWORD, outbox

NEW = "ada.new@example.org"


def _mail_to(smtp, address: str) -> list:
    """Deliver the outbox (as `flask cme send-mail` does) and return what reached `address`, oldest first."""
    deliver_pending()
    return [m for m in smtp.messages if m["To"].addresses[0].addr_spec == address]


def _text(message) -> str:
    return message.get_body(("plain",)).get_content()


def _link(message, path: str) -> str:
    return re.search(rf"http://cme\.test({re.escape(path)}\S+)", _text(message)).group(1)


def _ask(client, email: str = NEW, password: str = TEST_PASSWORD):
    return client.post("/account/email", data={"email": email, "current_password": password})


def _change_link(smtp, address: str = NEW) -> str:
    return _link(_mail_to(smtp, address)[-1], "/account/email/confirm/")


def _reload(db, user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


# ---------------------------------------------------------------- changing the address

def test_changing_the_email_needs_the_current_password(client, db, make_user, auth):
    user = make_user("ada@example.org")
    auth.login("ada@example.org")
    response = _ask(client, password="not my password")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="current_password-error"' in page
    assert "Your current password is not correct." in page
    assert f'value="{NEW}"' in page and "not my password" not in page  # what was typed stays, the password not
    same = _ask(client, email="ADA@example.org")
    assert same.status_code == 422 and "This is already your email address." in same.get_data(as_text=True)
    user = _reload(db, user)
    assert user.email == "ada@example.org" and user.pending_email is None and outbox(db) == []


def test_the_email_changes_only_through_the_link_mailed_to_the_new_address(client, db, make_user, auth, smtp):
    user = make_user("ada@example.org", full_name="Ada <b>Lovelace</b>", time_zone="America/Chicago")
    auth.login("ada@example.org")
    response = _ask(client, email="  Ada.NEW@Example.org ")
    assert response.status_code == 302 and response.location == "/account/profile"
    profile = client.get("/account/profile").get_data(as_text=True)
    assert f"We sent a link to {NEW}" in profile and "A change to <strong>ada.new@example.org</strong>" in profile
    assert 'action="/account/email/cancel"' in profile
    user = _reload(db, user)
    assert user.email == "ada@example.org" and user.pending_email == NEW  # nothing changed yet
    assert [(r.kind, r.recipient) for r in outbox(db)] == [("email_change_confirm", NEW),
                                                          ("email_change_requested", "ada@example.org")]
    assert all(r.raw_message is None and "/account/" not in r.payload for r in outbox(db))  # no link in a row

    [confirm] = _mail_to(smtp, NEW)
    assert confirm["Subject"] == "Confirm your new email address"
    assert "Lovelace" not in confirm.as_string() and "ada@example.org" not in confirm.as_string()  # a stranger's?
    [notice] = _mail_to(smtp, "ada@example.org")
    assert notice["Subject"] == "A change of your email address was asked for"
    text = _text(notice)
    assert "from ada@example.org to ada.new@example.org" in text and "CST" in text
    assert "change your password at once: that cancels the change" in text
    assert "http://cme.test/account/password" in text and "http://cme.test/account/profile" in text
    html = notice.get_body(("html",)).get_content()
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in html and "<b>Lovelace" not in html  # user text escaped

    path = _link(confirm, "/account/email/confirm/")
    page = client.get(path)
    assert page.status_code == 200 and ("from <strong>ada@example.org</strong> to <strong>ada.new@example.org</strong>"
                                        in page.get_data(as_text=True))
    assert _reload(db, user).email == "ada@example.org"  # a GET changes nothing
    done = client.post(path)
    assert done.status_code == 302 and done.location == "/account/profile"
    assert "Your email address is now ada.new@example.org" in client.get("/account/profile").get_data(as_text=True)
    user = _reload(db, user)
    assert (user.email, user.pending_email, user.pending_email_dt) == (NEW, None, None) and user.is_email_verified
    [changed] = _mail_to(smtp, "ada@example.org")[1:]
    assert changed["Subject"] == "Your email address was changed"
    assert "changed from ada@example.org to ada.new@example.org" in _text(changed)
    assert "reply to this message at once" in _text(changed)

    auth.logout()
    assert auth.login("ada@example.org").status_code == 422
    assert auth.login(NEW).status_code == 302


def test_the_answer_is_the_same_whether_or_not_the_new_address_has_an_account(client, db, make_user, auth):
    """Asking tells nothing about the new address: the link's page says it is taken, to whoever holds it."""
    make_user("ada@example.org")
    make_user("taken@example.org")
    auth.login("ada@example.org")
    client.get("/")  # shows "You are logged in."
    answers = []
    for address in ("taken@example.org", "free@example.org"):
        response = _ask(client, email=address)
        page = client.get(response.location).get_data(as_text=True)
        answers.append((response.status_code, response.location, re.sub(
            r'(name="csrf_token"[^>]*value=")[^"]*|(name="csrf-token" content=")[^"]*', r"\1\2", page)
            .replace(address, "EMAIL")))
    assert answers[0] == answers[1]
    assert [r.recipient for r in outbox(db, "email_change_confirm")] == ["taken@example.org", "free@example.org"]


def test_a_change_link_works_once(client, db, make_user, auth, smtp):
    user = make_user("ada@example.org")
    auth.login("ada@example.org")
    _ask(client)
    path = _change_link(smtp)
    assert client.post(path).status_code == 302
    again = client.post(path, follow_redirects=True).get_data(as_text=True)
    assert "This link no longer works: it was used already" in again
    assert client.get(path).status_code == 302
    assert _reload(db, user).email == NEW
    assert len(outbox(db, "email_changed")) == 1


def test_a_change_link_expires(app, client, db, make_user, auth, smtp):
    user = make_user("ada@example.org")
    service.request_email_change(user, NEW, TEST_PASSWORD,
                                 now=now_utc() - timedelta(seconds=app.config["EMAIL_CHANGE_MAX_AGE"] + 60))
    db.session.commit()
    auth.login("ada@example.org")
    assert "A change to" not in client.get("/account/profile").get_data(as_text=True)  # no longer pending
    path = _change_link(smtp)  # composed now, asked for over a day ago
    page = client.post(path, follow_redirects=True).get_data(as_text=True)
    assert "This link to confirm a new address has expired. Ask for the change again below." in page
    assert _reload(db, user).email == "ada@example.org"


def test_a_forged_change_link_or_one_for_another_account_is_refused(client, db, make_user, auth, smtp):
    make_user("ada@example.org")
    other = make_user("bob@example.org")
    auth.login("ada@example.org")
    _ask(client)
    path = _change_link(smtp)
    forged = client.get(path[:-3] + "abc", follow_redirects=True).get_data(as_text=True)
    assert "This link to confirm a new address is not valid." in forged
    auth.logout()
    auth.login("bob@example.org")
    refused = client.post(path, follow_redirects=True).get_data(as_text=True)
    assert "This link was sent for another account." in refused
    assert _reload(db, other).email == "bob@example.org"


def test_a_change_link_needs_a_log_in_and_comes_back_to_the_page_after_it(client, db, make_user, auth, smtp):
    make_user("ada@example.org")
    auth.login("ada@example.org")
    _ask(client)
    auth.logout()  # e.g. the link opened on the phone
    path = _change_link(smtp)
    response = client.get(path)
    assert response.status_code == 302 and response.location.startswith("/account/login?next=")
    assert auth.login("ada@example.org", query_string={"next": path}).location == path
    assert client.post(path).status_code == 302


def test_a_link_from_before_a_later_change_fails(client, db, make_user, auth, smtp):
    """Only the newest request's link works; a change made ends every link asked for before it, even one to the
    same address asked for again after going back (A to B, B to A, then A to B once more)."""
    user = make_user("ada@example.org")
    auth.login("ada@example.org")
    _ask(client, email="first@example.org")
    first = _change_link(smtp, "first@example.org")
    _ask(client, email=NEW)
    newest = _change_link(smtp)
    assert "replaced by a newer one" in client.post(first, follow_redirects=True).get_data(as_text=True)
    assert client.post(newest).status_code == 302 and _reload(db, user).email == NEW

    _ask(client, email="ada@example.org")
    back = _change_link(smtp, "ada@example.org")
    assert client.post(back).status_code == 302 and _reload(db, user).email == "ada@example.org"
    with pytest.raises(service.AccountError):  # the first change's link, A to B again: dead
        service.email_change_for_token(_reload(db, user), newest.rsplit("/", 1)[1])
    _ask(client, email=NEW)
    for old in (newest, first):
        assert "no longer works" in client.post(old, follow_redirects=True).get_data(as_text=True)
    assert _reload(db, user).email == "ada@example.org"


def test_a_new_password_or_a_cancel_ends_the_pending_link(client, db, make_user, auth, smtp):
    user = make_user("ada@example.org")
    auth.login("ada@example.org")
    _ask(client)
    path = _change_link(smtp)
    assert client.post("/account/password", data={"current_password": TEST_PASSWORD, "password": "a new password!",
                                                  "confirm": "a new password!"}).status_code == 302
    assert _reload(db, user).pending_email is None
    assert "ended by a new password" in client.post(path, follow_redirects=True).get_data(as_text=True)

    _ask(client, password="a new password!")
    path = _change_link(smtp)
    cancelled = client.post("/account/email/cancel", follow_redirects=True).get_data(as_text=True)
    assert "The change of your email address is cancelled" in cancelled and "A change to" not in cancelled
    assert "no longer works" in client.post(path, follow_redirects=True).get_data(as_text=True)
    assert _reload(db, user).email == "ada@example.org"


def test_an_address_taken_meanwhile_gives_a_clear_message(client, db, make_user, auth, smtp):
    user = make_user("ada@example.org")
    auth.login("ada@example.org")
    _ask(client)
    path = _change_link(smtp)
    make_user(NEW)  # someone signed up with it since
    page = client.post(path, follow_redirects=True)
    assert page.status_code == 200
    assert ("ada.new@example.org is already the address of another account, so your address was not changed."
            in page.get_data(as_text=True))
    user = _reload(db, user)
    assert user.email == "ada@example.org" and outbox(db, "email_changed") == []


def test_a_change_ends_other_sessions_and_keeps_this_one(app, client, db, make_user, auth, smtp):
    user = make_user("ada@example.org")
    elsewhere = app.test_client()
    elsewhere.post("/account/login", data={"email": "ada@example.org", "password": TEST_PASSWORD})
    auth.login("ada@example.org")
    version = _reload(db, user).session_version
    _ask(client)
    client.post(_change_link(smtp))
    assert _reload(db, user).session_version == version + 1
    assert client.get("/account/profile").status_code == 200
    # (tests/test_sessions.py replays copied cookies of the other session: they no longer work)


# ---------------------------------------------------------------- verifying a new account's address

SIGNUP = {"email": "nina@example.org", "password": "long enough password", "confirm": "long enough password",
          "full_name": "Nina Nurse", "degree": "RN", "profession": "nurse", "time_zone": "America/Chicago"}


def test_the_welcome_link_verifies_a_new_account(client, db, smtp):
    client.post("/account/signup", data=SIGNUP)
    user = service.find_user_by_email("nina@example.org")
    assert not user.is_email_verified
    [welcome] = _mail_to(smtp, "nina@example.org")
    assert "The link works for 7 days." in _text(welcome)
    path = _link(welcome, "/account/verify/")
    page = client.get(path)  # anyone holding the mailbox, logged in or not
    assert page.status_code == 200 and "Confirm that <strong>nina@example.org</strong> is your address?" in \
        page.get_data(as_text=True)
    assert not _reload(db, user).is_email_verified  # a GET changes nothing
    done = client.post(path, follow_redirects=True).get_data(as_text=True)
    assert "your email address is confirmed" in done
    assert _reload(db, user).is_email_verified
    again = client.get(path, follow_redirects=True).get_data(as_text=True)
    assert "Your email address is already confirmed." in again


def test_an_expired_forged_or_outdated_verification_link_is_refused(app, client, db, make_user, auth):
    user = make_user("nina@example.org", verified=False)
    token = service.make_verification_token(user)
    forged = client.get(f"/account/verify/{token[:-3]}abc", follow_redirects=True).get_data(as_text=True)
    assert "This confirmation link is not valid. Your profile can send a new one." in forged
    outdated = service.make_verification_token(user, email="nina.old@example.org")
    page = client.post(f"/account/verify/{outdated}", follow_redirects=True).get_data(as_text=True)
    assert "for an address your account no longer has" in page
    app.config["EMAIL_VERIFICATION_MAX_AGE"] = -1
    auth.login("nina@example.org")
    expired = client.post(f"/account/verify/{token}", follow_redirects=True).get_data(as_text=True)
    assert "This confirmation link has expired." in expired and "Send the link again" in expired
    assert not _reload(db, user).is_email_verified


def test_unverified_users_browse_and_save_their_profile_but_cannot_register(client, db, make_user, make_activity,
                                                                           auth):
    user = make_user("nina@example.org", verified=False, full_name="Nina Nurse")
    activity = make_activity()
    with pytest.raises(registration.RegistrationError, match="Confirm your email address") as refused:
        registration.register(user, activity.id, registration.Answers.from_profile(user, attested_professional=True))
    assert refused.value.code == "unverified"
    db.session.rollback()
    make_user("org@example.org", role="organizer")
    with pytest.raises(registration.RegistrationError, match="Nina Nurse has not confirmed their email address"):
        registration.add_by_organizer(activity, "nina@example.org")
    db.session.rollback()

    auth.login("nina@example.org")
    assert client.get("/").status_code == 200 and client.get("/activities/").status_code == 200
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "Confirm your email address before registering" in page and "Send the link again" in page
    assert f'href="/activities/{activity.id}/register"' not in page
    form = client.get(f"/activities/{activity.id}/register")
    assert form.status_code == 302 and form.location == f"/activities/{activity.id}"
    posted = client.post(f"/activities/{activity.id}/register",
                         data={"full_name": "Nina Nurse", "degree": "RN", "profession": "nurse", "attest": "y"},
                         follow_redirects=True)
    assert "Confirm your email address before registering" in posted.get_data(as_text=True)
    assert registration.active_registration(user, activity.id) is None

    saved = client.post("/account/profile", data={"full_name": "Nina Nightingale", "degree": "RN",
                                                  "profession": "nurse", "time_zone": "America/Chicago"})
    assert saved.status_code == 302 and _reload(db, user).full_name == "Nina Nightingale"
    assert "Not confirmed yet" in client.get("/account/profile").get_data(as_text=True)


def test_send_the_link_again_queues_one_mail_whose_link_verifies(client, db, make_user, make_activity, auth, smtp):
    user = make_user("nina@example.org", verified=False)
    activity = make_activity()
    auth.login("nina@example.org")
    response = client.post("/account/verify/resend", data={"next": f"/activities/{activity.id}"})
    assert response.status_code == 302 and response.location == f"/activities/{activity.id}"
    assert "A new link is on its way to nina@example.org" in client.get(response.location).get_data(as_text=True)
    [row] = outbox(db)
    assert (row.kind, row.recipient, row.raw_message) == ("email_verification", "nina@example.org", None)
    [mail] = _mail_to(smtp, "nina@example.org")
    assert mail["Subject"] == "Confirm your email address"
    assert client.post(_link(mail, "/account/verify/")).status_code == 302
    assert _reload(db, user).is_email_verified
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert f'href="/activities/{activity.id}/register"' in page and "Send the link again" not in page
    again = client.post("/account/verify/resend", follow_redirects=True).get_data(as_text=True)
    assert "Your email address is already confirmed." in again and len(outbox(db)) == 1


def test_a_confirmed_change_of_address_verifies_the_new_one(client, db, make_user, make_activity, auth, smtp):
    """Someone who mistyped their address at sign-up logs in and changes it: the link to the new one verifies."""
    user = make_user("nina@exmaple.org", verified=False)
    auth.login("nina@exmaple.org")
    _ask(client, email="nina@example.org")
    assert client.post(_change_link(smtp, "nina@example.org")).status_code == 302
    user = _reload(db, user)
    assert user.email == "nina@example.org" and user.is_email_verified
    registration.register(user, make_activity().id, registration.Answers.from_profile(user, attested_professional=True))


def test_a_password_reset_by_mail_verifies_the_address(client, db, make_user):
    user = make_user("nina@example.org", verified=False)
    token = service.make_reset_token(user)
    client.post(f"/account/reset/{token}", data={"password": "a new password!", "confirm": "a new password!"})
    assert _reload(db, user).is_email_verified
