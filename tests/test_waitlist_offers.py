"""Waitlist offers (issue 14, point 16): within an activity's last days before the start a freed seat is offered to
the next person on the waitlist, held for them for some hours, and passes on when they decline or let it lapse;
the mail worker's loop and `flask cme expire-offers` end lapsed offers with no request made. Service rules with an
injected clock, a race between an acceptance and the lapse on a real database, a real worker process with a real
SMTP server, the pages (My schedule, the activity page, the offer pages, the roster, the organizer's form)."""
from __future__ import annotations

import re
import threading
from datetime import timedelta
from email import message_from_string, policy

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from cme.attendance import walk_in
from cme.calendar.service import registration_event
from cme.extensions import db as _db
from cme.mail.service import message_text
from cme.registration import lifecycle, notices, service
from cme.registration.counts import counts_for, seats_left
from cme.registration.models import Registration
from cme.timeutil import format_local, now_utc
from cme.transactions import commit_with_retry
from tests.helpers import outbox, wait_until

DAY = timedelta(days=1)


def answers(user):
    return service.Answers.from_profile(user, attested_professional=True)


def rows(db, activity) -> list[Registration]:
    db.session.expire_all()
    return list(db.session.scalars(select(Registration).where(Registration.activity_id == activity.id)
                                   .order_by(Registration.id)))


def states(db, activity) -> list[tuple[str, int | None]]:
    return [(r.status, r.waitlist_position) for r in rows(db, activity)]


def parsed(message):
    return message_from_string(message_text(message), policy=policy.default)


def calendar_parts(message) -> list:
    return [part for part in message.walk() if part.get_content_type() == "text/calendar"]


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


@pytest.fixture
def now():
    return now_utc().replace(microsecond=0)


@pytest.fixture
def full_meeting(db, make_user, make_activity, now):
    """full_meeting(waiting=2, starts_in=3 days, **fields): a one-seat meeting, its seat taken by a first registrant
    and `waiting` people on the waitlist (registered a day before `now`). Returns (activity, [registrations])."""

    def make(*, waiting: int = 2, starts_in: timedelta = 3 * DAY, seated: int = 1, prefix: str = "", **fields):
        fields.setdefault("capacity", seated)
        activity = make_activity(start_dt=now + starts_in, **fields)
        registrations = []
        for n in range(seated + waiting):
            person = make_user(f"{prefix}person{n}@example.org", full_name=f"Person {n}")
            registrations.append(service.register(person, activity.id, answers(person), now=now - DAY))
            db.session.commit()
        return activity, registrations

    return make


# ---------------------------------------------------------------- the rules, with an injected clock

def test_a_seat_freed_within_days_of_the_start_is_offered_to_the_next_person_and_held_for_them(
        db, make_user, full_meeting, now):
    activity, (seat, first, second) = full_meeting()
    moved = service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    assert [r.id for r in moved] == [first.id]
    assert states(db, activity) == [("cancelled", None), ("offered", 1), ("waitlisted", 2)]
    offered = rows(db, activity)[1]
    assert offered.offered_dt == now and offered.offer_expires_dt == now + timedelta(hours=24)
    assert offered.offer_outcome is None and offered.confirmed_dt is None
    # The held seat is taken: nobody else gets it, and a newcomer joins the waitlist behind everyone.
    counts = counts_for(activity.id)
    assert (counts.confirmed, counts.offered, counts.waitlisted, counts.taken) == (0, 1, 1, 1)
    assert seats_left(activity) == 0
    newcomer = make_user("late@example.org")
    late = service.register(newcomer, activity.id, answers(newcomer), now=now)
    db.session.commit()
    assert (late.status, late.waitlist_position) == ("waitlisted", 3)
    # The offer's mail: no calendar invitation (no seat yet), the deadline in the activity's local time, two links.
    [mail] = outbox(db, "registration_offered")
    message = parsed(mail)
    assert mail.recipient == "person1@example.org" and calendar_parts(message) == []
    text = text_of(message)
    deadline = format_local(now + timedelta(hours=24), "America/New_York")
    assert f"held for you until {deadline}" in text and deadline.endswith(("EST", "EDT"))
    assert f"/my/registrations/{first.id}/accept" in text and f"/my/registrations/{first.id}/decline" in text
    html = message.get_body(("html",)).get_content()
    assert ">Accept the seat</a>" in html and ">Decline it</a>" in html


