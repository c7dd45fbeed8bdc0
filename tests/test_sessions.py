"""Sessions the server can revoke (issue 13, point 1): copies of the `session` and `remember_token` cookies,
replayed by a fresh client, stop working after log-out, "log out everywhere", a password change, a reset and a
change of email address; a stale copy cannot change the email address (issue 13, point 2); sessions end after
inactivity; the remember cookie is new at every log-in."""
from __future__ import annotations

import time

import pytest
from flask import g

from cme.accounts.service import find_user_by_email, make_email_change_token, make_reset_token
from tests.helpers import TEST_PASSWORD, outbox

COOKIES = ("session", "remember_token")
NEW_PASSWORD = "a brand new secret"
NEW_EMAIL = "ada.new@example.org"


@pytest.fixture(autouse=True)
def _user_loaded_per_request(app):
    """The tests' app context outlives requests, and Flask-Login keeps the user in `g`: load it at every request, as
    a server does, so each client is judged by its own cookies."""
    @app.before_request
    def forget_the_last_user() -> None:
        g.pop("_login_user", None)


def _log_in(app, email: str, password: str = TEST_PASSWORD):
    client = app.test_client()
    response = client.post("/account/login", data={"email": email, "password": password, "remember": "y"})
    assert response.status_code == 302
    return client


def _copies(client) -> dict[str, str]:
    copies = {name: client.get_cookie(name).value for name in COOKIES if client.get_cookie(name) is not None}
    assert set(copies) == set(COOKIES)
    return copies


def _logged_in(client) -> bool:
    status = client.get("/account/profile").status_code
    assert status in (200, 302)
    return status == 200


def _replays(app, name: str, value: str) -> bool:
    """Whether the one cookie, set in a fresh client, is logged in."""
    thief = app.test_client()
    thief.set_cookie(name, value)
    return _logged_in(thief)


def _log_out(app, client, email):
    client.post("/account/logout")


def _log_out_everywhere(app, client, email):
    client.post("/account/logout-everywhere")


def _change_password(app, client, email):
    response = client.post("/account/password", data={"current_password": TEST_PASSWORD, "password": NEW_PASSWORD,
                                                      "confirm": NEW_PASSWORD})
    assert response.status_code == 302


