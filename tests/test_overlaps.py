"""Overlapping registrations (issue 14, point 14): registering for an activity whose time collides with one the
learner is registered for (confirmed or waitlisted) warns on the activity page and the registration form, naming
the other activity and its local times, and registering still works. One rule
(cme.registration.overlaps.overlapping_registrations), asked by both pages, in one query."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from cme.activities.models import ActivitySession
from cme.registration import overlaps as rule
from cme.registration import service
from cme.timeutil import local_to_utc, now_utc, utc_to_local

NY, LA = "America/New_York", "America/Los_Angeles"
FORM = {"full_name": "Ada Lovelace", "degree": "MD", "profession": "physician", "npi": "", "licence_state": "",
        "licence_number": "", "attest": "y"}


@pytest.fixture
def day():
    """A weekday a month ahead (clear of today, whatever the clock says)."""
    return (now_utc() + timedelta(days=30)).date()


def at(day, hour: float, zone_name: str = NY, *, days: int = 0) -> datetime:
    """The instant of `hour` o'clock (local wall-clock time in `zone_name`) on `day` plus `days`."""
    naive = datetime(day.year, day.month, day.day) + timedelta(days=days, hours=hour)
    return local_to_utc(naive, zone_name)


@pytest.fixture
def meeting(make_activity, day):
    """meeting(title, start_hour, end_hour, zone=NY, **fields): a published live meeting on `day`."""

    def make(title: str, start: float, end: float, zone_name: str = NY, **fields):
        return make_activity(title=title, start_dt=at(day, start, zone_name), end_dt=at(day, end, zone_name),
                             time_zone=zone_name, **fields)

    return make


def titles(user, activity) -> list[str]:
    return [o.activity.title for o in rule.overlapping_registrations(user, activity)]


def test_an_activity_at_the_same_time_as_a_registered_one_overlaps(db, make_user, meeting, register, day):
    user = make_user()
    register(user, meeting("Morning hepatology", 9, 12))
    later = meeting("Midday cirrhosis", 11, 13)
    [overlap] = rule.overlapping_registrations(user, later)
    assert overlap.activity.title == "Morning hepatology"
    local = utc_to_local(at(day, 9), NY)
    assert overlap.local_times == [f"{local:%a %b %-d, %Y}, 9:00 AM – 12:00 PM {local:%Z}"]


def test_touching_activities_do_not_overlap(db, make_user, meeting, register):
    """One ends at 12:00, the next starts at 12:00: back to back is not a collision (half-open spans)."""
    user = make_user()
    register(user, meeting("Morning", 9, 12))
    assert titles(user, meeting("Afternoon", 12, 15)) == []
    assert titles(user, meeting("Breakfast", 7, 9)) == []
    assert titles(user, meeting("Lunch that starts a minute early", 11 + 59 / 60, 13)) == ["Morning"]


def test_time_zones_are_compared_as_instants_not_as_wall_clocks(db, make_user, meeting, register):
    """A New York meeting 9:00-12:00 (Eastern) and a Los Angeles one 10:00-11:00 (Pacific, i.e. 1:00-2:00 PM
    Eastern) share wall-clock hours but not a moment; one at 7:00 Pacific (10:00 Eastern) collides."""
    user = make_user()
    register(user, meeting("New York morning", 9, 12, NY))
    assert titles(user, meeting("Los Angeles ten o'clock", 10, 11, LA)) == []
    assert titles(user, meeting("Los Angeles nine o'clock, noon in New York", 9, 10, LA)) == []  # touching
    assert titles(user, meeting("Los Angeles seven o'clock", 7, 8, LA)) == ["New York morning"]


def test_the_warning_gives_the_other_activity_its_own_local_times(db, make_user, meeting, register):
    user = make_user()
    register(user, meeting("Pacific grand rounds", 7, 8, LA))
    [overlap] = rule.overlapping_registrations(user, meeting("Eastern symposium", 9, 12, NY))
    assert "7:00 – 8:00 AM P" in overlap.local_times[0]  # PST or PDT: the Los Angeles meeting's own clock


def test_cancelled_registrations_and_cancelled_activities_are_ignored_and_waitlisted_ones_count(
        db, make_user, meeting, register):
    user, other = make_user(), make_user()
    cancelled = register(user, meeting("Cancelled by me", 9, 12))
    service.cancel_registration(cancelled, took_part=False)
    called_off = meeting("Called off", 9, 12)
    register(user, called_off)
    called_off.status = "cancelled"
    full = meeting("Full meeting", 10, 11, capacity=1)
    register(other, full)
    waitlisted = register(user, full)
    db.session.commit()
    assert waitlisted.is_waitlisted
    assert titles(user, meeting("The one at hand", 9, 12)) == ["Full meeting"]


def test_on_demand_webcasts_overlap_nothing(db, make_user, make_activity, meeting, register, day):
    user = make_user()
    on_demand = make_activity(title="On demand", format="on_demand_webcast", start_dt=at(day, 0, days=-10),
                              end_dt=at(day, 0, days=60))
    register(user, on_demand)
    assert titles(user, meeting("A meeting while it is available", 9, 12)) == []
    register(user, meeting("Registered meeting", 13, 15))
    assert titles(user, on_demand) == []


