"""Browser flow for issue 16, point 1: a physician claims credit, allows reporting to PARS and gives the birth
month and day it needs right on the claim form; My credit shows the permission, which she then withdraws."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from cme.extensions import db

pytestmark = pytest.mark.browser


def test_a_claim_asks_permission_and_the_missing_birthday_and_my_credit_changes_it(page: Page, live_server, log_in):
    from cme.accounts.service import find_user_by_email
    from cme.activities.models import Activity, CreditDesignation
    from cme.attendance.models import Attendance
    from cme.credit.evaluation import submit_evaluation
    from cme.registration.service import Answers, register

    live_server.create_user("pars.learner@example.org", full_name="Paula Pars", degree="MD")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with live_server.app.app_context():
        activity = Activity(title="Browser: reporting", format="on_demand_webcast", status="published",
                            time_zone="America/New_York", start_dt=now - timedelta(days=1),
                            end_dt=now + timedelta(days=60), join_url="https://webcast.example.org/pars",
                            credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("1"))])
        db.session.add(activity)
        db.session.commit()
        user = find_user_by_email("pars.learner@example.org")
        register(user, activity.id, Answers.from_profile(user, attested_professional=True,
                                                         licence_state="MA", licence_number="MA-77"))
        db.session.add(Attendance(user_id=user.id, activity_id=activity.id, watched_seconds=3600, minutes_watched=60))
        db.session.flush()
        submit_evaluation(user, activity, {})
        db.session.commit()
        activity_id = activity.id
        db.session.remove()

    log_in(page, "pars.learner@example.org")
    page.goto(f"/activities/{activity_id}/claim")
    question = page.get_by_role("group", name="Report this completion to ACCME's PARS (and your state medical board)?")
    question.get_by_label("Yes").check()
    page.get_by_label("AMA PRA Category 1 Credit™").fill("1")
    page.get_by_label("I claim only the credit commensurate").check()
    page.get_by_role("button", name="Claim credit").click()
    expect(page.get_by_text("Needed to report to ACCME").first).to_be_visible()  # the birthday PARS needs

    page.get_by_label("Birth month").select_option("2")
    page.get_by_label("Birth day").select_option("29")
    page.get_by_role("button", name="Claim credit").click()
    expect(page.get_by_text("Your credit is recorded.")).to_be_visible()
    expect(page.get_by_text("ACCME (PARS) and state medical boards: yes")).to_be_visible()

    page.get_by_role("link", name="Change the reporting of Browser: reporting").click()
    page.get_by_role("group", name="Report this completion to ACCME's PARS (and your state medical board)?") \
        .get_by_label("No").check()
    page.get_by_role("button", name="Save my answers").click()
    expect(page.get_by_text("ACCME (PARS) and state medical boards: no")).to_be_visible()
