"""Every page valid and accessible (issue 14, point 17), checked by real checkers over the pages as served, not by
reading templates: every GET route of the URL map over the demo data (tests.helpers.get_urls), for an anonymous
visitor, the provider, the organizer and the admin (a page whose content another visitor already had checked is
checked once), and each form with a field to fill submitted empty once, so that its error state (summary, field
errors) is checked too.

- axe-core (tests/js/node_modules/axe-core, installed by `make test`) runs in Chromium on each page at 1280 px, and
  its rules that follow the layout (contrast, scrolling regions) again at a phone's 390 px: no violation of WCAG 2.0
  and 2.1, A and AA.
- The Nu Html Checker (vnu.jar from npm's vnu-jar, run with Java) validates the HTML the server sent for all those
  pages in one call: no error (duplicate ids, stray end tags, labels for missing controls, bad nesting...) and no
  warning (a section without a heading...).
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from cme.demo import ADMIN_EMAIL, DEMO_PASSWORD, ORGANIZER_EMAIL, PROVIDER_EMAIL
from cme.security import CONTENT_SECURITY_POLICY
from tests.helpers import get_urls

pytestmark = pytest.mark.browser

NODE_MODULES = Path(__file__).resolve().parent.parent / "js" / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
VNU = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
ROLES = {"anonymous": None, "provider": PROVIDER_EMAIL, "organizer": ORGANIZER_EMAIL, "admin": ADMIN_EMAIL}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
RUN_AXE = "options => axe.run(document, options)"
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"], "iframes": False}
# At a phone's width, the rules whose outcome follows the layout: contrast (colours set per width, text over what
# moves), regions that start to scroll sideways (a wide table) and links told apart from text.
PHONE_RULES = ["color-contrast", "scrollable-region-focusable", "link-in-text-block"]
AXE_AT = {"desktop": AXE_OPTIONS, "phone": {**AXE_OPTIONS, "runOnly": {"type": "rule", "values": PHONE_RULES}}}
FILE = re.compile(r"\.(pdf|ics|csv|svg|css|js|png)$")
# What differs between two visitors' copies of one page: the header (their name, their menu) and the CSRF tokens.
CSRF = re.compile(rb'<input[^>]* name="csrf_token"[^>]*>')
HEADER = re.compile(rb'<header class="site-header">.*?</header>', re.S)
# Empty every field of the form-th form (checkboxes and radios unticked, a select on its empty option when it has
# one), skip the browser's own validation (the server's is what is checked) and submit it.
SUBMIT_EMPTY = """index => {
  const form = document.querySelectorAll('form')[index];
  form.noValidate = true;
  for (const el of form.elements) {
    if (['hidden', 'submit', 'button', 'reset'].includes(el.type) || el.tagName === 'BUTTON') continue;
    if (el.type === 'checkbox' || el.type === 'radio') el.checked = false;
    else if (el.tagName === 'SELECT') { if ([...el.options].some(o => o.value === '')) el.value = ''; }
    else el.value = '';
  }
  form.requestSubmit();
}"""
# The forms a person fills in (a post with a field to fill or tick), as [index, action]; buttons alone are not
# submitted, and neither is a form whose empty answer is a valid one (EMPTY_IS_AN_ANSWER).
FORMS_TO_FILL = """() => [...document.querySelectorAll('form')].map((form, index) => [index, form.action, form])
  .filter(([, , form]) => form.method === 'post' && [...form.elements].some(el =>
    ['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName) && !['hidden', 'submit', 'button', 'reset'].includes(el.type)))
  .map(([i, action]) => [i, action])"""
EMPTY_IS_AN_ANSWER = {
    "admin.change_role": "a choice among roles, none of them empty",
    "organize.set_acpe_uan": "an empty number removes the activity's ACPE number",
    "alerts.new": "an alert without filters tells of every new activity (its name is optional)",
    "alerts.edit": "an alert without filters tells of every new activity (its name is optional)",
    "materials.edit": "every field of a file's card may stay as it is (a blank title takes the file's name)",
    "reporting_data.page": "every reporting field is optional until an export needs it (the exports say which)",
    "reporting.tracking_number": "an empty CE Broker tracking number removes it",
}


@dataclass
class Sweep:
    pages: dict[str, list[str]] = field(default_factory=dict)  # role -> "GET url" and "POST url (empty)" checked
    violations: list[dict] = field(default_factory=list)  # axe's, one per rule per page and width
    documents: dict[Path, str] = field(default_factory=dict)  # HTML as served -> "role GET url"
    without_summary: list[str] = field(default_factory=list)  # forms submitted empty that showed no error summary
    forms: set[str] = field(default_factory=set)  # the endpoints whose form was submitted empty (once, by one role)
    contents: set[bytes] = field(default_factory=set)  # digests of the pages checked, their headers apart
    seconds: float = 0.0
    spent: Counter = field(default_factory=Counter)  # seconds per step, for the record


def _axe(page: Page, role: str, what: str, sweep: Sweep) -> None:
    """axe-core (loaded into every page of the context) at both widths on the page as it stands: first at the width
    the page has, then at the other one (one resize per page)."""
    first = "phone" if page.viewport_size["width"] == WIDTHS["phone"]["width"] else "desktop"
    for width in (first, "desktop" if first == "phone" else "phone"):
        if width != first:
            page.set_viewport_size(WIDTHS[width])
        started = time.monotonic()
        found = page.evaluate(RUN_AXE, AXE_AT[width])["violations"]
        sweep.spent[f"axe {width}"] += time.monotonic() - started
        for violation in found:
            sweep.violations.append({
                "rule": violation["id"], "impact": violation["impact"], "where": f"{role} {what} at {width}",
                "help": violation["help"],
                "nodes": [" ".join(node["target"]) + ": " + node["failureSummary"].replace("\n", " ")
                          for node in violation["nodes"][:5]]})


def _keep(body: bytes, role: str, what: str, folder: Path, sweep: Sweep) -> None:
    path = folder / f"{len(sweep.documents):04}-{role}.html"
    path.write_bytes(body)
    sweep.documents[path] = f"{role} {what}"


def _context(browser: Browser, base_url: str) -> BrowserContext:
    """A browser context at desktop width whose every page has axe-core loaded (an init script, which the pages'
    Content-Security-Policy does not stop: the pages run under their real policy)."""
    context = browser.new_context(base_url=base_url, viewport=WIDTHS["desktop"])
    context.set_default_timeout(20_000)
    context.add_init_script(path=str(AXE))
    return context


def _sweep_role(browser: Browser, server, urls: list[str], role: str, email: str | None, folder: Path,
                sweep: Sweep) -> None:
    context = _context(browser, server.url)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # a form that asks "are you sure?" first
    if email:
        page.goto("/account/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_text("You are logged in.")).to_be_visible()
    checked = sweep.pages.setdefault(role, [])
    seen_pages: set[str] = set()
    header_checked = False
    forms: dict[str, tuple[str, int]] = {}  # endpoint posted to -> (page, form index), for the forms not yet seen
    adapter = server.app.url_map.bind("127.0.0.1")
    for url in urls:
        if FILE.search(urlsplit(url).path):
            continue  # a calendar, a PDF, a CSV, a stylesheet: not a page
        started = time.monotonic()
        response = context.request.get(url)  # follows redirects (to the login page, say); the cookies are the page's
        sweep.spent["request"] += time.monotonic() - started
        final = response.url.removeprefix(server.url).split("#")[0]
        if final != url and urlsplit(final).path == "/account/login":
            final = "/account/login"  # sent to log in: the page once, whatever it would return to
        if final in seen_pages or not response.headers.get("content-type", "").startswith("text/html"):
            continue
        seen_pages.add(final)
        body = response.body()
        digest = hashlib.sha256(CSRF.sub(b"", HEADER.sub(b"", body))).digest()
        if digest in sweep.contents and header_checked:
            continue  # seen under another address (the same 404 page) or by another visitor, with another header
        sweep.contents.add(digest)
        header_checked = True
        _keep(body, role, f"GET {final}", folder, sweep)
        started = time.monotonic()
        page.goto(final)
        sweep.spent["load"] += time.monotonic() - started
        _axe(page, role, f"GET {final}", sweep)
        checked.append(f"GET {final}")
        for index, action in page.evaluate(FORMS_TO_FILL):
            endpoint = adapter.match(urlsplit(action).path, method="POST")[0]
            if endpoint not in sweep.forms and endpoint not in EMPTY_IS_AN_ANSWER:
                forms.setdefault(endpoint, (final, index))
    started = time.monotonic()
    for endpoint, (url, index) in sorted(forms.items()):
        sweep.forms.add(endpoint)
        page.goto(url)
        with page.expect_navigation() as navigation:
            page.evaluate(SUBMIT_EMPTY, index)
        response = navigation.value
        body = response.body()
        what = f"POST {endpoint} (empty, from {url})"
        if b'id="error-summary"' not in body:
            sweep.without_summary.append(f"{role} {what}: {response.status} {response.url}")
            continue
        _keep(body, role, what, folder, sweep)
        _axe(page, role, what, sweep)
        checked.append(what)
    sweep.spent["forms"] += time.monotonic() - started
    context.close()


def _a_meeting_to_evaluate(app) -> int:
    """The demo's provider has evaluated every activity they attended: one more ended meeting of the demo organizer's,
    which the provider attended (registered and checked in through the services), so that the evaluation form's
    error state is checked too."""
    from datetime import datetime, timedelta, timezone
    from decimal import Decimal

    from cme.accounts.service import find_user_by_email
    from cme.activities.models import Activity, CreditDesignation, Faculty
    from cme.attendance.service import check_in
    from cme.extensions import db
    from cme.registration.service import Answers, register

    start = datetime.now(timezone.utc).replace(microsecond=0, second=0, minute=0) - timedelta(days=2)
    with app.app_context():
        organizer, provider = find_user_by_email(ORGANIZER_EMAIL), find_user_by_email(PROVIDER_EMAIL)
        meeting = Activity(title="Portal Hypertension Update", format="live_meeting", status="published",
                           time_zone="America/Chicago", start_dt=start, end_dt=start + timedelta(hours=6),
                           venue_name="Palmer House", city="Chicago", state="IL", organizers=[organizer],
                           faculty=[Faculty(full_name="Pat Speaker", role="faculty", disclosure_received_dt=start)],
                           credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("6"))])
        db.session.add(meeting)
        db.session.commit()
        registration = register(provider, meeting.id, Answers.from_profile(provider, attested_professional=True),
                                by_organizer=True, now=start - timedelta(days=1))
        check_in(registration, by=organizer, now=start)
        db.session.commit()
        meeting_id = meeting.id
        db.session.remove()
    return meeting_id


@pytest.fixture(scope="module")
def sweep(browser: Browser, own_demo_server, tmp_path_factory) -> Sweep:
    """Every page of every role through axe; the HTML kept for the validator."""
    if not AXE.exists() or not VNU.exists():
        pytest.fail("tests/js/node_modules lacks axe-core or vnu-jar: run `make test` (npm ci in tests/js).")
    result = Sweep()
    started = time.monotonic()
    urls = get_urls(own_demo_server.app) + [f"/activities/{_a_meeting_to_evaluate(own_demo_server.app)}/evaluation"]
    result.spent["urls"] = time.monotonic() - started
    folder = tmp_path_factory.mktemp("served-html")
    for role, email in ROLES.items():
        _sweep_role(browser, own_demo_server, urls, role, email, folder, result)
    result.seconds = time.monotonic() - started
    return result


def _by_rule(violations: list[dict]) -> str:
    counts = Counter(v["rule"] for v in violations)
    return ", ".join(f"{rule} {n}" for rule, n in counts.most_common())


def _vnu(paths: list[Path]) -> list[dict]:
    """The Nu Html Checker's errors and warnings over these files, in one Java process."""
    java = shutil.which("java")
    if java is None:
        pytest.fail("The HTML validator needs Java: `make test` installs default-jre-headless with apt-get.")
    result = subprocess.run([java, "-jar", str(VNU), "--format", "json", "--stdout", *map(str, paths)],
                            capture_output=True, timeout=600)
    if not result.stdout:
        pytest.fail(f"vnu.jar answered nothing: {result.stderr.decode(errors='replace')}")
    messages = json.loads(result.stdout)["messages"]
    return [m for m in messages if m["type"] in ("error", "non-document-error") or m.get("subType") == "warning"]


def test_the_sweep_reaches_every_role_and_the_error_state_of_their_forms(sweep: Sweep):
    counts = {role: len(pages) for role, pages in sweep.pages.items()}
    print(f"\npages checked per role (GET, and forms submitted empty): {counts}; "
          f"{len(sweep.documents)} documents in {sweep.seconds:.1f} s ({dict(sweep.spent)})")
    assert set(counts) == set(ROLES)
    assert all(counts.values())
    submitted = {page.split(" (")[0].removeprefix("POST ") for pages in sweep.pages.values() for page in pages
                 if page.startswith("POST")}
    assert {"accounts.login", "accounts.signup", "accounts.request_reset", "registration.register",
            "accounts.profile", "credit.evaluation", "credit.claim", "organize.create", "organize.edit",
            "organize.add_session", "attendance.checkin_walk_in", "registration.roster_add"} <= submitted
    assert sweep.without_summary == []  # a form submitted empty comes back with its error summary


def test_no_page_of_any_role_breaks_wcag_21_aa_at_desktop_or_phone_width(sweep: Sweep):
    assert sweep.violations == [], f"{len(sweep.violations)} axe violations ({_by_rule(sweep.violations)}):\n" + \
        "\n".join(f"{v['where']}: {v['rule']} ({v['impact']}) {v['help']}: {v['nodes']}" for v in sweep.violations)


def test_every_page_as_served_is_valid_html(sweep: Sweep):
    errors = _vnu(sorted(sweep.documents))
    grouped: dict[str, list[str]] = {}
    for error in errors:
        extract = " ".join(error.get("extract", "").split())
        where = f"{sweep.documents[Path(urlsplit(error['url']).path)]} line {error.get('lastLine')}"
        grouped.setdefault(f"{error['message']} [{extract}]", []).append(where)
    report = [f"{len(wheres)} x {what}: {', '.join(wheres[:3])}{' ...' if len(wheres) > 3 else ''}"
              for what, wheres in sorted(grouped.items(), key=lambda item: -len(item[1]))]
    counts = Counter(error["message"] for error in errors)
    assert report == [], f"{len(errors)} validator errors ({counts.most_common()}):\n" + "\n".join(report)


def test_the_checkers_report_what_they_are_for(browser: Browser, tmp_path):
    """The checkers are wired up as the sweep uses them, not silently passing: a duplicate id, a stray end tag and a
    label for no control fail the validator; under the app's Content-Security-Policy, axe (loaded as the sweep loads
    it) finds an unlabelled field and faint text at both widths, and text faint on phones only at the phone's."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!doctype html><html lang="en"><head><title>Bad</title><link rel="stylesheet" href="/bad.css">'
                   '</head><body><main><p id="x">a</p><p id="x">b</p></div><label for="nothing">Name</label>'
                   '<input id="name"><p class="faint">faint</p><p class="small-screen">faint on phones</p>'
                   '</main></body></html>')
    messages = " | ".join(e["message"] for e in _vnu([bad]))
    assert "Duplicate ID" in messages and "Stray end tag" in messages and "“for” attribute" in messages

    faint = ".faint { color: #bbb; } @media (max-width: 640px) { .small-screen { color: #ccc; } }"
    files = {"/": ("text/html", bad.read_text()), "/bad.css": ("text/css", faint)}
    context = _context(browser, "http://checks.test")
    context.route("http://checks.test/**", lambda route: route.fulfill(
        status=200, content_type=files.get(urlsplit(route.request.url).path, ("text/plain", ""))[0],
        body=files.get(urlsplit(route.request.url).path, ("text/plain", ""))[1],
        headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY}))
    page = context.new_page()
    page.goto("/")
    found = Sweep()
    _axe(page, "anyone", "GET /", found)
    context.close()
    rules = {(v["rule"], v["where"].rsplit(" ", 1)[1], node.split(":")[0])
             for v in found.violations for node in v["nodes"]}
    assert {("label", "desktop", "#name"), ("color-contrast", "desktop", ".faint"),
            ("color-contrast", "phone", ".faint"), ("color-contrast", "phone", ".small-screen")} <= rules
    assert ("color-contrast", "desktop", ".small-screen") not in rules
