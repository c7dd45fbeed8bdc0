"""The library's home and topic pages in a browser (issue 15, point 8), over the demo: a visitor on a phone (390 px)
opens the library from the header's one "Library" link (the header fits), goes to a topic, its sections fit the
screen and lead to an activity, whose page links back to its topics; at 1280 px the same pages lay out in columns."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.helpers import WHAT_DOES_NOT_FIT

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
SHOTS = Path("/tmp/shots/i15-topics")


def _header_fits(page) -> None:
    """The header's navigation stays inside the window: no link cut off or pushed past the right edge."""
    width = page.evaluate("document.documentElement.clientWidth")
    for box in page.locator("header nav[aria-label=Main] a, header .account-nav a").all():
        rect = box.bounding_box()
        assert rect["x"] >= 0 and rect["x"] + rect["width"] <= width + 1, box.inner_text()


@pytest.mark.parametrize("viewport", [PHONE, {"viewport": {"width": 1280, "height": 900}}], ids=["390", "1280"])
def test_a_visitor_goes_from_the_header_to_a_topic_and_an_activity_and_back(browser: Browser, demo_server,
                                                                              screenshot, viewport):
    width = viewport["viewport"]["width"]
    context = browser.new_context(base_url=demo_server.url, **viewport)
    page = context.new_page()
    page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="News")).to_have_count(0)
    expect(nav.get_by_role("link", name="Abstracts")).to_have_count(0)
    _header_fits(page)
    nav.get_by_role("link", name="Library").click()
    expect(page.get_by_role("heading", level=1, name="Library")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Library")).to_have_attribute(
        "aria-current", "page")
    _header_fits(page)
    assert page.evaluate(WHAT_DOES_NOT_FIT) == []
    expect(page.get_by_role("region", name="Latest news").get_by_role("listitem")).not_to_have_count(0)
    expect(page.get_by_role("region", name="Recent abstracts").get_by_role("listitem")).not_to_have_count(0)
    screenshot(page, f"library-home-{width}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"home-{width}.png"), full_page=True)

    page.get_by_role("region", name="Topics").get_by_role("link", name="Hepatitis C").click()
    expect(page.get_by_role("heading", level=1, name="Hepatitis C")).to_be_visible()
    assert page.evaluate(WHAT_DOES_NOT_FIT) == []
    _header_fits(page)
    on_demand = page.get_by_role("region", name="On demand now")
    expect(on_demand.get_by_role("link", name="Simplified HCV Treatment in Primary Care")).to_be_visible()
    page.screenshot(path=str(SHOTS / f"topic-hepatitis-c-{width}.png"), full_page=True)
    screenshot(page, f"library-topic-{width}")

    on_demand.get_by_role("link", name="Simplified HCV Treatment in Primary Care").click()
    expect(page.get_by_role("heading", level=1, name="Simplified HCV Treatment in Primary Care")).to_be_visible()
    topics = page.locator(".topic-links")
    expect(topics.get_by_role("link", name="Hepatitis C")).to_be_visible()
    assert page.evaluate(WHAT_DOES_NOT_FIT) == []
    page.screenshot(path=str(SHOTS / f"activity-topics-{width}.png"))
    topics.get_by_role("link", name="Hepatitis C").click()
    expect(page).to_have_url(re.compile(r"/library/topics/hepatitis-c$"))
    page.get_by_role("link", name="Library", exact=True).last.click()  # the breadcrumb back home
    expect(page).to_have_url(re.compile(r"/library$"))
    context.close()


def test_a_topic_with_little_content_says_what_is_not_there_yet_on_a_phone(browser: Browser, demo_server):
    context = browser.new_context(base_url=demo_server.url, **PHONE)
    page = context.new_page()
    assert page.goto("/library/topics/hepatitis-b").status == 200
    expect(page.get_by_role("heading", level=1, name="Hepatitis B")).to_be_visible()
    expect(page.get_by_role("navigation", name="Topics").get_by_role("link", name="Hepatitis B")).to_have_attribute(
        "aria-current", "page")
    assert page.evaluate(WHAT_DOES_NOT_FIT) == []
    page.screenshot(path=str(SHOTS / "topic-hepatitis-b-390.png"), full_page=True)
    context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_a_topic_page_shows_recent_slides_with_thumbnails_for_what_opens(browser: Browser, live_server, width):
    """Recent slides on a topic: a public deck's card shows its first-page thumbnail and links the file; a
    registrants' deck is listed locked, without either; the cards fit the window."""
    import io
    from datetime import datetime, timedelta, timezone
    from decimal import Decimal

    from cme.activities.models import Activity, CreditDesignation
    from cme.extensions import db
    from cme.library.materials import service as materials
    from tests.helpers import make_pdf

    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(days=60)
    with live_server.app.app_context():
        activity = Activity(title=f"Browser HCV Summit {width}", format="live_meeting", status="published",
                            topics="HCV", time_zone="America/Chicago", start_dt=start,
                            end_dt=start + timedelta(hours=5), venue_name="Convention Center", city="Chicago",
                            state="IL", credit_designations=[CreditDesignation(credit_type="ama_pra_1",
                                                                               max_amount=Decimal("4"))])
        db.session.add(activity)
        db.session.flush()
        for title, rule in ((f"Cure for all {width}", "public"), (f"Registrants' deck {width}", "registrants")):
            materials.add_material(activity, materials.Details(title, None, None, rule), filename="deck.pdf",
                                   stream=io.BytesIO(make_pdf([f"{title}\nTest, treat, cure"], title=title)))
        db.session.commit()
        db.session.remove()
    context = browser.new_context(base_url=live_server.url, **(PHONE if width == 390 else
                                                                 {"viewport": {"width": 1280, "height": 900}}))
    page = context.new_page()
    page.goto("/library/topics/hepatitis-c")
    section = page.locator("section", has=page.get_by_role("heading", name="Recent slides"))
    opened = section.locator("li", has_text=f"Cure for all {width}")
    expect(opened.get_by_role("link", name=f"Cure for all {width}")).to_be_visible()
    image = opened.locator("img")
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    locked = section.locator("li", has_text=f"Registrants' deck {width}")
    expect(locked).to_contain_text("For registrants")
    assert locked.locator("img").count() == 0 and locked.get_by_role("link", name=f"Registrants' deck {width}"
                                                                       ).count() == 0
    assert page.evaluate(WHAT_DOES_NOT_FIT) == []
    section.scroll_into_view_if_needed()
    page.screenshot(path=f"/tmp/shots/i15-slides/topic-slides-{width}.png", full_page=True)
    context.close()
