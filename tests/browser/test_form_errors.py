"""Issue 14, points 2 and 11: a form that comes back with errors shows them where the person is. Each form of an
activity's management page, its credit page, the roster and check-in starts at its own error summary on a phone:
the summary sits at the top of that form, has the focus and is on screen; the address is the page's (with the
form's anchor), not the address the form posted to; a link in the summary puts the cursor in its field. The
evaluation's errors look like every field's; the sign-up summary lists the fields in the order the page shows
them; the credit page's two question forms each own their labels."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import NamedTuple

import pytest
from playwright.sync_api import Page, expect

from cme.activities.models import Activity
from cme.extensions import db
from cme.timeutil import zone

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
ORGANIZER = "errors.organizer@example.org"
LEARNER = "errors.learner@example.org"


class Pages(NamedTuple):
    meeting: int
    faculty: int
    on_demand: int


@pytest.fixture(scope="module")
def pages(live_server) -> Pages:
    """An organizer's published meeting (one faculty member, a designation, a learner with claimed credit) and an
    on-demand webcast (with its post-test)."""
    from cme.accounts.service import find_user_by_email
    from cme.activities.models import CreditDesignation, Faculty
    from cme.attendance.service import check_in
    from cme.credit.models import CreditRecord
    from cme.registration.service import Answers, register

    live_server.create_user(ORGANIZER, role="organizer", full_name="Erin Errors")
    live_server.create_user(LEARNER, full_name="Lee Learner")
    start = datetime.now(timezone.utc).replace(microsecond=0, second=0, minute=0) - timedelta(days=3)
    with live_server.app.app_context():
        organizer, learner = find_user_by_email(ORGANIZER), find_user_by_email(LEARNER)
        meeting = Activity(title="Errors: Portal hypertension day", format="live_meeting", status="published",
                           time_zone="America/Chicago", start_dt=start, end_dt=start + timedelta(hours=6),
                           venue_name="Palmer House", city="Chicago", state="IL", organizers=[organizer],
                           faculty=[Faculty(full_name="Pat Speaker", role="faculty", disclosure_received_dt=start)],
                           credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("6"))])
        on_demand = Activity(title="Errors: Ascites on demand", format="on_demand_webcast", status="published",
                             time_zone="America/Chicago", start_dt=start, end_dt=start + timedelta(days=90),
                             join_url="https://webcast.example.org/ascites", organizers=[organizer],
                             credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("1"))])
        db.session.add_all([meeting, on_demand])
        db.session.commit()
        registration = register(learner, meeting.id, Answers.from_profile(learner, attested_professional=True),
                                by_organizer=True, now=start - timedelta(days=1))
        check_in(registration, by=organizer, now=start)
        db.session.add(CreditRecord(user_id=learner.id, activity_id=meeting.id, credit_type="ama_pra_1",
                                    amount=Decimal("5"), attested=True))
        db.session.commit()
        found = Pages(meeting.id, meeting.faculty[0].id, on_demand.id)
        db.session.remove()
    return found


class Failing(NamedTuple):
    """A form made to fail: on `page` (of the meeting, or of the on-demand webcast), within `scope`, after opening
    `opener` (a <details> summary) if any, fill `fields` and press `button`; the page's address is then `after`."""
    page: str
    scope: str
    opener: str | None
    fields: dict[str, str]
    button: str
    after: str


MANAGE = "/organize/activities/{meeting}"
CREDIT = "/organize/activities/{meeting}/credit"
ON_DEMAND_CREDIT = "/organize/activities/{on_demand}/credit"
FORMS = {
    "session": Failing(MANAGE, "#agenda", "Add a session", {"Session title": "Varices"}, "Add session", MANAGE + "#agenda"),
    "faculty": Failing(MANAGE, "#faculty", "Add a person", {}, "Add person", MANAGE + "#faculty"),
    "disclosure": Failing(MANAGE, "#faculty-{faculty}", "Add a financial relationship", {}, "Add relationship",
                          MANAGE + "#faculty-{faculty}"),
    "designation": Failing(MANAGE, "#credit", None, {"Maximum credit": "0.3"}, "Save designation", MANAGE + "#credit"),
    "acpe_uan": Failing(MANAGE, "#credit", None, {"ACPE Universal Activity Number": "12-34"}, "Save UAN",
                        MANAGE + "#acpe-uan"),
    "commercial_support": Failing(MANAGE, "#support", None, {"Amount in US dollars (optional)": "-5"}, "Add support",
                                  MANAGE + "#support"),
    "credit_adjustment": Failing(CREDIT, "#records", None, {"New amount": "4"}, "Adjust", CREDIT + "#adjust"),
    "evaluation_question": Failing(CREDIT, "#evaluation", "Add a question", {}, "Add question", CREDIT + "#evaluation"),
    "passing_score": Failing(ON_DEMAND_CREDIT, "#post-test", None, {"Passing score (%)": "500"}, "Save",
                             ON_DEMAND_CREDIT + "#post-test"),
    "post_test_question": Failing(ON_DEMAND_CREDIT, "#post-test", "Add a post-test question",
                                  {"Choices (one per line)": "Only one"}, "Add question", ON_DEMAND_CREDIT + "#post-test"),
    "roster_add": Failing("/organize/activities/{meeting}/roster", "#add-someone", None,
                          {"Email of the person's account": "nobody@example.org"}, "Add to roster",
                          "/organize/activities/{meeting}/roster#add-someone"),
    "checkin_code": Failing("/organize/activities/{meeting}/checkin", "main", None, {"Check-in code": "NOPE"},
                            "Find registration", "/organize/activities/{meeting}/checkin"),
    "abstract": Failing("/organize/activities/{meeting}/abstracts/new", "main", None,
                        {"Authors": "Maria Lopez (Cascade"}, "Add abstract", "/organize/activities/{meeting}/abstracts/new"),
    "abstract_import": Failing("/organize/activities/{meeting}/abstracts/import", "main", None, {}, "Import",
                               "/organize/activities/{meeting}/abstracts/import"),
}


