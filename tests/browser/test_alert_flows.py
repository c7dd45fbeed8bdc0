"""New-activity alerts in a browser (issue 14, point 14): a learner filters the catalog, asks to be told of new
activities like these, manages the alert (a twin refused with the error summary focused, renamed, turned off and
on, deleted); the weekly digest as Chromium shows it on a phone and a desktop; and its unsubscribe link opened
without logging in, which asks first and then turns the alerts off. Each page is looked at at 1280 and 390 px."""
from __future__ import annotations

import os
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from cme.accounts.service import create_user
from cme.activities.models import Activity, CreditDesignation
from cme.alerts.models import ActivityAlert
from cme.alerts.digest import send_digests
from cme.alerts.service import AlertFilters, create_alert
from cme.extensions import db
from cme.timeutil import now_utc
from tests.helpers import WHAT_DOES_NOT_FIT

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("CME_SHOTS", "/tmp/shots/i14-alerts"))
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def fits(page: Page) -> list[str]:
    return page.evaluate(WHAT_DOES_NOT_FIT)


def test_a_learner_turns_catalog_filters_into_an_alert_and_manages_it(browser: Browser, live_server, log_in):
    live_server.create_user("alert.learner@example.org", full_name="Alma Alert", specialty="Hepatology")
    for name, options in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(10_000)
        page = context.new_page()
        log_in(page, "alert.learner@example.org")
        page.goto("/activities/")
        page.get_by_label("Specialty or topic").select_option("Oncology")
        page.get_by_label("Format").select_option("webcast")
        page.get_by_role("button", name="Apply filters").click()
        offer = page.get_by_role("link", name="Notify me of new activities like these")
        expect(offer).to_be_visible()
        assert fits(page) == []
        shoot(page, f"catalog-{name}")
        offer.click()

        expect(page.get_by_role("heading", name="Notify me of new activities")).to_be_visible()
        expect(page.get_by_label("Specialty or topic")).to_have_value("Oncology")
        expect(page.get_by_label("Format")).to_have_value("webcast")
        expect(page.get_by_label("Name of this alert (optional)")).to_have_attribute("placeholder",
                                                                                       "Oncology · All webcasts")
        assert fits(page) == []
        shoot(page, f"alert-form-{name}")
        page.get_by_role("button", name="Save alert").click()
        expect(page.get_by_text("Alert saved: “Oncology · All webcasts”")).to_be_visible()
        item = page.locator(".alert-item").filter(has_text="Oncology · All webcasts")
        expect(item).to_contain_text("Next digest:")
        expect(item.locator(".badge")).to_have_text("On")

        # The same filters again: refused beside the field, the summary focused (the page does not jump to the top).
        page.get_by_role("link", name="New alert").click()
        page.get_by_label("Specialty or topic").select_option("Oncology")
        page.get_by_label("Format").select_option("webcast")
        page.get_by_role("button", name="Save alert").click()
        expect(page.locator("#error-summary")).to_be_focused()
        expect(page.locator("#specialty-error")).to_contain_text("You already have an alert for these filters")
        expect(page.get_by_label("Specialty or topic")).to_have_value("Oncology")  # what was chosen stays
        assert fits(page) == []
        shoot(page, f"alert-form-error-{name}")
        page.get_by_role("link", name="Cancel").click()

        item.get_by_role("link", name="Edit").click()
        page.get_by_label("Name of this alert (optional)").fill("Cancer webcasts")
        page.get_by_role("button", name="Save alert").click()
        renamed = page.locator(".alert-item").filter(has_text="Cancer webcasts")
        expect(renamed).to_contain_text("Oncology · All webcasts")
        renamed.get_by_role("button", name="Turn off").click()
        expect(renamed.locator(".badge")).to_have_text("Off")
        expect(renamed).to_contain_text("Off since")
        assert fits(page) == []
        shoot(page, f"alerts-page-{name}")
        renamed.get_by_role("button", name="Turn on").click()
        expect(renamed.locator(".badge")).to_have_text("On")

        page.once("dialog", lambda dialog: dialog.accept())
        renamed.get_by_role("button", name="Delete").click()
        expect(page.get_by_text("Alert deleted: “Cancer webcasts”.")).to_be_visible()
        expect(page.get_by_text("You have no alerts yet.")).to_be_visible()
        shoot(page, f"alerts-empty-{name}")
        page.goto("/account/profile")
        expect(page.get_by_role("heading", name="New-activity alerts")).to_be_visible()
        shoot(page, f"profile-{name}")
        page.get_by_role("link", name="Your alerts").click()
        expect(page).to_have_url(re.compile(r"/alerts/$"))
        context.close()


