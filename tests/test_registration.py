"""Registration: the form, seats and waitlist, cancellation and promotion, concurrency, mails with calendar
invitations (parsed with icalendar and vobject), the roster and its CSV, the check-in desk."""
from __future__ import annotations

import csv
import io
import re
import threading
from datetime import timedelta
from email import message_from_string, policy

import icalendar
import pytest
import vobject
from sqlalchemy import func, select

from cme.calendar.invitations import registrant_uid
from cme.attendance import service as attendance
from cme.attendance.models import Attendance
from cme.extensions import db as _db
from cme.mail.models import OutboxMessage
from cme.mail.service import deliver_pending, message_text
from cme.registration import service
from cme.registration.models import Registration, display_checkin_code, new_checkin_code
from cme.timeutil import now_utc
from tests.helpers import ical_js, outbox, utc

FORM = {"full_name": "Dr Ada Lovelace", "degree": "MD", "profession": "physician", "npi": "", "licence_state": "",
        "licence_number": "", "dietary_needs": "Vegetarian", "accessibility_needs": "", "attest": "y"}


def answers(user, **extra):
    return service.Answers.from_profile(user, attested_professional=True, **extra)


def registrations(db, activity):
    db.session.expire_all()
    return db.session.scalars(select(Registration).where(Registration.activity_id == activity.id)
                              .order_by(Registration.id)).all()


def parsed(row: OutboxMessage):
    return message_from_string(message_text(row), policy=policy.default)


# ---------------------------------------------------------------- the form

def test_the_form_is_prefilled_from_the_profile_and_asks_what_a_live_meeting_needs(client, db, make_activity, provider):
    activity = make_activity(capacity=10)
    page = client.get(f"/activities/{activity.id}/register").get_data(as_text=True)
    assert 'value="Ada Lovelace"' in page and "Dietary needs" in page and "Accessibility needs" in page
    assert "I am a licensed healthcare professional" in page and "10 seats left" in page
    webcast = make_activity(format="live_webcast", join_url="https://x.example/j")
    assert "Dietary needs" not in client.get(f"/activities/{webcast.id}/register").get_data(as_text=True)


def test_registering_confirms_and_stores_the_answers(client, db, make_activity, provider):
    activity = make_activity(capacity=10)
    response = client.post(f"/activities/{activity.id}/register", data=FORM)
    assert response.status_code == 302 and response.location.startswith("/my/schedule")
    [registration] = registrations(db, activity)
    assert registration.status == "confirmed" and registration.full_name == "Dr Ada Lovelace"
    assert registration.dietary_needs == "Vegetarian" and registration.attested_professional
    page = client.get("/my/schedule").get_data(as_text=True)
    assert "Confirmed" in page and activity.title in page and display_checkin_code(registration.checkin_code) in page


def test_the_form_and_the_registration_cost_the_same_queries_on_a_quiet_or_a_busy_full_activity(
        client, db, make_user, make_activity, provider, register, count_queries):
    """Form and submit load what they need in a fixed number of statements: an empty activity with seats and one
    with thirty registrants and a waitlist cost the same. The mail is a small row; composing it is the delivery
    worker's job."""

    def statements_for(activity) -> tuple[int, int]:
        db.session.expire_all()
        with count_queries() as form_statements:
            assert client.get(f"/activities/{activity.id}/register").status_code == 200
        with count_queries() as submit_statements:
            assert client.post(f"/activities/{activity.id}/register", data=FORM).status_code == 302
        return len(form_statements), len(submit_statements)

    quiet = make_activity(format="live_webcast", join_url="https://x.example/j", capacity=5)
    busy = make_activity(format="live_webcast", join_url="https://x.example/j", capacity=20, title="Busy")
    for _ in range(30):
        register(make_user(), busy)
    assert statements_for(quiet) == statements_for(busy)
    assert [r.status for r in registrations(db, quiet)] == ["confirmed"]
    assert registrations(db, busy)[-1].status == "waitlisted"
    last_mail = outbox(db)[-1]
    assert last_mail.payload and last_mail.raw_message is None


def test_the_form_and_the_registration_read_neither_faculty_nor_speakers(client, db, make_activity, provider,
                                                                        count_queries):
    """The registration form needs the activity and its sessions, not what its public page shows (speakers,
    faculty, disclosures, credit designations): a rush loads the activity twice per provider."""
    activity = make_activity(format="live_webcast", join_url="https://x.example/j", capacity=5)
    db.session.expire_all()
    with count_queries() as statements:
        assert client.get(f"/activities/{activity.id}/register").status_code == 200
        assert client.post(f"/activities/{activity.id}/register", data=FORM).status_code == 302
    page_only = ("faculty", "disclosures", "session_speakers", "credit_designations")
    assert [s for s in statements if any(f" {table} " in f" {s} ".replace("\n", " ") for table in page_only)] == []
    # The sessions come joined to the activity's row, not in a statement of their own (one fewer per request).
    assert [s for s in statements if s.lstrip().startswith("SELECT activity_sessions")] == []


def test_multi_session_meetings_ask_which_sessions(client, db, make_activity, provider):
    from cme.activities.models import ActivitySession

    activity = make_activity()
    for n in range(2):
        activity.sessions.append(ActivitySession(title=f"Part {n}", start_dt=activity.start_dt + timedelta(hours=n),
                                                 end_dt=activity.start_dt + timedelta(hours=n, minutes=50)))
    db.session.commit()
    page = client.get(f"/activities/{activity.id}/register").get_data(as_text=True)
    assert "Sessions you plan to attend" in page and "Part 1" in page
    none_chosen = client.post(f"/activities/{activity.id}/register", data=FORM)
    assert none_chosen.status_code == 422 and "Choose at least one session." in none_chosen.get_data(as_text=True)
    client.post(f"/activities/{activity.id}/register", data={**FORM, "session_ids": [activity.sessions[1].id]})
    [registration] = registrations(db, activity)
    assert [s.title for s in registration.sessions] == ["Part 1"]


def test_the_form_remembers_the_needs_given_last_time(client, db, make_activity, provider):
    first, second = make_activity(capacity=10), make_activity(capacity=10, title="Another meeting")
    client.post(f"/activities/{first.id}/register", data={**FORM, "dietary_needs": "No shellfish",
                                                          "accessibility_needs": "Aisle seat"})
    page = client.get(f"/activities/{second.id}/register").get_data(as_text=True)
    assert "No shellfish</textarea>" in page and "Aisle seat</textarea>" in page


def test_form_errors_are_listed_with_links_to_their_fields(client, db, make_activity, provider):
    activity = make_activity(capacity=10)
    page = client.post(f"/activities/{activity.id}/register", data={**FORM, "attest": "", "npi": "123"}
                       ).get_data(as_text=True)
    summary = page.split('id="error-summary"')[1].split("</div>")[0]
    assert '<a href="#attest">' in summary and "Please confirm that you are a healthcare professional." in summary
    assert '<a href="#npi">' in summary


