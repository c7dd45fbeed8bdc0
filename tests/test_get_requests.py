"""GET requests never write (DESIGN.md, "The flow of a request"): every GET route of the app, taken from the URL
map, is requested by each kind of visitor over the demo data, and none of them sends an INSERT, UPDATE or DELETE
or answers with a server error. A new GET route is swept the day it is added; one whose URL parameters the sweep
cannot fill fails here until it is taught them. The same sweep checks that every response carries the security
headers (issue 13, point 5) and that nothing answered to a logged-in visitor is stored, except what is public
(marked so by its view) and what the browser or a calendar app revalidates with its ETag: static files and the
personal feed (fetched without a cookie; its token is the credential)."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask, template_rendered

from cme.demo import ADMIN_EMAIL, DEMO_PASSWORD, ORGANIZER_EMAIL, PROVIDER_EMAIL
from cme.extensions import db as _db
from tests.helpers import get_urls

WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE")
# The one exception: a GET lookup by a guessable code (verification, a scanned check-in code) counts its misses in
# the throttle's counters (issue 13, point 3). Counters are not domain data: they live in their own transaction
# and change nothing anybody sees but the throttle.
THROTTLE_WRITE = re.compile(r"\s*(INSERT INTO|UPDATE|DELETE FROM) throttle_counters\b", re.IGNORECASE)
# Pages shown only for a working token (the sweep makes one for each: tests.helpers.get_urls).
REACHED_BY_TOKEN = {"accounts/reset_password.html", "accounts/email_confirm.html", "accounts/verify_email.html",
                    "accounts/set_password.html", "alerts/unsubscribe.html"}
VISITORS = [None, PROVIDER_EMAIL, ORGANIZER_EMAIL, ADMIN_EMAIL]
REVALIDATED = ("/static/", "/calendar/feed/")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "frame-src https:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
                               "object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def test_no_get_request_writes_or_fails(demo_app: Flask):
    urls = get_urls(demo_app)
    writes: list[str] = []
    failures: list[str] = []
    with demo_app.app_context():
        engine = _db.engine

    def record(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith(WRITES) and not THROTTLE_WRITE.match(statement):
            writes.append(statement.split("\n", 1)[0][:80])

    rendered: set[str] = set()

    def note(_sender, template, **_extra):
        rendered.add(template.name)

    template_rendered.connect(note, demo_app)
    for email in VISITORS:
        client = demo_app.test_client()
        if email:
            assert client.post("/account/login", data={"email": email, "password": DEMO_PASSWORD}).status_code == 302
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            for url in urls:
                with client.get(url) as response:  # closes streamed bodies (static files)
                    status = response.status_code
                    headers = response.headers
                if wrong := [name for name, value in SECURITY_HEADERS.items() if headers.get(name) != value]:
                    failures.append(f"{email or 'anonymous'} GET {url}: wrong {wrong}")
                cache = headers.get("Cache-Control", "")
                if email and not ("no-store" in cache or "public" in cache or url.startswith(REVALIDATED)):
                    failures.append(f"{email} GET {url}: Cache-Control {headers.get('Cache-Control')}")
                if status >= 500:
                    failures.append(f"{email or 'anonymous'} GET {url}: {status}")
                if writes:
                    failures.append(f"{email or 'anonymous'} GET {url} wrote: {writes}")
                    writes.clear()
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
    template_rendered.disconnect(note, demo_app)
    assert len(urls) > 40
    assert failures == []
    assert REACHED_BY_TOKEN <= rendered  # the pages behind a mailed link were seen, not only their refusals
