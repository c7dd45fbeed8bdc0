"""The analytics pages in Chromium (issue 16, point 6), at a desktop's 1280 px and a phone's 390 px: the organizer
reaches them from their pages, the charts fit the width with their labels readable, nothing scrolls sideways but a
table's own box, and axe-core finds no WCAG 2.1 AA violation. Screenshots go to tests/browser/screenshots/."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from cme.demo import DEMO_PASSWORD, ORGANIZER_EMAIL
from tests.helpers import WHAT_DOES_NOT_FIT

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent.parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"], "iframes": False}
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
TITLE = "Grand rounds <script>alert(1)</script> & cirrhosis care in the community: a very long session title"


def _seed(app) -> int:
    """An ended meeting of the demo organizer's with an agenda, registrants over two weeks, check-ins, evaluations
    and credit from several professions."""
    from cme.accounts.service import create_user, find_user_by_email
    from cme.activities.models import Activity, ActivitySession, CreditDesignation
    from cme.attendance.models import Attendance
    from cme.credit.evaluation import DEFAULT_EVALUATION, LIKERT
    from cme.credit.evaluation_models import EvaluationResponse
    from cme.credit.models import CreditRecord
    from cme.extensions import db
    from cme.registration.models import Registration

    start = datetime.now(timezone.utc).replace(microsecond=0, second=0, minute=0) - timedelta(days=3)
    with app.app_context():
        organizer = find_user_by_email(ORGANIZER_EMAIL)
        meeting = Activity(title="Cirrhosis & portal hypertension 2026", format="live_meeting", status="published",
                           time_zone="America/Chicago", start_dt=start, end_dt=start + timedelta(hours=7),
                           venue_name="Palmer House", city="Chicago", state="IL", organizers=[organizer],
                           credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("6")),
                                                CreditDesignation(credit_type="ancc", max_amount=Decimal("6"))])
        titles = [TITLE, "Variceal bleeding", "Ascites & hepatorenal syndrome", "Panel: transplant referral"]
        meeting.sessions.extend(ActivitySession(title=t, start_dt=start + timedelta(hours=i * 1.5),
                                                end_dt=start + timedelta(hours=i * 1.5 + 1.25))
                                for i, t in enumerate(titles))
        db.session.add(meeting)
        db.session.flush()
        professions = ["physician", "physician", "nurse", "physician", "pharmacist", "nurse", "physician_assistant",
                       "physician", "nurse_practitioner", "physician", "nurse", "physician"]
        for n, profession in enumerate(professions):
            person = create_user(f"analytics{n}@example.org", "x-unused-password-1", full_name=f"Learner {n}",
                                 profession=profession, degree="MD" if profession == "physician" else "RN")
            db.session.add(Registration(user_id=person.id, activity_id=meeting.id, status="confirmed",
                                        registered_dt=start - timedelta(days=14 - n, hours=n)))
            for i, session in enumerate(meeting.sessions):
                if (n + i) % 4:
                    db.session.add(Attendance(user_id=person.id, activity_id=meeting.id, session_id=session.id,
                                              checked_in_dt=session.start_dt))
            if n < 9:
                change = DEFAULT_EVALUATION[2]["choices"][n % 4]
                texts = ["Start <b>screening</b> earlier & refer sooner", "", "More cases, please"]
                answers = [LIKERT[4 - n % 3], LIKERT[4 - n % 2], change, texts[n % 3]]
                db.session.add(EvaluationResponse(user_id=person.id, activity_id=meeting.id, answers={
                    f"d{i}": {"prompt": q["prompt"], "answer": a} for i, (q, a) in enumerate(zip(DEFAULT_EVALUATION,
                                                                                           answers))}))
            credit_type = "ama_pra_1" if profession == "physician" else "ancc" if "nurse" in profession \
                else "participation"
            db.session.add(CreditRecord(user_id=person.id, activity_id=meeting.id, credit_type=credit_type,
                                        amount=Decimal("4.25") + Decimal("0.25") * (n % 4), attested=True))
        db.session.commit()
        meeting_id = meeting.id
        db.session.remove()
    return meeting_id


@pytest.fixture(scope="module")
def meeting_id(own_demo_server) -> int:
    return _seed(own_demo_server.app)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_analytics_pages_fit_the_screen_and_pass_axe(browser: Browser, own_demo_server, meeting_id, width,
                                                         screenshot):
    context = browser.new_context(base_url=own_demo_server.url, viewport=WIDTHS[width])
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.goto("/account/login")
    page.get_by_label("Email").fill(ORGANIZER_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()

    page.goto(f"/organize/activities/{meeting_id}")
    page.get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", name="Outcomes and analytics")).to_be_visible()
    expect(page.get_by_role("img", name="Registrations over time")).to_be_visible()
    expect(page.get_by_role("img", name="Attendance: people checked in per agenda session")).to_be_visible()
    expect(page.locator("#practice-share")).to_contain_text("intend to change their practice")
    page.get_by_text("Read the answers").first.click()
    expect(page.get_by_text("Start <b>screening</b> earlier & refer sooner").first).to_be_visible()
    _check(page, width, "analytics-activity", screenshot)

    year = page.locator("a", has_text="Year summary").first
    year.click()
    expect(page.get_by_role("heading", name="Year summary")).to_be_visible()
    expect(page.locator("#table-year")).to_contain_text("Cirrhosis & portal hypertension 2026")
    _check(page, width, "analytics-year", screenshot)
    context.close()


def _check(page, width: str, name: str, screenshot) -> None:
    """With every data table open: nothing that does not fit the width; the charts' labels at least 10 px tall and
    inside their section; no axe violation; a screenshot."""
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    assert page.evaluate(WHAT_DOES_NOT_FIT) == []
    smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('svg.chart text')]
        .map(t => t.getBoundingClientRect().height).filter(h => h > 0))""")
    assert smallest >= 10, smallest
    spilling = page.evaluate("""() => [...document.querySelectorAll('svg.chart text')].filter(t => {
        const box = t.getBoundingClientRect(), panel = t.closest('section').getBoundingClientRect();
        return box.width > 0 && (box.right > panel.right || box.left < panel.left); }).map(t => t.textContent)""")
    assert spilling == []
    violations = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)["violations"]
    assert [(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in violations] == []
    screenshot(page, f"{name}-{width}")
