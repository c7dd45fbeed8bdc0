"""Browser harness: the app served on a free loopback port with a fresh, migrated SQLite database and a
real SMTP server, driven through Playwright in Debian's headless Chromium."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

from cme import create_app
from cme.extensions import db
from tests.helpers import RecordingHandler, base_config, free_port, migrate_database

CHROMIUM = os.environ.get("CME_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@dataclass
class LiveServer:
    app: Flask
    url: str
    smtp: RecordingHandler

    def mail_to(self, address: str):
        """Deliver the outbox (as `flask cme send-mail` does) and return the messages that reached `address`."""
        from cme.mail.service import deliver_pending

        with self.app.app_context():
            deliver_pending()
            db.session.remove()
        return [m for m in self.smtp.messages if any(a.addr_spec == address for a in m["To"].addresses)]

    def create_user(self, email: str, password: str = "browser-pass-123", **fields):
        from cme.accounts.service import create_user

        with self.app.app_context():
            fields.setdefault("full_name", "Browser User")
            fields.setdefault("degree", "MD")
            user = create_user(email, password, **fields)
            db.session.commit()
            user_id = user.id
            db.session.remove()
        return user_id


def _log_in(page: Page, email: str, password: str = "browser-pass-123") -> None:
    page.goto("/account/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()


@pytest.fixture
def log_in() -> Callable[..., None]:
    """log_in(page, email, password="browser-pass-123"): through the login form, as a person would."""
    return _log_in


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    """screenshot(page, name): a full-page screenshot under tests/browser/screenshots/."""

    def take(page: Page, name: str) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take


def _serve(instance: Path, seed: Callable[[], object] | None = None) -> Iterator[LiveServer]:
    """The app on a free loopback port over a fresh, migrated SQLite database (after `seed()`, if given, in an app
    context), with a real SMTP server."""
    database_url = f"sqlite:///{instance / 'browser.sqlite3'}"
    migrate_database(database_url, instance)

    handler = RecordingHandler()
    smtp_port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()

    port = free_port()
    app = create_app(base_config(
        database_url, instance, WTF_CSRF_ENABLED=True, TESTING=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_port,
        CME_BASE_URL=f"http://127.0.0.1:{port}",
    ))
    if seed is not None:
        with app.app_context():
            seed()
            db.session.commit()
            db.session.remove()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app=app, url=f"http://127.0.0.1:{port}", smtp=handler)
    server.shutdown()
    thread.join()
    controller.stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    yield from _serve(tmp_path_factory.mktemp("browser-instance"))


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory) -> Iterator[LiveServer]:
    """A second live server whose database holds the demo (`make run`'s data: every kind of page with content);
    its accounts log in with cme.demo.DEMO_PASSWORD."""
    from cme.demo import seed_demo

    yield from _serve(tmp_path_factory.mktemp("browser-demo"), seed=seed_demo)


@pytest.fixture(scope="module")
def own_demo_server(tmp_path_factory) -> Iterator[LiveServer]:
    """A demo server of the module's own, for a module whose tests change the demo's data (the shared `demo_server`
    stays as `make run` seeds it)."""
    from cme.demo import seed_demo

    yield from _serve(tmp_path_factory.mktemp("browser-own-demo"), seed=seed_demo)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def close_contexts_the_test_left_open(request) -> Iterator[None]:
    """Close every browser context a test opened and left open: its pages would live on for the rest of the run
    (one kept a renderer and the GPU process busy through all the tests after it)."""
    if "browser" not in request.fixturenames:
        yield
        return
    browser = request.getfixturevalue("browser")
    before = set(browser.contexts)
    yield
    for context in browser.contexts:
        if context not in before:
            context.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, request) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()