@pytest.mark.parametrize("starts_in, fields", [(10 * DAY, {}), (2 * DAY, {"offer_days_before": 0})],
                         ids=["before the window", "offers turned off"])
def test_a_seat_freed_before_the_window_or_with_offers_off_is_given_at_once(db, full_meeting, now, starts_in, fields):
    activity, (seat, first, _) = full_meeting(starts_in=starts_in, **fields)
    service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    assert states(db, activity) == [("cancelled", None), ("confirmed", None), ("waitlisted", 1)]
    assert outbox(db, "registration_offered") == [] and len(outbox(db, "registration_promoted")) == 1


def test_an_offer_never_outlasts_the_start(db, full_meeting, now):
    activity, (seat, first, _) = full_meeting(starts_in=timedelta(hours=5))
    service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    assert rows(db, activity)[1].offer_expires_dt == activity.start_dt  # not 24 hours: the start comes first


def test_accepting_confirms_the_seat_with_a_calendar_invitation_and_moves_the_waitlist_up(db, full_meeting, now):
    activity, (seat, first, second, _) = full_meeting(waiting=3)
    service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    service.accept_offer(first, now=now + timedelta(hours=23))
    db.session.commit()
    assert states(db, activity) == [("cancelled", None), ("confirmed", None), ("waitlisted", 1), ("waitlisted", 2)]
    accepted = rows(db, activity)[1]
    assert accepted.offer_outcome == "accepted" and accepted.confirmed_dt == now + timedelta(hours=23)
    [mail] = outbox(db, "registration_accepted")
    invitation = calendar_parts(parsed(mail))[0]
    assert invitation.get_param("method") == "REQUEST" and "You accepted the seat" in text_of(parsed(mail))
    # A double submit changes nothing and queues nothing.
    service.accept_offer(first, now=now + timedelta(hours=23, minutes=1))
    db.session.commit()
    assert len(outbox(db, "registration_accepted")) == 1
    assert service.offer_problem(accepted)[1] == "accepted"


def test_accepting_after_the_deadline_is_refused_with_the_deadline_in_local_time(db, full_meeting, now):
    activity, (seat, first, _) = full_meeting(time_zone="America/Denver")
    service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    deadline = now + timedelta(hours=24)
    with pytest.raises(service.RegistrationError) as refused:
        service.accept_offer(first, now=deadline)
    db.session.rollback()
    assert refused.value.code == "offer_lapsed"
    assert refused.value.message == (f"This offer lapsed on {format_local(deadline, 'America/Denver')}: the seat goes "
                                     "to the next person on the waitlist.")
    assert "MST" in refused.value.message or "MDT" in refused.value.message
    with pytest.raises(service.RegistrationError):
        service.decline_offer(first, now=deadline + timedelta(minutes=5))
    db.session.rollback()
    assert states(db, activity)[1] == ("offered", 1)  # until the lapse is processed, which passes the seat on


def test_declining_passes_the_seat_to_the_next_person_as_a_new_offer(db, full_meeting, now):
    activity, (seat, first, second) = full_meeting()
    service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    later = now + timedelta(hours=3)
    moved = service.decline_offer(first, now=later)
    db.session.commit()
    assert [r.id for r in moved] == [second.id]
    assert states(db, activity) == [("cancelled", None), ("cancelled", None), ("offered", 1)]
    declined, offered = rows(db, activity)[1:]
    assert declined.offer_outcome == "declined" and declined.cancelled_dt == later
    assert offered.offer_expires_dt == later + timedelta(hours=24)
    [mail] = outbox(db, "registration_declined")
    assert calendar_parts(parsed(mail)) == [] and "You declined the seat" in text_of(parsed(mail))
    assert [m.recipient for m in outbox(db, "registration_offered")] == ["person1@example.org", "person2@example.org"]
    assert service.decline_offer(declined, now=later) == []  # a repeat