def test_form_errors_keep_what_was_typed_and_register_nobody(client, db, make_activity, provider):
    activity = make_activity()
    response = client.post(f"/activities/{activity.id}/register", data={**FORM, "attest": "", "npi": "1234567890"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Please confirm that you are a healthcare professional." in page and "not a valid NPI" in page
    assert 'value="Dr Ada Lovelace"' in page and "Vegetarian" in page
    assert registrations(db, activity) == [] and outbox(db) == []


def test_logged_out_visitors_log_in_and_come_back_to_the_form(client, make_user, make_activity, auth):
    activity = make_activity()
    make_user("later@example.org")
    response = client.get(f"/activities/{activity.id}/register")
    assert response.status_code == 302 and "/account/login?next=" in response.location
    login_page = client.get(response.location).get_data(as_text=True)
    assert f"/account/signup?next=/activities/{activity.id}/register" in login_page.replace("%2F", "/")
    back = auth.login("later@example.org", query_string={"next": f"/activities/{activity.id}/register"})
    assert back.location == f"/activities/{activity.id}/register"


@pytest.mark.parametrize("fields, message", [
    ({"status": "cancelled"}, "has been cancelled"),
    ({"registration_closes_dt": "past"}, "Registration is closed."),
    ({"registration_opens_dt": "future"}, "Registration has not opened yet."),
    ({"start_dt": "past"}, "has ended"),
])
def test_registering_for_cancelled_closed_or_past_activities_is_refused(client, db, make_activity, provider, fields, message):
    now = now_utc()
    values = {"past": now - timedelta(days=3), "future": now + timedelta(days=3)}
    activity = make_activity(**{k: values.get(v, v) for k, v in fields.items()})
    with pytest.raises(service.RegistrationError, match=message):
        service.register(provider, activity.id, answers(provider))
    db.session.rollback()
    page = client.post(f"/activities/{activity.id}/register", data=FORM, follow_redirects=True).get_data(as_text=True)
    assert message in page.replace("&#39;", "'")
    assert registrations(db, activity) == []


def test_draft_activities_cannot_be_registered_for(client, make_activity, provider):
    draft = make_activity(status="draft")
    assert client.get(f"/activities/{draft.id}/register").status_code == 404
    assert client.post(f"/activities/{draft.id}/register", data=FORM).status_code == 404
    assert client.get("/activities/999999/register").status_code == 404


def test_registering_twice_is_refused_by_the_service_and_the_database(client, db, make_activity, provider):
    activity = make_activity()
    client.post(f"/activities/{activity.id}/register", data=FORM)
    again = client.post(f"/activities/{activity.id}/register", data=FORM, follow_redirects=True)
    assert "already registered" in again.get_data(as_text=True)
    with pytest.raises(service.RegistrationError, match="already registered"):
        service.register(provider, activity.id, answers(provider))
    db.session.rollback()
    assert len(registrations(db, activity)) == 1


# ---------------------------------------------------------------- seats, waitlist, promotion

def test_seats_then_waitlist_with_positions_then_promotion_in_order(db, make_user, make_activity):
    activity = make_activity(capacity=2)
    people = [make_user(f"p{i}@example.org") for i in range(5)]
    for person in people:
        service.register(person, activity.id, answers(person))
        db.session.commit()
    rows = registrations(db, activity)
    assert [(r.status, r.waitlist_position) for r in rows] == [
        ("confirmed", None), ("confirmed", None), ("waitlisted", 1), ("waitlisted", 2), ("waitlisted", 3)]
    promoted = service.cancel_registration(rows[0], took_part=False)
    db.session.commit()
    assert [r.id for r in promoted] == [rows[2].id]
    assert [(r.status, r.waitlist_position) for r in registrations(db, activity)] == [
        ("cancelled", None), ("confirmed", None), ("confirmed", None), ("waitlisted", 1), ("waitlisted", 2)]
    # Leaving the waitlist closes the gap.
    service.cancel_registration(registrations(db, activity)[3], took_part=False)
    db.session.commit()
    assert [r.waitlist_position for r in registrations(db, activity)] == [None, None, None, None, 1]
    kinds = [m.kind for m in outbox(db)]
    assert kinds.count("registration_confirmed") == 2 and kinds.count("registration_waitlisted") == 3
    assert kinds.count("registration_promoted") == 1 and kinds.count("registration_cancelled") == 2


def test_no_capacity_means_unlimited(db, make_user, make_activity):
    activity = make_activity(capacity=None)
    for i in range(30):
        person = make_user(f"u{i}@example.org")
        service.register(person, activity.id, answers(person))
    db.session.commit()
    assert {r.status for r in registrations(db, activity)} == {"confirmed"}


def test_raising_the_capacity_promotes_the_waitlist(client, db, make_user, make_activity, auth):
    organizer = make_user("org@example.org", role="organizer")
    activity = make_activity(capacity=1, organizers=[organizer])
    for i in range(4):
        person = make_user(f"w{i}@example.org")
        service.register(person, activity.id, answers(person))
        db.session.commit()
    from cme.registration import lifecycle

    lifecycle.change_capacity(activity, 3)
    db.session.commit()
    assert [(r.status, r.waitlist_position) for r in registrations(db, activity)] == [
        ("confirmed", None), ("confirmed", None), ("confirmed", None), ("waitlisted", 1)]
    assert len(outbox(db, "registration_promoted")) == 2


def test_a_failed_transaction_leaves_no_registration_and_no_mail(db, make_user, make_activity):
    activity = make_activity()
    person = make_user()
    service.register(person, activity.id, answers(person))
    assert outbox(db)  # queued in the session...
    db.session.rollback()  # ...and gone with the transaction
    assert outbox(db) == [] and registrations(db, activity) == []


def test_cancelling_from_my_schedule_asks_first_then_promotes(client, db, make_user, make_activity, provider):
    activity = make_activity(capacity=1)
    service.register(provider, activity.id, answers(provider))
    waiting = make_user("next@example.org")
    service.register(waiting, activity.id, answers(waiting))
    db.session.commit()
    mine = registrations(db, activity)[0]
    page = client.get(f"/my/registrations/{mine.id}/cancel").get_data(as_text=True)
    assert "Cancel your registration?" in page and "next person on the waitlist" in page
    response = client.post(f"/my/registrations/{mine.id}/cancel", follow_redirects=True)
    assert "is cancelled" in response.get_data(as_text=True)
    assert [r.status for r in registrations(db, activity)] == ["cancelled", "confirmed"]


def test_nobody_can_see_or_cancel_someone_elses_registration(client, db, make_user, make_activity, provider):
    activity = make_activity()
    other = make_user("other@example.org")
    theirs = service.register(other, activity.id, answers(other))
    db.session.commit()
    assert client.get(f"/my/registrations/{theirs.id}/cancel").status_code == 404
    assert client.post(f"/my/registrations/{theirs.id}/cancel").status_code == 404
    assert client.get(f"/my/registrations/{theirs.id}/checkin.svg").status_code == 404
    assert theirs.checkin_code not in client.get("/my/schedule").get_data(as_text=True)
    assert registrations(db, activity)[0].status == "confirmed"


def test_join_link_shows_from_thirty_minutes_before_the_start(db, make_user, make_activity):
    start = now_utc() + timedelta(hours=2)
    webcast = make_activity(format="live_webcast", join_url="https://webcast.example.org/join/123", start_dt=start,
                            end_dt=start + timedelta(hours=1))
    person = make_user()
    registration = service.register(person, webcast.id, answers(person))
    db.session.commit()
    assert not service.join_link_visible(registration, now=start - timedelta(minutes=31))
    assert service.join_link_visible(registration, now=start - timedelta(minutes=30))
    assert service.join_link_visible(registration, now=start + timedelta(minutes=59))
    assert not service.join_link_visible(registration, now=start + timedelta(hours=2))


def test_my_schedule_shows_the_join_link_only_when_due(client, db, make_activity, provider):
    soon = now_utc() + timedelta(minutes=20)
    later = now_utc() + timedelta(days=2)
    webcasts = []
    for start, url in ((soon, "https://webcast.example.org/soon"), (later, "https://webcast.example.org/later")):
        webcast = make_activity(format="live_webcast", join_url=url, start_dt=start, end_dt=start + timedelta(hours=1))
        service.register(provider, webcast.id, answers(provider))
        webcasts.append(webcast)
    db.session.commit()
    page = client.get("/my/schedule").get_data(as_text=True)
    assert page.count(">Join the webcast</a>") == 1 and f'href="/activities/{webcasts[0].id}/watch"' in page
    assert "The join link appears here 30 minutes before the start." in page
    assert "https://webcast.example.org/soon" in client.get(f"/activities/{webcasts[0].id}/watch").get_data(as_text=True)
    assert "The webcast is not live now." in client.get(f"/activities/{webcasts[1].id}/watch").get_data(as_text=True)


# ---------------------------------------------------------------- concurrency

def test_fifty_parallel_registrations_never_overbook(app, db, make_user, make_activity, backend):
    """50 providers at once, 10 seats: exactly 10 confirmed and 40 waitlisted at 1..40 in arrival order."""
    activity = make_activity(capacity=10, title="Popular", remind_day_before=False)
    user_ids = [make_user(f"rush{i}@example.org").id for i in range(50)]
    activity_id = activity.id
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(user_ids))

    def attempt(user_id: int) -> None:
        from cme.accounts.models import User
        from cme.transactions import commit_with_retry

        try:
            barrier.wait(timeout=30)  # all start together; each then takes a pooled connection
            with app.app_context():
                user = _db.session.get(User, user_id)
                commit_with_retry(lambda: service.register(user, activity_id, answers(user)))
                _db.session.remove()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = registrations(db, activity)
    assert len(rows) == 50
    assert sum(r.status == "confirmed" for r in rows) == 10
    waitlisted = sorted((r for r in rows if r.status == "waitlisted"), key=lambda r: (r.registered_dt, r.id))
    assert [r.waitlist_position for r in waitlisted] == list(range(1, 41))
    assert all(r.registered_dt <= w.registered_dt for r in rows if r.status == "confirmed" for w in waitlisted)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 50


# ---------------------------------------------------------------- mail and invitations

def calendar_parts(message):
    return [p for p in message.walk() if p.get_content_type() == "text/calendar"]


def test_confirmation_mail_is_an_invitation_clients_understand(app, db, make_user, make_activity, smtp):
    activity = make_activity(title="HCV; update, 2027\\ edition", time_zone="America/Chicago")
    person = make_user("ada@example.org", full_name="Ada Lovelace")
    service.register(person, activity.id, answers(person))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["cme", "send-mail"])
    assert result.exit_code == 0 and "sent 1" in result.output
    [message] = smtp.messages
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html", "text/calendar"]
    inline = list(alternative.iter_parts())[2]
    assert inline.get_param("method") == "REQUEST" and inline.get_content_charset() == "utf-8"
    assert attachment.get_filename() == "invite.ics" and attachment.get_param("method") == "REQUEST"
    ics = attachment.get_content() if isinstance(attachment.get_content(), bytes) else attachment.get_content().encode()
    assert ics == inline.get_content().encode("utf-8")

    calendar = icalendar.Calendar.from_ical(ics)
    assert calendar["METHOD"] == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "HCV; update, 2027\\ edition"
    assert event.decoded("DTSTART") == activity.start_dt and event.decoded("DTEND") == activity.end_dt
    assert str(event["ATTENDEE"]).lower() == "mailto:ada@example.org"
    assert str(event["ORGANIZER"]).lower() != "mailto:ada@example.org"
    assert str(event["UID"]) == registrant_uid(activity.uuid, person.id)
    assert event["STATUS"] == "CONFIRMED"

    independent = vobject.readOne(ics.decode("utf-8"))
    assert independent.method.value == "REQUEST" and len(independent.vevent_list) == 1
    assert independent.vevent.dtstart.value == activity.start_dt
    assert independent.vevent.summary.value == "HCV; update, 2027\\ edition"


