"""Browser flows of the abstracts (issue 15, point 5): an organizer imports a CSV file with good and bad rows and
reads the report (row, column, problem), fixes the file and imports it again without duplicates; a visitor reads an
imported abstract (byline with superscript affiliations, sections, keywords, where it was presented) and the list,
on a desktop and on a phone, with nothing cut off."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, expect

from cme.extensions import db
from tests.helpers import WHAT_DOES_NOT_FIT

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
COLUMNS = ["title", "authors", "background", "methods", "results", "conclusions", "keywords", "presentation_type",
           "session", "topic"]
GOOD = {"title": "Same-day hepatitis C treatment starts in a syringe services program",
        "authors": "*Maria Lopez (Cascade Harm Reduction Center, Seattle); Daniel Brooks (Harborview Liver Clinic); "
                   "Ana Ruiz (Cascade Harm Reduction Center, Seattle)",
        "background": "Many people who inject drugs never start hepatitis C treatment after diagnosis.",
        "methods": "Single-site cohort offering point-of-care RNA testing and same-day treatment starts.",
        "results": "Of 212 people with viremia, 171 (81%) started treatment the same day.\nNo serious adverse events.",
        "conclusions": "Same-day starts in harm reduction settings are feasible.",
        "keywords": "hepatitis C, people who inject drugs, harm reduction", "presentation_type": "poster",
        "session": "Posters and discussion", "topic": "Addiction medicine"}


def csv_bytes(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode()


def past_meeting(live_server, organizer_email: str) -> int:
    from cme.accounts.service import find_user_by_email
    from cme.activities.models import Activity, ActivitySession, CreditDesignation

    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(days=20)
    with live_server.app.app_context():
        activity = Activity(title="Browser: Harm Reduction and the Liver", format="live_meeting", status="published",
                            time_zone="America/Los_Angeles", start_dt=start, end_dt=start + timedelta(hours=5),
                            venue_name="Convention Center", city="Seattle", state="WA",
                            specialty="Addiction medicine", organizers=[find_user_by_email(organizer_email)],
                            credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("4"))])
        activity.sessions.append(ActivitySession(title="Posters and discussion", start_dt=start + timedelta(hours=1),
                                                 end_dt=start + timedelta(hours=2), room="Hall B"))
        db.session.add(activity)
        db.session.commit()
        activity_id = activity.id
        db.session.remove()
    return activity_id


def test_an_organizer_imports_a_csv_reads_the_report_and_a_visitor_reads_the_abstract(
        browser: Browser, page: Page, live_server, log_in, screenshot):
    live_server.create_user("abstracts.organizer@example.org", role="organizer")
    activity_id = past_meeting(live_server, "abstracts.organizer@example.org")
    log_in(page, "abstracts.organizer@example.org")
    page.goto(f"/organize/activities/{activity_id}")
    page.get_by_role("link", name="Abstracts", exact=True).last.click()
    expect(page.get_by_role("heading", name="Abstracts", exact=True)).to_be_visible()
    page.get_by_role("link", name="Import from CSV").click()

    rows = [GOOD,
            {**GOOD, "title": "Buprenorphine starts after hospital discharge", "authors": "Ana Ruiz (Cascade"},
            {**GOOD, "title": "Hepatitis B vaccination at buprenorphine visits", "presentation_type": "speech",
             "session": "Plenary"}]
    page.get_by_label("CSV file").set_input_files({"name": "abstracts.csv", "mimeType": "text/csv",
                                                   "buffer": csv_bytes(rows)})
    page.get_by_label("Publish the imported abstracts").check()
    page.get_by_role("button", name="Import").click()

    report = page.get_by_role("region", name="Import report")
    expect(report).to_contain_text("3 rows read: 1 added, 0 updated, 2 not imported.")
    problems = report.locator("tbody tr")
    expect(problems).to_have_count(3)
    expect(problems.nth(0)).to_contain_text(re.compile(r"3\s*authors\s*Author 1: “Ana Ruiz \(Cascade”: end the"))
    expect(problems.nth(1)).to_contain_text(re.compile(r"4\s*presentation_type\s*Write oral or poster"))
    expect(problems.nth(2)).to_contain_text(re.compile(r"4\s*session\s*No session of this activity's agenda"))
    screenshot(page, "abstracts-import-report-1280")

    # The organizer fixes the two rows and imports the whole file again: the first row is updated, not doubled.
    rows[1]["authors"], rows[2]["presentation_type"], rows[2]["session"] = "Ana Ruiz (Cascade Center)", "oral", ""
    page.get_by_label("CSV file").set_input_files({"name": "abstracts.csv", "mimeType": "text/csv",
                                                   "buffer": csv_bytes(rows)})
    page.get_by_label("Publish the imported abstracts").check()
    page.get_by_role("button", name="Import").click()
    expect(report).to_contain_text("3 rows read: 2 added, 1 updated.")
    page.get_by_role("link", name="Back to the abstracts").click()
    expect(page.locator("tbody tr")).to_have_count(3)

    phone = browser.new_context(base_url=live_server.url, **PHONE).new_page()
    phone.goto("/account/login")
    phone.get_by_label("Email").fill("abstracts.organizer@example.org")
    phone.get_by_label("Password").fill("browser-pass-123")
    phone.get_by_role("button", name="Log in").click()
    phone.goto(f"/organize/activities/{activity_id}/abstracts/import")
    phone.get_by_label("CSV file").set_input_files({"name": "abstracts.csv", "mimeType": "text/csv",
                                                    "buffer": csv_bytes([{**GOOD, "authors": "(Nobody)"}])})
    phone.get_by_role("button", name="Import").click()
    expect(phone.get_by_role("region", name="Import report")).to_contain_text("1 not imported")
    assert phone.evaluate(WHAT_DOES_NOT_FIT) == []
    screenshot(phone, "abstracts-import-report-390")
    phone.context.close()

    # A visitor finds it in the library and reads it.
    visitor = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900}).new_page()
    visitor.goto("/")
    visitor.get_by_role("navigation", name="Main").get_by_role("link", name="Library").click()
    visitor.get_by_role("main").get_by_role("link", name="Abstracts", exact=True).click()
    visitor.get_by_label("Presented as").select_option("poster")
    visitor.get_by_role("button", name="Apply filters").click()
    visitor.get_by_role("link", name=GOOD["title"]).click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text(GOOD["title"])
    byline = visitor.locator(".byline")
    expect(byline).to_have_text("Maria Lopez1, Daniel Brooks2, Ana Ruiz1")
    expect(byline.locator("sup")).to_have_text(["1", "2", "1"])
    expect(visitor.locator(".affiliations li")).to_have_text(["Cascade Harm Reduction Center, Seattle",
                                                              "Harborview Liver Clinic"])
    expect(visitor.get_by_text("Presenting author: Maria Lopez")).to_be_visible()
    for heading in ("Background", "Methods", "Results", "Conclusions", "Keywords"):
        expect(visitor.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(visitor.get_by_role("list", name="Keywords").get_by_role("listitem")).to_have_count(3)
    side = visitor.get_by_role("complementary", name="Where it was presented")
    expect(side).to_contain_text("Posters and discussion")
    expect(side).to_contain_text("Hall B")
    screenshot(visitor, "abstracts-page-1280")
    book = visitor.request.get(side.get_by_role("link", name="Book of abstracts (PDF)").get_attribute("href"))
    assert book.ok and book.headers["content-type"] == "application/pdf"
    side.get_by_role("link", name="Browser: Harm Reduction and the Liver").click()
    expect(visitor.get_by_role("heading", name="Abstracts", exact=True)).to_be_visible()
    expect(visitor.locator("#abstracts ~ p").first).to_contain_text("3 abstracts were presented at this activity.")
    visitor.context.close()

    phone = browser.new_context(base_url=live_server.url, **PHONE).new_page()
    phone.goto("/library/abstracts")
    phone.get_by_role("link", name=GOOD["title"]).click()
    expect(phone.locator(".byline sup")).to_have_count(3)
    assert phone.evaluate(WHAT_DOES_NOT_FIT) == []
    screenshot(phone, "abstracts-page-390")
    phone.goto("/library/abstracts")
    assert phone.evaluate(WHAT_DOES_NOT_FIT) == []
    screenshot(phone, "abstracts-list-390")
    phone.context.close()