def test_a_lapsed_offer_passes_to_the_next_person_and_the_lapsed_one_is_told(db, full_meeting, now):
    activity, (seat, first, second) = full_meeting()
    service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    assert service.activities_with_due_offers(now=now + timedelta(hours=23)) == []
    after = now + timedelta(hours=24, minutes=1)
    assert service.activities_with_due_offers(now=after) == [activity.id]
    assert service.expire_offers_of(activity.id, now=after) == 1
    db.session.commit()
    assert states(db, activity) == [("cancelled", None), ("cancelled", None), ("offered", 1)]
    lapsed, offered = rows(db, activity)[1:]
    assert lapsed.offer_outcome == "lapsed" and offered.offer_expires_dt == after + timedelta(hours=24)
    [mail] = outbox(db, "registration_lapsed")
    assert mail.recipient == "person1@example.org" and "was not accepted in time" in text_of(parsed(mail))
    assert service.offer_problem(lapsed, now=after)[1] == "offer_lapsed"
    assert service.expire_offers_of(activity.id, now=after) == 0  # nothing more is due


def test_an_offer_lapsing_at_the_start_passes_the_seat_on_by_promotion(db, full_meeting, now):
    """A started activity makes no offers: the offer that lapses at the start passes its seat by promotion."""
    activity, (seat, first, second) = full_meeting(starts_in=timedelta(hours=5))
    service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    service.expire_offers_of(activity.id, now=activity.start_dt)
    db.session.commit()
    assert states(db, activity) == [("cancelled", None), ("cancelled", None), ("confirmed", None)]
    assert [m.recipient for m in outbox(db, "registration_promoted")] == ["person2@example.org"]


def test_a_cancelled_activity_withdraws_its_offers_and_makes_no_more(db, full_meeting, now):
    activity, (seat, first, second) = full_meeting()
    service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    lifecycle.cancel_activity(activity, now=now + timedelta(hours=1))
    db.session.commit()
    assert states(db, activity) == [("cancelled", None), ("waitlisted", 1), ("waitlisted", 2)]
    with pytest.raises(service.RegistrationError) as refused:
        service.accept_offer(first, now=now + timedelta(hours=2))
    db.session.rollback()
    assert refused.value.message == "This activity has been cancelled."
    assert service.activities_with_due_offers(now=now + 2 * DAY) == []
    cancelled = {m.recipient: m for m in outbox(db, "activity_cancelled")}
    assert calendar_parts(parsed(cancelled["person1@example.org"])) == []  # no seat was ever theirs
    assert outbox(db, "registration_lapsed") == []


def test_capacity_counts_held_seats_and_a_raise_within_the_window_makes_offers(db, full_meeting, now):
    activity, (seat, first, second, third) = full_meeting(waiting=3)
    service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    with pytest.raises(service.RegistrationError) as refused:
        lifecycle.change_capacity(activity, 0, now=now)
    db.session.rollback()
    assert refused.value.message == ("0 registrants are already confirmed and 1 more hold a seat offered to them; the "
                                     "capacity cannot go below 1.")
    lifecycle.change_capacity(activity, 3, now=now)
    db.session.commit()
    assert states(db, activity) == [("cancelled", None), ("offered", 1), ("offered", 2), ("offered", 3)]


def test_organizers_can_still_seat_someone_holding_an_offer_or_waiting(db, full_meeting, now):
    activity, (seat, first, second) = full_meeting()
    service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    service.promote(second, now=now)  # out of turn, while the first holds an offer: one more seat for them
    db.session.commit()
    assert activity.capacity == 2 and states(db, activity)[1:] == [("offered", 1), ("confirmed", None)]
    service.promote(first, now=now)  # confirmed for them: their held seat, no new one
    db.session.commit()
    assert activity.capacity == 2 and states(db, activity)[1:] == [("confirmed", None), ("confirmed", None)]


