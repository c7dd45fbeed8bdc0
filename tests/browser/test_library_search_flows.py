"""Browser flow of the library search (issue 15, point 9): a provider searches a phrase that occurs only inside an
abstract's text (not in any title), finds it with the phrase highlighted in a snippet, filters to abstracts and
follows the result to the abstract; on a desktop (1280 px) and on a phone (390 px), with nothing cut off."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, expect

from cme.extensions import db
from tests.helpers import WHAT_DOES_NOT_FIT

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
SHOTS = "/tmp/shots/i15-search"


def seed_abstracts(live_server) -> None:
    from cme.activities.models import Activity, CreditDesignation
    from cme.library.abstracts.service import AbstractFields, AuthorEntry, create_abstract

    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(days=200)
    with live_server.app.app_context():
        activity = Activity(title="Browser search: Portal Hypertension Course", format="live_meeting",
                            status="published", time_zone="America/Chicago", start_dt=start,
                            end_dt=start + timedelta(hours=5), venue_name="Convention Center", city="Chicago",
                            state="IL", credit_designations=[CreditDesignation(credit_type="ama_pra_1",
                                                                               max_amount=Decimal("4"))])
        db.session.add(activity)
        db.session.flush()
        create_abstract(activity, AbstractFields(
            title="Carvedilol in compensated cirrhosis", presentation_type="oral", topic="Hepatology",
            authors=[AuthorEntry("Rosa Delgado", "Lakeshore Liver Institute", True)],
            background="Beta blockers may prevent decompensation.",
            methods="Patients with clinically significant portal hypertension were randomized.",
            results="The hepatic venous pressure gradient fell by a median of 3 mmHg after twelve weeks; "
                    "<script>alert('x')</script> was typed here by a careless author.",
            conclusions="Carvedilol lowered the gradient.", keywords=["varices"], is_published=True))
        create_abstract(activity, AbstractFields(
            title="Hepatic venous pressure gradient in practice", presentation_type="poster", topic="Hepatology",
            authors=[AuthorEntry("Ken Ito", "", True)], background="A survey of measurement habits.",
            methods="Survey.", results="Few centers measure it.", conclusions="Train more.", keywords=[],
            is_published=True))
        db.session.commit()
        db.session.remove()


def test_a_provider_finds_a_phrase_inside_an_abstract_with_a_snippet_on_desktop_and_phone(
        browser: Browser, page: Page, live_server, log_in):
    seed_abstracts(live_server)
    live_server.create_user("search.provider@example.org")
    log_in(page, "search.provider@example.org")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Library").click()
    page.locator("#main").get_by_role("link", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name="Search the library")).to_be_visible()
    page.get_by_label("Search the library").fill('"median of 3 mmHg"')
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_have_text("1 result")
    result = page.locator(".search-result")
    expect(result.get_by_role("link", name="Carvedilol in compensated cirrhosis")).to_be_visible()
    marks = "".join(result.locator(".search-snippet mark").all_inner_texts()).lower()
    assert "median" in marks and "mmhg" in marks, marks
    snippet = result.locator(".search-snippet").inner_text()
    assert "3 mmHg" in snippet and "<script>alert('x')</script>" in snippet  # shown as text, not run
    expect(result.get_by_text("Abstract", exact=True)).to_be_visible()
    page.screenshot(path=f"{SHOTS}/search-desktop.png", full_page=True)

    # Two words: the title match first, then the abstract that has them only in its text; then filtered.
    page.get_by_label("Search the library").fill("venous gradient")
    page.get_by_label("Type").select_option("abstract")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_have_text("2 results")
    expect(page.locator(".search-result h2")).to_have_text(["Hepatic venous pressure gradient in practice",
                                                             "Carvedilol in compensated cirrhosis"])
    page.screenshot(path=f"{SHOTS}/search-desktop-two.png", full_page=True)
    page.get_by_role("link", name="Carvedilol in compensated cirrhosis").click()
    expect(page.get_by_role("heading", name="Carvedilol in compensated cirrhosis")).to_be_visible()

    phone = browser.new_context(base_url=live_server.url, **PHONE).new_page()
    phone.goto("/library/search?q=%22median+of+3+mmHg%22")
    expect(phone.get_by_role("status")).to_have_text("1 result")
    expect(phone.locator(".search-snippet mark").first).to_be_visible()
    assert phone.evaluate(WHAT_DOES_NOT_FIT) == []
    phone.screenshot(path=f"{SHOTS}/search-phone.png", full_page=True)
    phone.goto("/library/search?q=" + "x" * 3000 + "&speaker=%3Cb%3E")
    expect(phone.get_by_role("status")).to_have_text("0 results")
    assert phone.evaluate(WHAT_DOES_NOT_FIT) == []
    phone.screenshot(path=f"{SHOTS}/search-phone-empty.png", full_page=True)
    phone.context.close()


def test_a_provider_finds_a_phrase_only_inside_a_slide_decks_text_with_a_snippet(browser: Browser, page: Page,
                                                                                  live_server, log_in):
    import io

    from cme.activities.models import Activity, CreditDesignation
    from cme.library.materials import service as materials
    from tests.helpers import make_pdf

    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(days=90)
    deck = make_pdf(["TIPS for refractory ascites", "Polytetrafluoroethylene-covered stents\nlowered shunt "
                     "dysfunction at one year"], title="TIPS")
    with live_server.app.app_context():
        activity = Activity(title="Browser search: Ascites Workshop", format="live_meeting", status="published",
                            time_zone="America/Chicago", start_dt=start, end_dt=start + timedelta(hours=5),
                            venue_name="Convention Center", city="Chicago", state="IL",
                            credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("4"))])
        db.session.add(activity)
        db.session.flush()
        materials.add_material(activity, materials.Details("Managing refractory ascites", None, None, "public"),
                               stream=io.BytesIO(deck), filename="ascites.pdf")
        db.session.commit()
        db.session.remove()
    live_server.create_user("slides.provider@example.org")
    log_in(page, "slides.provider@example.org")
    page.goto("/library/search")
    page.get_by_label("Search the library").fill('"shunt dysfunction"')
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_have_text("1 result")
    result = page.locator(".search-result")
    expect(result.get_by_role("link", name="Managing refractory ascites")).to_be_visible()
    expect(result.get_by_text("Slides", exact=True)).to_be_visible()
    marks = "".join(result.locator(".search-snippet mark").all_inner_texts()).lower()
    assert "shunt" in marks and "dysfunction" in marks, marks
    expect(result).to_contain_text("Browser search: Ascites Workshop")
    page.screenshot(path="/tmp/shots/i15-slides/search-slides-desktop.png", full_page=True)
    href = result.get_by_role("link", name="Managing refractory ascites").get_attribute("href")
    response = page.request.get(href)
    assert response.ok and response.headers["content-type"] == "application/pdf"

    phone = browser.new_context(base_url=live_server.url, **PHONE).new_page()
    phone.goto("/library/search?q=%22shunt+dysfunction%22")
    expect(phone.get_by_role("status")).to_have_text("1 result")
    expect(phone.locator(".search-snippet mark").first).to_be_visible()
    assert phone.evaluate(WHAT_DOES_NOT_FIT) == []
    phone.screenshot(path="/tmp/shots/i15-slides/search-slides-phone.png", full_page=True)
    phone.context.close()
