"""Browser flows for session materials (issue 15): an organizer uploads slides with a release rule through the form,
a registrant opens them once their session has ended (and downloads all they may open as one ZIP), and a visitor
sees them listed but cannot open them. The pages are looked at 1280 and 390 pixels wide."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cme.extensions import db
from tests.helpers import WHAT_DOES_NOT_FIT, make_pdf

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/i15-materials")
PAST_SLIDES = make_pdf(["HCV elimination\nElena Vasquez, MD", "Test every adult at least once"], title="HCV")
LATER_SLIDES = make_pdf(["MASLD therapy\nMarcus Reed, DO", "Resmetirom"], title="MASLD")
PROGRAM = make_pdf(["Program\n8:00 HCV elimination\n11:00 MASLD therapy"], title="Program")


def running_meeting(live_server, organizer_email: str, registrant_email: str) -> int:
    """A meeting running now: one talk ended an hour ago, the other ends in two hours; the registrant holds a seat."""
    from cme.accounts.service import find_user_by_email
    from cme.activities.models import Activity, ActivitySession, CreditDesignation, Faculty
    from cme.registration import service as registrations

    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    with live_server.app.app_context():
        activity = Activity(title="Browser: Liver Update", format="live_meeting", status="published",
                            time_zone="America/Chicago", start_dt=now - timedelta(hours=3),
                            end_dt=now + timedelta(hours=3), venue_name="Palmer House", city="Chicago", state="IL",
                            organizers=[find_user_by_email(organizer_email)],
                            credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal(1))])
        with db.session.no_autoflush:
            vasquez = Faculty(full_name="Elena Vasquez", degree="MD", disclosure_received_dt=now)
            reed = Faculty(full_name="Marcus Reed", degree="DO", disclosure_received_dt=now, position=1)
            activity.faculty += [vasquez, reed]
            activity.sessions += [
                ActivitySession(title="HCV elimination in primary care", start_dt=now - timedelta(hours=3),
                                end_dt=now - timedelta(hours=1), speakers=[vasquez]),
                ActivitySession(title="MASLD therapy after resmetirom", start_dt=now + timedelta(hours=1),
                                end_dt=now + timedelta(hours=2), speakers=[reed])]
        db.session.add(activity)
        db.session.flush()
        registrant = find_user_by_email(registrant_email)
        registrations.register(registrant, activity.id, registrations.Answers.from_profile(
            registrant, attested_professional=True))
        db.session.commit()
        activity_id = activity.id
        db.session.remove()
    return activity_id


def upload_through_the_form(page: Page, tmp_path: Path, data: bytes, name: str, title: str, session: str,
                            rule: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    page.get_by_label("File (PDF or PowerPoint .pptx)").set_input_files(str(path))
    page.get_by_label("Title").fill(title)
    if session:
        page.get_by_label("Session").select_option(label=session)
    page.get_by_label("Who may open it").select_option(label=rule)
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text(f"Uploaded “{title}”.")).to_be_visible()


def look(page: Page, name: str) -> None:
    """Screenshots at 1280 and 390 pixels wide; at 390 nothing may stick out of the window."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        assert page.evaluate(WHAT_DOES_NOT_FIT) == [], (name, width)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_slides_uploaded_with_a_release_rule_open_for_registrants_after_the_session_and_not_for_visitors(
        browser, live_server, log_in, tmp_path):
    live_server.create_user("slides.organizer@example.org", role="organizer", full_name="Olga Organizer")
    live_server.create_user("slides.registrant@example.org", full_name="Rita Registrant")
    activity_id = running_meeting(live_server, "slides.organizer@example.org", "slides.registrant@example.org")

    organizer = browser.new_context(base_url=live_server.url).new_page()
    log_in(organizer, "slides.organizer@example.org")
    organizer.goto(f"/organize/activities/{activity_id}")
    organizer.get_by_role("link", name="Slides & handouts").click()
    expect(organizer.get_by_role("heading", name="Slides and handouts")).to_be_visible()
    session_label = organizer.get_by_label("Session").locator("option", has_text="HCV elimination").inner_text()
    later_label = organizer.get_by_label("Session").locator("option", has_text="MASLD therapy").inner_text()
    upload_through_the_form(organizer, tmp_path, PAST_SLIDES, "hcv.pdf", "HCV elimination: slides", session_label,
                            "Registrants, after the session ends")
    upload_through_the_form(organizer, tmp_path, LATER_SLIDES, "masld.pdf", "MASLD therapy: slides", later_label,
                            "Registrants, after the session ends")
    upload_through_the_form(organizer, tmp_path, PROGRAM, "program.pdf", "Program", "", "Everyone (public)")
    cards = organizer.locator("#materials .material-card")
    expect(cards).to_have_count(3)
    expect(cards.filter(has_text="HCV elimination: slides")).to_contain_text("Elena Vasquez, MD")  # the speaker
    expect(cards.filter(has_text="HCV elimination: slides")).to_contain_text("Registrants, after the session ends")
    expect(cards.filter(has_text="HCV elimination: slides").locator("img")).to_have_js_property("naturalWidth", 480)
    look(organizer, "organizer-materials")

    cards.filter(has_text="Program").get_by_role("link", name="Edit").click()
    expect(organizer.get_by_role("heading", name="Edit “Program”")).to_be_visible()
    look(organizer, "organizer-edit")
    organizer.get_by_label("Title").fill("Program at a glance")
    organizer.get_by_role("button", name="Save").click()
    expect(organizer.get_by_text("Saved “Program at a glance”.")).to_be_visible()

    # A refused file: a text file named .pdf, said beside the file field; nothing is added.
    fake = tmp_path / "notes.pdf"
    fake.write_text("not a pdf at all\n" * 20)
    organizer.get_by_label("File (PDF or PowerPoint .pptx)").set_input_files(str(fake))
    organizer.get_by_role("button", name="Upload").click()
    expect(organizer.locator("#file-error")).to_contain_text("Only PDF files and PowerPoint presentations")
    expect(organizer.locator(".error-summary")).to_be_focused()
    expect(organizer.locator("#materials .material-card")).to_have_count(3)
    look(organizer, "organizer-refused")

    # A file over the limit is refused in the page before it is sent (js/upload-size.js), as the server would.
    live_server.app.config["CME_UPLOAD_MAX_BYTES"] = 2_000
    try:
        organizer.goto(f"/organize/activities/{activity_id}/materials")
        file_input = organizer.get_by_label("File (PDF or PowerPoint .pptx)")
        big = tmp_path / "big.pdf"
        big.write_bytes(PAST_SLIDES + b"\n%" + b"0" * 10_000)
        file_input.set_input_files(str(big))
        organizer.get_by_role("button", name="Upload").click()
        assert "at most 2 KB can be uploaded" in file_input.evaluate("input => input.validationMessage")
        expect(organizer.locator("#materials .material-card")).to_have_count(3)
        assert organizer.locator("#file-error").count() == 0  # nothing was posted
    finally:
        live_server.app.config["CME_UPLOAD_MAX_BYTES"] = 50 * 2**20

    registrant = browser.new_context(base_url=live_server.url).new_page()
    log_in(registrant, "slides.registrant@example.org")
    registrant.goto(f"/activities/{activity_id}")
    section = registrant.locator("#materials")
    expect(section.get_by_role("link", name="HCV elimination: slides")).to_be_visible()
    expect(section.get_by_role("link", name="MASLD therapy: slides")).to_have_count(0)
    expect(section.locator(".material-card", has_text="MASLD therapy: slides")).to_contain_text(
        "Opens for you when the session ends")
    expect(section).to_contain_text("Slides for 1 talk will open here for you when the session ends.")
    href = section.get_by_role("link", name="HCV elimination: slides").get_attribute("href")
    opened = registrant.request.get(href)
    assert opened.status == 200 and opened.body() == PAST_SLIDES
    assert opened.headers["content-type"] == "application/pdf" and opened.headers["content-disposition"].startswith(
        "inline;")
    with registrant.expect_download() as download_info:
        section.get_by_role("link", name="Download all (2 files, ZIP").click()
    download = download_info.value
    assert download.suggested_filename == "Browser Liver Update - materials.zip" or \
        download.suggested_filename.endswith("materials.zip")
    with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as archive:
        assert archive.namelist() == ["01 Program at a glance.pdf", "02 HCV elimination slides.pdf"]
        assert archive.read("02 HCV elimination slides.pdf") == PAST_SLIDES
    look(registrant, "activity-registrant")

    visitor = browser.new_context(base_url=live_server.url).new_page()
    visitor.goto(f"/activities/{activity_id}")
    section = visitor.locator("#materials")
    expect(section).to_contain_text("Slides for 2 talks are released to registrants after each session.")
    for title in ("HCV elimination: slides", "MASLD therapy: slides"):
        card = section.locator(".material-card", has_text=title)
        expect(card).to_contain_text("For registrants, after the session ends")
        expect(card.get_by_role("link")).to_have_count(0)
        expect(card.locator("img")).to_have_count(0)  # not even its first page
    expect(section.get_by_role("link", name="Program at a glance")).to_be_visible()
    assert visitor.request.get(href).status == 404  # the registrant's link, tried by a visitor
    look(visitor, "activity-visitor")



