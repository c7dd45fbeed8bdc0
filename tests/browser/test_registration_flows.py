"""Browser flows for registration: register and see the confirmation, cancel and see a waitlisted provider
promoted; an organizer exports the roster."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from cme.extensions import db

pytestmark = pytest.mark.browser


def small_meeting(live_server, organizer_email: str) -> int:
    from cme.accounts.service import find_user_by_email
    from cme.activities.models import Activity, CreditDesignation

    start = datetime.now(timezone.utc).replace(microsecond=0, second=0, minute=0) + timedelta(days=12)
    with live_server.app.app_context():
        activity = Activity(title="Browser: One-seat workshop", format="live_meeting", status="published",
                            time_zone="America/Los_Angeles", start_dt=start, end_dt=start + timedelta(hours=2),
                            venue_name="UCSF Mission Bay", city="San Francisco", state="CA", capacity=1,
                            organizers=[find_user_by_email(organizer_email)],
                            credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("2"))])
        db.session.add(activity)
        db.session.commit()
        activity_id = activity.id
        db.session.remove()
    return activity_id


def register_through_the_form(page: Page, activity_id: int) -> None:
    page.goto(f"/activities/{activity_id}")
    page.locator(".register-box").get_by_role("link").click()
    expect(page.get_by_role("heading", name="Register")).to_be_visible()
    page.get_by_label("Dietary needs").fill("Vegetarian")
    page.get_by_label("I am a licensed healthcare professional").check()
    page.get_by_role("button").filter(has_text="Register").or_(page.get_by_role("button", name="Join the waitlist")).click()


def test_register_cancel_and_the_waitlisted_provider_is_promoted(browser, live_server, log_in, screenshot):
    live_server.create_user("seat.organizer@example.org", role="organizer")
    live_server.create_user("first.provider@example.org", full_name="Fay First")
    live_server.create_user("second.provider@example.org", full_name="Sam Second")
    activity_id = small_meeting(live_server, "seat.organizer@example.org")

    first = browser.new_context(base_url=live_server.url).new_page()
    log_in(first, "first.provider@example.org")
    register_through_the_form(first, activity_id)
    expect(first.get_by_text("You are registered for Browser: One-seat workshop")).to_be_visible()
    expect(first.locator(".schedule-item", has_text="One-seat workshop")).to_contain_text("Confirmed")
    expect(first.get_by_alt_text("Check-in QR code for Browser: One-seat workshop")).to_be_visible()

    second = browser.new_context(base_url=live_server.url).new_page()
    log_in(second, "second.provider@example.org")
    register_through_the_form(second, activity_id)
    expect(second.get_by_text("you are number 1 on the waitlist")).to_be_visible()
    expect(second.locator(".schedule-item", has_text="One-seat workshop")).to_contain_text("number 1 on the waitlist")

    first.get_by_role("link", name="Cancel my registration").click()
    expect(first.get_by_role("heading", name="Cancel your registration?")).to_be_visible()
    first.get_by_role("button", name="Yes, cancel my registration").click()
    expect(first.get_by_text("is cancelled")).to_be_visible()

    second.goto("/my/schedule")
    expect(second.locator(".schedule-item", has_text="One-seat workshop")).to_contain_text("Confirmed")
    screenshot(second, "promoted_schedule")
    promoted = live_server.mail_to("second.provider@example.org")
    assert [m["Subject"] for m in promoted] == ["You are on the waitlist: Browser: One-seat workshop",
                                                "A seat opened up, you are in: Browser: One-seat workshop"]
    first.context.close()
    second.context.close()


def test_an_organizer_exports_the_roster(page: Page, live_server, log_in):
    live_server.create_user("roster.organizer@example.org", role="organizer")
    live_server.create_user("roster.provider@example.org", full_name="=Rita Roster")
    activity_id = small_meeting(live_server, "roster.organizer@example.org")
    log_in(page, "roster.provider@example.org")
    register_through_the_form(page, activity_id)
    page.get_by_role("button", name="Log out").click()

    log_in(page, "roster.organizer@example.org")
    page.goto(f"/organize/activities/{activity_id}")
    page.get_by_role("link", name="Roster").click()
    expect(page.get_by_role("cell", name="=Rita Roster")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith(f"roster-{activity_id}-") and download.suggested_filename.endswith(".csv")
    with open(download.path(), "rb") as handle:
        data = handle.read()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[1][0] == "Confirmed" and rows[1][2] == "'=Rita Roster" and rows[1][11] == "Vegetarian"
