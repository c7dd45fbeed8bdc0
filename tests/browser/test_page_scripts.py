"""Browser flows for the pages' own scripts under a strict Content-Security-Policy (no inline script or style
allowed): a button with a confirm question asks first, sends nothing when declined and posts when accepted; a
form with errors starts at its error summary. The policy is added to every response on its way to the page."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import Page, Route, expect

from cme.extensions import db

pytestmark = pytest.mark.browser

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src https:; "
          "object-src 'none'; base-uri 'none'; form-action 'self'")


@pytest.fixture
def violations(page: Page) -> list[str]:
    """Serve every page under POLICY; collect what Chromium refused because of it."""
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)

    def with_policy(route: Route) -> None:
        response = route.fetch(max_redirects=0)
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": POLICY})

    page.route("**/*", with_policy)
    return refused


def answer_next_dialog(page: Page, accept: bool) -> list[str]:
    asked: list[str] = []

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", answer)
    return asked


def posts_to(page: Page, path: str) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url)
            if request.method == "POST" and request.url.endswith(path) else None)
    return sent


def test_a_confirm_button_posts_only_when_the_question_is_accepted(page: Page, live_server, violations, log_in):
    live_server.create_user("confirm.provider@example.org", full_name="Connie Confirm")
    log_in(page, "confirm.provider@example.org")
    page.goto("/my/schedule")
    address = page.get_by_label("Or copy this private address").input_value()
    sent = posts_to(page, "/calendar/feed/reset")
    button = page.get_by_role("button", name="Make a new address (if this one was shared by mistake)")

    asked = answer_next_dialog(page, accept=False)
    button.click()
    assert asked == ["Make a new address? Calendars subscribed to the current one stop updating."]
    page.reload()
    assert sent == []
    expect(page.get_by_label("Or copy this private address")).to_have_value(address)

    asked = answer_next_dialog(page, accept=True)
    button.click()
    expect(page.get_by_text("Your calendar feed has a new address.")).to_be_visible()
    assert asked == ["Make a new address? Calendars subscribed to the current one stop updating."]
    assert len(sent) == 1
    assert page.get_by_label("Or copy this private address").input_value() != address
    assert violations == []


def test_an_organizer_is_asked_before_a_session_is_removed(page: Page, live_server, violations, log_in):
    from cme.accounts.service import find_user_by_email
    from cme.activities.models import Activity, ActivitySession

    live_server.create_user("confirm.organizer@example.org", role="organizer")
    start = datetime.now(timezone.utc).replace(microsecond=0, second=0, minute=0) + timedelta(days=20)
    with live_server.app.app_context():
        activity = Activity(title="Browser: Confirm workshop", format="live_meeting", status="draft",
                            time_zone="America/Chicago", start_dt=start, end_dt=start + timedelta(hours=3),
                            venue_name="Rush", city="Chicago", state="IL", capacity=20,
                            organizers=[find_user_by_email("confirm.organizer@example.org")],
                            sessions=[ActivitySession(title="Keep me for now", start_dt=start,
                                                      end_dt=start + timedelta(hours=1))])
        db.session.add(activity)
        db.session.commit()
        activity_id = activity.id
        db.session.remove()

    log_in(page, "confirm.organizer@example.org")
    page.goto(f"/organize/activities/{activity_id}")
    row = page.locator("#agenda tr", has_text="Keep me for now")

    asked = answer_next_dialog(page, accept=False)
    row.get_by_role("button", name="Remove").click()
    assert asked == ["Remove this session?"]
    page.reload()
    expect(row).to_be_visible()

    asked = answer_next_dialog(page, accept=True)
    row.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("Session removed.")).to_be_visible()
    assert asked == ["Remove this session?"]
    expect(row).to_have_count(0)
    assert violations == []


def test_a_form_with_errors_starts_at_its_summary(page: Page, live_server, violations):
    page.goto("/account/signup")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert").filter(has_text="Please correct the highlighted fields.")).to_be_focused()
    assert violations == []
