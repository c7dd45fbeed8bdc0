"""Attendance: one check-in window for the whole meeting and for each session (the stricter of the two rules
that existed), who is checked in and who attended, and who may watch a webcast (and so report viewing time)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cme.activities.models import ActivitySession
from cme.attendance import service
from cme.attendance.models import Attendance
from cme.registration import service as registration
from cme.registration.models import JOIN_LINK_LEAD
from cme.timeutil import local_to_utc, now_utc

SECOND = timedelta(seconds=1)


def register(db, user, activity, **options):
    result = registration.register(user, activity.id, registration.Answers.from_profile(user, attested_professional=True),
                                   by_organizer=True, **options)
    db.session.commit()
    return result


def local(text: str, zone_name: str = "America/New_York") -> datetime:
    return local_to_utc(datetime.fromisoformat(text), zone_name)


@pytest.fixture
def meeting(db, make_activity):
    """Two days in New York: Tuesday 08:00 to Wednesday 20:00 local, a morning session on the second day, and an
    evening one."""
    activity = make_activity(start_dt=local("2026-06-02T08:00"), end_dt=local("2026-06-03T20:00"))
    for title, start, end in (("Morning", "2026-06-03T08:00", "2026-06-03T10:00"),
                              ("Evening", "2026-06-03T18:00", "2026-06-03T20:00")):
        activity.sessions.append(ActivitySession(title=title, start_dt=local(start), end_dt=local(end)))
    db.session.commit()
    return activity


def test_check_in_to_the_meeting_opens_two_hours_before_it_starts_not_at_midnight(db, make_user, meeting):
    """The per-session rule (two hours before) was stricter than the whole-meeting one (from the local day)."""
    organizer, person = make_user(role="organizer"), make_user()
    registration_ = register(db, person, meeting)
    opens = local("2026-06-02T06:00")
    assert service.checkin_window(meeting)[0] == opens
    problem = service.checkin_window_problem(meeting, now=opens - SECOND)
    assert problem == ("Check-in opens on Tue Jun 2 at 6:00 AM EDT.", "too_early")
    with pytest.raises(service.AttendanceError, match="Check-in opens on Tue Jun 2 at 6:00 AM EDT"):
        service.check_in(registration_, by=organizer, now=local("2026-06-02T00:30"))  # open before, on the day
    assert service.check_in(registration_, by=organizer, now=opens)


def test_check_in_to_an_evening_session_closes_at_the_end_of_its_day_not_twelve_hours_later(db, make_user, meeting):
    """The whole-meeting rule (until the end of the local day) was stricter than the session's (12 h after)."""
    organizer, person = make_user(role="organizer"), make_user()
    registration_ = register(db, person, meeting)
    evening = meeting.sessions[1]
    midnight = local("2026-06-04T00:00")
    assert service.checkin_window(meeting, evening) == (local("2026-06-03T16:00"), midnight)
    assert service.checkin_window_problem(meeting, evening, now=midnight - SECOND) is None
    with pytest.raises(service.AttendanceError, match="Check-in to “Evening” closed on Thu Jun 4 at 12:00 AM EDT"):
        service.check_in(registration_, evening, by=organizer, now=midnight)  # open until 08:00, before
    assert service.check_in(registration_, evening, by=organizer, now=midnight - SECOND)


def test_check_in_to_a_morning_session_closes_twelve_hours_after_it_ends_not_at_midnight(db, make_user, meeting):
    organizer, person = make_user(role="organizer"), make_user()
    registration_ = register(db, person, meeting)
    morning = meeting.sessions[0]
    closes = local("2026-06-03T22:00")
    assert service.checkin_window(meeting, morning) == (local("2026-06-03T06:00"), closes)
    assert service.checkin_window_problem(meeting, morning, now=closes)[1] == "too_late"
    with pytest.raises(service.AttendanceError, match="closed"):
        service.check_in(registration_, morning, by=organizer, now=closes + timedelta(hours=1))
    assert service.check_in(registration_, morning, by=organizer, now=closes - SECOND)
    assert service.sessions_checked_in(registration_) == {morning.id}
    assert registration_.id not in service.checked_in([registration_])  # a session is not the whole meeting