def test_an_ended_activity_is_ignored(db, make_user, make_activity, register):
    """An activity in progress (registration still open) does not warn of one that ended before now."""
    user = make_user()
    now = now_utc().replace(microsecond=0)
    ended = make_activity(title="Ended", start_dt=now - timedelta(hours=3), end_dt=now + timedelta(hours=1))
    register(user, ended)
    ended.end_dt = now - timedelta(minutes=10)
    db.session.commit()
    running = make_activity(title="Running webcast", format="live_webcast", join_url="https://x.example/j",
                            start_dt=now - timedelta(hours=1), end_dt=now + timedelta(hours=1))
    assert titles(user, running) == []


def test_agenda_sessions_are_more_precise_than_the_span(db, make_user, meeting, register, day):
    """A two-day meeting runs 9:00 AM Monday to 5:00 PM Tuesday, but its agenda leaves the night free: an evening
    webcast does not collide with it, a morning one collides with the session it meets (named)."""
    user = make_user()
    two_days = meeting("Two-day congress", 9, 24 + 17)
    two_days.sessions += [ActivitySession(title="Day one", start_dt=at(day, 9), end_dt=at(day, 17)),
                          ActivitySession(title="Day two", start_dt=at(day, 9, days=1), end_dt=at(day, 17, days=1))]
    db.session.commit()
    register(user, two_days)
    assert titles(user, meeting("Evening webcast", 19, 20, format="live_webcast", join_url="https://x.example/j")) == []
    [overlap] = rule.overlapping_registrations(user, meeting("Tuesday morning", 24 + 10, 24 + 11))
    assert [b.title for b in overlap.times] == ["Day two"] and overlap.local_times[0].endswith("(Day two)")


def test_the_sessions_a_registrant_chose_are_the_ones_that_count(db, make_user, meeting, register, day):
    user = make_user()
    congress = meeting("Congress", 9, 24 + 17)
    monday = ActivitySession(title="Monday", start_dt=at(day, 9), end_dt=at(day, 17))
    tuesday = ActivitySession(title="Tuesday", start_dt=at(day, 9, days=1), end_dt=at(day, 17, days=1))
    congress.sessions += [monday, tuesday]
    db.session.commit()
    register(user, congress, session_ids=[tuesday.id])
    assert titles(user, meeting("Monday lunch", 12, 13)) == []
    assert titles(user, meeting("Tuesday lunch", 24 + 12, 24 + 13)) == ["Congress"]


def test_one_query_whatever_the_number_of_registrations(db, make_user, meeting, register, count_queries, day):
    user = make_user()

    def statements_for(n: int, offset: int) -> int:
        for i in range(n):
            activity = meeting(f"Overlapping {offset}-{i}", 9 + offset, 12 + offset)
            activity.sessions.append(ActivitySession(title="Talk", start_dt=at(day, 9 + offset),
                                                     end_dt=at(day, 10 + offset)))
            db.session.commit()
            register(user, activity)
        at_hand = meeting(f"At hand {offset}", 9 + offset, 10 + offset)
        db.session.expire_all()
        assert at_hand.sessions == [] and user.id  # loaded, as the activity page has them (and the user)
        with count_queries() as statements:
            found = rule.overlapping_registrations(user, at_hand)
        assert len(found) == n
        return len(statements)

    assert statements_for(1, 0) == statements_for(6, 2 * 24) == 1


# ---------------------------------------------------------------- the pages

def test_the_activity_page_and_the_form_warn_and_registering_still_works(client, db, provider, meeting, register):
    register(provider, meeting("Liver <Transplant> Summit", 9, 12))
    clash = meeting("Cirrhosis workshop", 11, 13)
    page = client.get(f"/activities/{clash.id}").get_data(as_text=True)
    assert "This activity overlaps one you are registered for." in page
    assert "Liver &lt;Transplant&gt; Summit" in page and "9:00 AM – 12:00 PM E" in page
    form = client.get(f"/activities/{clash.id}/register").get_data(as_text=True)
    assert "This activity overlaps one you are registered for." in form and "Liver &lt;Transplant&gt; Summit" in form
    response = client.post(f"/activities/{clash.id}/register", data=FORM)
    assert response.status_code == 302 and response.location.startswith("/my/schedule")
    assert service.active_registration(provider, clash.id).is_confirmed
    # Registered now: the page says so and no longer warns.
    assert "overlaps one you are registered for" not in client.get(f"/activities/{clash.id}").get_data(as_text=True)


def test_no_warning_without_a_collision_or_for_a_visitor(client, db, make_user, meeting, register, auth):
    user = make_user("busy@example.org")
    register(user, meeting("Morning", 9, 12))
    afternoon = meeting("Afternoon", 12, 15)
    clash = meeting("Clash", 10, 11)
    assert "overlaps" not in client.get(f"/activities/{clash.id}").get_data(as_text=True)  # not logged in
    auth.login("busy@example.org")
    assert "overlaps" not in client.get(f"/activities/{afternoon.id}").get_data(as_text=True)
    assert "overlaps one you are registered for" in client.get(f"/activities/{clash.id}").get_data(as_text=True)
