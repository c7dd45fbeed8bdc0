"""Issue 12, points 5 and 6: notices that say what changed, once (a burst of edits is one mail per registrant,
waitlisted registrants get their own wording, the organizer sees who will be told and may add a message), and
reminders queued through the outbox for their time (moved with the start, never after a cancellation, never
sent twice)."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from email import message_from_string, policy

import icalendar
import pytest
from sqlalchemy import select, update

from cme.accounts.models import User
from cme.activities import service as activities
from cme.extensions import db as _db
from cme.mail.models import OutboxMessage
from cme.mail.service import deliver_pending, message_text
from cme.registration import lifecycle
from cme.registration import service as registration_service
from cme.registration.models import Registration, display_checkin_code
from cme.registration.notices import NOTICE_DELAY, NOTICE_MAX_DELAY
from cme.timeutil import now_utc
from tests.helpers import outbox

START = datetime(2027, 6, 10, 14, tzinfo=timezone.utc)  # 8:00 AM MDT
END = datetime(2027, 6, 10, 23, tzinfo=timezone.utc)
PLACE = {"venue_name": "Denver Convention Center", "street_address": "700 14th St", "city": "Denver", "state": "CO",
         "postal_code": "80202"}
FORM = {
    "format": "live_meeting", "title": "Rocky Mountain Liver Symposium", "summary": "", "description": "Talks.",
    "learning_objectives": "", "target_audience": "", "specialty": "Hepatology", "topics": "",
    "time_zone": "America/Denver", "start_local": "2027-06-10T08:00", "end_local": "2027-06-10T17:00", "fold": "",
    **PLACE, "capacity": "2", "accreditation_statement": "Accredited.", "remind_day_before": "y",
    "remind_hour_before": "y",
}


def parsed(row: OutboxMessage):
    return message_from_string(message_text(row), policy=policy.default)


def bodies(row: OutboxMessage) -> tuple[str, str]:
    message = parsed(row)
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def invitations(message) -> list:
    return [icalendar.Calendar.from_ical(p.get_content()) for p in message.walk()
            if p.get_content_type() == "text/calendar"]


@pytest.fixture
def symposium(db, make_activity, make_user, register, organizer):
    """A published Denver meeting with two seats taken and one person waitlisted."""
    activity = make_activity(organizers=[organizer], title="Rocky Mountain Liver Symposium",
                             time_zone="America/Denver", start_dt=START, end_dt=END, capacity=2,
                             credits={"ama_pra_1": "1"}, **PLACE)
    for name in ("ada", "bob", "cy"):
        register(make_user(f"{name}@example.org", full_name=name.title()), activity)
    db.session.execute(OutboxMessage.__table__.delete().where(OutboxMessage.kind.like("registration_%")))
    db.session.commit()
    return activity


def edit(client, activity, **changes):
    response = client.post(f"/organize/activities/{activity.id}/edit", data={**FORM, **changes})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def notices(db) -> dict[str, OutboxMessage]:
    return {row.recipient: row for row in outbox(db, "schedule_changed")}


# ---------------------------------------------------------------- what a notice says

def test_a_notice_names_the_old_and_new_values(client, db, symposium):
    edit(client, symposium, start_local="2027-06-10T09:00", venue_name="Gaylord Rockies",
         street_address="6700 N Gaylord Rockies Blvd", postal_code="80019")
    rows = notices(db)
    assert sorted(rows) == ["ada@example.org", "bob@example.org", "cy@example.org"]
    text, html = bodies(rows["ada@example.org"])
    assert "Starts: Thu Jun 10, 8:00 AM MDT → 9:00 AM MDT" in text
    assert "Venue: Denver Convention Center → Gaylord Rockies" in text
    assert "Address: 700 14th St, Denver, CO 80202 → 6700 N Gaylord Rockies Blvd, Denver, CO 80019" in text
    assert "Ends" not in text  # what did not change is not listed as a change
    assert "8:00 AM MDT</s> → <strong>9:00 AM MDT</strong>" in html and "Gaylord Rockies</strong>" in html


def test_text_only_edits_tell_nobody(client, db, symposium):
    edit(client, symposium, title="Rocky Mountain Liver Symposium 2027", description="New talks.", summary="Typo fixed")
    session = lifecycle.add_session(symposium, {"title": "Keynot", "start_dt": START, "end_dt": START + timedelta(hours=1),
                                                "room": "", "speakers": "", "description": ""})
    db.session.commit()
    _db.session.execute(OutboxMessage.__table__.delete())
    db.session.commit()
    assert lifecycle.update_session(session, {"title": "Keynote", "start_dt": START, "end_dt": START + timedelta(hours=1),
                                              "room": "Hall B", "speakers": "", "description": "Fixed"}) == 0
    db.session.commit()
    assert outbox(db) == []


def test_venue_and_join_link_changes_tell_and_bump_the_calendar_sequence(client, db, symposium, make_activity,
                                                                          make_user, register, organizer):
    edit(client, symposium, venue_name="Hyatt Regency")
    db.session.refresh(symposium)
    assert symposium.schedule_sequence == 1 and len(notices(db)) == 3
    message = parsed(notices(db)["ada@example.org"])
    [calendar] = invitations(message)[:1]
    [event] = calendar.walk("VEVENT")
    assert calendar["METHOD"] == "REQUEST" and "Hyatt Regency" in str(event["LOCATION"])

    webcast = make_activity(organizers=[organizer], format="live_webcast", title="HCC grand rounds", credits={},
                            join_url="https://meet.example.org/old", start_dt=START, end_dt=START + timedelta(hours=2))
    register(make_user("dee@example.org", full_name="Dee"), webcast)
    with lifecycle.telling_registrants(webcast, message="The first link was wrong.") as told:  # as the edit form
        activities.change_place(webcast, join_url="https://meet.example.org/new")
    db.session.commit()
    assert told.count == 1
    [row] = [r for r in outbox(db, "schedule_changed") if r.recipient == "dee@example.org"]
    text, html = bodies(row)
    assert "Join link: https://meet.example.org/old → https://meet.example.org/new" in text
    assert "The first link was wrong." in text and "The first link was wrong." in html


def test_waitlisted_registrants_get_their_own_wording_and_no_invitation(client, db, symposium):
    edit(client, symposium, start_local="2027-06-10T09:00")
    rows = notices(db)
    waiting, seated = parsed(rows["cy@example.org"]), parsed(rows["ada@example.org"])
    waiting_text = waiting.get_body(("plain",)).get_content()
    assert "you are on the waitlist (number 1)" in waiting_text and "You still hold no seat" in waiting_text
    assert "Starts: Thu Jun 10, 8:00 AM MDT → 9:00 AM MDT" in waiting_text
    assert invitations(waiting) == []
    assert "for which you hold a seat" in seated.get_body(("plain",)).get_content()
    assert invitations(seated) and invitations(seated)[0]["METHOD"] == "REQUEST"


def test_a_waitlisted_registrant_is_not_mailed_the_join_link(db, make_activity, make_user, register):
    webcast = make_activity(format="live_webcast", credits={}, capacity=1, join_url="https://meet.example.org/old",
                            start_dt=START, end_dt=START + timedelta(hours=2))
    register(make_user("ada@example.org"), webcast)
    register(make_user("bob@example.org"), webcast)
    with lifecycle.telling_registrants(webcast):
        activities.change_place(webcast, join_url="https://meet.example.org/new")
    db.session.commit()
    seated, waiting = (bodies(notices(db)[f"{name}@example.org"])[0] for name in ("ada", "bob"))
    assert "Join link: https://meet.example.org/old → https://meet.example.org/new" in seated
    assert "Join link: changed (you will find it on My schedule once you hold a seat)" in waiting
    assert "meet.example.org" not in waiting


# ---------------------------------------------------------------- once per burst

def test_a_burst_of_eight_saves_is_one_notice_per_registrant(client, db, symposium):
    """Reproduces "every save sends another round (8 mails for one change)": now one mail each, naming the first
    old value and the last new one, with one invitation of a higher SEQUENCE built from the schedule as it is."""
    first = now_utc()
    for hour in (9, 10, 9, 11, 10, 12, 11, 10):
        edit(client, symposium, start_local=f"2027-06-10T{hour:02d}:00")
    assert len(notices(db)) == 3 and len(outbox(db)) == 6  # a notice and a reminder each
    assert not deliver_pending(now=now_utc()).sent  # still waiting for the burst to end
    later = first + NOTICE_MAX_DELAY + timedelta(seconds=1)
    report = deliver_pending(now=later)
    assert len(report.sent) == 3  # the notices (the reminders wait for their day)
    db.session.expire_all()
    ada = notices(db)["ada@example.org"]
    text = parsed(ada).get_body(("plain",)).get_content()
    assert "Starts: Thu Jun 10, 8:00 AM MDT → 10:00 AM MDT" in text and text.count("Starts:") == 1
    [event] = invitations(parsed(ada))[0].walk("VEVENT")
    assert event.decoded("DTSTART") == START + timedelta(hours=2)
    registration = db.session.scalar(select(Registration).join(Registration.user).where(User.email == "ada@example.org"))
    assert int(event["SEQUENCE"]) == registration.invite_sequence > 1


def test_a_change_reverted_within_the_burst_tells_nobody(client, db, symposium):
    edit(client, symposium, start_local="2027-06-10T09:00", venue_name="Elsewhere")
    assert len(notices(db)) == 3
    edit(client, symposium, start_local="2027-06-10T08:00", venue_name="Elsewhere")
    assert all("start" not in json.loads(r.payload)["changes"] for r in notices(db).values())
    edit(client, symposium)  # all back as it was
    assert notices(db) == {}


def test_a_notice_waits_while_edits_go_on_but_not_forever(client, db, symposium):
    edit(client, symposium, start_local="2027-06-10T09:00")
    row = notices(db)["ada@example.org"]
    first_due = row.send_after_dt
    assert abs(first_due - row.created_dt - NOTICE_DELAY) < timedelta(seconds=1)
    edit(client, symposium, start_local="2027-06-10T10:00")
    db.session.expire_all()
    row = notices(db)["ada@example.org"]
    assert first_due < row.send_after_dt <= row.created_dt + NOTICE_MAX_DELAY


def test_the_worker_sends_nothing_before_its_send_after_time(client, db, symposium):
    edit(client, symposium, venue_name="Elsewhere")
    due = notices(db)["ada@example.org"].send_after_dt
    assert deliver_pending(now=due - timedelta(seconds=1)).sent == []
    db.session.expire_all()
    assert all(r.status == "pending" and r.raw_message is None for r in notices(db).values())
    assert len(deliver_pending(now=due + timedelta(seconds=1)).sent) == 3


def test_a_change_after_the_worker_took_the_notice_goes_in_a_new_one(client, db, symposium):
    edit(client, symposium, venue_name="Elsewhere")
    deliver_pending(now=notices(db)["ada@example.org"].send_after_dt)
    edit(client, symposium, venue_name="Elsewhere", start_local="2027-06-10T09:00")
    db.session.expire_all()
    fresh = [r for r in outbox(db, "schedule_changed") if r.status == "pending"]
    assert len(fresh) == 3
    text = parsed(fresh[0]).get_body(("plain",)).get_content()
    assert "Starts:" in text and "Venue:" not in text  # the venue was told already


def test_a_cancellation_is_told_at_once_and_drops_the_waiting_notices(client, db, symposium):
    edit(client, symposium, venue_name="Elsewhere")
    assert lifecycle.cancel_activity(symposium) == 3
    db.session.commit()
    assert sorted(r.kind for r in outbox(db)) == ["activity_cancelled"] * 3  # no notice, no reminder left
    assert all(r.send_after_dt is None for r in outbox(db))


# ---------------------------------------------------------------- what the organizer sees

def test_the_organizer_sees_who_will_be_told_and_adds_a_message(client, db, symposium, make_activity, organizer):
    page = client.get(f"/organize/activities/{symposium.id}/edit").get_data(as_text=True)
    assert "3 registrants (1 waitlisted)</strong> will be told of changes to time, venue or join link" in page
    manage = client.get(f"/organize/activities/{symposium.id}").get_data(as_text=True)
    assert "3 registrants (1 waitlisted)" in manage  # beside the add-session form
    draft = make_activity(organizers=[organizer], status="draft")
    assert "will be told" not in client.get(f"/organize/activities/{draft.id}/edit").get_data(as_text=True)

    response = edit(client, symposium, start_local="2027-06-10T09:00",
                    notice_message="Breakfast moves to 8:30; sorry for the late change.")
    client.get(response.headers["Location"])
    text, html = bodies(notices(db)["ada@example.org"])
    assert "A message from the organizers (Olga Organizer):" in text
    assert "Breakfast moves to 8:30; sorry for the late change." in text and "Breakfast moves to 8:30" in html


def test_the_session_form_shows_the_count_and_carries_the_message(client, db, symposium):
    lifecycle.add_session(symposium, {"title": "Keynote", "start_dt": START, "end_dt": START + timedelta(hours=1),
                                      "room": "", "speakers": "", "description": ""})
    db.session.commit()
    _db.session.execute(OutboxMessage.__table__.delete())
    db.session.commit()
    [session] = symposium.sessions
    url = f"/organize/activities/{symposium.id}/sessions/{session.id}/edit"
    assert "3 registrants (1 waitlisted)" in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"title": "Keynote", "start_local": "2027-06-10T09:00",
                                      "end_local": "2027-06-10T10:00", "fold": "", "room": "", "speakers": "",
                                      "description": "", "notice_message": "The keynote speaker's flight is late."})
    assert response.status_code == 302
    text, _ = bodies(notices(db)["bob@example.org"])
    assert "Session “Keynote”: Thu Jun 10, 8:00–9:00 AM MDT → 9:00–10:00 AM MDT" in text
    assert "The keynote speaker's flight is late." in text


# ---------------------------------------------------------------- reminders

def reminders(db) -> list[OutboxMessage]:
    return [r for r in outbox(db) if r.kind.startswith("reminder_")]


def test_reminders_are_queued_for_their_time(db, make_activity, make_user, register):
    soon = now_utc().replace(microsecond=0) + timedelta(days=3)
    meeting = make_activity(start_dt=soon, end_dt=soon + timedelta(hours=3))
    webcast = make_activity(format="live_webcast", join_url="https://meet.example.org/x", start_dt=soon,
                            end_dt=soon + timedelta(hours=1))
    on_demand = make_activity(format="on_demand_webcast", start_dt=soon - timedelta(days=5),
                              end_dt=soon + timedelta(days=30))
    quiet = make_activity(start_dt=soon, end_dt=soon + timedelta(hours=3), remind_day_before=False)
    tomorrow = now_utc().replace(microsecond=0) + timedelta(hours=20)
    late = make_activity(start_dt=tomorrow, end_dt=tomorrow + timedelta(hours=3))
    ada = make_user("ada@example.org")
    for activity in (meeting, webcast, on_demand, quiet, late):
        register(ada, activity)
    by_kind = {r.kind: r for r in reminders(db)}
    assert sorted(by_kind) == ["reminder_meeting", "reminder_webcast"]
    assert by_kind["reminder_meeting"].send_after_dt == soon - timedelta(hours=24)
    assert by_kind["reminder_webcast"].send_after_dt == soon - timedelta(hours=1)
    assert by_kind["reminder_meeting"].subject.startswith("Tomorrow:")
    # Not before its time; then once.
    assert not [i for i in deliver_pending(now=soon - timedelta(hours=25)).sent
                if i == by_kind["reminder_meeting"].id]
    assert by_kind["reminder_meeting"].id in deliver_pending(now=soon - timedelta(hours=24)).sent


def test_a_reminder_says_where_which_sessions_and_the_checkin_code(db, make_activity, make_user, register):
    start = now_utc().replace(microsecond=0, second=0) + timedelta(days=3)
    meeting = make_activity(start_dt=start, end_dt=start + timedelta(hours=4), street_address="1335 6th Ave", credits={},
                            postal_code="10019")
    for n, title in enumerate(("Opening", "Cirrhosis workshop", "Closing")):
        lifecycle.add_session(meeting, {"title": title, "start_dt": start + timedelta(hours=n),
                                        "end_dt": start + timedelta(hours=n + 1), "room": f"Room {n}",
                                        "speakers": "", "description": ""})
    db.session.commit()
    ada = make_user("ada@example.org", full_name="Ada Lovelace")
    registration = register(ada, meeting, session_ids=[meeting.sessions[1].id])
    [row] = reminders(db)
    text, html = bodies(row)
    code = display_checkin_code(registration.checkin_code)
    assert "starts tomorrow" in text and "Venue: Hilton Midtown" in text
    assert "Address: 1335 6th Ave, New York, NY 10019" in text
    assert "Cirrhosis workshop (Room 1)" in text and "Opening" not in text
    assert f"Your check-in code: {code}" in text and code in html and "Cirrhosis workshop" in html

    webcast = make_activity(format="live_webcast", join_url="https://meet.example.org/hcc", start_dt=start, credits={},
                            end_dt=start + timedelta(hours=1), access_notes="Passcode 4242")
    register(ada, webcast)
    [row] = [r for r in reminders(db) if r.kind == "reminder_webcast"]
    text, html = bodies(row)
    assert "starts in an hour" in text and "Join: https://meet.example.org/hcc" in text and "Passcode 4242" in text
    assert 'href="https://meet.example.org/hcc"' in html


def test_a_reschedule_moves_the_waiting_reminder(client, db, symposium, make_user, register):
    # The symposium is in 2027: each registration queued a reminder 24 hours before.
    register(make_user("dan@example.org"), symposium)
    assert {r.send_after_dt for r in reminders(db)} == {START - timedelta(hours=24)} and len(reminders(db)) == 4
    edit(client, symposium, start_local="2027-06-11T08:00", end_local="2027-06-11T17:00")
    db.session.expire_all()
    assert len(reminders(db)) == 4
    assert all(r.send_after_dt == START == r.next_attempt_dt for r in reminders(db))  # a day later, less 24 hours
    # Turning the reminder off drops it; on again, it comes back for everyone not yet reminded.
    edit(client, symposium, start_local="2027-06-11T08:00", end_local="2027-06-11T17:00", remind_day_before="")
    assert reminders(db) == []
    edit(client, symposium, start_local="2027-06-11T08:00", end_local="2027-06-11T17:00")
    assert len(reminders(db)) == 4


def test_no_reminder_after_a_cancellation(db, make_activity, make_user, register):
    start = now_utc().replace(microsecond=0) + timedelta(days=3)
    activity = make_activity(start_dt=start, end_dt=start + timedelta(hours=3))
    other = make_activity(start_dt=start, end_dt=start + timedelta(hours=3))
    ada, bob = make_user("ada@example.org"), make_user("bob@example.org")
    mine = register(ada, activity)
    register(bob, activity)
    register(ada, other)
    assert len(reminders(db)) == 3
    registration_service.cancel_registration(mine, took_part=False)
    db.session.commit()
    assert len(reminders(db)) == 2
    lifecycle.cancel_activity(activity)
    db.session.commit()
    assert [r.recipient for r in reminders(db)] == ["ada@example.org"]  # the other activity's
    # Robust at compose time too: a reminder whose registration was cancelled behind the service's back.
    [left] = reminders(db)
    left_id = left.id
    db.session.execute(update(Registration).where(Registration.activity_id == other.id)
                       .values(status="cancelled", waitlist_position=None))
    db.session.commit()
    report = deliver_pending(now=start)
    assert left_id in report.dropped and left_id not in report.sent
    db.session.expire_all()
    assert reminders(db) == []


def test_two_workers_never_send_a_reminder_twice(app, db, make_activity, make_user, register, smtp):
    start = now_utc().replace(microsecond=0) + timedelta(days=3)
    activity = make_activity(start_dt=start, end_dt=start + timedelta(hours=3), capacity=None)
    for n in range(12):
        register(make_user(f"p{n}@example.org"), activity)
    ids = {r.id for r in reminders(db)}
    assert len(ids) == 12
    due = start - timedelta(hours=23)
    reports, errors = [], []

    def worker():
        try:
            with app.app_context():
                while True:
                    report = deliver_pending(now=due, limit=3)
                    reports.append(report)
                    if not report.sent:
                        break
                _db.session.remove()
        except Exception as error:  # pragma: no cover - surfaced below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    sent = [i for r in reports for i in r.sent if i in ids]
    assert sorted(sent) == sorted(ids)  # each once
    subjects = [m["Subject"] for m in smtp.messages if m["Subject"].startswith("Tomorrow:")]
    assert len(subjects) == 12


def test_a_save_costs_the_same_statements_for_few_or_many_registrants(db, make_activity, make_user, register,
                                                                        count_queries):
    """Notices are queued, coalesced and reminders moved in batches: no statement per registrant (1000
    registrants on PostgreSQL: 23 statements to queue, 25 to coalesce, as for 100)."""
    counts = []
    for size in (2, 6):
        activity = make_activity(start_dt=START, end_dt=END, credits={})
        for n in range(size):
            register(make_user(), activity)
        for hours in (1, 2):  # the first save queues the notices, the second coalesces them
            with count_queries() as statements:
                lifecycle.reschedule(activity, time_zone=activity.time_zone, start_dt=START + timedelta(hours=hours),
                                     end_dt=END)
                db.session.commit()
            # (SQLite's driver sends the new rows' INSERTs one by one; PostgreSQL's in one statement)
            counts.append(len([s for s in statements if not s.startswith("INSERT")]))
            assert len(notices_of(db, activity)) == size
    assert counts[:2] == counts[2:], counts


def notices_of(db, activity) -> list[OutboxMessage]:
    return [r for r in outbox(db, "schedule_changed") if json.loads(r.payload)["registration_id"] in
            {reg.id for reg in db.session.scalars(select(Registration).where(Registration.activity_id == activity.id))}]