def test_check_in_never_opens_before_the_local_day_even_across_a_dst_change(db, make_activity):
    """A session at 1:00 on the night clocks spring forward opens at local midnight, not two hours earlier."""
    activity = make_activity(start_dt=local("2026-03-08T01:00"), end_dt=local("2026-03-08T05:00"))
    session = ActivitySession(title="Night", start_dt=local("2026-03-08T01:00"), end_dt=local("2026-03-08T04:00"))
    activity.sessions.append(session)
    db.session.commit()
    opens, closes = service.checkin_window(activity, session)
    assert opens == datetime(2026, 3, 8, 5, tzinfo=timezone.utc)  # 00:00 EST
    assert closes == datetime(2026, 3, 8, 20, tzinfo=timezone.utc)  # 04:00 EDT + 12 h = 16:00 EDT
    assert service.checkin_window(activity) == (opens, datetime(2026, 3, 8, 21, tzinfo=timezone.utc))


def test_check_in_refuses_a_session_of_another_activity_and_the_unconfirmed(db, make_user, make_activity, meeting):
    organizer, person, waiting = make_user(role="organizer"), make_user(), make_user()
    meeting.capacity = 1
    db.session.commit()
    confirmed, waitlisted = register(db, person, meeting), register(db, waiting, meeting)
    other = make_activity()
    other.sessions.append(ActivitySession(title="Elsewhere", start_dt=other.start_dt, end_dt=other.end_dt))
    db.session.commit()
    now = meeting.sessions[0].start_dt
    with pytest.raises(service.AttendanceError) as refused:
        service.check_in(confirmed, other.sessions[0], by=organizer, now=now)
    assert refused.value.code == "not_found"
    with pytest.raises(service.AttendanceError) as refused:
        service.check_in(waitlisted, meeting.sessions[0], by=organizer, now=now)
    assert refused.value.code == "not_confirmed"


def test_who_is_checked_in_and_who_attended_across_people_and_activities(db, make_user, make_activity, meeting):
    organizer = make_user(role="organizer")
    webcast = make_activity(format="on_demand_webcast", start_dt=now_utc() - timedelta(days=1),
                            end_dt=now_utc() + timedelta(days=30))
    came, watched, absent = make_user(), make_user(), make_user()
    came_there, absent_there = register(db, came, meeting), register(db, absent, meeting)
    came_online, watched_online = register(db, came, webcast), register(db, watched, webcast)
    service.check_in(came_there, by=organizer, now=meeting.start_dt)
    db.session.add(Attendance(user_id=watched.id, activity_id=webcast.id, watched_seconds=600))
    db.session.commit()
    everyone = [came_there, absent_there, came_online, watched_online]
    assert service.checked_in(everyone) == {came_there.id}
    pairs = {(r.user_id, r.activity_id) for r in everyone}
    assert service.attended(pairs) == {(came.id, meeting.id), (watched.id, webcast.id)}
    assert service.checkin_counts(meeting) == (1, 2)
    assert service.checked_in([]) == set() and service.attended([]) == set()


def test_a_waitlisted_registrant_cannot_watch_an_on_demand_webcast(db, make_user, make_activity):
    """My schedule showed the link to confirmed registrants only, while the watch page let the waitlist in."""
    webcast = make_activity(format="on_demand_webcast", capacity=1, join_url="https://webcast.example.org/od",
                            start_dt=now_utc() - timedelta(days=1), end_dt=now_utc() + timedelta(days=30))
    seated, waiting = make_user(), make_user()
    register(db, seated, webcast)
    register(db, waiting, webcast)
    assert service.watch_problem(seated, webcast) is None
    assert service.watch_problem(waiting, webcast) == "You are on the waitlist."
    with pytest.raises(service.AttendanceError):
        service.heartbeat(waiting, webcast)


def test_a_cancelled_webcast_yields_no_viewing_time(db, make_user, make_activity):
    webcast = make_activity(format="live_webcast", join_url="https://webcast.example.org/live",
                            start_dt=now_utc() - timedelta(minutes=10), end_dt=now_utc() + timedelta(hours=1))
    person = make_user()
    register(db, person, webcast)
    assert service.heartbeat(person, webcast) == 0
    webcast.status = "cancelled"
    db.session.commit()
    assert service.watch_problem(person, webcast) == "This activity has been cancelled."
    with pytest.raises(service.AttendanceError):
        service.heartbeat(person, webcast)


def test_a_live_webcast_is_watched_from_the_join_link_lead_before_its_start(db, make_user, make_activity):
    start = now_utc().replace(microsecond=0) + timedelta(hours=3)
    webcast = make_activity(format="live_webcast", join_url="https://webcast.example.org/live", start_dt=start,
                            end_dt=start + timedelta(hours=1))
    person = make_user()
    register(db, person, webcast)
    assert service.watch_problem(person, webcast, now=start - JOIN_LINK_LEAD - SECOND) == "The webcast is not live now."
    assert service.watch_problem(person, webcast, now=start - JOIN_LINK_LEAD) is None