def _digest_for(live_server, email: str) -> tuple[int, list[int]]:
    """An account with two alerts a week old, and activities published since that match them; the digests run."""
    now = now_utc().replace(microsecond=0)
    with live_server.app.app_context():
        user = create_user(email, "browser-pass-123", full_name="Dora Digest", degree="MD")
        alerts = [create_alert(user, AlertFilters(specialty="Hepatology"), now=now - timedelta(days=8)),
                  create_alert(user, AlertFilters(format="webcast", q="cirrhosis",
                                                  name="Cirrhosis webcasts for the whole care team"),
                               now=now - timedelta(days=8))]
        start = now + timedelta(days=21)
        made = [
            Activity(title="Hepatocellular Carcinoma Surveillance, Staging and Multidisciplinary Treatment in "
                           "Cirrhosis: Regional Update", format="live_meeting", specialty="Hepatology",
                     venue_name="Hudson Conference Center, Grand Ballroom", city="New York", state="NY", capacity=120),
            Activity(title="Cirrhosis Care in Primary Practice", format="on_demand_webcast", specialty="Hepatology",
                     topics="cirrhosis"),
            Activity(title="Portal Hypertension and Cirrhosis: Live Case Review", format="live_webcast",
                     topics="cirrhosis"),
        ]
        for n, activity in enumerate(made):
            activity.status, activity.time_zone, activity.published_dt = "published", "America/Chicago", now
            activity.start_dt = start + timedelta(days=n)
            activity.end_dt = activity.start_dt + timedelta(days=60 if activity.is_on_demand else 0, hours=4)
            activity.credit_designations = [CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("4")),
                                            CreditDesignation(credit_type="abim_moc", max_amount=Decimal("4"))]
            db.session.add(activity)
        db.session.commit()
        send_digests(now=now + timedelta(minutes=1))
        user_id, alert_ids = user.id, [a.id for a in alerts]
        db.session.remove()
    return user_id, alert_ids


def test_the_digest_reads_well_and_its_link_stops_the_alerts_without_logging_in(browser: Browser, live_server):
    _, alert_ids = _digest_for(live_server, "digest.reader@example.org")
    [message] = live_server.mail_to("digest.reader@example.org")
    assert str(message["Subject"]) == "3 new activities for your 2 alerts"
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    stop_all = re.fullmatch(r"<(.+)>", str(message["List-Unsubscribe"]))[1]
    html = message.get_body(("html",)).get_content()

    for name, options in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(**options)
        page = context.new_page()
        page.set_content(html)
        assert fits(page) == []
        expect(page.get_by_role("heading", name="Cirrhosis webcasts for the whole care team")).to_be_visible()
        expect(page.get_by_role("link", name="Stop this alert")).to_have_count(2)
        shoot(page, f"digest-mail-{name}")
        context.close()

    # The link from the mail, in a browser that is not logged in: GET asks, the button does it.
    for name, options in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(**options)
        page = context.new_page()
        page.goto(stop_all)
        expect(page.get_by_role("heading", name="Stop these alerts?")).to_be_visible()
        expect(page.get_by_text("Cirrhosis webcasts for the whole care team")).to_be_visible()
        assert fits(page) == []
        shoot(page, f"unsubscribe-ask-{name}")
        context.close()
    with live_server.app.app_context():
        assert all(db.session.get(ActivityAlert, i).is_on for i in alert_ids)  # GET changed nothing
        db.session.remove()

    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(stop_all)
    page.get_by_role("button", name="Stop these alerts").click()
    expect(page.get_by_role("heading", name="Alerts turned off")).to_be_visible()
    assert fits(page) == []
    shoot(page, "unsubscribe-done-phone")
    page.goto(stop_all)
    expect(page.get_by_role("heading", name="These alerts are already off")).to_be_visible()
    page.goto(stop_all[:-4] + "AAAA")
    expect(page.get_by_role("heading", name="This link is not valid")).to_be_visible()
    shoot(page, "unsubscribe-invalid-phone")
    context.close()
    with live_server.app.app_context():
        assert not any(db.session.get(ActivityAlert, i).is_on for i in alert_ids)
        db.session.remove()
