"""Sessions the server can revoke (issue 13, point 1).

A log-in stores `User.session_id()` -- "<user id>:<session version>:<random>" -- as Flask-Login's user id, so the
signed session cookie and the "keep me logged in" cookie (which Flask-Login derives from it) both name the
session version. The loader accepts them only while the user's `session_version` is still that number.

Raising the version ends every session and remember cookie of the user at once. Log-out raises it too: a copied
cookie must be useless after log-out, and without a table of live sessions the server cannot end only one; so
logging out on one device logs out the others as well (the simplest rule that holds). A password change or a
reset raises it (`User.set_password`); the current session after a change is issued again under the new version.

Inactivity: the session cookie carries the moment it was last seen (`_seen`, epoch seconds), refreshed at most
once a minute; a session unseen for CME_SESSION_IDLE_MINUTES is dropped before Flask-Login reads it (a valid
remember cookie then logs the user in again, which is what "keep me logged in" asks for). The timestamp lives in
the signed cookie, so a GET still writes nothing to the database.
"""
from __future__ import annotations

import time

from flask import Flask, current_app, session
from flask_login import user_loaded_from_cookie, user_logged_in

from cme.accounts.models import User
from cme.extensions import db, login_manager

SEEN_KEY = "_seen"
SEEN_REFRESH_SECONDS = 60
LOGIN_KEYS = ("_user_id", "_fresh", "_id", SEEN_KEY)


def load_user(session_id: str) -> User | None:
    """Flask-Login's user loader: the user named by a session or remember cookie, if its version is current."""
    parts = session_id.split(":")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    user = db.session.get(User, int(parts[0]))
    if user is None or user.session_version != int(parts[1]):
        return None
    return user


def _mark_seen(*_args, **_kwargs) -> None:
    session[SEEN_KEY] = int(time.time())


def _expire_idle_session() -> None:
    """Before every request: drop a session unseen for too long; note activity at most once a minute."""
    if "_user_id" not in session:
        return
    now = int(time.time())
    seen = session.get(SEEN_KEY)
    if not isinstance(seen, int) or now - seen > current_app.config["CME_SESSION_IDLE_MINUTES"] * 60:
        for key in LOGIN_KEYS:
            session.pop(key, None)
    elif now - seen >= SEEN_REFRESH_SECONDS:
        session[SEEN_KEY] = now


def init_sessions(app: Flask) -> None:
    login_manager.id_attribute = "session_id"
    login_manager.user_loader(load_user)
    app.before_request(_expire_idle_session)
    user_logged_in.connect(_mark_seen, app)
    user_loaded_from_cookie.connect(_mark_seen, app)
