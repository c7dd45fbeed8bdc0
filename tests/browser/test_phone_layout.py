"""Issue 14, point 1: on a phone (390 px) no page is cut off or hides columns off-screen. Every data table is a
.table-stack (a card per row under 640 px); this walks the demo's pages with content in every table, as the
person who sees each, and finds nothing that does not fit the screen."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from cme.activities.models import Activity
from cme.demo import ADMIN_EMAIL, DEMO_PASSWORD, ORGANIZER_EMAIL, PROVIDER_EMAIL, demo_uuid
from cme.extensions import db
from tests.helpers import WHAT_DOES_NOT_FIT

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}

# (who, page): "{key}" is a demo activity's id, by its key in cme/demo_data.toml.
PAGES = {
    None: ["/activities/", "/activities/calendar", "/activities/{hcv-elimination-summit-nyc}",
           "/activities/{hcc-immunotherapy-webcast}", "/library/abstracts",
           "/library/abstracts?activity={transplant-care-team-seattle}"],
    PROVIDER_EMAIL: ["/my/credit", "/my/schedule", "/alerts/", "/alerts/new"],
    ORGANIZER_EMAIL: [
        "/organize/", "/organize/activities/{hcv-elimination-summit-nyc}",
        "/organize/activities/{simplified-hcv-on-demand}", "/organize/activities/{alcohol-liver-disease-boston}",
        "/organize/activities/{hcc-tumor-board-la}/roster", "/organize/activities/{hcc-tumor-board-la}/checkin?q=a",
        "/organize/activities/{transplant-care-team-seattle}/credit",
        "/organize/activities/{simplified-hcv-on-demand}/credit",
        "/organize/activities/{transplant-care-team-seattle}/evaluations",
        "/organize/activities/{transplant-care-team-seattle}/abstracts",
        "/organize/activities/{transplant-care-team-seattle}/abstracts/import"],
    ADMIN_EMAIL: ["/admin/users"],
}


def test_no_page_is_cut_off_or_hides_a_column_on_a_phone(browser: Browser, demo_server):
    with demo_server.app.app_context():
        def activity_id(match: re.Match) -> str:
            return str(db.session.scalar(select(Activity.id).where(Activity.uuid == demo_uuid(match[1]))))

        urls = {who: [re.sub(r"\{([a-z-]+)\}", activity_id, path) for path in paths] for who, paths in PAGES.items()}
        db.session.remove()
    problems = {}
    for who, paths in urls.items():
        context = browser.new_context(base_url=demo_server.url, **PHONE)
        page = context.new_page()
        if who:
            page.goto("/account/login")
            page.get_by_label("Email").fill(who)
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_text("You are logged in.")).to_be_visible()
        for url in paths:
            assert page.goto(url).status == 200, url
            assert page.locator("main table, main .empty, main h1").count(), url
            if found := page.evaluate(WHAT_DOES_NOT_FIT):
                problems[url] = found
        context.close()
    assert problems == {}


def test_a_table_on_a_phone_shows_every_cell_with_its_column_name(browser: Browser, demo_server):
    """My credit (the walk-through's example): Amount and Certificate are on screen, each named by its column."""
    context = browser.new_context(base_url=demo_server.url, **PHONE)
    page = context.new_page()
    page.goto("/account/login")
    page.get_by_label("Email").fill(PROVIDER_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/my/credit")
    for column in ("Amount", "Certificate"):
        cell = page.locator(f'td[data-label="{column}"]').first
        expect(cell).to_be_in_viewport()
        assert page.evaluate("cell => getComputedStyle(cell, '::before').content", cell.element_handle()) == f'"{column}"'
    expect(page.get_by_role("link", name="PDF").first).to_be_in_viewport()
    context.close()
