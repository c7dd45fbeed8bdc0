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
