"""Browser flow for calendars: a provider copies the subscription address from My schedule, fetches it,
and finds their registration at the right UTC instant; the address shows whole, in a monospace box, on a phone."""
from __future__ import annotations

import urllib.request
from datetime import datetime, timezone
from decimal import Decimal

import icalendar
import pytest
from playwright.sync_api import Page, expect

from cme.extensions import db

pytestmark = pytest.mark.browser


def test_a_provider_subscribes_to_their_schedule(page: Page, live_server, log_in):
    from cme.accounts.service import find_user_by_email
    from cme.activities.models import Activity, CreditDesignation
    from cme.registration.service import Answers, register

    live_server.create_user("feed.provider@example.org", full_name="Fiona Feed", time_zone="America/Chicago")
    start = datetime(2031, 3, 9, 16, 30, tzinfo=timezone.utc)  # the day US clocks spring forward
    with live_server.app.app_context():
        activity = Activity(title="Browser: Feed webcast", format="live_webcast", status="published",
                            time_zone="America/Denver", start_dt=start, end_dt=start.replace(hour=18),
                            join_url="https://webcast.example.org/feed",
                            credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("1.5"))])
        db.session.add(activity)
        db.session.commit()
        user = find_user_by_email("feed.provider@example.org")
        register(user, activity.id, Answers.from_profile(user, attested_professional=True))
        db.session.commit()
        db.session.remove()

    log_in(page, "feed.provider@example.org")
    page.goto("/my/schedule")
    address = page.locator("#feed-url").text_content()
    assert address.startswith(live_server.url + "/calendar/feed/") and address.endswith(".ics")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == address
    expect(page.get_by_role("link", name="Subscribe in my calendar app")).to_have_attribute(
        "href", address.replace("http://", "webcal://"))

    with urllib.request.urlopen(address) as response:  # what a calendar client does: no cookies, no login
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        body = response.read()
    [event] = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Browser: Feed webcast"
    assert event.decoded("DTSTART").astimezone(timezone.utc) == start
    assert b"DTSTART;TZID=America/Denver:20310309T103000" in body  # 10:30 MDT, after the change
    assert str(event["CONFERENCE"]) == "https://webcast.example.org/feed"


def test_the_feed_address_shows_whole_in_a_monospace_box_beside_its_copy_button(page: Page, live_server, log_in):
    """Issue 14, point 9: in a one-line field the address was cut off and its underscores were clipped into what
    looked like spaces. In its box every character shows (nothing hidden sideways or below), on a phone too."""
    live_server.create_user("feed.box@example.org", full_name="Felix Box")
    log_in(page, "feed.box@example.org")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 844})
        page.goto("/my/schedule")
        box = page.locator("#feed-url")
        address = box.text_content()
        assert address.startswith(live_server.url + "/calendar/feed/") and address.endswith(".ics")
        assert box.evaluate("e => e.tagName") == "CODE"
        assert "monospace" in box.evaluate("e => getComputedStyle(e).fontFamily")
        assert box.evaluate("e => e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight")
        expect(box).to_be_in_viewport()
        copy = page.get_by_role("button", name="Copy")
        expect(copy).to_be_in_viewport()
        assert copy.bounding_box()["y"] < box.bounding_box()["y"] + box.bounding_box()["height"]  # beside it
        box.click()
        assert page.evaluate("getSelection().toString()") == address  # a click takes the whole address