def test_cancellation_mail_cancels_the_same_event_with_a_higher_sequence(app, db, make_user, make_activity, smtp):
    activity = make_activity()
    person = make_user("ada@example.org")
    registration = service.register(person, activity.id, answers(person))
    db.session.commit()
    service.cancel_registration(registration, took_part=False)
    db.session.commit()
    deliver_pending()
    request_msg, cancel_msg = smtp.messages
    request_ics = icalendar.Calendar.from_ical(calendar_parts(request_msg)[-1].get_content())
    cancel_part = calendar_parts(cancel_msg)[0]
    assert cancel_part.get_param("method") == "CANCEL"
    cancel_ics = icalendar.Calendar.from_ical(calendar_parts(cancel_msg)[-1].get_content())
    assert cancel_ics["METHOD"] == "CANCEL"
    [req], [can] = request_ics.walk("VEVENT"), cancel_ics.walk("VEVENT")
    assert can["UID"] == req["UID"] and int(can["SEQUENCE"]) > int(req["SEQUENCE"]) and can["STATUS"] == "CANCELLED"
    # Registering again sends a REQUEST that outranks the CANCEL.
    again = service.register(person, activity.id, answers(person))
    db.session.commit()
    deliver_pending()
    again_ics = icalendar.Calendar.from_ical(calendar_parts(smtp.messages[-1])[-1].get_content())
    [again_event] = again_ics.walk("VEVENT")
    assert again_event["UID"] == req["UID"] and int(again_event["SEQUENCE"]) > int(can["SEQUENCE"])
    assert again.invite_sequence == int(again_event["SEQUENCE"])


def test_a_schedule_change_sends_a_new_request_with_a_higher_sequence(app, db, make_user, make_activity):
    from cme.registration import lifecycle

    activity = make_activity(credits={})
    person = make_user("ada@example.org")
    service.register(person, activity.id, answers(person))
    db.session.commit()
    first = icalendar.Calendar.from_ical(calendar_parts(parsed(outbox(db)[0]))[-1].get_content()).walk("VEVENT")[0]
    lifecycle.add_session(activity, {"title": "Moved", "start_dt": activity.start_dt,
                                     "end_dt": activity.start_dt + timedelta(hours=1), "room": "",
                                     "speakers": "", "description": ""})
    db.session.commit()
    [notice] = outbox(db, "schedule_changed")
    part = calendar_parts(parsed(notice))[0]
    assert part.get_param("method") == "REQUEST"
    event = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
    assert event["UID"] == first["UID"] and int(event["SEQUENCE"]) > int(first["SEQUENCE"])


