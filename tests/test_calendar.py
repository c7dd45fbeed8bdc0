"""Calendar exports: the activity download, the public feed, the personal feed, HTTP caching, links, and
proof that independent parsers (icalendar, vobject, Mozilla's ical.js) read the same UTC instants as zoneinfo."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest
import sqlalchemy as sa
import vobject
from sqlalchemy import select, update

from cme.accounts.models import User
from cme.activities.models import Activity, ActivitySession
from cme.activities.catalog import CatalogFilters
from cme.calendar import ics as ics_module
from cme.calendar import service as calendar_service
from cme.calendar.invitations import registrant_uid
from cme.calendar.timezones import vtimezone
from cme.registration import service as registration_service
from cme.timeutil import now_utc, zone
from tests.helpers import ical_js, utc

NOW = now_utc().replace(microsecond=0, second=0, minute=0)


def answers(user):
    return registration_service.Answers.from_profile(user, attested_professional=True)


def assert_instants_agree(body: bytes, expected: dict[str, tuple[datetime, datetime]]) -> None:
    """icalendar, vobject (from the file's VTIMEZONEs) and ical.js all give zoneinfo's instants."""
    calendar = icalendar.Calendar.from_ical(body)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == set(expected)
    for uid, (start, end) in expected.items():
        assert events[uid].decoded("DTSTART") == start and events[uid].decoded("DTEND") == end
    parsed = vobject.readOne(body.decode("utf-8"))
    for vevent in parsed.vevent_list:
        start, end = expected[vevent.uid.value]
        assert vevent.dtstart.value.astimezone(timezone.utc) == start, vevent.uid.value
        assert vevent.dtend.value.astimezone(timezone.utc) == end
    for event in ical_js(body)["events"]:
        start, end = expected[event["uid"]]
        assert (utc(event["start"]), utc(event["end"])) == (start, end), event


# ---------------------------------------------------------------- VTIMEZONE

@pytest.mark.parametrize("zone_name", ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
                                       "America/Los_Angeles", "Pacific/Honolulu", "Europe/London", "Australia/Sydney"])
def test_vtimezones_use_rrules_and_match_zoneinfo_across_the_years(zone_name):
    from dateutil import tz as dateutil_tz

    component = vtimezone(zone_name, 2026, 2029)
    text = component.to_ical().decode()
    assert "RDATE" not in text
    observances = [c.name for c in component.subcomponents]
    if zone_name in ("America/Phoenix", "Pacific/Honolulu"):
        assert observances == ["STANDARD"]
    else:
        assert sorted(set(observances)) == ["DAYLIGHT", "STANDARD"] and "RRULE:FREQ=YEARLY" in text
    # An independent reading of the VTIMEZONE (dateutil's tzical) gives zoneinfo's offset at every hour.
    tz = dateutil_tz.tzical(__import__("io").StringIO(f"BEGIN:VCALENDAR\r\n{text}END:VCALENDAR\r\n")).get()
    from cme.calendar.timezones import transitions

    probes = [datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(hours=5 * n) for n in range(7013)]
    for year in range(2026, 2030):  # and a second either side of every change
        for change in transitions(zone_name, year):
            probes += [change.utc - timedelta(seconds=1), change.utc, change.utc + timedelta(seconds=1)]
    for instant in probes:
        assert instant.astimezone(tz).utcoffset() == instant.astimezone(zone(zone_name)).utcoffset(), instant


# ---------------------------------------------------------------- the activity download

@pytest.fixture
def meeting(db, make_activity):
    """A two-day Chicago meeting across the end of DST (Nov 7, 2027), sessions on both sides."""
    activity = make_activity(title="Midwest Liver Weekend", time_zone="America/Chicago", specialty="Hepatology",
                             start_dt=datetime(2027, 11, 6, 13, tzinfo=timezone.utc),
                             end_dt=datetime(2027, 11, 7, 23, tzinfo=timezone.utc), venue_name="Hilton",
                             street_address="720 S Michigan Ave", city="Chicago", state="IL", postal_code="60605",
                             credits={"ama_pra_1": "3"}, summary="MASLD from screening to treatment.",
                             accreditation_kind="joint_accreditation")
    activity.sessions.extend([
        ActivitySession(title="Saturday keynote", start_dt=datetime(2027, 11, 6, 14, tzinfo=timezone.utc),
                        end_dt=datetime(2027, 11, 6, 16, tzinfo=timezone.utc), room="Grand Ballroom"),
        ActivitySession(title="Sunday cases", start_dt=datetime(2027, 11, 7, 15, tzinfo=timezone.utc),
                        end_dt=datetime(2027, 11, 7, 17, tzinfo=timezone.utc)),
    ])
    db.session.commit()
    return activity


def test_activity_download_is_a_publish_calendar_with_one_event_per_session(client, meeting):
    response = client.get(f"/activities/{meeting.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="activity-{meeting.id}.ics"'
    body = response.data
    calendar = icalendar.Calendar.from_ical(body)
    assert calendar["METHOD"] == "PUBLISH"
    events = calendar.walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [f"{s.uuid}@cme" for s in meeting.sessions]
    first = events[0]
    assert first["DTSTART"].params["TZID"] == "America/Chicago"
    assert b"DTSTART;TZID=America/Chicago:20271106T090000" in body  # 9:00 CDT
    assert b"DTSTART;TZID=America/Chicago:20271107T090000" in body  # 9:00 CST, after the change
    assert str(first["SUMMARY"]) == "Midwest Liver Weekend: Saturday keynote"
    assert "3 AMA PRA Category 1 Credit" in str(first["DESCRIPTION"]) and "MASLD from screening" in str(first["DESCRIPTION"])
    assert f"http://cme.test/activities/{meeting.id}" in str(first["DESCRIPTION"])
    assert str(first["URL"]) == f"http://cme.test/activities/{meeting.id}"
    assert str(first["LOCATION"]).startswith("Grand Ballroom, Hilton, 720 S Michigan Ave, Chicago, IL 60605")
    assert first["STATUS"] == "CONFIRMED" and int(first["SEQUENCE"]) == 0
    assert "LAST-MODIFIED" in first and "DTSTAMP" in first
    assert "Hepatology" in first["CATEGORIES"].to_ical().decode()
    for event in events:
        assert len(event.get("ORGANIZER") if isinstance(event.get("ORGANIZER"), list) else [event["ORGANIZER"]]) == 1
        assert "ATTENDEE" not in event
    vtimezones = calendar.walk("VTIMEZONE")
    assert [str(t["TZID"]) for t in vtimezones] == ["America/Chicago"]
    assert_instants_agree(body, {f"{s.uuid}@cme": (s.start_dt, s.end_dt) for s in meeting.sessions})


def test_an_activity_without_sessions_is_one_event(client, make_activity):
    activity = make_activity(time_zone="America/Denver", format="live_webcast", join_url="https://x.example/j",
                             start_dt=datetime(2027, 3, 14, 15, tzinfo=timezone.utc))
    body = client.get(f"/activities/{activity.id}.ics").data
    [event] = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(event["UID"]) == f"{activity.uuid}@cme"
    assert str(event["LOCATION"]) == f"Online: http://cme.test/activities/{activity.id}"
    assert_instants_agree(body, {f"{activity.uuid}@cme": (activity.start_dt, activity.end_dt)})


def test_drafts_and_unknown_activities_have_no_download(client, make_activity):
    assert client.get(f"/activities/{make_activity(status='draft').id}.ics").status_code == 404
    assert client.get("/activities/999999.ics").status_code == 404


def test_schedule_changes_raise_the_sequence(client, db, meeting):
    from cme.activities import service as activities_service

    before = icalendar.Calendar.from_ical(client.get(f"/activities/{meeting.id}.ics").data).walk("VEVENT")[0]
    activities_service.update_session(meeting.sessions[0], {
        "title": "Saturday keynote", "start_dt": datetime(2027, 11, 6, 14, 30, tzinfo=timezone.utc),
        "end_dt": datetime(2027, 11, 6, 16, tzinfo=timezone.utc), "room": "", "speakers": "", "description": ""})
    db.session.commit()
    after = icalendar.Calendar.from_ical(client.get(f"/activities/{meeting.id}.ics").data).walk("VEVENT")[0]
    assert after["UID"] == before["UID"] and int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert after.decoded("LAST-MODIFIED") >= before.decoded("LAST-MODIFIED")


def test_user_text_cannot_inject_properties_or_components(client, make_activity):
    hostile = "Evil\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:pwned; x=1, y\\2\nATTENDEE:mailto:x@example.org"
    activity = make_activity(title=hostile, summary="a;b,c\\d\r\nLOCATION:nowhere", venue_name="Hall;1,2\\3\nX-INJECT:1")
    body = client.get(f"/activities/{activity.id}.ics").data
    calendar = icalendar.Calendar.from_ical(body)
    [event] = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == hostile.replace("\r\n", "\n")
    assert "ATTENDEE" not in event and "X-INJECT" not in event
    assert body.count(b"\r\nBEGIN:VEVENT\r\n") == 1 and body.count(b"\r\nLOCATION:") == 1
    [parsed] = vobject.readOne(body.decode()).vevent_list
    assert parsed.summary.value == hostile.replace("\r\n", "\n")
    assert len(ical_js(body)["events"]) == 1


# ---------------------------------------------------------------- the public feed

def test_public_feed_lists_upcoming_activities_in_several_zones(client, db, make_activity, meeting):
    denver = make_activity(title="Denver", time_zone="America/Denver", start_dt=datetime(2027, 3, 13, 16, tzinfo=timezone.utc),
                           end_dt=datetime(2027, 3, 14, 20, tzinfo=timezone.utc))  # across spring-forward
    la = make_activity(title="LA webcast", format="live_webcast", join_url="https://x.example/j",
                       time_zone="America/Los_Angeles", start_dt=datetime(2027, 7, 1, 1, tzinfo=timezone.utc))
    make_activity(title="Draft", status="draft")
    make_activity(title="Over", start_dt=NOW - timedelta(days=5))
    response = client.get("/calendar/activities.ics")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.data
    calendar = icalendar.Calendar.from_ical(body)
    assert calendar["METHOD"] == "PUBLISH" and str(calendar["X-WR-CALNAME"]) == str(calendar["NAME"])
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in body and b"X-PUBLISHED-TTL:PT1H\r\n" in body
    assert b"X-WR-TIMEZONE:America/New_York" in body and "DESCRIPTION" in calendar
    assert sorted(str(t["TZID"]) for t in calendar.walk("VTIMEZONE")) == [
        "America/Chicago", "America/Denver", "America/Los_Angeles"]
    expected = {f"{s.uuid}@cme": (s.start_dt, s.end_dt) for s in meeting.sessions}
    expected.update({f"{a.uuid}@cme": (a.start_dt, a.end_dt) for a in (denver, la)})
    assert_instants_agree(body, expected)


def test_public_feed_takes_the_catalog_filters(client, make_activity):
    make_activity(title="Meeting", specialty="Hepatology", credits={"ama_pra_1": "1"})
    make_activity(title="Webcast", format="live_webcast", join_url="https://x.example/j", specialty="Oncology",
                  credits={"ancc": "1"})

    def summaries(**args):
        body = client.get("/calendar/activities.ics", query_string=args).data
        return sorted(str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT"))

    assert summaries() == ["Meeting", "Webcast"]
    assert summaries(format="webcast") == ["Webcast"]
    assert summaries(specialty="Hepatology") == ["Meeting"]
    assert summaries(credit_type="ancc") == ["Webcast"]


def test_cancelled_activities_stay_in_the_feed_until_they_end(client, db, make_activity, make_user):
    from cme.activities import service as activities_service

    activity = make_activity(title="Called off")
    before = icalendar.Calendar.from_ical(client.get("/calendar/activities.ics").data).walk("VEVENT")[0]
    activities_service.cancel(activity)
    db.session.commit()
    [event] = icalendar.Calendar.from_ical(client.get("/calendar/activities.ics").data).walk("VEVENT")
    assert event["UID"] == before["UID"] and event["STATUS"] == "CANCELLED"
    assert str(event["SUMMARY"]) == "Cancelled: Called off" and int(event["SEQUENCE"]) > int(before["SEQUENCE"])
    make_activity(title="Ended and cancelled", status="cancelled", start_dt=NOW - timedelta(days=3))
    assert b"Ended and cancelled" not in client.get("/calendar/activities.ics").data


# ---------------------------------------------------------------- the personal feed

@pytest.fixture
def provider(make_user):
    return make_user("ada@example.org", full_name="Ada Lovelace", time_zone="America/Los_Angeles")


def test_personal_feed_has_confirmed_waitlisted_and_cancelled_registrations(app, client, db, make_user, make_activity,
                                                                             provider, auth):
    confirmed = make_activity(title="Seat", time_zone="America/New_York", start_dt=datetime(2027, 5, 1, 14, tzinfo=timezone.utc))
    full = make_activity(title="Full", capacity=1, time_zone="America/Denver", start_dt=datetime(2027, 5, 2, 15, tzinfo=timezone.utc))
    webcast = make_activity(title="Webcast", format="live_webcast", join_url="https://webcast.example.org/join/42",
                            time_zone="America/Los_Angeles", start_dt=datetime(2027, 5, 3, 17, tzinfo=timezone.utc))
    gone = make_activity(title="Changed my mind")
    other = make_user()
    registration_service.register(other, full.id, answers(other))
    for activity in (confirmed, full, webcast, gone):
        registration_service.register(provider, activity.id, answers(provider))
    db.session.commit()
    mine = db.session.scalars(select(registration_service.Registration).where(
        registration_service.Registration.user_id == provider.id, registration_service.Registration.activity_id == gone.id)).one()
    registration_service.cancel_registration(mine, took_part=False)
    db.session.commit()

    auth.login("ada@example.org")
    page = client.get("/my/schedule").get_data(as_text=True)
    db.session.refresh(provider)
    token = calendar_service.feed_token(provider)
    assert f"http://cme.test/calendar/feed/{token}.ics" in page and f"webcal://cme.test/calendar/feed/{token}.ics" in page
    assert "https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2Fcme.test%2Fcalendar%2Ffeed%2F" in page
    auth.logout()

    response = client.get(f"/calendar/feed/{token}.ics")  # no login: the token is the credential
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, max-age=900"
    body = response.data
    calendar = icalendar.Calendar.from_ical(body)
    events = {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {"Seat", "Waitlisted (#1): Full", "Webcast", "Cancelled: Changed my mind"}
    assert events["Seat"]["STATUS"] == "CONFIRMED" and events["Waitlisted (#1): Full"]["STATUS"] == "TENTATIVE"
    assert events["Cancelled: Changed my mind"]["STATUS"] == "CANCELLED"
    web = events["Webcast"]
    assert str(web["CONFERENCE"]) == "https://webcast.example.org/join/42" and web["CONFERENCE"].params["VALUE"] == "URI"
    assert "https://webcast.example.org/join/42" in str(web["DESCRIPTION"]) and str(web["URL"]) == "https://webcast.example.org/join/42"
    [alarm] = events["Seat"].walk("VALARM")
    assert alarm.decoded("TRIGGER") == timedelta(minutes=-30)
    assert str(events["Seat"]["UID"]) == registrant_uid(confirmed.uuid, provider.id)
    assert b"X-WR-TIMEZONE:America/Los_Angeles" in body
    assert_instants_agree(body, {str(e["UID"]): (e.decoded("DTSTART"), e.decoded("DTEND")) for e in events.values()})
    for activity in (confirmed, full, webcast):
        uid = registrant_uid(activity.uuid, provider.id)
        assert any(str(e["UID"]) == uid and e.decoded("DTSTART") == activity.start_dt for e in events.values())


def test_feed_tokens_are_random_stored_as_hashes_and_can_be_replaced(app, client, db, provider, auth):
    token = calendar_service.feed_token(provider)
    db.session.commit()
    assert len(token) >= 22  # >= 128 bits
    row = db.session.execute(select(User.__table__)).mappings().one()
    assert token not in " ".join(str(v) for v in row.values())
    assert row["feed_token_hash"] and row["feed_token_hash"] != token
    assert client.get(f"/calendar/feed/{token}.ics").status_code == 200
    auth.login("ada@example.org")
    assert "Make a new calendar feed address" in client.get("/account/profile").get_data(as_text=True)
    client.post("/calendar/feed/reset", data={"next": "/account/profile"})
    db.session.refresh(provider)
    new_token = calendar_service.feed_token(provider)
    assert new_token != token
    assert client.get(f"/calendar/feed/{token}.ics").status_code == 404
    assert client.get(f"/calendar/feed/{new_token}.ics").status_code == 200
    assert client.get("/calendar/feed/not-a-token.ics").status_code == 404


# ---------------------------------------------------------------- HTTP

def test_etag_last_modified_304_and_head(client, meeting):
    first = client.get("/calendar/activities.ics")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and last_modified
    assert "gzip" not in first.headers.get("Content-Encoding", "")
    again = client.get("/calendar/activities.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    since = client.get("/calendar/activities.ics", headers={"If-Modified-Since": last_modified})
    assert since.status_code == 304
    head = client.head("/calendar/activities.ics")
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"] == etag
    other = client.get("/calendar/activities.ics", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.data == first.data


def test_an_unchanged_feed_answers_304_without_building_and_a_change_shows_in_the_next_feed(client, db, meeting,
                                                                                             monkeypatch):
    builds = []
    real = ics_module.assemble_calendar
    monkeypatch.setattr(calendar_service, "assemble_calendar", lambda *a: builds.append(1) or real(*a))
    etag = client.get("/calendar/activities.ics").headers["ETag"]
    assert len(builds) == 1
    for _ in range(3):
        assert client.get("/calendar/activities.ics", headers={"If-None-Match": etag}).status_code == 304
    assert len(builds) == 1
    meeting.summary = "Changed"
    db.session.commit()
    changed = client.get("/calendar/activities.ics", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag and len(builds) == 2
    assert b"Changed" in changed.data


# ---------------------------------------------------------------- links

def test_add_to_calendar_links_use_utc(client, make_activity):
    activity = make_activity(title="Links", time_zone="America/Denver",
                             start_dt=datetime(2027, 6, 10, 14, tzinfo=timezone.utc),
                             end_dt=datetime(2027, 6, 10, 23, tzinfo=timezone.utc))
    google = parse_qs(urlsplit(calendar_service.google_add_url(activity)).query)
    assert google["action"] == ["TEMPLATE"] and google["dates"] == ["20270610T140000Z/20270610T230000Z"]
    outlook = urlsplit(calendar_service.outlook_add_url(activity))
    assert outlook.netloc == "outlook.live.com" and outlook.path == "/calendar/0/deeplink/compose"
    query = parse_qs(outlook.query)
    assert query["startdt"] == ["2027-06-10T14:00:00Z"] and query["enddt"] == ["2027-06-10T23:00:00Z"]
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert f'href="/activities/{activity.id}.ics"' in page and "calendar.google.com/calendar/render?action=TEMPLATE" in page
    assert "outlook.live.com/calendar/0/deeplink/compose" in page and 'href="webcal://cme.test/calendar/activities.ics"' in page


def test_on_demand_webcasts_appear_as_their_last_hour_not_a_months_long_event(client, make_activity):
    activity = make_activity(title="Self-paced HCV", format="on_demand_webcast", join_url="https://x.example/od",
                             time_zone="America/New_York", start_dt=NOW - timedelta(days=10),
                             end_dt=datetime(2027, 6, 30, 3, 59, tzinfo=timezone.utc))
    [event] = icalendar.Calendar.from_ical(client.get(f"/activities/{activity.id}.ics").data).walk("VEVENT")
    assert event.decoded("DTEND") == activity.end_dt and event.decoded("DTSTART") == activity.end_dt - timedelta(hours=1)
    assert str(event["SUMMARY"]) == "Last day to watch (on demand until Jun 29, 2027): Self-paced HCV"
    google = parse_qs(urlsplit(calendar_service.google_add_url(activity)).query)
    assert google["dates"] == ["20270630T025900Z/20270630T035900Z"]


def test_add_to_calendar_on_my_schedule_downloads_the_registrants_own_event(client, db, make_user, make_activity,
                                                                            provider, auth):
    full = make_activity(title="Full", capacity=1, time_zone="America/Denver",
                         start_dt=datetime(2027, 5, 2, 15, tzinfo=timezone.utc))
    other = make_user()
    registration_service.register(other, full.id, answers(other))
    waiting = registration_service.register(provider, full.id, answers(provider))
    db.session.commit()
    auth.login("ada@example.org")
    assert f'href="/my/registrations/{waiting.id}.ics"' in client.get("/my/schedule").get_data(as_text=True)
    response = client.get(f"/my/registrations/{waiting.id}.ics")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment")
    [event] = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
    assert str(event["STATUS"]) == "TENTATIVE" and str(event["SUMMARY"]) == "Waitlisted (#1): Full"
    assert str(event["UID"]) == registrant_uid(full.uuid, provider.id)  # the invitation's and the feed's UID
    assert_instants_agree(response.data, {str(event["UID"]): (full.start_dt, full.end_dt)})
    assert client.get(f"/my/registrations/{waiting.id}.ics",
                      headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    # Someone else's registration is not there at all.
    theirs = db.session.scalars(select(registration_service.Registration).where(
        registration_service.Registration.user_id == other.id)).one()
    assert client.get(f"/my/registrations/{theirs.id}.ics").status_code == 404
    assert client.get("/my/registrations/999999.ics").status_code == 404


# ---------------------------------------------------------------- stored fragments, and GETs that write nothing

@pytest.fixture
def writes(db):
    """The INSERT, UPDATE and DELETE statements sent to the database while the test runs."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    yield statements
    sa.event.remove(db.engine, "before_cursor_execute", record)


def feed_from_scratch(db) -> bytes:
    """The public feed as it is built with no stored fragment at all (nothing written: rolled back)."""
    db.session.commit()
    db.session.execute(update(Activity).values(ics_fragment=None, ics_fragment_version=None,
                                               updated_dt=Activity.updated_dt))
    db.session.expire_all()
    body = calendar_service.public_feed_export(CatalogFilters()).build()
    db.session.rollback()
    return body


def assert_feed_is_current(client, db, writes) -> bytes:
    """The feed joins stored fragments only (each one current), writes nothing, and equals a build from
    scratch."""
    db.session.expire_all()
    assert db.session.scalar(select(sa.func.count()).where(~calendar_service.fragment_is_current())) == 0
    before = len(writes)
    body = client.get("/calendar/activities.ics").data
    assert len(writes) == before
    assert body == feed_from_scratch(db)
    return body


def test_the_public_feed_equals_a_build_from_scratch_after_every_kind_of_change(app, client, db, make_user,
                                                                                 make_activity, meeting, writes):
    from cme.activities import service as activities_service
    from cme.activities.models import Faculty

    organizer = make_user(role="organizer")
    make_activity(title="Unrelated webcast", format="live_webcast", join_url="https://x.example/j")
    draft = make_activity(title="Draft", status="draft")
    for activity in (draft, meeting):
        activity.faculty.append(Faculty(full_name="Ana Ruiz", role="faculty", disclosure_received_dt=NOW))
    db.session.commit()
    first = assert_feed_is_current(client, db, writes)
    etags = {client.get("/calendar/activities.ics").headers["ETag"]}

    def step(change) -> None:
        change()
        db.session.commit()
        body = assert_feed_is_current(client, db, writes)
        etag = client.get("/calendar/activities.ics").headers["ETag"]
        assert etag not in etags, change.__name__
        etags.add(etag)
        assert body != first

    def fields():
        meeting.title, meeting.venue_name = "Midwest Liver Weekend 2027", "Palmer House"

    def publish():
        activities_service.publish(draft)

    def add_session():
        activities_service.add_session(meeting, {
            "title": "Monday wrap-up", "start_dt": datetime(2027, 11, 7, 18, tzinfo=timezone.utc),
            "end_dt": datetime(2027, 11, 7, 19, tzinfo=timezone.utc), "room": "B", "speakers": [meeting.faculty[0]],
            "description": ""})

    def choose_speakers():  # only the speakers change: the VEVENT's description does
        wrap_up = next(s for s in meeting.sessions if s.title == "Monday wrap-up")
        activities_service.add_faculty(meeting, full_name="Ben Ng", degree="MD", affiliation="", role="faculty",
                                       disclosure_received=True)
        activities_service.update_session(wrap_up, {
            "title": wrap_up.title, "start_dt": wrap_up.start_dt, "end_dt": wrap_up.end_dt, "room": wrap_up.room,
            "speakers": list(meeting.faculty), "description": ""})

    def rename_speaker():  # a faculty record's byline is what the agenda shows
        ng = next(p for p in meeting.faculty if p.full_name == "Ben Ng")
        activities_service.update_faculty(ng, full_name="Benjamin Ng", degree="MD, PhD", affiliation="",
                                          role="faculty", disclosure_received=True)

    def edit_session():
        sunday = next(s for s in meeting.sessions if s.title == "Sunday cases")
        activities_service.update_session(sunday, {
            "title": "Sunday cases", "start_dt": datetime(2027, 11, 6, 13, 30, tzinfo=timezone.utc),
            "end_dt": datetime(2027, 11, 6, 14, tzinfo=timezone.utc), "room": "C", "speakers": "", "description": ""})

    def delete_session_from_agenda():
        activities_service.delete_session(next(s for s in meeting.sessions if s.title == "Monday wrap-up"))

    def delete_session_row():
        db.session.delete(next(s for s in meeting.sessions if s.title == "Sunday cases"))

    def change_designation():
        activities_service.set_designation(meeting, "ama_pra_1", Decimal("1.50"))

    def add_designation():
        activities_service.set_designation(meeting, "ancc", Decimal("2.00"))

    def delete_designation():
        activities_service.delete_designation(next(d for d in meeting.credit_designations if d.credit_type == "ancc"))

    def duplicate_and_publish():
        activities_service.publish(activities_service.duplicate(meeting, organizer))

    def cancel():
        activities_service.cancel(meeting)

    def bulk_update():  # bypasses the session's flush: caught by the stored version, built in memory
        db.session.execute(update(Activity).where(Activity.id == draft.id).values(summary="Bulk"))

    for change in (fields, publish, change_designation, add_session, choose_speakers, rename_speaker, edit_session,
                   delete_session_from_agenda,
                   delete_session_row, add_designation, delete_designation,
                   duplicate_and_publish, cancel):
        step(change)
    bulk_update()
    db.session.commit()
    before = len(writes)
    body = client.get("/calendar/activities.ics").data
    assert b"Bulk" in body and len(writes) == before
    assert body == feed_from_scratch(db)


def test_a_fragment_of_another_configuration_is_built_in_memory_without_a_write_until_stored_anew(app, client, db,
                                                                                                   meeting, writes):
    assert b"http://cme.test/activities/" in client.get("/calendar/activities.ics").data
    stored = db.session.scalar(select(Activity.ics_fragment_version).where(Activity.id == meeting.id))
    app.config["CME_BASE_URL"] = "https://cme.example.org"
    body = client.get("/calendar/activities.ics").data
    assert f"https://cme.example.org/activities/{meeting.id}".encode() in body and b"http://cme.test" not in body
    assert writes == []
    db.session.expire_all()
    assert db.session.scalar(select(Activity.ics_fragment_version).where(Activity.id == meeting.id)) == stored
    # An operator stores them again for the new configuration; the feed is the same, from stored fragments.
    result = app.test_cli_runner().invoke(args=["cme", "store-calendar-fragments"])
    assert "Stored the calendar events of 1 activity." in result.output
    db.session.expire_all()
    assert db.session.scalar(select(sa.func.count()).where(~calendar_service.fragment_is_current())) == 0
    assert client.get("/calendar/activities.ics").data == body
    assert "of 0 activities" in app.test_cli_runner().invoke(args=["cme", "store-calendar-fragments"]).output


def test_gets_of_feeds_downloads_and_my_schedule_write_nothing(client, db, make_activity, meeting, provider, auth,
                                                             writes):
    registration = registration_service.register(provider, meeting.id, answers(provider))
    db.session.commit()
    token = calendar_service.feed_token(provider)
    auth.login("ada@example.org")
    writes.clear()
    for url in ("/calendar/activities.ics", f"/calendar/feed/{token}.ics", f"/activities/{meeting.id}.ics",
                f"/my/registrations/{registration.id}.ics", "/my/schedule"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert client.head(url).status_code == 200
        assert client.get(url, headers={"If-None-Match": response.headers.get("ETag", "")}).status_code in (200, 304)
    assert writes == []


def test_my_schedule_of_a_new_user_writes_nothing_and_shows_a_working_feed_address(client, db, make_activity,
                                                                                   make_user, auth, writes):
    activity = make_activity(title="First registration")
    user = make_user("new@example.org")
    registration_service.register(user, activity.id, answers(user))
    db.session.commit()
    auth.login("new@example.org")
    writes.clear()
    page = client.get("/my/schedule").get_data(as_text=True)
    assert writes == []
    [address] = set(re.findall(r"http://cme\.test(/calendar/feed/[\w-]+\.ics)", page))
    feed = client.get(address)
    assert feed.status_code == 200 and b"SUMMARY:First registration" in feed.data
    assert client.get("/my/schedule").get_data(as_text=True).count(address) >= 1


def test_feed_queries_do_not_grow_with_the_number_of_activities(client, db, make_activity, make_user, count_queries):
    def queries_for_feed() -> int:
        with count_queries() as statements:
            assert client.get("/calendar/activities.ics").status_code == 200
        return len(statements)

    def add(n: int) -> None:
        for i in range(n):
            activity = make_activity(title=f"Activity {i}", credits={"ama_pra_1": "2", "ancc": "2"})
            activity.sessions.append(ActivitySession(title="Talk", start_dt=activity.start_dt,
                                                     end_dt=activity.start_dt + timedelta(hours=1)))
        db.session.commit()

    add(2)
    small = queries_for_feed()
    add(8)
    assert queries_for_feed() == small


def test_users_created_before_feed_tokens_existed_get_one_from_the_migration(tmp_path):
    from flask_migrate import upgrade

    from cme import create_app
    from cme.extensions import db as database

    app = create_app({"TESTING": True, "SECRET_KEY": "migration-secret-0123456789abcdef",
                      "INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/old.sqlite3",
                      "CME_BASE_URL": "http://cme.test"})
    with app.app_context():
        upgrade(revision="43119b509988")
        database.session.execute(sa.text(
            "INSERT INTO users (email, password_hash, full_name, degree, profession, specialty, time_zone, role, "
            "is_active_account, created_dt, password_changed_dt) VALUES ('old@example.org', 'x', 'Old', 'MD', "
            "'physician', '', 'UTC', 'provider', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        database.session.commit()
        upgrade()
        user = database.session.scalars(select(User)).one()
        assert calendar_service.user_for_feed_token(calendar_service.feed_token(user)) == user
        database.session.remove()
        database.engine.dispose()


def _event_bytes_by_icalendar(data: ics_module.EventData) -> bytes:
    """The VEVENT as icalendar's components write it: what ics.event_bytes writes directly, and must match."""
    tz = zone(data.zone_name)
    event = icalendar.Event()
    event.add("uid", data.uid)
    event.add("sequence", data.sequence)
    event.add("dtstamp", data.last_modified)
    event.add("last-modified", data.last_modified)
    event.add("dtstart", data.start.astimezone(tz).replace(tzinfo=None), parameters={"TZID": data.zone_name})
    event.add("dtend", data.end.astimezone(tz).replace(tzinfo=None), parameters={"TZID": data.zone_name})
    event.add("summary", data.summary)
    event.add("description", data.description)
    if data.location:
        event.add("location", data.location)
    event.add("url", data.url)
    event.add("status", data.status)
    if data.categories:
        event.add("categories", list(data.categories))
    organizer = icalendar.vCalAddress(f"mailto:{data.organizer_email}")
    organizer.params["CN"] = icalendar.vText(data.organizer_name)
    event.add("organizer", organizer)
    if data.conference_url:
        event.add("conference", data.conference_url, parameters={"VALUE": "URI", "FEATURE": "AUDIO,VIDEO",
                                                                  "LABEL": "Join the webcast"})
    if data.alarm_minutes is not None and data.status != "CANCELLED":
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", data.summary)
        alarm.add("trigger", timedelta(minutes=-data.alarm_minutes))
        event.add_component(alarm)
    return event.to_ical()


AWKWARD_TEXTS = [
    "", "Plain", "Commas, semicolons; backslashes \\ and a literal \\N", "Lines\nand\r\nreturns\rhere",
    "Quotes \"double\" and 'single' and a caret ^ and a colon: here", "x" * 73, "x" * 74, "x" * 75, "y" * 300,
    "a" * 73 + "\\" + "b" * 10, "a" * 73 + "," + "b" * 80, "a" * 72 + "^" + "b" * 80,
    "Zoë Ελένη Иванова 王小明 " * 6, "é" * 37 + "x", "é" * 38, "x" + "王" * 30, "🩺 stethoscope " * 9,
    "right ’ single quote", "\"Quoted\"^name", "Hepatitis C Elimination Summit: Simplified Treatment in Primary Care " * 2,
]


@pytest.mark.parametrize("text", AWKWARD_TEXTS)
def test_event_bytes_match_icalendar_byte_for_byte(text):
    start = datetime(2026, 3, 8, 6, 30, tzinfo=timezone.utc)  # the night New York springs forward
    changed = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    for zone_name, last_modified in (("America/New_York", changed), ("UTC", changed), ("Asia/Kolkata", changed.replace(tzinfo=None)),
                                     ("Europe/London", changed.astimezone(zone("America/Chicago")))):
        for cancelled, alarm, conference in ((False, None, None), (False, 30, "https://join.example.org/x?a=b,c"),
                                             (True, 15, None)):
            data = ics_module.EventData(
                uid=f"{text[:20]}@cme", sequence=3, summary=text, description=f"{text}\n\nDetails: https://x/1",
                location=text, url="https://cme.example.org/activities/1", start=start, end=start + timedelta(hours=5),
                zone_name=zone_name, status="CANCELLED" if cancelled else "CONFIRMED",
                last_modified=last_modified, organizer_email="cme@example.org",
                organizer_name=text or "The Liver Education Foundation", categories=("Live meeting", text) if text else (),
                conference_url=conference, alarm_minutes=alarm)
            assert ics_module.event_bytes(data) == _event_bytes_by_icalendar(data)