def test_someone_holding_an_offer_who_comes_to_the_desk_is_seated_in_the_seat_held_for_them(db, make_user,
                                                                                            full_meeting, now):
    organizer = make_user("desk@example.org", role="organizer")
    activity, (seat, first, second) = full_meeting(organizers=[organizer], starts_in=timedelta(hours=5))
    service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    person = walk_in.WalkIn(full_name="Person 1", email="person1@example.org")
    outcome = walk_in.register_walk_in(activity.id, person, by=organizer, check_in_now=False, now=now)
    db.session.commit()
    assert outcome.already_registered and not outcome.over_capacity  # no tick needed: the seat was theirs
    assert activity.capacity == 1 and states(db, activity)[1:] == [("confirmed", None), ("waitlisted", 1)]


def test_a_schedule_change_tells_someone_holding_an_offer_of_their_deadline_without_an_invitation(db, full_meeting,
                                                                                                  now):
    activity, (seat, first, _) = full_meeting()
    service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    notices.queue_change_notices(activity, {"venue": ["Old hall", activity.venue_name]}, now=now)
    db.session.commit()
    [notice] = [m for m in outbox(db, "schedule_changed") if m.recipient == "person1@example.org"]
    message = parsed(notice)
    assert calendar_parts(message) == []
    deadline = format_local(first.offer_deadline, activity.time_zone)
    assert f"a seat is held for you until {deadline}" in text_of(message)
    assert "Accept the seat on My schedule" in text_of(message)


def test_the_personal_calendar_shows_an_offered_seat_as_tentative_with_its_deadline(db, full_meeting, now):
    activity, (seat, first, _) = full_meeting()
    service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    event = registration_event(rows(db, activity)[1])
    assert event.status == "TENTATIVE" and event.summary.startswith("Seat offered: ")
    assert f"A seat is held for you until {format_local(first.offer_deadline, activity.time_zone)}" in event.description


def test_the_database_refuses_an_offer_without_a_deadline_or_a_waitlist_position(db, full_meeting, now):
    activity, (_, first, _) = full_meeting()
    for values in ({"status": "offered", "offer_expires_dt": None}, {"status": "offered", "waitlist_position": None,
                                                                     "offer_expires_dt": now},
                   {"offer_outcome": "maybe"}):
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.update(Registration).where(Registration.id == first.id).values(**values))
            db.session.flush()
        db.session.rollback()


def test_the_offer_settings_hold_their_bounds_in_the_database(db, make_activity):
    activity = make_activity()
    assert (activity.offer_days_before, activity.offer_hours) == (7, 24)
    for values in ({"offer_days_before": -1}, {"offer_days_before": 366}, {"offer_hours": 0}, {"offer_hours": 169}):
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.update(type(activity)).where(type(activity).id == activity.id).values(**values))
            db.session.flush()
        db.session.rollback()


# ---------------------------------------------------------------- races, the command, the worker

