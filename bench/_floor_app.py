"""The framework floor of bench/registration.py: the least a Flask app must do to take a registration, served by
the same gunicorn settings and driven by the same clients. A signed session cookie says who is logged in; GET
answers a small form with a token bound to that session; POST checks the token and runs the bare allocation on
the scratch database's `registrations` table: lock the activity (PostgreSQL `SELECT ... FOR UPDATE`; SQLite
`BEGIN IMMEDIATE`), count the confirmed and waitlisted, insert confirmed or waitlisted, commit, and redirect.
No ORM, forms library, templates, audit, mail or reminders: what is left is Flask, gunicorn and the driver.

    DATABASE_URL=... SECRET_KEY=... gunicorn -w 4 bench._floor_app:app   (bench/registration.py starts it)
"""
from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import uuid
from datetime import datetime, timezone
from html import escape

from flask import Flask, abort, redirect, request, session

CAPACITY = int(os.environ.get("FLOOR_CAPACITY", "10"))
DATABASE_URL = os.environ["DATABASE_URL"]
SQLITE = DATABASE_URL.startswith("sqlite")

app = Flask(__name__)
app.secret_key = os.environ["SECRET_KEY"]

_connection = None  # one per worker process, opened after the fork (sync workers serve one request at a time)


def connection():
    global _connection
    if _connection is None:
        if SQLITE:  # the app's own pragmas, and transactions begun by hand
            from cme import _sqlite_pragmas

            _connection = sqlite3.connect(DATABASE_URL.split("///", 1)[1], isolation_level=None)
            _sqlite_pragmas(_connection, None)
        else:
            import psycopg

            _connection = psycopg.connect(DATABASE_URL.replace("postgresql+psycopg://", "postgresql://", 1))
    return _connection


def token() -> str:
    return hmac.new(app.secret_key.encode(), str(session["user_id"]).encode(), hashlib.sha256).hexdigest()


def form(action: str) -> str:
    return (f'<!doctype html><title>Register</title><form method="post" action="{escape(action)}">'
            f'<input name="csrf_token" type="hidden" value="{token()}">'
            '<input name="full_name"><input name="degree"><input name="profession">'
            '<input name="attest" type="checkbox" value="y"><button>Register</button></form>')


@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        session.setdefault("user_id", 0)
        return form("/login")
    row = connection().execute("SELECT id FROM users WHERE email = " + ("?" if SQLITE else "%s"),
                               (request.form["email"],)).fetchone()
    if not SQLITE:
        connection().rollback()  # end the read's transaction
    if row is None:
        abort(403)
    session["user_id"] = row[0]
    return redirect("/")


@app.route("/register/<int:activity_id>", methods=["GET", "POST"])
def register(activity_id: int):
    if not session.get("user_id"):
        abort(403)
    if request.method == "GET":
        return form(request.path)
    if not hmac.compare_digest(request.form.get("csrf_token", ""), token()):
        abort(400)
    allocate(session["user_id"], activity_id, request.form.get("full_name", ""))
    return redirect("/schedule")


def allocate(user_id: int, activity_id: int, full_name: str) -> None:
    conn = connection()
    param = "?" if SQLITE else "%s"
    now = datetime.now(timezone.utc)
    stamp = now.replace(tzinfo=None).isoformat(" ") if SQLITE else now
    if SQLITE:
        conn.execute("BEGIN IMMEDIATE")
    try:
        if not SQLITE:
            conn.execute(f"SELECT id FROM activities WHERE id = {param} FOR UPDATE", (activity_id,))
        confirmed, waitlisted = conn.execute(
            "SELECT coalesce(sum(CASE WHEN status = 'confirmed' THEN 1 ELSE 0 END), 0),"
            " coalesce(sum(CASE WHEN status = 'waitlisted' THEN 1 ELSE 0 END), 0)"
            f" FROM registrations WHERE activity_id = {param}", (activity_id,)).fetchone()
        conn.execute(
            "INSERT INTO registrations (user_id, activity_id, status, waitlist_position, checkin_code, full_name,"
            " degree, profession, dietary_needs, accessibility_needs, attested_professional, invite_sequence,"
            f" registered_dt, updated_dt) VALUES ({', '.join([param] * 14)})",
            (user_id, activity_id, "confirmed" if confirmed < CAPACITY else "waitlisted",
             None if confirmed < CAPACITY else waitlisted + 1, uuid.uuid4().hex, full_name, "MD",
             "physician", "", "", True, 0, stamp, stamp))
    except BaseException:
        conn.execute("ROLLBACK") if SQLITE else conn.rollback()
        raise
    conn.execute("COMMIT") if SQLITE else conn.commit()
