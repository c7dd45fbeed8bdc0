"""Security headers on every response (issue 13, point 5; the sweep over every GET route is in
tests/test_get_requests.py) and CSV headers neutralised like data cells (point 9)."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask import Flask

from cme import create_app
from cme.calendar.service import feed_token
from cme.csvexport import csv_bytes
from cme.timeutil import now_utc
from tests.helpers import base_config

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src https:; "
          "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'")
HSTS = "max-age=31536000; includeSubDomains"


def assert_security_headers(response) -> None:
    assert response.headers["Content-Security-Policy"] == POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_public_pages_carry_the_headers_without_hsts_outside_production(client):
    for url in ("/", "/account/login", "/static/css/app.css", "/no-such-page"):
        with client.get(url) as response:  # closes the streamed static file
            assert_security_headers(response)
            assert "Strict-Transport-Security" not in response.headers
    # A public page for an anonymous visitor is not marked personal.
    assert "Cache-Control" not in client.get("/").headers


def test_hsts_only_in_production(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("CME_ENV", "production")
    production: Flask = create_app(base_config(database_url, tmp_path / "instance"))
    try:
        with production.test_client() as client:
            response = client.get("/account/login")
        assert response.headers["Strict-Transport-Security"] == HSTS
        assert_security_headers(response)
    finally:
        with production.app_context():
            from cme.extensions import db

            db.engine.dispose()


def test_pages_of_a_logged_in_user_are_not_stored(client, auth, make_activity, organizer):
    activity = make_activity(organizers=[organizer])
    for url in ("/", "/my/schedule", "/account/profile", f"/organize/activities/{activity.id}",
                f"/organize/activities/{activity.id}/roster", f"/organize/activities/{activity.id}/roster.csv",
                "/no-such-page"):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert response.headers["Cache-Control"] == "private, no-store", url
        assert_security_headers(response)
    # The redirect that answers a log-in too.
    response = auth.login("org@example.org")
    assert response.status_code == 302 and response.headers["Cache-Control"] == "private, no-store"


def test_personal_downloads_are_not_stored(client, provider, make_activity, register):
    registration = register(provider, make_activity())
    response = client.get(f"/my/registrations/{registration.id}/checkin.svg")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    assert_security_headers(response)


def test_feeds_keep_their_own_caching(client, make_user):
    public = client.get("/calendar/activities.ics")
    assert public.headers["Cache-Control"] == "public, max-age=900" and public.headers["ETag"]
    assert_security_headers(public)
    assert client.get("/calendar/activities.ics",
                      headers={"If-None-Match": public.headers["ETag"]}).status_code == 304
    # The personal feed is fetched by calendar apps without a cookie: private, revalidated with its ETag.
    user = make_user("feed@example.org")
    personal = client.get(f"/calendar/feed/{feed_token(user)}.ics")
    assert personal.headers["Cache-Control"] == "private, max-age=900" and personal.headers["ETag"]
    assert_security_headers(personal)


# ---------------------------------------------------------------- point 9: CSV headers

def test_csv_bytes_neutralises_the_header_row_like_data_cells():
    body = csv_bytes(["Name", "=HYPERLINK(\"http://evil\")", "+1", "-1", "@SUM(A1)", "\tx", "\rx"],
                     [["=1+1", "ok", None, "", "a", "b", "c"]])
    assert body.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["Name", "'=HYPERLINK(\"http://evil\")", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx"]
    assert rows[1] == ["'=1+1", "ok", "", "", "a", "b", "c"]


def test_an_organizer_typed_prompt_is_neutralised_in_the_evaluations_csv(client, organizer, make_activity):
    start = now_utc().replace(microsecond=0) - timedelta(days=2)
    activity = make_activity(organizers=[organizer], start_dt=start, end_dt=start + timedelta(hours=3))
    prompt = '=HYPERLINK("http://evil","Click")'
    response = client.post(f"/organize/activities/{activity.id}/evaluation/questions",
                           data={"question-kind": "text", "question-prompt": prompt, "question-required": "y"})
    assert response.status_code == 302
    exported = client.get(f"/organize/activities/{activity.id}/evaluations.csv")
    assert exported.headers["Cache-Control"] == "private, no-store"
    header = next(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert header[-1] == "'" + prompt
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in header)