def test_waitlist_mail_has_no_invitation_and_promotion_mail_does(db, make_user, make_activity):
    activity = make_activity(capacity=1)
    first, second = make_user(), make_user()
    service.register(first, activity.id, answers(first))
    waiting = service.register(second, activity.id, answers(second))
    db.session.commit()
    [waitlisted] = outbox(db, "registration_waitlisted")
    assert calendar_parts(parsed(waitlisted)) == [] and "position 1" in parsed(waitlisted).get_body(("plain",)).get_content()
    service.cancel_registration(registrations(db, activity)[0], took_part=False)
    db.session.commit()
    [promoted] = outbox(db, "registration_promoted")
    assert promoted.recipient == second.email and calendar_parts(parsed(promoted))[0].get_param("method") == "REQUEST"
    assert waiting.id == registrations(db, activity)[1].id


def test_registration_mail_is_queued_as_a_note_and_composed_by_the_delivery_worker(app, db, make_user, make_activity,
                                                                                  smtp):
    """The registering transaction writes a small deferred row; `send-mail` composes, stores and sends it. What
    was true when queued (waitlist position, SEQUENCE, date) is frozen; a later move of the waitlist is not."""
    activity = make_activity(capacity=1, title="Sepsis bundles", remind_day_before=False)
    first, second, third = make_user(), make_user(), make_user()
    an_hour_ago = now_utc().replace(microsecond=0) - timedelta(hours=1)
    service.register(first, activity.id, answers(first), now=an_hour_ago)
    service.register(second, activity.id, answers(second))
    service.register(third, activity.id, answers(third))
    db.session.commit()
    rows = outbox(db)
    assert [r.kind for r in rows] == ["registration_confirmed", "registration_waitlisted", "registration_waitlisted"]
    assert all(r.raw_message is None and r.payload for r in rows)
    assert rows[2].subject == "You are on the waitlist: Sepsis bundles"
    # The second person leaves the waitlist before the worker runs: the third's mail still says position 2.
    service.cancel_registration(registrations(db, activity)[1], took_part=False)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["cme", "send-mail"])
    assert result.exit_code == 0 and "sent 4" in result.output, result.output
    by_recipient = {m["To"].addresses[0].addr_spec: m for m in smtp.messages}
    assert "position 2" in by_recipient[third.email].get_body(("plain",)).get_content()
    confirmation = by_recipient[first.email]
    assert confirmation["Date"].datetime == an_hour_ago  # dated when it was queued, not when it was composed
    event = icalendar.Calendar.from_ical(calendar_parts(confirmation)[0].get_content()).walk("VEVENT")[0]
    assert event["SEQUENCE"] == 1 and event["DTSTAMP"].dt == an_hour_ago
    db.session.expire_all()
    assert all(r.status == "sent" and r.raw_message for r in outbox(db))


def test_a_message_that_cannot_be_composed_fails_alone(app, db, make_user, make_activity, smtp):
    activity = make_activity(remind_day_before=False)
    ada, bob = make_user("ada@example.org"), make_user("bob@example.org")
    service.register(ada, activity.id, answers(ada))
    service.register(bob, activity.id, answers(bob))
    db.session.commit()
    broken = outbox(db)[0]
    broken.payload = broken.payload.replace('"registration_id":', '"registration_id":9999999,"x":')
    db.session.commit()
    report = deliver_pending()
    assert report.failed == [broken.id] and len(report.sent) == 1
    db.session.expire_all()
    broken, sent = outbox(db)
    assert broken.status == "failed" and "could not compose" in broken.last_error and broken.raw_message is None
    assert sent.status == "sent" and [m["To"].addresses[0].addr_spec for m in smtp.messages] == ["bob@example.org"]


def test_a_passing_composition_error_is_retried_not_given_up(app, db, make_user, make_activity, smtp, monkeypatch):
    from cme.mail import service as mail_service

    activity = make_activity(remind_day_before=False)
    ada = make_user("ada@example.org")
    service.register(ada, activity.id, answers(ada))
    db.session.commit()
    real = mail_service.composers_of(app)["registrant"]
    failures = []

    def flaky(message, payload):
        if not failures:
            failures.append(1)
            raise RuntimeError("database is locked")
        return real(message, payload)

    monkeypatch.setitem(mail_service.composers_of(app), "registrant", flaky)
    start = now_utc()
    first = deliver_pending(now=start)
    [row] = outbox(db)
    assert first.retrying == [row.id] and row.status == "pending" and "database is locked" in row.last_error
    assert deliver_pending(now=start + timedelta(minutes=2)).sent == [row.id]
    assert [m["To"].addresses[0].addr_spec for m in smtp.messages] == ["ada@example.org"]


def test_the_composed_message_is_stored_before_it_is_sent(app, db, make_user, make_activity):
    """Were the worker to die after the SMTP server took the message, the resend is the same message."""
    activity = make_activity()
    ada = make_user("ada@example.org")
    service.register(ada, activity.id, answers(ada))
    db.session.commit()
    seen = []

    class Peeking:
        def send(self, message):
            with db.engine.connect() as other:  # another connection sees only what is committed
                seen.append(other.scalar(select(OutboxMessage.raw_message).where(OutboxMessage.id == message.id)))

        def close(self):
            pass

    deliver_pending(transport=Peeking())
    assert seen and seen[0] and "BEGIN:VCALENDAR" in seen[0]


def test_a_mail_goes_where_and_as_it_was_queued(app, db, make_user, make_activity, smtp):
    """The address and title changed after queueing: envelope, To:, ATTENDEE and Subject still agree."""
    activity = make_activity(title="Old title")
    ada = make_user("ada@example.org")
    service.register(ada, activity.id, answers(ada))
    db.session.commit()
    ada.email, activity.title = "ada.new@example.org", "New title"
    db.session.commit()
    deliver_pending()
    [message] = smtp.messages
    assert smtp.envelopes[0][1] == ["ada@example.org"] and message["To"].addresses[0].addr_spec == "ada@example.org"
    assert message["Subject"] == "You are registered: Old title"
    event = icalendar.Calendar.from_ical(calendar_parts(message)[0].get_content()).walk("VEVENT")[0]
    assert str(event["ATTENDEE"]).lower() == "mailto:ada@example.org"


def test_a_retried_message_is_the_same_message(app, db, make_user, make_activity, smtp_server):
    """Composed once, before the first attempt: a retry sends the very same bytes (same Message-ID)."""
    handler, port = smtp_server(refuse_first=1)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    activity = make_activity(remind_day_before=False)
    ada = make_user("ada@example.org")
    service.register(ada, activity.id, answers(ada))
    db.session.commit()
    start = now_utc()
    assert deliver_pending(now=start).retrying
    [row] = outbox(db)
    first_text = row.raw_message
    assert first_text and row.status == "pending"
    assert deliver_pending(now=start + timedelta(minutes=2)).sent == [row.id]
    [message] = handler.messages
    assert message["Message-ID"] == message_from_string(first_text, policy=policy.default)["Message-ID"]


def test_the_invitation_organizer_is_never_the_recipient(app, db, make_user, make_activity):
    app.config["MAIL_DEFAULT_SENDER"] = "Foundation <ada@example.org>"
    activity = make_activity()
    person = make_user("ada@example.org")
    service.register(person, activity.id, answers(person))
    db.session.commit()
    event = icalendar.Calendar.from_ical(calendar_parts(parsed(outbox(db)[0]))[-1].get_content()).walk("VEVENT")[0]
    assert str(event["ORGANIZER"]).lower() == "mailto:ada+organizer@example.org"


