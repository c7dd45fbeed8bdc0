"""First browser flows: sign up, log in, log out, password reset through real mail, a change of email address
through the link mailed to the new one, 403 for providers."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def _sign_up(page: Page, email: str, full_name: str) -> None:
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill("a good long password")
    page.get_by_label("Repeat password").fill("a good long password")
    page.get_by_label("Full name").fill(full_name)
    page.get_by_label("Degree / credentials").select_option("RN")
    page.get_by_label("Profession").select_option("nurse")
    page.get_by_label("Home time zone").select_option("America/Chicago")
    page.get_by_role("button", name="Create account").click()


def test_sign_up_then_log_in_then_log_out_then_log_in(page: Page, live_server):
    """Sign-up logs nobody in (it answers alike for a taken address): it says to check the inbox and leaves the
    visitor on the log-in page, where the password just chosen works."""
    _sign_up(page, "nina.nurse@example.org", "Nina Nurse")
    expect(page.get_by_text("check your inbox")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/account/login$"))
    [welcome] = live_server.mail_to("nina.nurse@example.org")
    assert welcome["Subject"] == "Your account is ready: confirm your email address"
    page.get_by_label("Email").fill("nina.nurse@example.org")
    page.get_by_label("Password").fill("a good long password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()
    expect(page.get_by_role("link", name="Nina Nurse")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()

    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill("nina.nurse@example.org")
    page.get_by_label("Password").fill("a good long password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()


def test_sign_up_with_a_taken_address_looks_the_same_and_mails_its_owner(page: Page, live_server):
    live_server.create_user("olga.owner@example.org", full_name="Olga Owner")
    _sign_up(page, "olga.owner@example.org", "Someone Else")
    expect(page.get_by_text("check your inbox")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/account/login$"))
    expect(page.get_by_role("link", name="Log in")).to_be_visible()  # nobody logged in
    [notice] = live_server.mail_to("olga.owner@example.org")
    assert notice["Subject"] == "Someone tried to sign up with your address"


def test_sign_up_errors_keep_what_was_typed(page: Page, live_server):
    page.goto("/account/signup")
    page.get_by_label("Email").fill("paul.pa@example.org")
    page.get_by_label("Password", exact=True).fill("a good long password")
    page.get_by_label("Repeat password").fill("a different password")
    page.get_by_label("Full name").fill("Paul Assistant")
    page.get_by_label("Degree / credentials").select_option("PA-C")
    page.get_by_label("NPI (optional)").fill("1234567890")
    page.get_by_role("button", name="Create account").click()
    summary = page.get_by_role("alert").filter(has_text="Please correct the highlighted fields.")
    expect(summary).to_be_focused()  # read out first, with a link to each field in trouble
    expect(page.locator(".field .error").filter(has_text="The passwords do not match.")).to_be_visible()
    expect(page.locator(".field .error").filter(has_text="This is not a valid NPI")).to_be_visible()
    summary.get_by_role("link", name="The passwords do not match.").click()
    expect(page.get_by_label("Repeat password")).to_be_focused()
    expect(page.get_by_label("Full name")).to_have_value("Paul Assistant")
    expect(page.get_by_label("Email")).to_have_value("paul.pa@example.org")
    expect(page.get_by_label("Degree / credentials")).to_have_value("PA-C")


def test_log_in_returns_to_the_page_that_asked(page: Page, live_server):
    live_server.create_user("rita@example.org", full_name="Rita Returning")
    page.goto("/my/credit")
    expect(page).to_have_url(re.compile(r"/account/login\?next="))
    page.get_by_label("Email").fill("rita@example.org")
    page.get_by_label("Password").fill("browser-pass-123")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/my/credit$"))
    expect(page.get_by_role("heading", name="My credit")).to_be_visible()


def test_reset_a_forgotten_password_through_the_mail_that_arrives(page: Page, live_server):
    live_server.create_user("forgetful@example.org", full_name="Fran Forgetful")
    page.goto("/account/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("forgetful@example.org")
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_text("a reset link is on its way")).to_be_visible()

    [mail] = live_server.mail_to("forgetful@example.org")
    link = re.search(r"https?://\S+/account/reset/\S+", mail.get_body(("plain",)).get_content()).group(0)
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("my brand new password")
    page.get_by_label("Repeat new password").fill("my brand new password")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_text("Your new password is set")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    page.goto("/account/login")
    page.get_by_label("Email").fill("forgetful@example.org")
    page.get_by_label("Password").fill("my brand new password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()

    page.goto(link)  # a used link is refused
    expect(page.get_by_text("already been used")).to_be_visible()


def _link_in(mail, path: str) -> str:
    return re.search(rf"https?://\S+{re.escape(path)}\S+", mail.get_body(("plain",)).get_content()).group(0)


def test_change_the_email_address_through_the_link_mailed_to_the_new_one(page: Page, live_server, log_in):
    live_server.create_user("mover@example.org", full_name="Mo Mover")
    log_in(page, "mover@example.org")
    page.get_by_role("link", name="Mo Mover").click()
    expect(page.get_by_text("mover@example.org", exact=True)).to_be_visible()
    page.get_by_role("link", name="Change your email address").click()
    page.get_by_label("New email address").fill("mo.moved@example.org")
    page.get_by_label("Current password").fill("not the password")
    page.get_by_role("button", name="Send the confirmation link").click()
    expect(page.locator(".field .error").filter(has_text="Your current password is not correct.")).to_be_visible()
    expect(page.get_by_label("New email address")).to_have_value("mo.moved@example.org")
    page.get_by_label("Current password").fill("browser-pass-123")
    page.get_by_role("button", name="Send the confirmation link").click()
    expect(page.get_by_text("We sent a link to mo.moved@example.org")).to_be_visible()
    expect(page.get_by_text("A change to mo.moved@example.org is waiting")).to_be_visible()

    [notice] = live_server.mail_to("mover@example.org")
    assert notice["Subject"] == "A change of your email address was asked for"
    [confirm] = live_server.mail_to("mo.moved@example.org")
    page.goto(_link_in(confirm, "/account/email/confirm/"))
    expect(page.get_by_text("to mo.moved@example.org?")).to_be_visible()
    page.get_by_role("button", name="Yes, change my address").click()
    expect(page.get_by_text("Your email address is now mo.moved@example.org")).to_be_visible()
    expect(page.get_by_text("Confirmed", exact=True)).to_be_visible()
    [_, changed] = live_server.mail_to("mover@example.org")
    assert changed["Subject"] == "Your email address was changed"

    page.get_by_role("button", name="Log out", exact=True).click()
    log_in(page, "mo.moved@example.org")


def test_a_new_account_confirms_its_address_before_registering(page: Page, live_server, log_in):
    _sign_up(page, "vera.new@example.org", "Vera Verify")
    log_in(page, "vera.new@example.org", "a good long password")
    page.goto("/account/profile")
    expect(page.get_by_text("Not confirmed yet")).to_be_visible()
    page.get_by_role("button", name="Send the link again").click()
    expect(page.get_by_text("A new link is on its way to vera.new@example.org")).to_be_visible()
    welcome, again = live_server.mail_to("vera.new@example.org")
    page.goto(_link_in(again, "/account/verify/"))
    page.get_by_role("button", name="Yes, this is my address").click()
    expect(page.get_by_text("your email address is confirmed")).to_be_visible()
    page.goto(_link_in(welcome, "/account/verify/"))  # the first link too: nothing more to do
    expect(page.get_by_text("Your email address is already confirmed.")).to_be_visible()


def test_a_provider_gets_403_on_an_organizer_page(page: Page, live_server):
    live_server.create_user("plain.provider@example.org")
    page.goto("/account/login")
    page.get_by_label("Email").fill("plain.provider@example.org")
    page.get_by_label("Password").fill("browser-pass-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Organize")).to_have_count(0)
    response = page.goto("/organize/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