def test_accepting_and_lapsing_at_the_deadline_never_both_happen(app, db, full_meeting, now, backend):
    """An acceptance a second before the deadline and the lapse a second after it, started together in two
    threads on the real database, twenty times: each time exactly one of them wins (the activity's lock orders
    them), and the seat is never both confirmed for the first person and offered to the second."""
    outcomes = []
    for round_number in range(20):
        activity, (seat, first, second) = full_meeting(title=f"Race {round_number}", prefix=f"r{round_number}-")
        service.cancel_registration(seat, took_part=False, now=now)
        db.session.commit()
        activity_id, first_id = activity.id, first.id
        deadline = rows(db, activity)[1].offer_expires_dt
        errors: list[BaseException] = []
        barrier = threading.Barrier(2)

        def accept() -> None:
            with app.app_context():
                try:
                    registration = _db.session.get(Registration, first_id)
                    barrier.wait(timeout=30)
                    commit_with_retry(lambda: service.accept_offer(registration, now=deadline - timedelta(seconds=1)))
                except service.RegistrationError as refused:
                    errors.append(refused)
                finally:
                    _db.session.remove()

        def lapse() -> None:
            with app.app_context():
                try:
                    barrier.wait(timeout=30)
                    commit_with_retry(lambda: service.expire_offers_of(activity_id,
                                                                       now=deadline + timedelta(seconds=1)))
                finally:
                    _db.session.remove()

        threads = [threading.Thread(target=accept), threading.Thread(target=lapse)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        result = states(db, activity)
        if result == [("cancelled", None), ("confirmed", None), ("waitlisted", 1)]:
            outcomes.append("accepted")
            assert errors == []
        else:
            assert result == [("cancelled", None), ("cancelled", None), ("offered", 1)]
            assert [e.code for e in errors] == ["offer_lapsed"]
            outcomes.append("lapsed")
        counts = counts_for(activity_id)
        assert counts.taken == 1 and counts.taken <= activity.capacity
    print(f"\n[accept vs lapse, {backend}] 20 races: {outcomes.count('accepted')} accepted first, "
          f"{outcomes.count('lapsed')} lapsed first; never both")


def test_the_expire_offers_command_ends_lapsed_offers(app, db, full_meeting, now):
    activity, (seat, first, second) = full_meeting()
    service.cancel_registration(seat, took_part=False, now=now - timedelta(hours=25))  # lapsed an hour ago
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["cme", "expire-offers"])
    assert result.exit_code == 0 and result.output == "Ended 1 lapsed seat offer(s).\n"
    assert states(db, activity) == [("cancelled", None), ("cancelled", None), ("offered", 1)]
    again = app.test_cli_runner().invoke(args=["cme", "expire-offers"])
    assert again.output == "Ended 0 lapsed seat offer(s).\n"


def test_the_running_mail_worker_lapses_an_offer_and_mails_the_next_person(db, full_meeting, now, smtp_server,
                                                                           mail_worker):
    """No request is made: a real `flask cme send-mail --loop` process ends the lapsed offer, offers the seat to the
    next person, and both mails reach a real SMTP server (the first offer's own mail, never sent before it lapsed,
    is dropped)."""
    activity, (seat, first, second) = full_meeting(title="Portal hypertension update")
    service.cancel_registration(seat, took_part=False, now=now - timedelta(hours=25))  # lapsed an hour ago
    db.session.commit()
    handler, port = smtp_server()
    worker = mail_worker(port)

    def subjects(address: str) -> list[str]:
        return [str(m["Subject"]) for m in handler.messages if m["To"].addresses[0].addr_spec == address]

    wait_until(lambda: "A seat is offered to you: Portal hypertension update" in subjects("person2@example.org"),
               what="the offer to the next person")
    wait_until(lambda: "Your seat offer lapsed: Portal hypertension update" in subjects("person1@example.org"),
               what="the lapsed offer's mail")
    assert worker.stop() == 0
    assert "A seat is offered to you: Portal hypertension update" not in subjects("person1@example.org")
    db.session.rollback()
    assert states(db, activity) == [("cancelled", None), ("cancelled", None), ("offered", 1)]
    [index] = [i for i, m in enumerate(handler.messages)
               if m["Subject"] == "A seat is offered to you: Portal hypertension update"]
    offer = handler.messages[index]
    assert not [p for p in offer.walk() if p.get_content_type() == "text/calendar"]
    deadline = rows(db, activity)[2].offer_deadline
    text = offer.get_body(("plain",)).get_content()
    assert f"held for you until {format_local(deadline, activity.time_zone)}" in text
    print(f"\n[worker loop] the next person's offer reached the SMTP server "
          f"{handler.arrived[index] - worker.started:.2f} s after the worker was started (process start included)")


# ---------------------------------------------------------------- pages

@pytest.fixture
def my_offer(db, make_user, make_activity, provider, now):
    """The logged-in provider (Ada) holds an offer for a one-seat meeting starting in three days; Bo waits behind."""
    activity = make_activity(capacity=1, start_dt=now + 3 * DAY, title="Liver transplant selection")
    holder = make_user("holder@example.org")
    seat = service.register(holder, activity.id, answers(holder), now=now - DAY)
    service.register(provider, activity.id, answers(provider), now=now - DAY)
    bo = make_user("bo@example.org", full_name="Bo Chen")
    service.register(bo, activity.id, answers(bo), now=now - DAY)
    db.session.commit()
    service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    return activity, rows(db, activity)[1]


