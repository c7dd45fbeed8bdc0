"""Browser flow at the registration desk (issue 14, point 13): an organizer registers a walk-in, who is checked in;
the check-in is taken back after the confirmation and recorded again; the walk-in chooses a password through the
mailed link and finds the meeting on their schedule."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from cme.extensions import db

pytestmark = pytest.mark.browser


def meeting_today(live_server, organizer_email: str) -> int:
    from cme.accounts.service import find_user_by_email
    from cme.activities.models import Activity, CreditDesignation

    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    with live_server.app.app_context():
        activity = Activity(title="Browser: Desk Day", format="live_meeting", status="published", time_zone="UTC",
                            start_dt=start, end_dt=start + timedelta(hours=6), venue_name="Moscone West",
                            city="San Francisco", state="CA", capacity=20,
                            organizers=[find_user_by_email(organizer_email)],
                            credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("6"))])
        db.session.add(activity)
        db.session.commit()
        activity_id = activity.id
        db.session.remove()
    return activity_id


def test_a_walk_in_is_registered_checked_in_taken_back_and_chooses_a_password(browser, page: Page, live_server,
                                                                              log_in):
    live_server.create_user("desk.organizer@example.org", role="organizer")
    activity_id = meeting_today(live_server, "desk.organizer@example.org")
    log_in(page, "desk.organizer@example.org")
    page.goto(f"/organize/activities/{activity_id}/roster")
    page.get_by_role("link", name="Check-in").click()

    walk_in = page.get_by_role("region", name="Walk-in")
    walk_in.get_by_label("Full name").fill("Zoë Walker-Núñez")
    walk_in.get_by_label("Email").fill("zoe.walker@example.org")
    walk_in.get_by_label("Degree / credentials").select_option("NP")
    walk_in.get_by_label("Profession").select_option("nurse_practitioner")
    expect(walk_in.get_by_label("Check in now")).to_be_checked()
    walk_in.get_by_role("button", name="Register walk-in").click()
    expect(page.get_by_text("Zoë Walker-Núñez, NP is registered and checked in. A new account was created")).to_be_visible()
    expect(page.locator(".result-count")).to_contain_text("1 of 1 confirmed registrant checked in")

    # Checked in by mistake? Taken back from the desk, after the question; and checked in again.
    page.get_by_label("Name, email or NPI").fill("walker")
    page.get_by_role("button", name="Search").click()
    page.once("dialog", lambda dialog: dialog.accept() if "Take back Zoë Walker-Núñez's check-in" in dialog.message
              else dialog.dismiss())
    page.get_by_role("button", name="Undo check-in").click()
    expect(page.get_by_text("Zoë Walker-Núñez's check-in is taken back.")).to_be_visible()
    expect(page.locator(".result-count")).to_contain_text("0 of 1 confirmed registrant checked in")
    page.get_by_role("button", name="Check in Zoë Walker-Núñez").click()
    expect(page.locator(".result-count")).to_contain_text("1 of 1 confirmed registrant checked in")

    [mail] = [m for m in live_server.mail_to("zoe.walker@example.org") if m["Subject"].startswith("Choose a password")]
    link = re.search(r"https?://\S+/account/welcome/\S+", mail.get_body(("plain",)).get_content()).group(0)
    walker = browser.new_context(base_url=live_server.url).new_page()
    walker.goto(link)
    expect(walker.get_by_role("heading", name="Choose your password")).to_be_visible()
    walker.get_by_label("New password", exact=True).fill("walked in at nine")
    walker.get_by_label("Repeat new password").fill("walked in at nine")
    walker.get_by_role("button", name="Set my password").click()
    expect(walker.get_by_text("Your password is set and you are logged in.")).to_be_visible()
    expect(walker.locator(".schedule-item", has_text="Browser: Desk Day")).to_contain_text("Checked in")
    walker.context.close()