def test_the_demo_shows_slides_released_after_the_sessions_and_a_summit_still_to_come(browser, demo_server, log_in):
    from cme.demo import DEMO_PASSWORD, PROVIDER_EMAIL, demo_uuid
    from cme.activities.models import Activity
    from sqlalchemy import select

    with demo_server.app.app_context():
        ids = {key: db.session.scalar(select(Activity.id).where(Activity.uuid == demo_uuid(key)))
               for key in ("transplant-care-team-seattle", "hcv-elimination-summit-nyc")}
        db.session.remove()
    provider = browser.new_context(base_url=demo_server.url).new_page()
    log_in(provider, PROVIDER_EMAIL, DEMO_PASSWORD)
    provider.goto(f"/activities/{ids['transplant-care-team-seattle']}")
    cards = provider.locator("#materials .material-card")
    expect(cards).to_have_count(3)
    for n in range(3):  # she attended: every deck opens, each with its first page
        expect(cards.nth(n).get_by_role("link")).to_be_visible()
        expect(cards.nth(n).locator("img")).to_have_js_property("naturalWidth", 480)
    look(provider, "demo-past-meeting-provider")

    visitor = browser.new_context(base_url=demo_server.url).new_page()
    visitor.goto(f"/activities/{ids['hcv-elimination-summit-nyc']}")
    section = visitor.locator("#materials")
    expect(section).to_contain_text("Slides for 3 talks are released to registrants after each session.")
    expect(section).to_contain_text("1 more file will be released on")
    expect(section.get_by_role("link", name="Program at a glance")).to_be_visible()
    look(visitor, "demo-upcoming-summit-visitor")
