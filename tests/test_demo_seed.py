"""Seeding the demo: idempotent, no mail, the logins printed, and its dates following `now` (the DST meeting).
What the seeded demo shows, and that the CME rules hold for it, is in test_demo.py."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from cme.accounts.models import User
from cme.accounts.service import request_password_reset
from cme.activities.models import (
    Activity, ActivityFormat, ActivitySession, CreditDesignation, Disclosure, Faculty,
)
from cme.certificates.models import Certificate
from cme.credit.evaluation_models import EvaluationResponse
from cme.attendance.models import Attendance
from cme.credit.models import CreditRecord
from cme.library.abstracts.models import Abstract, AbstractAuthor
from cme.demo import DEMO_PASSWORD, ORGANIZER_EMAIL, PROVIDER_EMAIL, next_dst_transition, seed_demo
from cme.mail.models import OutboxMessage
from cme.registration.models import Registration
from cme.timeutil import now_utc, utc_to_local

MODELS = (User, Activity, ActivitySession, Faculty, Disclosure, CreditDesignation, Registration, Attendance,
          EvaluationResponse, CreditRecord, Certificate, Abstract, AbstractAuthor)


def counts(db) -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in MODELS}


def test_seeding_twice_creates_nothing_the_second_time(db):
    summary = seed_demo()
    db.session.commit()
    first = counts(db)
    assert first["User"] >= 9 and first["Activity"] >= 10
    assert all(first.values()), first

    # Even a day later (so relative dates differ), nothing is duplicated.
    again = seed_demo(now=now_utc() + timedelta(days=1))
    db.session.commit()
    assert counts(db) == first
    assert "Created nothing" in again
    assert f"Demo organizer: {ORGANIZER_EMAIL} / {DEMO_PASSWORD}" in summary
    assert f"{first['Activity']} activities" in summary


def test_seeding_a_demo_made_before_abstracts_existed_adds_them(db):
    seed_demo()
    db.session.commit()
    first = counts(db)
    db.session.execute(Abstract.__table__.delete())
    db.session.commit()
    summary = seed_demo()
    db.session.commit()
    assert counts(db) == first and f"Created: {first['Abstract']} abstracts." in summary


def test_cli_seed_demo_prints_the_logins(app, db):
    result = app.test_cli_runner().invoke(args=["cme", "seed-demo"])
    assert result.exit_code == 0, result.output
    assert f"{ORGANIZER_EMAIL} / {DEMO_PASSWORD}" in result.output
    assert f"{PROVIDER_EMAIL} / {DEMO_PASSWORD}" in result.output
    db.session.rollback()  # the command committed: a fresh look at the database sees its rows
    assert db.session.scalar(select(func.count()).select_from(Activity)) >= 10


def test_seeding_sends_no_mail_of_the_past_keeps_mail_already_queued_and_reminds_of_what_is_to_come(db, make_user):
    make_user("someone@example.org")
    request_password_reset("someone@example.org")
    db.session.commit()
    seed_demo()
    db.session.commit()
    rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert rows[0].recipient == "someone@example.org"
    reminders = rows[1:]
    assert reminders and {m.kind for m in reminders} <= {"reminder_meeting", "reminder_webcast"}
    assert all(m.send_after_dt > now_utc() for m in reminders)



@pytest.mark.parametrize("now", [
    datetime(2026, 2, 20, 15, tzinfo=timezone.utc),  # spring forward (Mar 8) just over two weeks away
    datetime(2026, 10, 1, 15, tzinfo=timezone.utc),  # fall back (Nov 1)
    datetime(2026, 10, 25, 15, tzinfo=timezone.utc),  # fall back too close: the next spring one instead
])
def test_dst_meeting_follows_now(db, now):
    seed_demo(now=now)
    db.session.commit()
    meeting = next(a for a in db.session.scalars(select(Activity)) if a.time_zone == "America/Chicago"
                   and a.format == ActivityFormat.LIVE_MEETING)
    offsets = [utc_to_local(s.start_dt, meeting.time_zone).utcoffset() for s in meeting.sessions]
    assert len(set(offsets)) == 2
    assert meeting.start_dt > now + timedelta(days=10)
    clocks = "spring forward" if offsets[-1] > offsets[0] else "fall back"
    assert f"clocks {clocks} overnight" in meeting.description
    upcoming = [a for a in db.session.scalars(select(Activity)) if a.start_dt > now]
    assert len(upcoming) >= 8


def test_next_dst_transition():
    assert next_dst_transition("America/Chicago", date(2026, 1, 5)) == date(2026, 3, 8)
    assert next_dst_transition("America/Denver", date(2026, 3, 8)) == date(2026, 11, 1)
    with pytest.raises(ValueError):
        next_dst_transition("America/Phoenix", date(2026, 1, 1))
