"""Conference highlights in a browser (issue 15, point 6): a visitor reads the demo's highlights on a phone (390 px)
and on a desktop (1280 px), from the navigation to a page with its table, linked abstracts and last review, and from
the past activity's page; nothing is wider than the screen. The demo organizer offers a highlight as enduring
material and lands on the new draft, which cannot be published before its designation and disclosures."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from cme.demo import DEMO_PASSWORD, ORGANIZER_EMAIL
from tests.helpers import WHAT_DOES_NOT_FIT

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
HBV = "Preventing hepatitis B reactivation: highlights of the lunchtime webcast"
SHOTS = Path("/tmp/shots/i15-highlights")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("size, device", [("phone", PHONE), ("desktop", DESKTOP)])
def test_a_visitor_reads_the_demo_highlights(browser: Browser, demo_server, size, device):
    context = browser.new_context(base_url=demo_server.url, **device)
    page = context.new_page()
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Library").click()
    page.locator("#main").get_by_role("link", name="Highlights", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Conference highlights")).to_be_visible()
    expect(page.get_by_role("link", name=HBV)).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Liver Transplant Care Team Update: what"))).to_be_visible()
    assert page.evaluate(WHAT_DOES_NOT_FIT) == []
    _shot(page, f"list-{size}")

    page.get_by_role("link", name=HBV).click()
    expect(page.get_by_role("heading", level=1, name=HBV)).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Who to screen")).to_be_visible()
    expect(page.get_by_role("cell", name="HBsAg negative, anti-HBc positive")).to_be_visible()
    abstracts = page.get_by_role("region", name="Abstracts discussed")
    expect(abstracts.get_by_role("link")).to_have_count(2)
    expect(page.get_by_text(re.compile(r"^Last reviewed \w+ \d{1,2}, \d{4}$"))).to_be_visible()
    assert page.evaluate(WHAT_DOES_NOT_FIT) == []
    _shot(page, f"page-{size}")

    page.get_by_role("link", name="Hepatitis B Reactivation: Screening and Prophylaxis Before Immunosuppression").click()
    expect(page.get_by_role("heading", level=2, name="Highlights")).to_be_visible()
    page.get_by_role("link", name=HBV).click()
    expect(page.get_by_role("heading", level=1, name=HBV)).to_be_visible()
    context.close()


def test_the_organizer_offers_a_highlight_as_enduring_material(browser: Browser, demo_server, log_in):
    context = browser.new_context(base_url=demo_server.url, **DESKTOP)
    page = context.new_page()
    log_in(page, ORGANIZER_EMAIL, DEMO_PASSWORD)
    page.goto("/organize/")
    activities = page.locator("table", has=page.get_by_role("columnheader", name="Next date"))  # not "to report"
    activities.get_by_role("link", name="Liver Transplant Care Team Update").first.click()
    page.locator("#main").get_by_role("link", name="Highlights", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Highlights")).to_be_visible()
    _shot(page, "manage-desktop")
    page.get_by_role("link", name="Offer as enduring material with credit").click()
    expect(page.get_by_label("Release date")).to_be_visible()
    _shot(page, "enduring-desktop")
    page.get_by_role("button", name="Create the draft enduring material").click()
    expect(page.get_by_text("Draft enduring material created from the highlights.")).to_be_visible()
    expect(page.get_by_role("heading", level=1, name="Liver Transplant Care Team Update: what the day brought")
           ).to_be_visible()
    expect(page.get_by_text("On-demand webcast").first).to_be_visible()
    page.get_by_role("button", name="Publish").first.click()
    expect(page.get_by_role("status").get_by_text("Add at least one credit designation.")).to_be_visible()
    _shot(page, "enduring-draft-desktop")
    context.close()


@pytest.mark.parametrize("size, device", [("phone", PHONE), ("desktop", DESKTOP)])
def test_a_highlight_shows_its_key_slides_as_thumbnails(browser: Browser, live_server, size, device):
    """Key slides on a highlights page: a public deck as its loaded thumbnail and a link to the file, a registrants'
    deck listed locked; the page fits the window."""
    import io
    from datetime import datetime, timedelta, timezone
    from decimal import Decimal

    from cme.activities.models import Activity, CreditDesignation
    from cme.extensions import db
    from cme.library.highlights import service as highlights
    from cme.library.materials import service as materials
    from tests.helpers import make_pdf

    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(days=30)
    with live_server.app.app_context():
        activity = Activity(title=f"Transplant Update {size}", format="live_meeting", status="published",
                            time_zone="America/Chicago", start_dt=start, end_dt=start + timedelta(hours=5),
                            venue_name="Convention Center", city="Chicago", state="IL",
                            credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("4"))])
        db.session.add(activity)
        db.session.flush()
        decks = [materials.add_material(activity, materials.Details(title, None, None, rule), filename="deck.pdf",
                                        stream=io.BytesIO(make_pdf([f"{title}\nMELD 15"], title=title)))
                 for title, rule in (("Referral timing", "public"), ("Tacrolimus troughs", "registrants"))]
        today = highlights.library_today()
        highlight = highlights.create_highlight(activity, highlights.HighlightData(
            f"Transplant day {size}", "Refer **earlier**.", today, today, True,
            material_ids=tuple(d.id for d in decks)))
        db.session.commit()
        highlight_id = highlight.id
        db.session.remove()
    context = browser.new_context(base_url=live_server.url, **device)
    page = context.new_page()
    page.goto(f"/library/highlights/{highlight_id}")
    section = page.locator("section", has=page.get_by_role("heading", name="Key slides"))
    opened = section.locator("li", has_text="Referral timing")
    expect(opened.get_by_role("link", name="Referral timing")).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=opened.locator("img").element_handle())
    expect(section.locator("li", has_text="Tacrolimus troughs")).to_contain_text("For registrants")
    assert page.evaluate(WHAT_DOES_NOT_FIT) == []
    page.screenshot(path=f"/tmp/shots/i15-slides/highlight-key-slides-{size}.png", full_page=True)
    context.close()
