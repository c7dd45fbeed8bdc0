"""Browser flows for activities: a provider filters the catalog and opens an activity; an organizer builds a
Denver meeting with two sessions, publishes it and finds it in the catalog at the right local time."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from cme.extensions import db

pytestmark = pytest.mark.browser


def seed_catalog(live_server) -> None:
    from cme.activities.models import Activity, CreditDesignation

    start = datetime.now(timezone.utc).replace(microsecond=0, second=0, minute=0) + timedelta(days=20)
    with live_server.app.app_context():
        db.session.add_all([
            Activity(title="Browser: HCV elimination in prisons", format="live_meeting", status="published",
                     time_zone="America/New_York", start_dt=start, end_dt=start + timedelta(hours=4),
                     venue_name="Javits Center", city="New York", state="NY", specialty="Hepatology",
                     description="Test and treat strategies.",
                     credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("4"))]),
            Activity(title="Browser: MASH drug pipeline", format="live_webcast", status="published",
                     time_zone="America/Chicago", start_dt=start + timedelta(days=1),
                     end_dt=start + timedelta(days=1, hours=1), join_url="https://webcast.example.org/mash",
                     specialty="Gastroenterology",
                     credit_designations=[CreditDesignation(credit_type="ancc", max_amount=Decimal("1"))]),
        ])
        db.session.commit()
        db.session.remove()


def test_a_provider_filters_the_catalog_and_opens_an_activity(page: Page, live_server, log_in):
    seed_catalog(live_server)
    live_server.create_user("filtering.provider@example.org")
    log_in(page, "filtering.provider@example.org")
    page.goto("/activities/")
    page.get_by_label("Format", exact=True).select_option("webcast")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("link", name="Browser: MASH drug pipeline")).to_be_visible()
    expect(page.get_by_role("link", name="Browser: HCV elimination in prisons")).to_have_count(0)

    page.get_by_label("Format", exact=True).select_option("")
    page.get_by_label("Search").fill("prisons")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"q=prisons"))
    page.get_by_role("link", name="Browser: HCV elimination in prisons").click()
    expect(page.get_by_role("heading", name="Browser: HCV elimination in prisons", level=1)).to_be_visible()
    expect(page.get_by_text("Test and treat strategies.")).to_be_visible()
    expect(page.get_by_text("AMA PRA Category 1 Credit(s)")).to_be_visible()


def test_an_organizer_creates_a_denver_meeting_with_two_sessions_and_publishes_it(page: Page, live_server, log_in):
    live_server.create_user("denver.organizer@example.org", role="organizer", full_name="Dee Organizer")
    log_in(page, "denver.organizer@example.org")
    page.get_by_role("link", name="Organize", exact=True).click()
    page.get_by_role("link", name="New activity").click()

    page.get_by_label("Format", exact=True).select_option("live_meeting")
    page.get_by_label("Title", exact=True).fill("Browser: Mile High Hepatology")
    page.get_by_label("Summary (one or two sentences for the catalog)").fill("Two talks in Denver.")
    page.get_by_label("Time zone of the activity").select_option("America/Denver")
    page.get_by_label("Starts (local time)").fill("2031-07-15T08:00")
    page.get_by_label("Ends (local time)").fill("2031-07-15T12:00")
    page.get_by_label("Venue", exact=True).fill("Colorado Convention Center")
    page.get_by_label("City", exact=True).fill("Denver")
    page.get_by_label("State", exact=True).select_option("CO")
    page.get_by_label("Capacity (blank for unlimited)").fill("50")
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_text("Draft created.")).to_be_visible()
    expect(page.get_by_text("Before you can publish")).to_be_visible()

    for title, start, end in (("Fibrosis staging", "2031-07-15T08:00", "2031-07-15T09:30"),
                              ("Transplant referral", "2031-07-15T10:00", "2031-07-15T11:30")):
        page.get_by_text("Add a session").click()
        page.get_by_label("Session title").fill(title)
        page.locator("#agenda").get_by_label("Starts (local time)").fill(start)
        page.locator("#agenda").get_by_label("Ends (local time)").fill(end)
        page.get_by_role("button", name="Add session").click()
        expect(page.get_by_text("Session added.")).to_be_visible()

    page.get_by_text("Add a person").click()
    page.get_by_label("Name", exact=True).fill("Dr Rocky Peak")
    page.get_by_label("Degrees", exact=True).fill("MD")
    page.get_by_label("Disclosure received").check()
    page.get_by_role("button", name="Add person").click()
    expect(page.get_by_text("Dr Rocky Peak added.")).to_be_visible()

    page.locator("#credit").get_by_label("Credit type").select_option("ama_pra_1")
    page.get_by_label("Maximum credit").fill("3")
    page.get_by_role("button", name="Save designation").click()
    expect(page.get_by_text("Credit designation saved.")).to_be_visible()

    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published: the activity is in the catalog.")).to_be_visible()

    page.goto("/activities/?q=Mile+High")
    card = page.locator(".card", has_text="Browser: Mile High Hepatology")
    expect(card).to_contain_text("Tue Jul 15, 2031 8:00 AM MDT")
    expect(card).to_contain_text("Colorado Convention Center · Denver, CO")
    expect(card).to_contain_text("50 seats left")
    card.get_by_role("link").click()
    expect(page.get_by_text("8:00 AM – 9:30 AM MDT")).to_be_visible()
    expect(page.get_by_text("10:00 AM – 11:30 AM MDT")).to_be_visible()
    expect(page.get_by_text("Dr Rocky Peak has no relevant financial relationships")).to_be_visible()
