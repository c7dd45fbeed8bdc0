"""Browser flow for credit: a provider watches (the page's own heartbeat, then simulated ones), evaluates,
claims 1.5 credits, downloads the certificate, and the verification page shows it valid."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from cme.extensions import db

pytestmark = pytest.mark.browser


def test_watch_evaluate_claim_download_and_verify(page: Page, live_server, log_in):
    from cme.accounts.service import find_user_by_email
    from cme.activities.models import Activity, CreditDesignation
    from cme.attendance import service as attendance_service
    from cme.attendance.models import Attendance
    from cme.registration.service import Answers, register

    live_server.create_user("credit.provider@example.org", full_name="Carla Credit", degree="MD")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with live_server.app.app_context():
        activity = Activity(title="Browser: On-demand HCV", format="on_demand_webcast", status="published",
                            time_zone="America/New_York", start_dt=now - timedelta(days=1), end_dt=now + timedelta(days=60),
                            join_url="https://webcast.example.org/hcv",
                            credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("2"))])
        db.session.add(activity)
        db.session.commit()
        user = find_user_by_email("credit.provider@example.org")
        register(user, activity.id, Answers.from_profile(user, attested_professional=True))
        db.session.commit()
        activity_id, user_id = activity.id, user.id
        db.session.remove()

    log_in(page, "credit.provider@example.org")
    page.goto(f"/activities/{activity_id}/watch")
    expect(page.get_by_role("link", name="open the webcast in a new tab")).to_be_visible()
    expect(page.locator(".player iframe")).to_have_attribute("src", "https://webcast.example.org/hcv")
    with live_server.app.app_context():  # the page reported once on load
        for _ in range(50):
            if db.session.query(Attendance).filter_by(user_id=user_id, activity_id=activity_id).first():
                break
            db.session.remove()
            page.wait_for_timeout(100)
        attendance = db.session.query(Attendance).filter_by(user_id=user_id, activity_id=activity_id).one()
        start = attendance.last_heartbeat_dt
        user = db.session.get(type(attendance.user), user_id)
        activity = db.session.get(Activity, activity_id)
        for minute in range(1, 96):  # 95 minutes of simulated heartbeats, one a minute
            attendance_service.heartbeat(user, activity, now=start + timedelta(minutes=minute))
        db.session.commit()
        db.session.remove()

    page.goto(f"/activities/{activity_id}/evaluation")
    for fieldset in page.locator("fieldset.question").all():
        fieldset.locator("input[type=radio]").first.check()
    page.get_by_label("What will you do differently").fill("Treat HCV in clinic.")
    page.get_by_role("button", name="Submit evaluation").click()
    expect(page.get_by_text("Thank you for your evaluation.")).to_be_visible()
    expect(page.get_by_role("heading", name="Claim credit")).to_be_visible()
    expect(page.get_by_text("Up to 1.5: what your recorded attendance supports (check-in or viewing time). The "
                            "activity designates 2.")).to_be_visible()
    page.get_by_label("AMA PRA Category 1 Credit™").fill("1.5")
    page.get_by_label("I claim only the credit commensurate").check()
    page.get_by_role("button", name="Claim credit").click()
    expect(page.get_by_text("Your credit is recorded.")).to_be_visible()

    with live_server.app.app_context():
        from cme.certificates.service import issue_for_activity

        issue_for_activity(db.session.get(Activity, activity_id))
        db.session.commit()
        db.session.remove()

    page.goto("/my/credit")
    expect(page.get_by_role("cell", name="Browser: On-demand HCV On-demand webcast")).to_be_visible()
    pdf = page.request.get(page.get_by_role("link", name="PDF", exact=True).get_attribute("href"))
    assert pdf.headers["content-type"] == "application/pdf"
    text = " ".join(PdfReader(io.BytesIO(pdf.body())).pages[0].extract_text().split())
    assert "Carla Credit, MD" in text and "1.5 AMA PRA Category 1 Credit(s)™ claimed" in text
    page.get_by_role("link", name="verify", exact=True).click()  # not the footer's "Verify a certificate"
    expect(page.get_by_text("Valid.")).to_be_visible()
    expect(page.get_by_text("1.5 AMA PRA Category 1 Credit(s)™ claimed")).to_be_visible()
