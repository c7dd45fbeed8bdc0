"""Data rights in a browser (issue 13, point 8): a learner downloads their data and closes their account from the
profile; afterwards the account cannot log in."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_a_learner_downloads_their_data_then_closes_their_account(page: Page, live_server, log_in):
    live_server.create_user("leaving.learner@example.org", full_name="Lena Leaving")
    log_in(page, "leaving.learner@example.org")
    page.goto("/account/profile")
    page.get_by_role("link", name="Download your data").click()
    page.get_by_label("Your password").fill("browser-pass-123")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download my data").click()
    download = info.value
    assert re.fullmatch(r"my-cme-data-\d{4}-\d{2}-\d{2}\.json", download.suggested_filename)
    data = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert data["profile"]["email"] == "leaving.learner@example.org"

    page.goto("/account/profile")
    page.get_by_role("link", name="Close your account").click()
    expect(page.get_by_role("heading", name="Kept for 6 years, because accreditation requires it")).to_be_visible()
    page.get_by_label("Your password").fill("browser-pass-123")
    page.get_by_role("button", name="Close my account").click()
    expect(page.locator(".field .error").filter(has_text="Tick this box")).to_be_visible()
    page.get_by_label("Your password").fill("browser-pass-123")
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Close my account").click()
    expect(page.get_by_text("Your account is closed.")).to_be_visible()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()

    page.goto("/account/login")
    page.get_by_label("Email").fill("leaving.learner@example.org")
    page.get_by_label("Password").fill("browser-pass-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".field .error").filter(has_text="The email or password is not correct.")).to_be_visible()
