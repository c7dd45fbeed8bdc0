"""Browser flows for the pages' own scripts under the app's own strict Content-Security-Policy (no inline script
or style allowed; issue 13, point 5): a button with a confirm question asks first, sends nothing when declined and
posts when accepted; a form with errors starts at its error summary; the watch page plays its webcast in an https
iframe and reports viewing time. Every page of the app arrives with the policy, and Chromium refuses nothing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import Page, Response, expect

from cme.extensions import db

pytestmark = pytest.mark.browser

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src https:; "
          "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'")


@pytest.fixture
def violations(page: Page, live_server) -> list[str]:
    """What Chromium refused because of the app's policy, and any page of the app that came without it."""
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)

    def check(response: Response) -> None:
        if response.url.startswith(live_server.url) and response.request.resource_type == "document" \
                and response.headers.get("content-security-policy") != POLICY:
            refused.append(f"{response.url} came without the policy")

    page.on("response", check)
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
    address = page.locator("#feed-url").text_content()
    sent = posts_to(page, "/calendar/feed/reset")
    button = page.get_by_role("button", name="Make a new address (if this one was shared by mistake)")

    asked = answer_next_dialog(page, accept=False)
    button.click()
    assert asked == ["Make a new address? Calendars subscribed to the current one stop updating."]
    page.reload()
    assert sent == []
    expect(page.locator("#feed-url")).to_have_text(address)

    asked = answer_next_dialog(page, accept=True)
    button.click()
    expect(page.get_by_text("Your calendar feed has a new address.")).to_be_visible()
    assert asked == ["Make a new address? Calendars subscribed to the current one stop updating."]
    assert len(sent) == 1
    assert page.locator("#feed-url").text_content() != address
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


def test_the_watch_page_plays_its_webcast_in_an_https_frame(page: Page, live_server, violations, log_in):
    from cme.accounts.service import find_user_by_email
    from cme.activities.models import Activity, CreditDesignation
    from cme.registration.service import Answers, register

    live_server.create_user("csp.watcher@example.org", full_name="Wanda Watcher")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with live_server.app.app_context():
        activity = Activity(title="Browser: CSP webcast", format="on_demand_webcast", status="published",
                            time_zone="America/New_York", start_dt=now - timedelta(days=1),
                            end_dt=now + timedelta(days=60), join_url="https://player.example.org/csp",
                            credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=1)])
        meeting = Activity(title="Browser: CSP meeting", format="live_meeting", status="published",
                           time_zone="America/Chicago", start_dt=now + timedelta(days=20),
                           end_dt=now + timedelta(days=20, hours=3), venue_name="Rush", city="Chicago", state="IL",
                           capacity=20, credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=3)])
        db.session.add_all([activity, meeting])
        db.session.commit()
        user = find_user_by_email("csp.watcher@example.org")
        for each in (activity, meeting):
            register(user, each.id, Answers.from_profile(user, attested_professional=True))
        db.session.commit()
        activity_id = activity.id
        db.session.remove()

    # The player's host is stood in for (no network here); the app's own responses pass through untouched.
    page.route("https://player.example.org/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>Player</title><p>Now playing</p>"))
    log_in(page, "csp.watcher@example.org")
    with page.expect_response(lambda response: response.url.endswith("/watch/heartbeat")) as heartbeat:
        page.goto(f"/activities/{activity_id}/watch")
    assert heartbeat.value.status == 200  # watch.js ran and posted under the policy
    expect(page.frame_locator(".player iframe").get_by_text("Now playing")).to_be_visible()
    for path in ("/", f"/activities/{activity_id}", "/my/schedule", "/my/credit", "/account/profile"):
        page.goto(path)
        expect(page.locator("h1").first).to_be_visible()
    page.goto("/my/schedule")  # the check-in QR code: an SVG response of the app, drawn under img-src 'self'
    qr = page.locator("figure.checkin-code img")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    assert violations == []
