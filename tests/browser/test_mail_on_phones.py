"""Issue 14, point 10: every kind of mail reads well on a phone. Each HTML mail the worker sends, opened in
Chromium as a 390 px phone opens it, is laid out at the phone's width (it has a viewport; not a 980 px page
zoomed out) and nothing in it is wider than the screen (no fixed 560 px card; long links wrap)."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import template_rendered
from playwright.sync_api import Browser

from cme.extensions import db
from cme.mail.service import deliver_pending
from tests.helpers import WHAT_DOES_NOT_FIT, queue_every_kind_of_mail

pytestmark = pytest.mark.browser

MAIL_TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "mail"
DOMAIN = "phone-mail.example.org"


def test_every_kind_of_html_mail_fits_a_phone_screen(browser: Browser, live_server):
    rendered: list[str] = []

    def record(_sender, template, context, **_extra):
        rendered.append(Path(template.name).name)

    template_rendered.connect(record, live_server.app)
    try:
        with live_server.app.app_context():
            queue_every_kind_of_mail(DOMAIN)
            deliver_pending()
            db.session.remove()
    finally:
        template_rendered.disconnect(record, live_server.app)
    assert {p.name for p in MAIL_TEMPLATES.glob("*.html") if not p.name.startswith("_")} <= set(rendered)

    messages = [m for m in live_server.smtp.messages if m["To"].addresses[0].domain == DOMAIN]
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    problems = {}
    for message in messages:
        page.set_content(message.get_body(("html",)).get_content())
        width = page.evaluate("document.documentElement.clientWidth")
        found = page.evaluate(WHAT_DOES_NOT_FIT) + ([f"laid out {width} px wide"] if width != 390 else [])
        if found:
            problems[str(message["Subject"])] = found
    context.close()
    assert len(messages) >= 13 and problems == {}
