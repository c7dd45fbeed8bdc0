"""Issue 14, point 14, in the browser: a provider sees the overlap warning (the other activity and its local times)
on the activity page and the registration form, and still registers; anyone checks a certificate through the code
box reached from the footer; the help page, linked from every role's footer, reads well and fits a phone."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from cme.demo import ADMIN_EMAIL, DEMO_PASSWORD, ORGANIZER_EMAIL, PROVIDER_EMAIL
from cme.extensions import db
from cme.timeutil import local_to_utc, now_utc
from tests.helpers import WHAT_DOES_NOT_FIT

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
SHOTS = Path(__file__).parent / "screenshots"


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/account/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()


def two_meetings_at_once(live_server, email: str) -> tuple[int, int]:
    """A New York morning meeting the provider is registered for, and a Chicago one that overlaps it (10:00-11:30
    Central is 11:00 AM-12:30 PM Eastern)."""
    from cme.accounts.service import find_user_by_email
    from cme.activities.models import Activity, CreditDesignation
    from cme.registration import service

    day = (now_utc() + timedelta(days=20)).date()

    def meeting(title: str, zone_name: str, start: float, end: float, city: str, state: str) -> Activity:
        base = datetime(day.year, day.month, day.day)
        return Activity(title=title, format="live_meeting", status="published", time_zone=zone_name,
                        start_dt=local_to_utc(base + timedelta(hours=start), zone_name),
                        end_dt=local_to_utc(base + timedelta(hours=end), zone_name), venue_name="Convention Center",
                        city=city, state=state, capacity=50,
                        credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("1.5"))])

    with live_server.app.app_context():
        registered = meeting("Browser: Hepatitis B in pregnancy", "America/New_York", 9, 12, "New York", "NY")
        other = meeting("Browser: Portal hypertension workshop", "America/Chicago", 10, 11.5, "Chicago", "IL")
        db.session.add_all([registered, other])
        db.session.flush()
        user = find_user_by_email(email)
        service.register(user, registered.id, service.Answers.from_profile(user, attested_professional=True))
        db.session.commit()
        ids = registered.id, other.id
        db.session.remove()
    return ids


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_overlap_is_named_before_registering_and_registering_still_works(browser: Browser, live_server, viewport):
    email = f"overlap.{viewport}@example.org"
    live_server.create_user(email, full_name="Olive Overlap")
    registered_id, other_id = two_meetings_at_once(live_server, email)
    context = browser.new_context(base_url=live_server.url, **(PHONE if viewport == "phone" else DESKTOP))
    page = context.new_page()
    log_in(page, email, "browser-pass-123")

    page.goto(f"/activities/{other_id}")
    warning = page.locator(".register-box .overlap-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("This activity overlaps one you are registered for.")
    expect(warning.get_by_role("link", name="Browser: Hepatitis B in pregnancy")).to_have_attribute(
        "href", f"/activities/{registered_id}")
    expect(warning).to_contain_text("9:00 AM – 12:00 PM E")  # its own (Eastern) times
    assert page.evaluate(WHAT_DOES_NOT_FIT) == []
    shoot(page, f"overlap_activity_page_{viewport}")

    page.locator(".register-box").get_by_role("link", name="Register").click()
    expect(page.get_by_role("heading", name="Register")).to_be_visible()
    expect(page.locator(".overlap-warning")).to_contain_text("Browser: Hepatitis B in pregnancy")
    assert page.evaluate(WHAT_DOES_NOT_FIT) == []
    shoot(page, f"overlap_register_form_{viewport}")
    page.get_by_label("I am a licensed healthcare professional").check()
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text("You are registered for Browser: Portal hypertension workshop")).to_be_visible()
    context.close()


def _demo_certificate_code(demo_server) -> str:
    from cme.accounts.models import User
    from cme.certificates.models import Certificate

    with demo_server.app.app_context():
        code = db.session.scalar(select(Certificate.verification_code).join(User, User.id == Certificate.user_id)
                                 .where(User.email == PROVIDER_EMAIL, Certificate.superseded_dt.is_(None)))
        db.session.remove()
    return code


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_anyone_verifies_a_certificate_from_the_code_box_in_the_footer(browser: Browser, demo_server, viewport):
    code = _demo_certificate_code(demo_server)
    context = browser.new_context(base_url=demo_server.url, **(PHONE if viewport == "phone" else DESKTOP))
    page = context.new_page()
    page.goto("/")
    page.locator("footer").get_by_role("link", name="Verify a certificate").click()
    expect(page.get_by_role("heading", name="Verify a certificate")).to_be_visible()
    assert page.evaluate(WHAT_DOES_NOT_FIT) == []
    shoot(page, f"verify_box_{viewport}")

    # A mistyped code: the error summary takes the focus and the field keeps what was typed.
    page.get_by_label("Verification code").fill("abcd-efgh-jkmn-pqrs-tuvw")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#code-error")).to_have_text("No certificate has this code. Check it against the 20 letters "
                                                     "and digits under the QR code on the certificate.")
    expect(page.get_by_label("Verification code")).to_have_value("abcd-efgh-jkmn-pqrs-tuvw")
    assert page.evaluate(WHAT_DOES_NOT_FIT) == []
    shoot(page, f"verify_box_unknown_{viewport}")

    # The right code, typed in lower case in groups of five.
    page.get_by_label("Verification code").fill(" ".join(code[i:i + 5] for i in range(0, 20, 5)).lower())
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{demo_server.url}/verify/{code}")
    expect(page.get_by_text("Valid.")).to_be_visible()
    shoot(page, f"verify_certificate_{viewport}")
    page.get_by_role("link", name="Verify another certificate").click()
    expect(page.get_by_label("Verification code")).to_be_visible()

    # An address with a wrong code offers the box again, with what was asked.
    assert page.goto("/verify/ABCDEFGHJKMNPQRSTUVW").status == 404
    expect(page.get_by_label("Verification code")).to_have_value("ABCDEFGHJKMNPQRSTUVW")
    assert page.evaluate(WHAT_DOES_NOT_FIT) == []
    shoot(page, f"verify_not_found_{viewport}")
    context.close()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_help_page_is_in_every_roles_footer_and_fits_the_screen(browser: Browser, demo_server, viewport):
    pages = {None: "/activities/", PROVIDER_EMAIL: "/my/credit", ORGANIZER_EMAIL: "/organize/",
             ADMIN_EMAIL: "/admin/users"}
    for who, start in pages.items():
        context = browser.new_context(base_url=demo_server.url, **(PHONE if viewport == "phone" else DESKTOP))
        page = context.new_page()
        if who:
            log_in(page, who, DEMO_PASSWORD)
        page.goto(start)
        page.locator("footer").get_by_role("link", name="Help: how credit works").click()
        expect(page.get_by_role("heading", name="Help: how credit works", level=1)).to_be_visible()
        expect(page.locator(".credit-type")).to_have_count(6)
        expect(page.locator("#credit-ancc")).to_contain_text("Nurse practitioner")
        assert page.evaluate(WHAT_DOES_NOT_FIT) == []
        if who is None:
            shoot(page, f"help_page_{viewport}")
        context.close()