def test_my_schedule_and_the_activity_page_show_the_offer_with_its_deadline_and_buttons(client, db, my_offer):
    activity, mine = my_offer
    deadline = format_local(mine.offer_deadline, activity.time_zone)
    schedule = client.get("/my/schedule").get_data(as_text=True)
    assert f"A seat is held for you until {deadline}" in schedule and "Offered a seat" in schedule
    assert f'action="/my/registrations/{mine.id}/accept"' in schedule and ">Accept the seat</button>" in schedule
    assert f'href="/my/registrations/{mine.id}/decline"' in schedule
    assert "Leave the waitlist" not in schedule
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert f"A seat is held for you until {deadline}" in page and f'action="/my/registrations/{mine.id}/accept"' in page
    assert "0 of 1 left" in page  # the held seat is taken
    accept_page = client.get(f"/my/registrations/{mine.id}/accept").get_data(as_text=True)
    assert "Accept your seat?" in accept_page and deadline in accept_page


def test_accepting_from_my_schedule_registers_and_the_next_visit_says_so(client, db, my_offer):
    activity, mine = my_offer
    response = client.post(f"/my/registrations/{mine.id}/accept")
    assert response.status_code == 302 and response.location == f"/my/schedule#registration-{mine.id}"
    assert states(db, activity)[1:] == [("confirmed", None), ("waitlisted", 1)]
    page = client.get(f"/my/registrations/{mine.id}/accept").get_data(as_text=True)
    assert "You accepted this seat: you are registered." in page
    again = client.post(f"/my/registrations/{mine.id}/accept")  # a double submit
    assert again.status_code == 302 and len(outbox(db, "registration_accepted")) == 1


def test_declining_asks_first_then_passes_the_seat_on(client, db, my_offer):
    activity, mine = my_offer
    page = client.get(f"/my/registrations/{mine.id}/decline").get_data(as_text=True)
    assert "Decline your seat?" in page and "Yes, decline the seat" in page
    # Leaving the waitlist with a seat in hand is declining it.
    assert client.get(f"/my/registrations/{mine.id}/cancel").location == f"/my/registrations/{mine.id}/decline"
    response = client.post(f"/my/registrations/{mine.id}/decline", follow_redirects=True)
    assert "You declined the seat at Liver transplant selection" in response.get_data(as_text=True)
    assert states(db, activity)[1:] == [("cancelled", None), ("offered", 1)]
    schedule = client.get("/my/schedule").get_data(as_text=True)
    assert "You declined the seat offered to you" in schedule


def test_someone_elses_offer_is_a_404(client, db, make_user, full_meeting, provider, now):
    activity, (seat, theirs, _) = full_meeting()
    service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    for path in (f"/my/registrations/{theirs.id}/accept", f"/my/registrations/{theirs.id}/decline"):
        assert client.get(path).status_code == 404 and client.post(path).status_code == 404
    assert client.post("/my/registrations/999999/accept").status_code == 404
    assert states(db, activity)[1] == ("offered", 1)


def test_accepting_after_the_deadline_is_refused_on_the_page_with_what_happens_next(client, db, my_offer):
    activity, mine = my_offer
    deadline = mine.offer_deadline
    db.session.execute(sa.update(Registration).where(Registration.id == mine.id)
                       .values(offer_expires_dt=now_utc() - timedelta(minutes=1)))  # its hours have passed
    db.session.commit()
    response = client.post(f"/my/registrations/{mine.id}/accept")
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "This offer lapsed on" in page and "the next person on the waitlist" in page
    assert states(db, activity)[1] == ("offered", 1)
    assert deadline  # (the original deadline is no longer shown: the offer has lapsed)
    assert "was not accepted in time" in client.get("/my/schedule").get_data(as_text=True)
    service.expire_offers_of(activity.id)
    db.session.commit()
    after = client.get(f"/my/registrations/{mine.id}/accept").get_data(as_text=True)
    assert "the seat went to the next person on the waitlist" in after
    assert f'href="/activities/{activity.id}/register"' in after  # register again, at the end of the waitlist


