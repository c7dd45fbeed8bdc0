"""Issue 16, point 7: each licence's progress towards its renewal on My credit: hours earned in the cycle against
the hours required, in total and per mandated topic, what is missing, and activities that cover the missing
topics; one query per section however many licences and activities."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from cme.accounts.identity_service import save_licence
from cme.activities.reporting_data import ActivityContentTag
from cme.credit.licence_progress import cycle_of, licence_progress
from cme.credit.models import CreditRecord
from cme.timeutil import now_utc

RENEWAL = date(2027, 6, 30)
NOW = datetime(2027, 3, 1, 12, tzinfo=timezone.utc)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def learner(db, make_user):
    return make_user("ada@example.org", full_name="Ada Lovelace", time_zone="America/New_York")


def credit(db, user, activity, credit_type: str, amount: str, completed: datetime) -> None:
    db.session.add(CreditRecord(user_id=user.id, activity_id=activity.id, credit_type=credit_type,
                                amount=Decimal(amount), attested=True, completed_dt=completed))
    db.session.commit()


def tag(db, activity, *topics: str) -> None:
    db.session.add_all([ActivityContentTag(activity_id=activity.id, tag=t) for t in topics])
    db.session.commit()


def physician_licence(db, user, **fields):
    licence = save_licence(user, None, **{"state": "CA", "number": "A1", "profession": "physician",
                                          "expires_on": RENEWAL, "cycle_months": 24,
                                          "required_hours": Decimal("50"), **fields})
    db.session.commit()
    return licence


def test_the_cycle_runs_from_renewal_minus_its_months_to_renewal_both_days_included(db, learner, make_activity):
    licence = physician_licence(db, learner)
    assert cycle_of(licence) == (date(2025, 6, 30), RENEWAL)
    past = make_activity(credits={"ama_pra_1": "10"})
    # Completion dates are the learner's (New York): 04:30 UTC on July 1 is still June 30 there.
    credit(db, learner, make_activity(title="first day", credits={"ama_pra_1": "10"}), "ama_pra_1", "1",
           utc(2025, 6, 30, 16))
    credit(db, learner, make_activity(title="day before", credits={"ama_pra_1": "10"}), "ama_pra_1", "2",
           utc(2025, 6, 30, 3))  # June 29, 23:00 in New York: before the cycle
    credit(db, learner, make_activity(title="last day", credits={"ama_pra_1": "10"}), "ama_pra_1", "4",
           utc(2027, 7, 1, 3, 30))  # June 30, 23:30 in New York: the renewal day counts
    credit(db, learner, past, "ama_pra_1", "8", utc(2027, 7, 1, 5))  # July 1 in New York: after the renewal
    [progress] = licence_progress(learner, now=NOW)
    assert (progress.starts_on, progress.renews_on) == (date(2025, 6, 30), RENEWAL)
    assert progress.earned == Decimal("5") and progress.missing == Decimal("45")
    assert progress.days_left == (RENEWAL - date(2027, 3, 1)).days


def test_hours_count_the_types_the_licences_profession_may_claim_each_activity_once(db, learner, make_activity):
    physician_licence(db, learner)
    save_licence(learner, None, state="NY", number="RN-1", profession="nurse", expires_on=RENEWAL,
                 cycle_months=24, required_hours=Decimal("30"))
    db.session.commit()
    meeting = make_activity(title="Both", credits={"ama_pra_1": "3", "abim_moc": "3", "ancc": "3"})
    credit(db, learner, meeting, "ama_pra_1", "3", utc(2026, 1, 10, 15))
    credit(db, learner, meeting, "abim_moc", "3", utc(2026, 1, 10, 15))  # points, not hours: never added
    other = make_activity(title="Nursing", credits={"ancc": "2"})
    credit(db, learner, other, "ancc", "2", utc(2026, 2, 10, 15))
    by_state = {p.licence.state: p for p in licence_progress(learner, now=NOW)}
    assert by_state["CA"].earned == Decimal("3")  # AMA credit only; MOC points are not hours
    assert by_state["NY"].earned == Decimal("2")  # ANCC contact hours only: a nurse may not claim AMA credit


def test_topics_count_activities_tagged_with_them_and_missing_topics_suggest_open_activities(
        db, learner, make_activity):
    physician_licence(db, learner, topic_hours={"pain_management": Decimal("4"), "implicit_bias": Decimal("1")})
    pain = make_activity(title="Pain course", credits={"ama_pra_1": "3"})
    tag(db, pain, "pain_management", "opioid_prescribing")
    bias = make_activity(title="Bias course", credits={"ama_pra_1": "1"})
    tag(db, bias, "implicit_bias")
    credit(db, learner, pain, "ama_pra_1", "3", utc(2026, 5, 1, 15))
    credit(db, learner, bias, "ama_pra_1", "1", utc(2026, 5, 2, 15))
    upcoming = make_activity(title="Pain: next course", start_dt=now_utc() + timedelta(days=10))
    on_demand = make_activity(title="Pain on demand", format="on_demand_webcast",
                              join_url="https://webcast.example.org/x", start_dt=now_utc() - timedelta(days=5),
                              end_dt=now_utc() + timedelta(days=60))
    ended = make_activity(title="Pain: over", start_dt=now_utc() - timedelta(days=10))
    draft = make_activity(title="Pain: draft", status="draft")
    for activity in (upcoming, on_demand, ended, draft):
        tag(db, activity, "pain_management")
    [progress] = licence_progress(learner)
    topics = {t.topic.value: t for t in progress.topics}
    assert (topics["pain_management"].earned, topics["pain_management"].missing) == (Decimal("3"), Decimal("1"))
    assert (topics["implicit_bias"].earned, topics["implicit_bias"].missing) == (Decimal("1"), Decimal("0"))
    assert [t.topic.value for t in progress.missing_topics] == ["pain_management"]
    # Open (published, not ended) and not already completed: the course she took is not suggested again.
    assert {a.title for a in topics["pain_management"].suggestions} == {"Pain: next course", "Pain on demand"}
    assert topics["implicit_bias"].suggestions == []


def test_my_credit_shows_each_licences_progress_and_links_to_activities(client, db, learner, make_activity, auth):
    physician_licence(db, learner, expires_on=date.today() + timedelta(days=100),
                      topic_hours={"human_trafficking": Decimal("1")})
    upcoming = make_activity(title="Recognising trafficking", start_dt=now_utc() + timedelta(days=10))
    tag(db, upcoming, "human_trafficking")
    auth.login("ada@example.org")
    page = client.get("/my/credit").get_data(as_text=True)
    assert "CA Physician license A1" in page and "Human trafficking" in page
    assert f'href="/activities/{upcoming.id}"' in page and "Recognising trafficking" in page


def test_progress_takes_the_same_queries_for_one_licence_as_for_ten(db, make_user, make_activity, count_queries):
    def queries_for(n: int) -> int:
        user = make_user(full_name="Many Licences", time_zone="UTC")
        states = ["CA", "NY", "TX", "MA", "OH", "WA", "FL", "IL", "PA", "GA"][:n]
        for state in states:
            save_licence(user, None, state=state, number="N-1", profession="physician", expires_on=RENEWAL,
                         cycle_months=24, required_hours=Decimal("20"),
                         topic_hours={"pain_management": Decimal("2"), "ethics": Decimal("1")})
        for i in range(n):
            activity = make_activity(title=f"Course {n}-{i}", credits={"ama_pra_1": "1"})
            tag(db, activity, "ethics")
            credit(db, user, activity, "ama_pra_1", "1", utc(2026, 1, 1 + i, 12))
            tag(db, make_activity(title=f"Upcoming {n}-{i}", start_dt=now_utc() + timedelta(days=5 + i)),
                "pain_management")
        db.session.commit()
        db.session.expire_all()
        with count_queries() as statements:
            progress = licence_progress(user)
            assert len(progress) == n and all(p.earned == n for p in progress)
            assert all(p.missing_topics[0].suggestions for p in progress)
        return len(statements)

    assert queries_for(1) == queries_for(10)