def _reset(app, client, email):
    token = make_reset_token(find_user_by_email(email))
    stranger = app.test_client()
    response = stranger.post(f"/account/reset/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and _logged_in(stranger)


def _change_email(app, client, email):
    """Ask for the change, then follow the link (as mailed: signed from what the request froze)."""
    response = client.post("/account/email", data={"email": NEW_EMAIL, "current_password": TEST_PASSWORD})
    assert response.status_code == 302
    user = find_user_by_email(email)
    token = make_email_change_token(user, old_email=email, new_email=NEW_EMAIL, requested_dt=user.pending_email_dt)
    assert client.post(f"/account/email/confirm/{token}").status_code == 302


EVENTS = {"log-out": _log_out, "log-out-everywhere": _log_out_everywhere, "password-change": _change_password,
          "reset": _reset, "email-change": _change_email}
# Who logs in afterwards with what: the address and password the event leaves.
AFTER = {"password-change": ("ada@example.org", NEW_PASSWORD), "reset": ("ada@example.org", NEW_PASSWORD),
         "email-change": (NEW_EMAIL, TEST_PASSWORD)}


@pytest.mark.parametrize("event", EVENTS)
def test_copied_cookies_die_with_the_event(app, make_user, event):
    make_user("ada@example.org")
    here = _log_in(app, "ada@example.org")
    elsewhere = _log_in(app, "ada@example.org")  # another device
    copies = _copies(here)
    for name, value in copies.items():
        assert _replays(app, name, value), f"the copied {name} cookie works before the {event}"

    EVENTS[event](app, here, "ada@example.org")

    for name, value in copies.items():
        assert not _replays(app, name, value), f"the copied {name} cookie still works after the {event}"
    assert not _logged_in(elsewhere)
    if event in ("password-change", "email-change"):
        # The user who changed the password (or address) stays logged in, under new cookies that work on their own.
        assert _logged_in(here)
        fresh = _copies(here)
        assert fresh["remember_token"] != copies["remember_token"]
        assert all(_replays(app, name, value) for name, value in fresh.items())
    else:
        assert not _logged_in(here)
    # A log-in afterwards works as always.
    assert _logged_in(_log_in(app, *AFTER.get(event, ("ada@example.org", TEST_PASSWORD))))


def test_a_stale_copied_cookie_cannot_change_the_email_address(app, db, make_user):
    """The hole of issue 13, point 2: a copied cookie changed the address and took the account. A copy from before
    a log-out is refused outright (even with the password); a live copy without the password gets a field error."""
    user = make_user("ada@example.org")
    here = _log_in(app, "ada@example.org")
    copies = _copies(here)
    here.post("/account/logout")
    for name, value in copies.items():
        thief = app.test_client()
        thief.set_cookie(name, value)
        response = thief.post("/account/email", data={"email": "thief@example.org", "current_password": TEST_PASSWORD})
        assert response.status_code == 302 and response.location.startswith("/account/login"), name
    live = _log_in(app, "ada@example.org")
    thief = app.test_client()
    thief.set_cookie("session", live.get_cookie("session").value)
    response = thief.post("/account/email", data={"email": "thief@example.org", "current_password": "a good guess!"})
    assert response.status_code == 422 and "Your current password is not correct." in response.get_data(as_text=True)
    db.session.refresh(user)
    assert (user.email, user.pending_email) == ("ada@example.org", None) and outbox(db) == []


def test_the_remember_cookie_differs_at_every_log_in_and_each_works(app, make_user):
    make_user("ada@example.org")
    first = _copies(_log_in(app, "ada@example.org"))["remember_token"]
    second = _copies(_log_in(app, "ada@example.org"))["remember_token"]
    assert first != second
    assert _replays(app, "remember_token", first) and _replays(app, "remember_token", second)


def test_the_profile_offers_log_out_everywhere(app, make_user):
    make_user("ada@example.org")
    page = _log_in(app, "ada@example.org").get("/account/profile").get_data(as_text=True)
    assert 'action="/account/logout-everywhere"' in page and "Log out everywhere" in page


def _idle_for(client, seconds: int) -> None:
    with client.session_transaction() as session:
        session["_seen"] = int(time.time()) - seconds


def test_a_session_ends_after_inactivity(app, make_user, auth):
    make_user("ada@example.org")
    idle_limit = app.config["CME_SESSION_IDLE_MINUTES"] * 60
    auth.login("ada@example.org")  # no "keep me logged in"
    _idle_for(auth.client, idle_limit - 120)
    assert _logged_in(auth.client)  # activity in time keeps it, and notes the moment
    with auth.client.session_transaction() as session:
        assert session["_seen"] >= int(time.time()) - 5
    _idle_for(auth.client, idle_limit + 1)
    assert not _logged_in(auth.client)


def test_an_idle_session_copied_from_a_log_in_ends_too(app, make_user, auth):
    app.config["CME_SESSION_IDLE_MINUTES"] = 1
    make_user("ada@example.org")
    auth.login("ada@example.org")
    copy = auth.client.get_cookie("session").value
    assert _replays(app, "session", copy)
    _idle_for(auth.client, 61)
    assert not _logged_in(auth.client)


def test_keep_me_logged_in_outlives_an_idle_session_but_not_its_version(app, make_user):
    make_user("ada@example.org")
    client = _log_in(app, "ada@example.org")
    _idle_for(client, app.config["CME_SESSION_IDLE_MINUTES"] * 60 + 1)
    assert _logged_in(client)  # the remember cookie logs the user in again, as asked
    client.post("/account/logout-everywhere")
    assert not _logged_in(client)


def test_activity_is_noted_at_most_once_a_minute(app, make_user, auth):
    make_user("ada@example.org")
    auth.login("ada@example.org")
    _idle_for(auth.client, 10)
    with auth.client.session_transaction() as session:
        noted = session["_seen"]
    assert _logged_in(auth.client)
    with auth.client.session_transaction() as session:
        assert session["_seen"] == noted
    _idle_for(auth.client, 61)
    assert _logged_in(auth.client)
    with auth.client.session_transaction() as session:
        assert session["_seen"] >= int(time.time()) - 5