def test_the_roster_shows_offers_with_their_deadlines_and_an_organizer_confirms_one(client, db, make_user,
                                                                                   full_meeting, auth, now):
    organizer = make_user("org@example.org", role="organizer")
    activity, (seat, first, _) = full_meeting(organizers=[organizer])
    service.cancel_registration(seat, took_part=False, now=now)
    db.session.commit()
    auth.login("org@example.org")
    page = client.get(f"/organize/activities/{activity.id}/roster").get_data(as_text=True)
    deadline = format_local(first.offer_deadline, activity.time_zone, "%b %-d, %-I:%M %p %Z")
    assert "Offered a seat #1" in page and f"until {deadline}" in page
    assert "0 confirmed of 1 seats · 1 seat offered, held until answered · 1 on the waitlist" in page
    assert "Within 7 days of the start" in page and ">Confirm now</button>" in page
    response = client.post(f"/organize/activities/{activity.id}/roster/{first.id}/promote", follow_redirects=True)
    assert "Person 1 is confirmed (capacity is now 1)." in response.get_data(as_text=True)
    assert states(db, activity)[1:] == [("confirmed", None), ("waitlisted", 1)]


def test_cancelling_a_seat_from_the_roster_says_who_was_offered_it(client, db, make_user, full_meeting, auth, now):
    organizer = make_user("org@example.org", role="organizer")
    activity, (seat, first, _) = full_meeting(organizers=[organizer])
    auth.login("org@example.org")
    response = client.post(f"/organize/activities/{activity.id}/roster/{seat.id}/cancel", follow_redirects=True)
    assert re.search(r"Offered a seat until \w{3} \w{3} \d+, \d{4} \d+:\d\d [AP]M E[SD]T: Person 1\.",
                     response.get_data(as_text=True))


def test_organizers_set_the_offer_window_and_odd_values_are_refused(client, db, make_user, make_activity, auth):
    organizer = make_user("org@example.org", role="organizer")
    activity = make_activity(organizers=[organizer], capacity=20)
    auth.login("org@example.org")
    form = client.get(f"/organize/activities/{activity.id}/edit").get_data(as_text=True)
    assert 'name="offer_days_before"' in form and 'value="7"' in form and 'value="24"' in form
    fields = {"format": "live_meeting", "title": activity.title, "time_zone": "America/New_York",
              "start_local": format_local(activity.start_dt, "America/New_York", "%Y-%m-%dT%H:%M"),
              "end_local": format_local(activity.end_dt, "America/New_York", "%Y-%m-%dT%H:%M"),
              "venue_name": "Hilton Midtown", "city": "New York", "state": "NY", "capacity": "20",
              "accreditation_kind": "accme", "remind_day_before": "y", "remind_hour_before": "y"}
    for days, hours, message in (("-1", "24", "Enter from 0 to 365 days."), ("3", "0", "Enter from 1 to 168 hours."),
                                 ("99999999999999999999", "24", "Enter from 0 to 365 days."),
                                 ("3", "1.5", "Not a valid integer value")):
        response = client.post(f"/organize/activities/{activity.id}/edit",
                               data={**fields, "offer_days_before": days, "offer_hours": hours})
        assert response.status_code == 422 and message in response.get_data(as_text=True), (days, hours)
    response = client.post(f"/organize/activities/{activity.id}/edit",
                           data={**fields, "offer_days_before": "3", "offer_hours": "12"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (activity.offer_days_before, activity.offer_hours) == (3, 12)
    client.post(f"/organize/activities/{activity.id}/edit", data={**fields, "offer_days_before": "", "offer_hours": ""})
    db.session.expire_all()
    assert (activity.offer_days_before, activity.offer_hours) == (7, 24)  # blank: the defaults
