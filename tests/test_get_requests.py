"""GET requests never write (DESIGN.md, "The flow of a request"): every GET route of the app, taken from the URL
map, is requested by each kind of visitor over the demo data, and none of them sends an INSERT, UPDATE or DELETE
or answers with a server error. A new GET route is swept the day it is added; one whose URL parameters the sweep
cannot fill fails here until it is taught them. The same sweep checks that every response carries the security
headers (issue 13, point 5) and that nothing answered to a logged-in visitor is stored, except what is public
(marked so by its view) and what the browser or a calendar app revalidates with its ETag: static files and the
personal feed (fetched without a cookie; its token is the credential)."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask, template_rendered
from sqlalchemy import select

from cme.accounts.models import User
from cme.accounts.service import (
    SET_PASSWORD, create_user, make_email_change_token, make_reset_token, make_verification_token, request_email_change,
)
from cme.activities.models import Activity, ActivityFormat, ActivityStatus
from cme.calendar.service import feed_token
from cme.certificates.models import Certificate
from cme.credit.evaluation_models import PostTestQuestion
from cme.demo import ADMIN_EMAIL, DEMO_PASSWORD, ORGANIZER_EMAIL, PROVIDER_EMAIL
from cme.extensions import db as _db
from cme.library.materials.models import Material
from cme.registration.models import Registration

WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE")
# The one exception: a GET lookup by a guessable code (verification, a scanned check-in code) counts its misses in
# the throttle's counters (issue 13, point 3). Counters are not domain data: they live in their own transaction
# and change nothing anybody sees but the throttle.
THROTTLE_WRITE = re.compile(r"\s*(INSERT INTO|UPDATE|DELETE FROM) throttle_counters\b", re.IGNORECASE)
# Pages shown only for a working token (the sweep makes one for each: `_tokens`).
REACHED_BY_TOKEN = {"accounts/reset_password.html", "accounts/email_confirm.html", "accounts/verify_email.html",
                    "accounts/set_password.html"}
VISITORS = [None, PROVIDER_EMAIL, ORGANIZER_EMAIL, ADMIN_EMAIL]
REVALIDATED = ("/static/", "/calendar/feed/", "/library/materials/")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "frame-src https:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
                               "object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def _tokens(provider: User) -> dict[str, str]:
    """A working token per route that takes one: the provider's feed; a change of address the provider asked for
    (its page shows to the provider); a new account's verification link (its page shows to anyone)."""
    request_email_change(provider, "provider.new@example.org", DEMO_PASSWORD)
    newcomer = create_user("newcomer@example.org", DEMO_PASSWORD, full_name="New Comer", verified=False)
    _db.session.commit()
    return {"calendar.personal_feed": feed_token(provider), "accounts.reset_password": make_reset_token(provider),
            "accounts.confirm_email_change": make_email_change_token(
                provider, old_email=provider.email, new_email=provider.pending_email,
                requested_dt=provider.pending_email_dt),
            "accounts.verify_email": make_verification_token(newcomer),
            "accounts.set_password": make_reset_token(newcomer, link=SET_PASSWORD)}


def _examples(app: Flask) -> list[dict]:
    """URL values to try: the provider's past meeting with a certificate, and an on-demand webcast."""
    with app.app_context():
        provider = _db.session.scalar(select(User).where(User.email == PROVIDER_EMAIL))
        tokens = _tokens(provider)
        certificate = _db.session.scalar(select(Certificate).where(Certificate.user_id == provider.id))
        meeting = _db.session.get(Activity, certificate.activity_id)
        webcast = _db.session.scalar(select(Activity).where(
            Activity.format == ActivityFormat.ON_DEMAND_WEBCAST, Activity.status == ActivityStatus.PUBLISHED))
        examples = []
        for activity in (meeting, webcast):
            registration = _db.session.scalar(select(Registration).where(Registration.activity_id == activity.id)
                                              .order_by(Registration.user_id != provider.id, Registration.id))
            examples.append({
                "activity_id": activity.id, "slug": "a-title", "registration_id": registration.id,
                "certificate_id": certificate.id, "session_id": activity.sessions[0].id if activity.sessions else 0,
                "faculty_id": activity.faculty[0].id, "token": tokens, "filename": "css/app.css",
                "question_id": _db.session.scalar(select(PostTestQuestion.id).where(
                    PostTestQuestion.activity_id == activity.id).limit(1)) or 1,
                "material_id": _db.session.scalar(select(Material.id).order_by(
                    Material.activity_id != activity.id, Material.id).limit(1)),
                "code": {"certificates.verify": certificate.verification_code,
                         "attendance.checkin_scan": registration.checkin_code}})
        _db.session.remove()
    return examples


def _url(rule, values: dict) -> str:
    filled = {}
    for name in rule.arguments:
        if name not in values:
            pytest.fail(f"The GET sweep cannot fill <{name}> in {rule.rule}: teach it what <{name}> names.")
        value = values[name]
        filled[name] = value[rule.endpoint] if isinstance(value, dict) else value
    return rule.build(filled, append_unknown=False)[1]


def test_no_get_request_writes_or_fails(demo_app: Flask):
    rules = [rule for rule in demo_app.url_map.iter_rules() if "GET" in rule.methods]
    urls = sorted({_url(rule, values) for values in _examples(demo_app) for rule in rules})
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
