"""Browser flows for what a learner sees (issue 14, points 6, 8 and 15): My schedule's sections and next steps, the
claim page's one limit per credit type, and the post-test's review of wrong answers with the organizer's
explanations. Each page is also photographed at a desktop and a phone width."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from cme.extensions import db

pytestmark = pytest.mark.browser

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def at_both_widths(page: Page, screenshot, name: str) -> None:
    """Full-page screenshots at 1280 and 390 pixels wide (tests/browser/screenshots/<name>-<width>.png)."""
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


def on_demand(title: str, hours: str = "1.25", **fields):
    from cme.activities.models import Activity, CreditDesignation

    activity = Activity(title=title, format="on_demand_webcast", status="published", time_zone="America/New_York",
                        start_dt=NOW - timedelta(days=2), end_dt=NOW + timedelta(days=60),
                        join_url="https://webcast.example.org/learner",
                        credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal(hours))],
                        **fields)
    db.session.add(activity)
    db.session.flush()
    return activity


def watched_and_evaluated(user, activity, minutes: int) -> None:
    from cme.attendance.models import Attendance
    from cme.credit.evaluation import submit_evaluation
    from cme.registration.service import Answers, register

    register(user, activity.id, Answers.from_profile(user, attested_professional=True))
    db.session.add(Attendance(user_id=user.id, activity_id=activity.id, watched_seconds=minutes * 60,
                              minutes_watched=minutes))
    db.session.flush()
    submit_evaluation(user, activity, {})


def test_my_schedule_keeps_cancellations_apart_and_links_the_certificate(page: Page, live_server, log_in, screenshot):
    from cme.accounts.service import find_user_by_email
    from cme.activities.models import Activity, CreditDesignation
    from cme.certificates.service import claim_and_certify
    from cme.credit.participation import cancel_registration
    from cme.registration.service import Answers, register

    live_server.create_user("schedule.learner@example.org", full_name="Sam Schedule", degree="MD",
                            profession="physician")
    with live_server.app.app_context():
        learner = find_user_by_email("schedule.learner@example.org")
        start = NOW.replace(minute=0, second=0) + timedelta(days=9)
        meetings = [Activity(title=title, format="live_meeting", status="published", time_zone="America/Chicago",
                             start_dt=start + timedelta(days=n), end_dt=start + timedelta(days=n, hours=3),
                             venue_name="Hyatt Regency", city="Chicago", state="IL",
                             credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("3"))])
                    for n, title in enumerate(["Browser: Cirrhosis care update", "Browser: Dropped workshop"])]
        db.session.add_all(meetings)
        db.session.flush()
        seats = [register(learner, meeting.id, Answers.from_profile(learner, attested_professional=True))
                 for meeting in meetings]
        cancel_registration(seats[1])
        module = on_demand("Browser: HCV in primary care (on demand)")
        watched_and_evaluated(learner, module, 90)
        claim_and_certify(learner, module, {"ama_pra_1": Decimal("1.25")}, attested=True)
        db.session.commit()
        db.session.remove()

    log_in(page, "schedule.learner@example.org")
    page.goto("/my/schedule")
    upcoming = page.locator("h2:text-is('Upcoming') + ul.schedule")
    expect(upcoming).to_contain_text("Browser: Cirrhosis care update")
    expect(upcoming).not_to_contain_text("Browser: Dropped workshop")
    completed = page.locator("h2:text-is('Past') + ul.schedule .schedule-item", has_text="HCV in primary care")
    expect(completed.get_by_role("link", name="Certificate (PDF)")).to_be_visible()
    expect(completed).to_contain_text("Credit claimed: 1.25 AMA PRA Category 1 Credit™")
    dropped = page.locator("h2:text-is('Cancelled') + ul.schedule .schedule-item")
    expect(dropped).to_have_count(1)
    expect(dropped.get_by_role("link", name="Register again")).to_be_visible()
    at_both_widths(page, screenshot, "6-my-schedule")


def test_the_claim_page_states_one_limit_and_says_what_became_of_the_certificate(page: Page, live_server, log_in,
                                                                                screenshot):
    from cme.accounts.service import find_user_by_email

    live_server.create_user("claim.learner@example.org", full_name="Cleo Claim", degree="DO", profession="physician")
    with live_server.app.app_context():
        learner = find_user_by_email("claim.learner@example.org")
        module = on_demand("Browser: MASLD fibrosis module")
        watched_and_evaluated(learner, module, 20)  # a quarter of an hour supported, of 1.25 designated
        db.session.commit()
        module_id = module.id
        db.session.remove()

    log_in(page, "claim.learner@example.org")
    page.goto(f"/activities/{module_id}/claim")
    expect(page.get_by_text("Up to 0.25: what your recorded attendance supports (check-in or viewing time). "
                            "The activity designates 1.25.")).to_be_visible()
    expect(page.get_by_text("Up to 1.25")).to_have_count(0)
    page.get_by_label("AMA PRA Category 1 Credit™").fill("0.5")
    page.get_by_label("I claim only the credit commensurate").check()
    page.get_by_role("button", name="Claim credit").click()
    expect(page.locator(".field .error")).to_have_text(
        "You can claim at most 0.25 AMA PRA Category 1 Credit™: what your recorded attendance supports (check-in or "
        "viewing time).")
    at_both_widths(page, screenshot, "8-claim-refused")
    page.get_by_label("AMA PRA Category 1 Credit™").fill("0.25")
    page.get_by_role("button", name="Claim credit").click()
    expect(page.get_by_text("Your credit is recorded. Your certificate is issued and on its way to your inbox"
                            )).to_be_visible()
    page.goto(f"/activities/{module_id}/claim")
    expect(page.get_by_text("A correction reissues your certificate")).to_be_visible()
    at_both_widths(page, screenshot, "8-claim-correction")


def test_a_failed_post_test_shows_the_wrong_answers_with_the_explanations(page: Page, browser, live_server, log_in,
                                                                          screenshot):
    from cme.accounts.service import find_user_by_email
    from cme.credit.evaluation import add_post_test_question, set_post_test_rules

    live_server.create_user("test.organizer@example.org", role="organizer", full_name="Olive Organizer")
    live_server.create_user("test.learner@example.org", full_name="Tess Test", degree="MD", profession="physician")
    with live_server.app.app_context():
        learner = find_user_by_email("test.learner@example.org")
        module = on_demand("Browser: HBV reactivation module",
                           organizers=[find_user_by_email("test.organizer@example.org")])
        add_post_test_question(module, prompt="When is SVR confirmed?", choices=["End of treatment", "12 weeks after"],
                               correct_index=1, explanation="SVR12: undetectable HCV RNA 12 weeks after treatment.")
        add_post_test_question(module, prompt="Screen for HBV before DAAs?", choices=["Yes", "No"], correct_index=0,
                               explanation="HBV can reactivate when HCV is cleared.")
        set_post_test_rules(module, passing_score=100, max_attempts=3)
        watched_and_evaluated(learner, module, 75)
        db.session.commit()
        module_id = module.id
        db.session.remove()

    log_in(page, "test.learner@example.org")
    page.goto(f"/activities/{module_id}/post-test")
    expect(page.get_by_text("You have 3 attempt(s) in all")).to_be_visible()
    page.get_by_role("group", name="1. When is SVR confirmed?").get_by_label("End of treatment").check()
    page.get_by_role("group", name="2. Screen for HBV before DAAs?").get_by_label("Yes").check()
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_text("You scored 50%; 100% is needed.")).to_be_visible()
    wrong = page.locator(".review-item.is-wrong")
    expect(wrong).to_have_count(1)
    expect(wrong).to_contain_text("Your answer: End of treatment")
    expect(wrong).to_contain_text("SVR12: undetectable HCV RNA 12 weeks after treatment.")
    expect(wrong).not_to_contain_text("Right answer")
    expect(page.get_by_role("heading", name="Try again")).to_be_visible()
    at_both_widths(page, screenshot, "15-post-test-review")

    page = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900}).new_page()
    log_in(page, "test.organizer@example.org")
    page.goto(f"/organize/activities/{module_id}/credit#post-test")
    expect(page.get_by_label("Attempts allowed")).to_have_value("3")
    page.locator(".post-test-questions li", has_text="Screen for HBV").get_by_role("link", name="Edit").click()
    page.get_by_label("Explanation").fill("Test HBsAg, anti-HBc and anti-HBs: HBV can flare when HCV is cleared.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Explanation: Test HBsAg, anti-HBc and anti-HBs")).to_be_visible()
    page.locator("#post-test").scroll_into_view_if_needed()
    at_both_widths(page, screenshot, "15-organizer-post-test")
