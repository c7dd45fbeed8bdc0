"""News in a browser (issue 15, point 7): a visitor reads the demo's articles on a phone (390 px): everything fits the
screen, the tables included, with the citation's links and the last review; an organizer writes an article,
previews its Markdown, saves it scheduled, and a visitor cannot read it until its day."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from cme.library.news.service import news_today
from tests.helpers import WHAT_DOES_NOT_FIT

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
ORGANIZER = "news.organizer@example.org"


def test_a_visitor_reads_an_article_on_a_phone(browser: Browser, demo_server, screenshot):
    context = browser.new_context(base_url=demo_server.url, **PHONE)
    page = context.new_page()
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Library").click()
    page.get_by_role("main").get_by_role("link", name="News", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="News")).to_be_visible()
    assert page.evaluate(WHAT_DOES_NOT_FIT) == []
    screenshot(page, "news-list-phone")

    page.get_by_role("navigation", name="Topics").get_by_role("link", name="MASLD and MASH").click()
    expect(page.get_by_role("heading", level=1, name="News on MASLD and MASH")).to_be_visible()
    page.get_by_role("link", name=re.compile("Resmetirom in MASH")).click()
    expect(page.get_by_role("heading", level=1, name=re.compile("Resmetirom"))).to_be_in_viewport()
    # The results table: a card per row, each figure on screen under its column's name, nothing scrolled sideways.
    cell = page.get_by_role("cell", name="29.9%")
    cell.scroll_into_view_if_needed()
    expect(cell).to_be_in_viewport()
    assert page.evaluate("cell => getComputedStyle(cell, '::before').content", cell.element_handle()) == \
        '"Resmetirom 100 mg"'
    assert page.evaluate(WHAT_DOES_NOT_FIT) == []
    reference = page.get_by_role("region", name="Reference")
    expect(reference).to_contain_text("N Engl J Med. 2024;390(6):497-509.")
    expect(reference.get_by_role("link", name="doi:10.1056/NEJMoa2309000")).to_have_attribute(
        "href", "https://doi.org/10.1056/NEJMoa2309000")
    expect(reference.get_by_role("link", name="PMID: 38324483")).to_have_attribute(
        "href", "https://pubmed.ncbi.nlm.nih.gov/38324483/")
    expect(page.get_by_text(re.compile(r"^Last reviewed \w+ \d{1,2}, \d{4}$"))).to_be_visible()
    screenshot(page, "news-article-phone")
    context.close()


def test_an_organizer_previews_and_schedules_an_article_the_public_cannot_read_yet(
        page: Page, live_server, log_in, browser: Browser):
    live_server.create_user(ORGANIZER, role="organizer", full_name="Nina News")
    log_in(page, ORGANIZER)
    page.goto("/organize/")
    page.get_by_role("link", name="News articles").click()
    page.get_by_role("link", name="Write an article").click()
    page.get_by_label("Title").fill("MetALD: a name for MASLD with more alcohol")
    page.get_by_label("Source").fill("The Liver Education Foundation")
    page.get_by_label("Summary").fill("What the new name covers.")
    page.get_by_label("Article", exact=True).fill(
        "# Who it covers\n\n| Group | Weekly alcohol |\n|---|---|\n| Women | 140-350 g |\n| Men | 210-420 g |\n\n"
        "<script>document.title = 'hacked'</script>")
    page.get_by_role("checkbox", name="MASLD and MASH").check()
    page.get_by_label("Journal").fill("J Hepatol")
    page.get_by_label("Year").fill("2023")
    page.get_by_label("DOI").fill("https://doi.org/10.1016/j.jhep.2023.06.003")
    later = news_today() + timedelta(days=3)
    page.get_by_label("Publication date").fill(later.isoformat())
    page.get_by_label("Published").check()

    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("region", name="Preview (not saved)")
    expect(preview.get_by_role("heading", level=2, name="Who it covers")).to_be_visible()
    expect(preview.get_by_role("cell", name="210-420 g")).to_be_visible()
    assert page.title() != "hacked"
    expect(page.get_by_label("Title")).to_have_value("MetALD: a name for MASLD with more alcohol")

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(f"It becomes public on {later:%B} {later.day}, {later.year}.")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("MetALD"))
    expect(row).to_contain_text("Scheduled")
    row.get_by_role("link", name="MetALD: a name for MASLD with more alcohol", exact=True).click()
    expect(page.get_by_text(re.compile("^Scheduled: public on"))).to_be_visible()
    expect(page.get_by_role("link", name="doi:10.1016/j.jhep.2023.06.003")).to_be_visible()
    address = page.url

    visitor = browser.new_context(base_url=live_server.url)
    anonymous = visitor.new_page()
    assert anonymous.goto(address).status == 404
    anonymous.goto("/library/news")
    expect(anonymous.get_by_text("MetALD")).to_have_count(0)
    visitor.close()
