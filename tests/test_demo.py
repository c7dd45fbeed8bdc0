"""The demo seed: idempotent, realistic, and consistent with the CME rules."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from cme.accounts.models import User
from cme.accounts.npi import is_valid_npi
from cme.activities.models import (
    Activity, ActivityFormat, ActivitySession, ActivityStatus, CreditDesignation, Disclosure, Faculty,
)
from cme.attendance.models import Attendance
from cme.credit.models import CreditRecord
from cme.demo import (
    ADMIN_EMAIL, DEMO_PASSWORD, ORGANIZER_EMAIL, PROVIDER_EMAIL, next_dst_transition, seed_demo,
)
from cme.registration.models import Registration
from cme.timeutil import now_utc, utc_to_local

MODELS = (User, Activity, ActivitySession, Faculty, Disclosure, CreditDesignation, Registration, Attendance,
          CreditRecord)


@pytest.fixture
def seeded(db) -> list[Activity]:
    seed_demo()
    db.session.commit()
    return list(db.session.scalars(select(Activity).order_by(Activity.start_dt)))


def counts(db) -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in MODELS}


def live(activities: list[Activity]) -> list[Activity]:
    return [a for a in activities if a.format != ActivityFormat.ON_DEMAND_WEBCAST]


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


def test_cli_seed_demo_prints_the_logins(app, db):
    result = app.test_cli_runner().invoke(args=["cme", "seed-demo"])
    assert result.exit_code == 0, result.output
    assert f"{ORGANIZER_EMAIL} / {DEMO_PASSWORD}" in result.output
    assert f"{PROVIDER_EMAIL} / {DEMO_PASSWORD}" in result.output
    db.session.rollback()  # the command committed: a fresh look at the database sees its rows
    assert db.session.scalar(select(func.count()).select_from(Activity)) >= 10


def test_demo_accounts(seeded, db):
    users = {u.email: u for u in db.session.scalars(select(User))}
    assert users[ORGANIZER_EMAIL].role == "organizer"
    assert users[ADMIN_EMAIL].role == "admin"
    provider = users[PROVIDER_EMAIL]
    assert (provider.role, provider.profession, provider.degree) == ("provider", "physician", "MD")
    assert is_valid_npi(provider.npi) and provider.licence_state and provider.licence_number
    assert provider.time_zone == "America/Los_Angeles"
    assert all(u.check_password(DEMO_PASSWORD) for u in (provider, users[ORGANIZER_EMAIL], users[ADMIN_EMAIL]))
    degrees = {u.degree for u in users.values() if u.role == "provider"}
    assert {"MD", "DO", "PA-C", "NP", "RN", "PharmD"} <= degrees
    assert all(is_valid_npi(u.npi) for u in users.values() if u.npi)


def test_formats_statuses_and_past_and_upcoming(seeded):
    now = now_utc()
    assert {a.format for a in seeded} == {f.value for f in ActivityFormat}
    statuses = Counter(a.status for a in seeded)
    assert statuses[ActivityStatus.DRAFT] == 1 and statuses[ActivityStatus.CANCELLED] == 1
    assert statuses[ActivityStatus.PUBLISHED] >= 8
    published = [a for a in seeded if a.status == ActivityStatus.PUBLISHED]
    assert any(a.end_dt < now for a in published), "no past activity"
    assert sum(a.start_dt > now for a in published) >= 5, "too few upcoming activities"
    assert all(a.accreditation_statement and a.summary and a.learning_objectives and a.specialty and a.topics
               for a in seeded)
    assert all(a.organizers and a.organizers[0].email == ORGANIZER_EMAIL for a in seeded)


def test_live_meetings_have_venues_in_three_zones_and_webcasts_have_links(seeded):
    meetings = [a for a in seeded if a.format == ActivityFormat.LIVE_MEETING]
    assert len({a.time_zone for a in meetings}) >= 3
    assert all(a.venue_name and a.street_address and a.city and a.state and a.postal_code for a in meetings)
    webcasts = [a for a in seeded if a.is_webcast]
    assert all(a.capacity is None and a.join_url.startswith("https://webcast.example.org/") for a in webcasts)
    for a in webcasts:
        if a.is_on_demand:
            assert (a.available_from_dt, a.available_until_dt) == (a.start_dt, a.end_dt)
            assert not a.sessions
    assert {8, 40, 120} <= {a.capacity for a in meetings}


def test_one_live_meeting_spans_a_dst_transition(seeded):
    spanning = [a for a in seeded if a.format == ActivityFormat.LIVE_MEETING
                and len({utc_to_local(s.start_dt, a.time_zone).utcoffset() for s in a.sessions}) > 1]
    assert len(spanning) >= 1
    meeting = spanning[0]
    days = {utc_to_local(s.start_dt, meeting.time_zone).date() for s in meeting.sessions}
    assert 2 <= len(days) <= 3 and meeting.start_dt > now_utc()


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
    upcoming = [a for a in db.session.scalars(select(Activity)) if a.start_dt > now]
    assert len(upcoming) >= 8


def test_next_dst_transition():
    assert next_dst_transition("America/Chicago", date(2026, 1, 5)) == date(2026, 3, 8)
    assert next_dst_transition("America/Denver", date(2026, 3, 8)) == date(2026, 11, 1)
    with pytest.raises(ValueError):
        next_dst_transition("America/Phoenix", date(2026, 1, 1))


def test_agendas_lie_within_their_activities(seeded):
    for activity in live(seeded):
        assert 3 <= len(activity.sessions) <= 8, activity.title
        for s in activity.sessions:
            assert activity.start_dt <= s.start_dt < s.end_dt <= activity.end_dt, (activity.title, s.title)
            assert s.title and s.speakers
            assert s.start_dt.tzinfo is not None and s.start_dt.utcoffset() == timedelta(0)
    assert len({s.uuid for a in seeded for s in a.sessions}) == sum(len(a.sessions) for a in seeded)


def test_published_activities_meet_the_publish_rule(seeded):
    published = [a for a in seeded if a.status == ActivityStatus.PUBLISHED]
    for activity in published:
        assert activity.credit_designations, activity.title
        assert activity.faculty, activity.title
        for person in activity.faculty:
            assert person.has_disclosure_on_file, (activity.title, person.full_name)
            assert not person.unmitigated, (activity.title, person.full_name)
    people = [p for a in published for p in a.faculty]
    assert any(p.disclosures for p in people) and any(p.has_no_relationships for p in people)
    assert {"faculty", "planner", "reviewer"} <= {p.role for p in people}
    draft = next(a for a in seeded if a.status == ActivityStatus.DRAFT)
    assert any(not p.has_disclosure_on_file for p in draft.faculty)


def test_credit_designations(seeded):
    types = Counter(d.credit_type for a in seeded for d in a.credit_designations)
    assert set(types) == {"ama_pra_1", "ancc", "acpe", "aapa_1", "abim_moc", "participation"}
    for activity in seeded:
        for d in activity.credit_designations:
            assert isinstance(d.max_amount, Decimal) and d.max_amount > 0 and (d.max_amount * 4) % 1 == 0
        if activity.sessions:
            scheduled = sum((s.hours for s in activity.sessions), Decimal(0))
            ama = next(d.max_amount for d in activity.credit_designations if d.credit_type == "ama_pra_1")
            assert ama <= scheduled, activity.title


def test_registrations_waitlist_and_past_credit(seeded, db):
    now = now_utc()
    small = next(a for a in seeded if a.capacity == 8)
    regs = db.session.scalars(select(Registration).where(Registration.activity_id == small.id)).all()
    assert sum(r.status == "confirmed" for r in regs) == 8
    assert sorted(r.waitlist_position for r in regs if r.status == "waitlisted") == [1, 2]

    provider = db.session.scalar(select(User).where(User.email == PROVIDER_EMAIL))
    mine = db.session.scalars(select(Registration).where(Registration.user_id == provider.id)).all()
    assert all(r.status == "confirmed" and r.confirmed_dt and r.attested_professional for r in mine)
    assert all(r.npi == provider.npi and r.full_name == provider.full_name for r in mine)
    assert sum(r.activity.start_dt > now for r in mine) == 2
    past = [r.activity for r in mine if r.activity.end_dt < now]
    assert len(past) == 1
    attendance = db.session.scalar(select(Attendance).where(Attendance.user_id == provider.id))
    assert attendance.activity_id == past[0].id and attendance.checked_in_dt
    record = db.session.scalar(select(CreditRecord).where(CreditRecord.user_id == provider.id))
    designated = next(d for d in past[0].credit_designations if d.credit_type == record.credit_type)
    assert record.activity_id == past[0].id and record.attested and 0 < record.amount <= designated.max_amount
    assert record.claimed_dt > past[0].end_dt


def test_demo_provider_can_log_in(seeded, client):
    response = client.post("/account/login", data={"email": PROVIDER_EMAIL, "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_demo_organizer_sees_the_catalog_on_the_dashboard(seeded, app):
    client = app.test_client()
    response = client.post("/account/login", data={"email": ORGANIZER_EMAIL, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    page = client.get("/organize/").get_data(as_text=True)
    draft = next(a for a in seeded if a.status == ActivityStatus.DRAFT)
    assert str(escape(draft.title)) in page


def test_catalog_shows_the_demo(seeded, client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    now = now_utc()
    shown = [a for a in seeded if a.status != ActivityStatus.DRAFT and a.end_dt >= now]
    assert shown and all(str(escape(a.title)) in page for a in shown)
    hidden = [a for a in seeded if a.status == ActivityStatus.DRAFT or a.end_dt < now]
    assert hidden and not any(str(escape(a.title)) in page for a in hidden)
