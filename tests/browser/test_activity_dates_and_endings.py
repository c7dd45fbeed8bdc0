"""Browser flows of issue 14 (points 3, 4, 5, 7): an organizer duplicates a meeting to a new day and moves another
with its agenda; a provider finds a meeting by its city, a speaker and MOC; the month view lists an on-demand module
from its release; an ended meeting says so and offers its evaluation and claim instead of seats and calendars."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from cme.extensions import db

pytestmark = pytest.mark.browser
CHICAGO = ZoneInfo("America/Chicago")


def add(live_server, *objects) -> list[int]:
    with live_server.app.app_context():
        db.session.add_all(objects)
        db.session.commit()
        ids = [o.id for o in objects]
        db.session.remove()
    return ids


def test_an_organizer_duplicates_a_meeting_to_a_new_day_then_moves_the_copy_with_its_agenda(page: Page, live_server,
                                                                                           log_in):
    from cme.accounts.models import User
    from cme.activities.models import Activity, ActivitySession

    user_id = live_server.create_user("redating.organizer@example.org", role="organizer")
    at = lambda *args: datetime(*args, tzinfo=CHICAGO).astimezone(timezone.utc)  # noqa: E731
    with live_server.app.app_context():
        activity = Activity(
            title="Browser: Lakefront liver day", format="live_meeting", status="draft", time_zone="America/Chicago",
            start_dt=at(2031, 3, 7, 8), end_dt=at(2031, 3, 7, 17), venue_name="Navy Pier", city="Chicago",
            state="IL", organizers=[db.session.get(User, user_id)],
            sessions=[ActivitySession(title="Fibrosis staging", start_dt=at(2031, 3, 7, 9), end_dt=at(2031, 3, 7, 10)),
                      ActivitySession(title="Transplant referral", start_dt=at(2031, 3, 7, 13),
                                      end_dt=at(2031, 3, 7, 14))])
        db.session.add(activity)
        db.session.commit()
        activity_id = activity.id
        db.session.remove()
    log_in(page, "redating.organizer@example.org")
    page.goto(f"/organize/activities/{activity_id}")
    page.get_by_role("link", name="Duplicate").click()
    page.get_by_label("First day of the copy").fill("2031-03-21")  # two weeks on, after the clocks spring forward
    page.get_by_role("button", name="Make the copy").click()
    expect(page.get_by_text("This is a draft copy with every time moved to its new dates.")).to_be_visible()
    agenda = page.locator("#agenda")
    expect(agenda).to_contain_text("Fri Mar 21, 9:00 AM – 10:00 AM CDT")
    expect(agenda).to_contain_text("Fri Mar 21, 1:00 PM – 2:00 PM CDT")

    page.get_by_role("link", name="Edit details").click()
    page.get_by_label("Starts (local time)").fill("2031-03-28T08:00")
    page.get_by_label("Ends (local time)").fill("2031-03-28T17:00")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#move_sessions-error")).to_contain_text("2 agenda session(s) would fall outside these times")
    page.get_by_label("Move the agenda with the start").check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("The agenda moved with the start (2 sessions).")).to_be_visible()
    expect(page.locator("#agenda")).to_contain_text("Fri Mar 28, 9:00 AM – 10:00 AM CDT")


def test_a_provider_finds_a_meeting_by_its_city_a_speaker_and_moc(page: Page, live_server):
    from cme.activities.models import Activity, CreditDesignation, Faculty

    start = datetime.now(timezone.utc).replace(microsecond=0, second=0, minute=0) + timedelta(days=40)
    add(live_server, Activity(
        title="Browser: Front Range transplant day", format="live_meeting", status="published",
        time_zone="America/Denver", start_dt=start, end_dt=start + timedelta(hours=6), venue_name="Aspen Hall",
        city="Denver", state="CO", faculty=[Faculty(full_name="Samuel Quillfeather", degree="MD")],
        credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("6")),
                             CreditDesignation(credit_type="abim_moc", max_amount=Decimal("6"))]))
    for words in ("Denver", "Quillfeather", "MOC", "aspen hall"):
        page.goto("/activities/")
        page.get_by_label("Search").fill(words)
        page.get_by_role("button", name="Apply filters").click()
        expect(page.get_by_role("link", name="Browser: Front Range transplant day")).to_be_visible()


def test_the_month_view_lists_an_on_demand_module_from_its_release_day(page: Page, live_server):
    from cme.activities.models import Activity

    add(live_server, Activity(
        title="Browser: Fibrosis cases module", format="on_demand_webcast", status="published",
        time_zone="America/New_York", join_url="https://webcast.example.org/fib",
        start_dt=datetime(2032, 3, 12, 13, tzinfo=timezone.utc), end_dt=datetime(2033, 3, 1, 4, 59, tzinfo=timezone.utc)))
    page.goto("/activities/calendar?month=2032-02")
    expect(page.get_by_text("Browser: Fibrosis cases module")).to_have_count(0)
    page.get_by_role("link", name="Next month →").click()
    item = page.locator(".on-demand-list li", has_text="Browser: Fibrosis cases module")
    expect(item).to_contain_text("from Mar 12 until Feb 28, 2033")
    expect(page.locator("td", has=page.locator('time[datetime="2032-03-12"]'))).to_contain_text(
        "On demand from 8:00 AM EST Browser: Fibrosis cases module")


def test_an_ended_meeting_offers_the_evaluation_and_the_claim_not_seats_or_a_calendar(page: Page, live_server, log_in):
    from cme.accounts.models import User
    from cme.activities.models import Activity, CreditDesignation
    from cme.attendance.service import check_in
    from cme.registration.models import Registration

    organizer_id = live_server.create_user("ended.organizer@example.org", role="organizer")
    provider_id = live_server.create_user("ended.provider@example.org", full_name="Erin Ended")
    start = datetime.now(timezone.utc).replace(microsecond=0, second=0, minute=0) - timedelta(days=4)
    with live_server.app.app_context():
        activity = Activity(title="Browser: Past hepatology summit", format="live_meeting", status="published",
                            time_zone="America/New_York", start_dt=start, end_dt=start + timedelta(hours=4),
                            venue_name="Javits Center", city="New York", state="NY", capacity=80,
                            credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("4"))])
        registration = Registration(user=db.session.get(User, provider_id), activity=activity, status="confirmed",
                                    full_name="Erin Ended")
        db.session.add_all([activity, registration])
        db.session.flush()
        check_in(registration, by=db.session.get(User, organizer_id), now=start)
        db.session.commit()
        activity_id = activity.id
        db.session.remove()

    page.goto(f"/activities/{activity_id}")
    expect(page.get_by_text("This activity has ended.")).to_be_visible()
    for stale in ("Registration closed", "79 of 80 left", "Add to my calendar"):
        expect(page.get_by_text(stale)).to_have_count(0)
    page.get_by_role("link", name="Log in").last.click()
    page.get_by_label("Email").fill("ended.provider@example.org")
    page.get_by_label("Password").fill("browser-pass-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Browser: Past hepatology summit")).to_be_visible()
    expect(page.get_by_text("Complete the evaluation first.")).to_be_visible()
    page.get_by_role("link", name="Complete the evaluation").click()
    expect(page.get_by_role("heading", name="Evaluation")).to_be_visible()
