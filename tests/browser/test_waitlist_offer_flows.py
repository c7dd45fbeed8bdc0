"""Issue 14, point 16, in the browser: a provider holding a seat offer sees it with its deadline on My schedule and
on the activity page, accepts it there, and gets the confirmation with its calendar invitation; every page of an
offer fits a phone (390 px); the organizer sees the offer and its deadline on the roster."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, expect

from cme.accounts.service import find_user_by_email
from cme.activities.models import Activity, CreditDesignation
from cme.extensions import db
from cme.registration import service
from cme.registration.models import Registration
from cme.timeutil import format_local
from tests.helpers import WHAT_DOES_NOT_FIT

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}


def meeting_with_an_offer(live_server, *, organizer: str, holder: str, offered: str, waiting: str) -> tuple[int, int]:
    """A one-seat meeting in three days whose seat `holder` gave up: `offered` holds the offer, `waiting` waits.
    Returns (activity id, the offered registration's id)."""
    start = datetime.now(timezone.utc).replace(microsecond=0, second=0, minute=0) + timedelta(days=3)
    with live_server.app.app_context():
        activity = Activity(title="Browser: Hepatic encephalopathy workshop", format="live_meeting",
                            status="published", time_zone="America/Chicago", start_dt=start,
                            end_dt=start + timedelta(hours=3), venue_name="Northwestern Simulation Center",
                            city="Chicago", state="IL", capacity=1, organizers=[find_user_by_email(organizer)],
                            credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("3"))])
        db.session.add(activity)
        db.session.flush()
        registrations = [service.register(find_user_by_email(email), activity.id, service.Answers.from_profile(
            find_user_by_email(email), attested_professional=True)) for email in (holder, offered, waiting)]
        db.session.commit()
        service.cancel_registration(registrations[0], took_part=False)
        db.session.commit()
        ids = activity.id, registrations[1].id
        db.session.remove()
    return ids


def test_a_provider_accepts_a_seat_offer_from_my_schedule(browser: Browser, live_server, log_in, screenshot):
    live_server.create_user("offer.organizer@example.org", role="organizer", full_name="Olga Offers")
    live_server.create_user("offer.holder@example.org", full_name="Hana Holder")
    live_server.create_user("offer.paula@example.org", full_name="Paula Pereira")
    live_server.create_user("offer.next@example.org", full_name="Nico Next")
    activity_id, registration_id = meeting_with_an_offer(
        live_server, organizer="offer.organizer@example.org", holder="offer.holder@example.org",
        offered="offer.paula@example.org", waiting="offer.next@example.org")
    with live_server.app.app_context():
        registration = db.session.get(Registration, registration_id)
        deadline = format_local(registration.offer_deadline, "America/Chicago")
        db.session.remove()

    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, "offer.paula@example.org")
    page.goto("/my/schedule")
    card = page.locator(".schedule-item", has_text="Hepatic encephalopathy workshop")
    expect(card).to_contain_text("Offered a seat")
    expect(card).to_contain_text(f"A seat is held for you until {deadline}")
    expect(card.get_by_role("link", name="Decline")).to_be_visible()
    screenshot(page, "offer_my_schedule_1280")
    page.goto(f"/activities/{activity_id}")
    expect(page.locator(".register-box")).to_contain_text(f"A seat is held for you until {deadline}")
    screenshot(page, "offer_activity_page_1280")

    page.goto("/my/schedule")
    card.get_by_role("button", name="Accept the seat").click()
    expect(page.get_by_text("The seat is yours: you are registered for Browser: Hepatic encephalopathy workshop"))\
        .to_be_visible()
    expect(card.locator(".badge-confirmed")).to_have_text("Confirmed")
    expect(page.get_by_alt_text("Check-in QR code for Browser: Hepatic encephalopathy workshop")).to_be_visible()
    expect(card).not_to_contain_text("A seat is held for you")
    screenshot(page, "offer_accepted_1280")
    context.close()

    subjects = [m["Subject"] for m in live_server.mail_to("offer.paula@example.org")]
    assert subjects[-1] == "You are registered: Browser: Hepatic encephalopathy workshop"
    [accepted] = [m for m in live_server.smtp.messages if m["Subject"] == subjects[-1]
                  and m["To"].addresses[0].addr_spec == "offer.paula@example.org"]
    assert any(p.get_content_type() == "text/calendar" and p.get_param("method") == "REQUEST"
               for p in accepted.walk())
    assert "You accepted the seat held for you" in accepted.get_body(("plain",)).get_content()


def test_an_offer_and_its_pages_fit_a_phone(browser: Browser, live_server, log_in, screenshot):
    live_server.create_user("phone.organizer@example.org", role="organizer", full_name="Omar Organizer")
    live_server.create_user("phone.holder@example.org", full_name="Hugo Holder")
    live_server.create_user("phone.offered@example.org", full_name="Oona Offered-Longsurname")
    live_server.create_user("phone.next@example.org", full_name="Ned Next")
    activity_id, registration_id = meeting_with_an_offer(
        live_server, organizer="phone.organizer@example.org", holder="phone.holder@example.org",
        offered="phone.offered@example.org", waiting="phone.next@example.org")
    problems = {}
    for who, paths in (("phone.offered@example.org", ["/my/schedule", f"/activities/{activity_id}",
                                                       f"/my/registrations/{registration_id}/accept",
                                                       f"/my/registrations/{registration_id}/decline"]),
                       ("phone.organizer@example.org", [f"/organize/activities/{activity_id}/roster",
                                                        f"/organize/activities/{activity_id}/edit"])):
        context = browser.new_context(base_url=live_server.url, **PHONE)
        page = context.new_page()
        log_in(page, who)
        for path in paths:
            assert page.goto(path).status == 200, path
            if found := page.evaluate(WHAT_DOES_NOT_FIT):
                problems[path] = found
            screenshot(page, "offer_390" + path.replace("/", "_"))
        if who == "phone.offered@example.org":
            page.goto(f"/my/registrations/{registration_id}/accept")
            expect(page.get_by_role("button", name="Accept the seat")).to_be_in_viewport()
        else:
            page.goto(f"/organize/activities/{activity_id}/roster")
            row = page.locator("tr", has_text="Oona Offered-Longsurname")
            expect(row).to_contain_text("Offered a seat #1")
            expect(row.get_by_role("button", name="Confirm now")).to_be_visible()
        context.close()
    assert problems == {}