@pytest.mark.parametrize("kind", FORMS)
def test_a_failed_form_starts_at_its_error_summary_on_screen(page: Page, live_server, log_in, pages, kind):
    form = FORMS[kind]
    ids = pages._asdict()
    page.set_viewport_size(PHONE)
    log_in(page, ORGANIZER)
    page.goto(form.page.format(**ids))
    scope = page.locator(form.scope.format(**ids))
    if form.opener:
        scope.get_by_text(form.opener, exact=True).click()
    for label, value in form.fields.items():
        scope.get_by_label(label, exact=True).fill(value)
    scope.get_by_role("button", name=form.button, exact=True).click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    expect(page).to_have_url(live_server.url + form.after.format(**ids))
    assert scope.locator("#error-summary").count() == 1  # at the top of the form that failed, not elsewhere
    first = summary.get_by_role("link").first
    target = first.get_attribute("href")
    first.click()
    expect(page.locator(target)).to_be_focused()
    expect(page.locator(target)).to_be_in_viewport()


def test_the_post_test_question_label_is_the_post_test_forms_own(page: Page, live_server, log_in, pages):
    log_in(page, ORGANIZER)
    page.goto(f"/organize/activities/{pages.on_demand}/credit")
    page.get_by_text("Add a question", exact=True).click()
    page.get_by_text("Add a post-test question", exact=True).click()
    post_test = page.locator("#post-test")
    post_test.get_by_label("Question", exact=True).fill("Which drug?")
    page.locator("#evaluation").get_by_label("Question", exact=True).fill("Was it useful?")
    assert post_test.locator("input[name$='prompt']").input_value() == "Which drug?"
    assert page.locator("#evaluation input[name$='prompt']").input_value() == "Was it useful?"
    assert page.evaluate("""() => { const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
                                    return ids.filter((id, i) => ids.indexOf(id) !== i); }""") == []


def test_evaluation_errors_look_like_field_errors_and_read_as_sentences(page: Page, live_server, log_in, pages):
    log_in(page, LEARNER)
    page.set_viewport_size(PHONE)
    page.goto(f"/activities/{pages.meeting}/evaluation")
    page.get_by_role("button", name="Submit evaluation").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link").first).to_have_text(
        "The activity met its stated learning objectives. Please answer this question.")
    expect(summary.get_by_role("link").nth(2)).to_have_text(
        "Will you change your practice as a result of this activity? Please answer this question.")
    question = page.get_by_role("group", name="The activity met its stated learning objectives.")
    error = question.locator(".error")
    expect(error).to_have_text("Please answer this question.")
    assert error.evaluate("e => getComputedStyle(e).color") == "rgb(180, 35, 24)"  # --bad, as a field's error
    assert question.evaluate("e => getComputedStyle(e).borderTopColor") == "rgb(180, 35, 24)"
    summary.get_by_role("link").first.click()
    expect(question.get_by_role("radio").first).to_be_focused()


def test_the_sign_up_error_summary_follows_the_order_of_the_fields(page: Page, live_server):
    page.goto("/account/signup")
    page.get_by_label("Email").fill("not an address")
    page.get_by_label("NPI (optional)").fill("123")
    page.get_by_label("ABIM ID (optional)").fill("x")
    page.get_by_role("button", name="Create account").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    listed = [href.lstrip("#") for href in summary.get_by_role("link").evaluate_all("links => links.map(a => a.hash)")]
    on_page = page.locator(".field.has-error :is(input, select, textarea)").evaluate_all("fields => fields.map(f => f.id)")
    assert listed[0] == "email" and len(listed) >= 4
    assert listed == on_page


def test_a_session_ending_after_the_activity_is_flagged_on_its_end(page: Page, live_server, log_in, pages):
    log_in(page, ORGANIZER)
    page.goto(f"/organize/activities/{pages.meeting}")
    agenda = page.locator("#agenda")
    agenda.get_by_text("Add a session", exact=True).click()
    agenda.get_by_label("Session title").fill("Late session")
    starts = agenda.get_by_label("Starts (local time)")
    with live_server.app.app_context():
        meeting = db.session.get(Activity, pages.meeting)
        end_local = meeting.end_dt.astimezone(zone(meeting.time_zone))
        db.session.remove()
    starts.fill((end_local - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    agenda.get_by_label("Ends (local time)").fill((end_local + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    agenda.get_by_role("button", name="Add session").click()
    expect(page.locator("#end_local-error")).to_contain_text("it ends after the activity does")
    expect(page.locator("#start_local-error")).to_have_count(0)
    expect(page.locator("#error-summary").get_by_role("link")).to_have_text(re.compile(r"^Ends \(local time\): "))