# ---------------------------------------------------------------- organizer: roster and check-in

def test_roster_lists_registrants_and_searches(client, db, make_user, make_activity, organizer):
    activity = make_activity(capacity=1, organizers=[organizer])
    for name in ("Zed Alpha", "Yan Beta"):
        person = make_user(full_name=name, profession="nurse_practitioner", npi="1234567893")
        service.register(person, activity.id, answers(person))
    db.session.commit()
    page = client.get(f"/organize/activities/{activity.id}/roster").get_data(as_text=True)
    assert "Zed Alpha" in page and "Yan Beta" in page and "Nurse practitioner" in page and "1234567893" in page
    assert "1 confirmed of 1 seats · 1 on the waitlist" in page
    found = client.get(f"/organize/activities/{activity.id}/roster?q=beta").get_data(as_text=True)
    assert "Yan Beta" in found and "Zed Alpha" not in found
    # The totals stay the activity's; the search says how many rows match.
    assert "1 confirmed of 1 seats · 1 on the waitlist" in found and "1 registration matches “beta”" in found
    nobody = client.get(f"/organize/activities/{activity.id}/roster?q=nurse").get_data(as_text=True)
    assert "1 confirmed of 1 seats" in nobody and "Nobody matches “nurse”" in nobody


def test_a_large_roster_asks_by_activity_not_with_a_parameter_per_registrant(client, db, make_user, make_activity,
                                                                            organizer, count_queries):
    """Who checked in, took part, claimed or evaluated is asked by the activity (cme/pairs.py): a list of thousands
    of (user, activity) pairs took longer to bind and plan than the database took to answer. The roster still
    tells them apart: one checked-in registrant among 80."""
    activity = make_activity(organizers=[organizer], start_dt=now_utc() - timedelta(hours=1),
                             end_dt=now_utc() + timedelta(hours=5))
    people = [make_user(f"r{n}@example.org", full_name=f"Registrant {n:02d}") for n in range(80)]
    for person in people:
        service.register(person, activity.id, answers(person))
    other = make_activity(title="Other", organizers=[organizer])
    service.register(people[1], other.id, answers(people[1]))
    db.session.add(Attendance(user_id=people[7].id, activity_id=activity.id, checked_in_dt=now_utc()))
    db.session.add(Attendance(user_id=people[1].id, activity_id=other.id, checked_in_dt=now_utc()))
    db.session.commit()
    with count_queries() as statements:
        page = client.get(f"/organize/activities/{activity.id}/roster").get_data(as_text=True)
        csv_text = client.get(f"/organize/activities/{activity.id}/roster.csv").get_data(as_text=True)
    pair_lists = [s for s in statements if re.search(r"\(\w+\.user_id, \w+\.activity_id\) IN", s)]
    assert pair_lists == []
    rows = list(csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff"))))
    checked = [row["Name"] for row in rows if row["Checked in"] == "yes"]
    assert "Registrant 07" in page and checked == ["Registrant 07"]
    # Asked by one side, the answer still holds only the pairs asked about (people[1] attended the other activity).
    pairs = {(person.id, activity.id) for person in people} | {(people[2].id, other.id)}
    assert attendance.attended(pairs) == {(people[7].id, activity.id)}
    assert attendance.attended({(p.id, other.id) for p in people}) == {(people[1].id, other.id)}


def test_nobody_cancels_a_registration_after_the_activity_or_once_attendance_is_recorded(client, db, make_user,
                                                                                          make_activity, organizer):
    ongoing = make_activity(organizers=[organizer], start_dt=now_utc() - timedelta(hours=1),
                            end_dt=now_utc() + timedelta(hours=5))
    ada, bob = make_user("ada@example.org", full_name="Ada"), make_user("bob@example.org", full_name="Bob")
    for person in (ada, bob):
        service.register(person, ongoing.id, answers(person))
    db.session.add(Attendance(user_id=ada.id, activity_id=ongoing.id, checked_in_dt=now_utc()))
    db.session.commit()
    page = client.get(f"/organize/activities/{ongoing.id}/roster").get_data(as_text=True)
    ada_row, bob_row = (page.split(f"{name}@example.org")[1].split("</tr>")[0] for name in ("ada", "bob"))
    assert ">Cancel<" not in ada_row and ">Cancel<" in bob_row
    ada_registration, bob_registration = registrations(db, ongoing)
    refused = client.post(f"/organize/activities/{ongoing.id}/roster/{ada_registration.id}/cancel",
                          follow_redirects=True).get_data(as_text=True)
    assert "Ada has attendance recorded" in refused
    # It ends: nobody is cancelled any more, not even those who never came.
    ongoing.end_dt = now_utc() - timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(service.RegistrationError, match="has ended"):
        service.cancel_registration(bob_registration, took_part=False)
    db.session.rollback()
    page = client.get(f"/organize/activities/{ongoing.id}/roster").get_data(as_text=True)
    assert ">Cancel<" not in page and "can no longer be cancelled" in page
    assert [r.status for r in registrations(db, ongoing)] == ["confirmed", "confirmed"]
    assert outbox(db, "registration_cancelled") == []


def test_roster_csv_opens_in_excel_and_cannot_inject_formulas(client, db, make_user, make_activity, organizer):
    activity = make_activity(organizers=[organizer])
    person = make_user(full_name="=HYPERLINK(\"http://evil\")", degree="MD")
    service.register(person, activity.id, answers(person, dietary_needs="+1 vegan", accessibility_needs="@wheelchair"))
    other = make_user(full_name="Zoë Ångström")
    service.register(other, activity.id, answers(other, dietary_needs="-none"))
    db.session.commit()
    response = client.get(f"/organize/activities/{activity.id}/roster.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Status", "Waitlist position", "Name"]
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=HYPERLINK(\"http://evil\")" in cells and "'+1 vegan" in cells and "'@wheelchair" in cells
    assert "'-none" in cells and "Zoë Ångström" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_roster_csv_says_which_sessions_and_spells_professions_as_the_page_does(client, db, make_user, make_activity,
                                                                                 organizer):
    from cme.activities.models import ActivitySession

    activity = make_activity(organizers=[organizer])
    for n in range(3):
        activity.sessions.append(ActivitySession(title=f"Part {n}", start_dt=activity.start_dt + timedelta(hours=n),
                                                 end_dt=activity.start_dt + timedelta(hours=n, minutes=50)))
    db.session.commit()
    some, every = make_user(profession="nurse_practitioner"), make_user()
    service.register(some, activity.id, answers(some, session_ids=[activity.sessions[2].id, activity.sessions[0].id]))
    service.register(every, activity.id, answers(every))
    db.session.commit()
    rows = list(csv.DictReader(io.StringIO(
        client.get(f"/organize/activities/{activity.id}/roster.csv").data.decode("utf-8-sig"))))
    assert [(r["Profession"], r["Sessions"]) for r in rows] == [("Nurse practitioner", "Part 0; Part 2"),
                                                               ("Physician", "All")]


def test_organizer_adds_cancels_and_promotes_from_the_roster(client, db, make_user, make_activity, organizer):
    activity = make_activity(capacity=1, organizers=[organizer])
    first = make_user("first@example.org")
    make_user("second@example.org")
    make_user("third@example.org")
    service.register(first, activity.id, answers(first))
    db.session.commit()
    page = client.post(f"/organize/activities/{activity.id}/roster/add", data={"email": "SECOND@example.org"},
                       follow_redirects=True).get_data(as_text=True)
    assert "added (waitlisted, number 1)" in page
    client.post(f"/organize/activities/{activity.id}/roster/add", data={"email": "third@example.org"})
    unknown = client.post(f"/organize/activities/{activity.id}/roster/add", data={"email": "nobody@example.org"})
    assert unknown.status_code == 422  # the roster again, the error beside the field, what was typed kept
    page = unknown.get_data(as_text=True)
    assert 'id="email-error">No account uses this email.' in page and 'value="nobody@example.org"' in page
    invalid = client.post(f"/organize/activities/{activity.id}/roster/add", data={"email": "not an email"})
    assert invalid.status_code == 422 and 'value="not an email"' in invalid.get_data(as_text=True)
    assert len(registrations(db, activity)) == 3
    rows = registrations(db, activity)
    client.post(f"/organize/activities/{activity.id}/roster/{rows[2].id}/promote")  # out of turn
    rows = registrations(db, activity)
    assert [(r.status, r.waitlist_position) for r in rows] == [("confirmed", None), ("waitlisted", 1), ("confirmed", None)]
    db.session.refresh(activity)
    assert activity.capacity == 2
    page = client.post(f"/organize/activities/{activity.id}/roster/{rows[0].id}/cancel", follow_redirects=True)
    assert "Promoted from the waitlist" in page.get_data(as_text=True)
    assert [r.status for r in registrations(db, activity)] == ["cancelled", "confirmed", "confirmed"]
    assert outbox(db, "registration_cancelled")[0].recipient == "first@example.org"


def test_nobody_is_promoted_from_the_waitlist_once_the_activity_ended(client, db, make_user, make_activity, organizer):
    """The roster hid the Promote button after the end while the service still promoted: now both refuse."""
    activity = make_activity(capacity=1, organizers=[organizer], start_dt=now_utc() - timedelta(hours=3),
                             end_dt=now_utc() + timedelta(hours=1))
    seated, waiting = make_user(), make_user(full_name="Wendy Waiting")
    service.register(seated, activity.id, answers(seated), by_organizer=True)
    waitlisted = service.register(waiting, activity.id, answers(waiting), by_organizer=True)
    db.session.commit()
    assert service.promote_problem(waitlisted) is None
    assert ">Promote<" in client.get(f"/organize/activities/{activity.id}/roster").get_data(as_text=True)
    activity.end_dt = now_utc() - timedelta(minutes=1)
    db.session.commit()
    assert service.promote_problem(waitlisted, now=activity.end_dt) == (
        "This activity has ended: its waitlist stays as it was.", "ended")
    assert ">Promote<" not in client.get(f"/organize/activities/{activity.id}/roster").get_data(as_text=True)
    with pytest.raises(service.RegistrationError, match="has ended"):
        service.promote(waitlisted)
    db.session.rollback()
    refused = client.post(f"/organize/activities/{activity.id}/roster/{waitlisted.id}/promote", follow_redirects=True)
    assert "This activity has ended" in refused.get_data(as_text=True)
    assert [r.status for r in registrations(db, activity)] == ["confirmed", "waitlisted"]
    assert outbox(db, "registration_promoted") == []


def test_registrations_of_a_cancelled_activity_stay_as_they_are(client, db, make_user, make_activity, organizer, auth):
    """My schedule offered no Cancel for a cancelled activity while the roster and the service did: now none do."""
    from cme.activities import service as activities

    activity = make_activity(organizers=[organizer], title="Called off")
    person = make_user("ada@example.org", full_name="Ada")
    registration = service.register(person, activity.id, answers(person))
    db.session.commit()
    assert ">Cancel<" in client.get(f"/organize/activities/{activity.id}/roster").get_data(as_text=True)
    activities.cancel(activity)
    db.session.commit()
    assert ">Cancel<" not in client.get(f"/organize/activities/{activity.id}/roster").get_data(as_text=True)
    refused = client.post(f"/organize/activities/{activity.id}/roster/{registration.id}/cancel", follow_redirects=True)
    assert "This activity is cancelled" in refused.get_data(as_text=True)
    with pytest.raises(service.RegistrationError) as error:
        service.cancel_registration(registration, took_part=False)
    assert error.value.code == "activity_cancelled"
    db.session.rollback()
    auth.logout()
    auth.login("ada@example.org")
    assert "Cancel my registration" not in client.get("/my/schedule").get_data(as_text=True)
    assert registrations(db, activity)[0].status == "confirmed"


def test_claimed_credit_alone_keeps_a_registration(client, db, make_user, make_activity, organizer):
    """Taking part is attendance or a claim: a registrant with credit but no attendance left stays registered."""
    from decimal import Decimal

    from cme.credit.models import CreditRecord

    webcast = make_activity(format="on_demand_webcast", organizers=[organizer], start_dt=now_utc() - timedelta(days=1),
                            end_dt=now_utc() + timedelta(days=30))
    person = make_user("ada@example.org", full_name="Ada")
    registration = service.register(person, webcast.id, answers(person))
    db.session.add(CreditRecord(user_id=person.id, activity_id=webcast.id, credit_type="ama_pra_1",
                                amount=Decimal("1"), attested=True))
    db.session.commit()
    assert ">Cancel<" not in client.get(f"/organize/activities/{webcast.id}/roster").get_data(as_text=True)
    refused = client.post(f"/organize/activities/{webcast.id}/roster/{registration.id}/cancel", follow_redirects=True)
    assert "Ada has attendance recorded" in refused.get_data(as_text=True)
    assert registrations(db, webcast)[0].status == "confirmed"


def test_roster_actions_are_limited_to_the_activitys_organizers(client, db, make_user, make_activity, organizer, auth):
    activity = make_activity(organizers=[organizer])
    person = make_user()
    registration = service.register(person, activity.id, answers(person))
    other_activity = make_activity(organizers=[organizer])
    db.session.commit()
    assert client.post(f"/organize/activities/{other_activity.id}/roster/{registration.id}/cancel").status_code == 404
    auth.logout()
    make_user("prov@example.org")
    auth.login("prov@example.org")
    for path in (f"/organize/activities/{activity.id}/roster", f"/organize/activities/{activity.id}/roster.csv",
                 f"/organize/activities/{activity.id}/checkin"):
        assert client.get(path).status_code == 403
    assert client.post(f"/organize/activities/{activity.id}/roster/{registration.id}/cancel").status_code == 403
    assert client.post(f"/organize/activities/{activity.id}/checkin/{registration.id}/undo").status_code == 403
    assert registrations(db, activity)[0].status == "confirmed"
    # Another activity's organizer: not theirs to see or change.
    auth.logout()
    make_user("other.org@example.org", role="organizer")
    auth.login("other.org@example.org")
    for path in (f"/organize/activities/{activity.id}/roster", f"/organize/activities/{activity.id}/checkin"):
        assert client.get(path).status_code in (403, 404)
    assert client.post(f"/organize/activities/{activity.id}/checkin/{registration.id}/undo").status_code in (403, 404)


def test_check_in_by_name_or_code_records_attendance_once(client, db, make_user, make_activity, organizer):
    activity = make_activity(organizers=[organizer], time_zone="UTC", start_dt=now_utc() - timedelta(hours=1),
                             end_dt=now_utc() + timedelta(hours=2))  # under way: check-in is open
    person = make_user(full_name="Grace Hopper")
    registration = service.register(person, activity.id, answers(person))
    db.session.commit()
    page = client.get(f"/organize/activities/{activity.id}/checkin?q=hopper").get_data(as_text=True)
    assert "Check in Grace Hopper" in page
    scanned = client.post(f"/organize/activities/{activity.id}/checkin",
                          data={"code": f"http://cme.test/organize/activities/{activity.id}/checkin/{registration.checkin_code}"})
    assert scanned.status_code == 302 and scanned.location.endswith(registration.checkin_code)
    assert "Check in" in client.get(scanned.location).get_data(as_text=True)
    # Typed from the screen: in groups, in lower case, with look-alikes (O for 0, l or I for 1).
    typed = display_checkin_code(registration.checkin_code).lower().replace("0", "o").replace("1", "l")
    by_hand = client.post(f"/organize/activities/{activity.id}/checkin", data={"code": f"  {typed} "})
    assert by_hand.status_code == 302 and by_hand.location.endswith(registration.checkin_code)
    bad = client.post(f"/organize/activities/{activity.id}/checkin", data={"code": "nope"})
    assert bad.status_code == 422 and "No registration of this activity has this code." in bad.get_data(as_text=True)
    first = client.post(f"/organize/activities/{activity.id}/checkin/{registration.id}", follow_redirects=True)
    assert "Grace Hopper is checked in." in first.get_data(as_text=True)
    second = client.post(f"/organize/activities/{activity.id}/checkin/{registration.id}", follow_redirects=True)
    assert "already checked in" in second.get_data(as_text=True)
    attendance = db.session.scalars(select(Attendance)).all()
    assert len(attendance) == 1 and attendance[0].checked_in_by_id == organizer.id
    assert "Checked in" in client.get(f"/organize/activities/{activity.id}/roster").get_data(as_text=True)


def test_checkin_codes_are_unguessable_and_the_qr_code_links_to_them(client, db, make_activity, provider):
    activity = make_activity()
    registration = service.register(provider, activity.id, answers(provider))
    db.session.commit()
    code = registration.checkin_code
    assert len(code) == 20 and set(code) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")  # 100 random bits
    assert len({new_checkin_code() for _ in range(1000)}) == 1000
    svg = client.get(f"/my/registrations/{registration.id}/checkin.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data


def test_check_in_opens_on_the_day_of_the_meeting_and_closes_after_it(db, make_user, make_activity, organizer):
    activity = make_activity(organizers=[organizer], time_zone="America/New_York",
                             start_dt=now_utc() + timedelta(days=3))
    person = make_user()
    registration = service.register(person, activity.id, answers(person))
    db.session.commit()
    with pytest.raises(attendance.AttendanceError, match="Check-in opens on"):
        attendance.check_in(registration, by=organizer)
    with pytest.raises(attendance.AttendanceError, match="Check-in closed on"):
        attendance.check_in(registration, by=organizer, now=activity.end_dt + timedelta(days=2))
    assert attendance.check_in(registration, by=organizer, now=activity.start_dt + timedelta(minutes=5))


def test_my_schedule_hides_a_cancelled_registration_replaced_by_a_new_one(client, db, make_activity, provider):
    activity = make_activity(title="Again")
    first = service.register(provider, activity.id, answers(provider))
    db.session.commit()
    service.cancel_registration(first, took_part=False)
    db.session.commit()
    service.register(provider, activity.id, answers(provider))
    db.session.commit()
    page = client.get("/my/schedule").get_data(as_text=True)
    assert page.count('<h3><a href="/activities/') == 1 and "Confirmed" in page


def test_invitation_mails_parse_in_ical_js_at_the_same_instants(db, make_user, make_activity):
    """Thunderbird's parser reads the REQUEST and the CANCEL the mails carry at zoneinfo's instants."""
    activity = make_activity(time_zone="America/Denver")
    person = make_user()
    registration = service.register(person, activity.id, answers(person))
    db.session.commit()
    service.cancel_registration(registration, took_part=False)
    db.session.commit()
    for row, method in zip(outbox(db), ("REQUEST", "CANCEL")):
        ics = calendar_parts(parsed(row))[-1].get_content()
        ics = ics if isinstance(ics, bytes) else ics.encode()
        result = ical_js(ics)
        assert result["method"] == method
        [event] = result["events"]
        assert (utc(event["start"]), utc(event["end"])) == (activity.start_dt, activity.end_dt)


def test_per_session_check_in_from_the_registrants_page(client, db, make_user, make_activity, organizer):
    from cme.activities.models import ActivitySession

    start = now_utc().replace(microsecond=0) - timedelta(minutes=30)
    activity = make_activity(organizers=[organizer], start_dt=start, end_dt=start + timedelta(hours=5), credits={})
    for n in range(2):
        activity.sessions.append(ActivitySession(title=f"Part {n}", start_dt=start + timedelta(hours=3 * n),
                                                 end_dt=start + timedelta(hours=3 * n + 1)))
    db.session.commit()
    person = make_user(full_name="Sam Session")
    registration = service.register(person, activity.id, answers(person))
    db.session.commit()
    search = client.get(f"/organize/activities/{activity.id}/checkin?q=session").get_data(as_text=True)
    assert f"/organize/activities/{activity.id}/checkin/{registration.checkin_code}" in search
    first = activity.sessions[0]
    response = client.post(f"/organize/activities/{activity.id}/checkin/{registration.id}/sessions/{first.id}",
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "is checked in to “Part 0”" in page
    # Part 1 starts in 2.5 hours: the page offers no button that the check-in would refuse, it says when it opens.
    assert "Check in: " not in page and "Check-in to “Part 1” opens on" in page
    too_early = client.post(f"/organize/activities/{activity.id}/checkin/{registration.id}/sessions/{activity.sessions[1].id}",
                            follow_redirects=True)
    assert too_early.status_code == 200 and "Check-in to “Part 1” opens on" in too_early.get_data(as_text=True)
    assert [a.session_id for a in db.session.scalars(select(Attendance))] == [first.id]


def test_the_check_in_desk_sees_needs_chosen_sessions_the_count_and_when_check_in_opens(client, db, make_user,
                                                                                        make_activity, organizer):
    from cme.activities.models import ActivitySession

    # A zone where it is about noon now, so that the sessions of "the day" below share one local day (a session's
    # check-in opens on its local day: near midnight UTC, a session an hour ahead would open only tomorrow).
    offset = 12 - now_utc().hour
    zone = "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    activity = make_activity(organizers=[organizer], time_zone=zone, start_dt=now_utc() + timedelta(days=2),
                             end_dt=now_utc() + timedelta(days=2, hours=3))
    for n in range(3):
        activity.sessions.append(ActivitySession(title=f"Part {n}", start_dt=activity.start_dt + timedelta(hours=n),
                                                 end_dt=activity.start_dt + timedelta(hours=n, minutes=50)))
    db.session.commit()
    grace, alan = make_user(full_name="Grace Hopper"), make_user(full_name="Alan Turing")
    chosen = service.Answers.from_profile(grace, attested_professional=True, dietary_needs="No <b>nuts</b>",
                                          accessibility_needs="Step-free access", session_ids=[activity.sessions[0].id])
    registration = service.register(grace, activity.id, chosen)
    service.register(alan, activity.id, answers(alan))
    db.session.commit()
    page = client.get(f"/organize/activities/{activity.id}/checkin/{registration.checkin_code}").get_data(as_text=True)
    assert "No &lt;b&gt;nuts&lt;/b&gt;" in page and "Step-free access" in page
    assert "chose 1 of 3" in page and page.count("(not chosen)") == 2
    assert "Check-in opens on" in page and ">Check in<" not in page and "Check in: " not in page
    desk = client.get(f"/organize/activities/{activity.id}/checkin?q=grace").get_data(as_text=True)
    assert "0</strong> of 2 confirmed registrants checked in" in desk and "Check in Grace Hopper" not in desk
    # The day comes: buttons, and the count moves.
    shift = (now_utc() - timedelta(hours=1)) - activity.start_dt
    activity.start_dt, activity.end_dt = activity.start_dt + shift, activity.end_dt + shift
    for session in activity.sessions:
        session.start_dt, session.end_dt = session.start_dt + shift, session.end_dt + shift
    db.session.commit()
    page = client.get(f"/organize/activities/{activity.id}/checkin/{registration.checkin_code}").get_data(as_text=True)
    assert ">Check in<" in page and "Check in: " in page and "opens on" not in page
    client.post(f"/organize/activities/{activity.id}/checkin/{registration.id}")
    desk = client.get(f"/organize/activities/{activity.id}/checkin").get_data(as_text=True)
    assert "1</strong> of 2 confirmed registrants checked in" in desk


def test_my_schedule_offers_no_cancel_once_any_attendance_is_recorded(client, db, make_activity, provider):
    webcast = make_activity(format="on_demand_webcast", title="Watched a bit", start_dt=now_utc() - timedelta(days=1),
                            end_dt=now_utc() + timedelta(days=30))
    untouched = make_activity(title="Not yet")
    for activity in (webcast, untouched):
        service.register(provider, activity.id, answers(provider))
    db.session.add(Attendance(user_id=provider.id, activity_id=webcast.id, watched_seconds=600))
    db.session.commit()
    page = client.get("/my/schedule").get_data(as_text=True)
    watched, other = (page.split(f">{title}</a>")[1].split("</li>")[0] for title in ("Watched a bit", "Not yet"))
    assert "Cancel my registration" not in watched and "Cancel my registration" in other


def test_a_check_in_made_by_mistake_can_be_taken_back_until_credit_is_claimed(client, db, make_user, make_activity,
                                                                              organizer):
    from decimal import Decimal

    from cme.activities.models import ActivitySession
    from cme.credit.models import CreditRecord

    activity = make_activity(organizers=[organizer], time_zone="UTC", start_dt=now_utc() - timedelta(hours=1),
                             end_dt=now_utc() + timedelta(hours=2))
    for n in range(2):
        activity.sessions.append(ActivitySession(title=f"Part {n}", start_dt=now_utc() + timedelta(minutes=30 * n),
                                                 end_dt=now_utc() + timedelta(minutes=30 * n + 25)))
    person = make_user(full_name="Grace Hopper")
    registration = service.register(person, activity.id, answers(person))
    db.session.commit()
    base = f"/organize/activities/{activity.id}/checkin/{registration.id}"
    client.post(base)
    client.post(f"{base}/sessions/{activity.sessions[0].id}")
    assert len(db.session.scalars(select(Attendance)).all()) == 2
    page = client.get(f"/organize/activities/{activity.id}/checkin/{registration.checkin_code}").get_data(as_text=True)
    assert page.count(">Undo</button>") == 2
    undone = client.post(f"{base}/undo", data={"session_id": activity.sessions[0].id}, follow_redirects=True)
    assert "Grace Hopper’s check-in is taken back." in undone.get_data(as_text=True) or \
        "Grace Hopper&#39;s check-in is taken back." in undone.get_data(as_text=True)
    db.session.expire_all()
    [whole] = db.session.scalars(select(Attendance)).all()
    assert whole.session_id is None
    # Once credit is claimed the check-in stays.
    db.session.add(CreditRecord(user_id=person.id, activity_id=activity.id, credit_type="ama_pra_1",
                                amount=Decimal("1.00"), attested=True))
    db.session.commit()
    assert client.post(f"{base}/undo", data={"session_id": "x"}).status_code == 400
    refused = client.post(f"{base}/undo", follow_redirects=True).get_data(as_text=True)
    assert "has claimed credit for this activity: the check-in stays." in refused
    db.session.expire_all()
    assert len(db.session.scalars(select(Attendance)).all()) == 1
    db.session.execute(CreditRecord.__table__.delete())
    db.session.commit()
    client.post(f"{base}/undo")
    db.session.expire_all()
    assert db.session.scalars(select(Attendance)).all() == []
    assert "Check in" in client.get(f"/organize/activities/{activity.id}/checkin/{registration.checkin_code}"
                                    ).get_data(as_text=True)


def test_the_confirmation_mail_repeats_the_sessions_chosen_and_the_needs_given(db, make_user, make_activity):
    from cme.activities.models import ActivitySession

    activity = make_activity()
    for n in range(3):
        activity.sessions.append(ActivitySession(title=f"Part {n}", start_dt=activity.start_dt + timedelta(hours=n),
                                                 end_dt=activity.start_dt + timedelta(hours=n, minutes=50)))
    db.session.commit()
    person = make_user()
    service.register(person, activity.id, answers(person, session_ids=[activity.sessions[1].id],
                                                  dietary_needs="No <nuts>", accessibility_needs="Aisle seat"))
    db.session.commit()
    message = parsed(outbox(db, "registration_confirmed")[0])
    text = message.get_body(("plain",)).get_content()
    assert "Your registration:" in text and ": Part 1" in text and "Part 0" not in text and "Part 2" not in text
    assert "Dietary needs: No <nuts>" in text and "Accessibility needs: Aisle seat" in text
    html = message.get_body(("html",)).get_content()
    assert "Dietary needs: No &lt;nuts&gt;" in html and "<nuts>" not in html


def test_roster_page_csv_and_check_in_spell_other_as_the_profile_does(client, db, make_user, make_activity, organizer):
    activity = make_activity(organizers=[organizer])
    person = make_user(profession="other", full_name="Olive Other")
    registration = service.register(person, activity.id, answers(person))
    db.session.commit()
    roster = client.get(f"/organize/activities/{activity.id}/roster").get_data(as_text=True)
    assert "Other healthcare professional" in roster
    rows = list(csv.DictReader(io.StringIO(
        client.get(f"/organize/activities/{activity.id}/roster.csv").data.decode("utf-8-sig"))))
    assert [r["Profession"] for r in rows] == ["Other healthcare professional"]
    assert registration.profession_label == person.profession_label == "Other healthcare professional"
