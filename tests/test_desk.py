"""The registration desk (issue 14, point 13): walk-ins registered by name and email (an existing account, or a new
one mailed a link to choose a password), capacity with an explicit over-capacity override, double submits, the
check-in window; and taking back a whole-meeting check-in from the desk and the roster, refused once credit or
the evaluation rests on it."""
from __future__ import annotations

import re
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cme.accounts.models import User
from cme.accounts.service import SET_PASSWORD, make_reset_token
from cme.attendance import walk_in
from cme.attendance.models import Attendance
from cme.attendance.service import AttendanceError, checked_in
from cme.credit.evaluation_models import EvaluationResponse
from cme.credit.models import CreditRecord
from cme.extensions import db as _db
from cme.mail.service import deliver_pending
from cme.registration.models import Registration
from cme.timeutil import now_utc
from tests.helpers import outbox


@pytest.fixture
def meeting(make_activity, organizer):
    """A live meeting that started an hour ago (check-in is open), run by the logged-in organizer."""
    start = now_utc().replace(microsecond=0) - timedelta(hours=1)
    return make_activity(organizers=[organizer], title="Liver Update", time_zone="UTC", start_dt=start,
                         end_dt=start + timedelta(hours=4), capacity=10)


def desk(activity) -> str:
    return f"/organize/activities/{activity.id}/checkin"


def walk_in_form(**fields) -> dict:
    return {"full_name": "Grace Hopper", "email": "Grace.Hopper@Navy.example.org", "degree": "RN",
            "profession": "nurse", "check_in_now": "y", **fields}


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')


# ---------------------------------------------------------------- walk-ins

def test_a_walk_in_with_a_new_email_gets_an_account_a_seat_a_check_in_and_a_link_to_choose_a_password(
        app, client, db, meeting, smtp):
    response = client.post(f"{desk(meeting)}/walk-in", data=walk_in_form())
    assert response.status_code == 302 and response.location.endswith(desk(meeting))
    page = text(client.get(desk(meeting)))
    assert ("Grace Hopper, RN is registered and checked in. A new account was created for "
            "grace.hopper@navy.example.org, and a mail with a link to choose a password is on its way.") in page
    assert "1</strong> of 1 confirmed registrant checked in" in page
    user = db.session.scalar(select(User).where(User.email == "grace.hopper@navy.example.org"))
    assert (user.full_name, user.degree, user.profession, user.role) == ("Grace Hopper", "RN", "nurse", "provider")
    [registration] = db.session.scalars(select(Registration)).all()
    assert registration.is_confirmed and (registration.full_name, registration.degree) == ("Grace Hopper", "RN")
    assert registration.id in checked_in([registration])
    # The mail: a link to choose a password, which works once, and logs the person in.
    assert [m.kind for m in outbox(db)] == ["account_invited", "registration_confirmed"]
    deliver_pending()
    invited = next(m for m in smtp.messages if m["Subject"].startswith("Choose a password"))
    assert invited["Subject"] == "Choose a password for your account: Liver Update"
    body = invited.get_body(("plain",)).get_content()
    assert "registered for Liver Update at the registration desk" in body and "expires in 14 days" in body
    path = re.search(r"http://cme\.test(/account/welcome/\S+)", body).group(1)
    client.post("/account/logout")
    form = client.get(path)
    assert form.status_code == 200 and "grace.hopper@navy.example.org" in text(form)
    done = client.post(path, data={"password": "my own password", "confirm": "my own password"})
    assert done.status_code == 302 and done.location.endswith("/my/schedule")
    schedule = text(client.get("/my/schedule"))
    assert "Your password is set and you are logged in." in schedule and "Liver Update" in schedule
    db.session.refresh(user)
    assert user.check_password("my own password")
    again = client.post(path, data={"password": "another password", "confirm": "another password"},
                        follow_redirects=True)
    assert "Your password has already been chosen with this link." in text(again)


def test_the_link_to_choose_a_password_lasts_fourteen_days_and_is_no_reset_link(app, client, db, make_user):
    user = make_user("walk.in@example.org")
    now = now_utc()
    fresh = make_reset_token(user, requested_dt=now - timedelta(days=13, hours=23), link=SET_PASSWORD)
    stale = make_reset_token(user, requested_dt=now - timedelta(days=14, minutes=1), link=SET_PASSWORD)
    assert client.get(f"/account/welcome/{fresh}").status_code == 200
    expired = client.get(f"/account/welcome/{stale}", follow_redirects=True)
    assert "This link to choose your password has expired. Ask for a reset link below" in text(expired)
    # A reset link (an hour) is not a link to choose a password, nor the other way round.
    reset = make_reset_token(user)
    assert "is not valid" in text(client.get(f"/account/welcome/{reset}", follow_redirects=True))
    assert "is not valid" in text(client.get(f"/account/reset/{fresh}", follow_redirects=True))


def test_a_walk_in_whose_email_has_an_account_registers_that_account_and_creates_none(
        client, db, make_user, meeting):
    person = make_user("ada@example.org", full_name="Ada King, Countess of Lovelace", degree="MD", npi=None)
    users = count(db, User)
    response = client.post(f"{desk(meeting)}/walk-in", data=walk_in_form(full_name="Ada L.", email="ADA@example.org",
                                                                          degree="DO"), follow_redirects=True)
    assert "Ada King, Countess of Lovelace, MD is registered and checked in, with the existing account of " \
           "ada@example.org." in text(response)
    assert count(db, User) == users
    [registration] = db.session.scalars(select(Registration)).all()
    # The account's own profile, as the roster's "Add someone" does: the name typed at the desk changes nothing.
    assert registration.user_id == person.id and registration.full_name == "Ada King, Countess of Lovelace"
    assert registration.degree == "MD"
    assert [m.kind for m in outbox(db)] == ["registration_confirmed"]


def test_submitting_the_same_walk_in_twice_registers_once_and_checks_in_once(client, db, meeting):
    first = client.post(f"{desk(meeting)}/walk-in", data=walk_in_form())
    second = client.post(f"{desk(meeting)}/walk-in", data=walk_in_form(), follow_redirects=True)
    assert first.status_code == 302 and second.status_code == 200
    assert ("Grace Hopper, RN was already registered (confirmed, checked in already): nobody was registered "
            "twice.") in text(second)
    assert (count(db, User), count(db, Registration), count(db, Attendance)) == (2, 1, 1)  # the organizer + one
    assert len(outbox(db, "account_invited")) == 1 and len(outbox(db, "registration_confirmed")) == 1


def test_concurrent_submits_of_one_walk_in_make_one_account_one_registration_and_one_check_in(
        app, db, meeting, organizer):
    """A double click sends two requests at once: the activity's lock makes the second wait and find the first."""
    activity_id, organizer_id = meeting.id, organizer.id
    person = walk_in.WalkIn(full_name="Grace Hopper", email="grace@example.org")
    outcomes: list[walk_in.WalkInOutcome] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def submit() -> None:
        from cme.transactions import commit_with_retry

        try:
            barrier.wait(timeout=30)
            with app.app_context():
                by = _db.session.get(User, organizer_id)
                outcome = commit_with_retry(lambda: walk_in.register_walk_in(activity_id, person, by=by))
                outcomes.append(outcome)
                _db.session.remove()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(o.new_account for o in outcomes) == [False, False, True]
    assert sorted(o.already_registered for o in outcomes) == [False, True, True]
    db.session.expire_all()
    assert (count(db, User), count(db, Registration), count(db, Attendance)) == (2, 1, 1)
    assert len(outbox(db, "account_invited")) == 1


def test_a_full_meeting_refuses_a_walk_in_unless_seated_over_capacity_which_grows_the_capacity_and_says_so(
        client, db, make_user, register, meeting):
    meeting.capacity = 1
    db.session.commit()
    register(make_user(), meeting, by_organizer=True)
    waiting = make_user(full_name="Wendy Waiting")
    register(waiting, meeting, by_organizer=True)
    users = count(db, User)
    refused = client.post(f"{desk(meeting)}/walk-in", data=walk_in_form())
    assert refused.status_code == 422
    page = text(refused)
    message = ("The meeting is full (1 of 1 seats taken; 1 on the waitlist). Tick “Seat over capacity” to seat this "
               "walk-in anyway: the capacity grows by one seat.")
    assert f'<p class="error" id="over_capacity-error">{message}</p>' in page
    assert 'value="Grace.Hopper@navy.example.org"' in page  # the form as typed (the domain as stored: lower case)
    assert count(db, User) == users and count(db, Registration) == 2
    seated = client.post(f"{desk(meeting)}/walk-in", data=walk_in_form(over_capacity="y"), follow_redirects=True)
    assert "Grace Hopper was seated over capacity: the capacity of “Liver Update” is now 2." in text(seated)
    db.session.expire_all()
    assert meeting.capacity == 2
    registration = db.session.scalar(select(Registration).where(Registration.full_name == "Grace Hopper"))
    assert registration.is_confirmed and registration.id in checked_in([registration])
    # Someone on the waitlist who comes to the desk is seated out of turn only with the same override.
    refused = client.post(f"{desk(meeting)}/walk-in", data=walk_in_form(email=waiting.email))
    assert refused.status_code == 422 and "Wendy Waiting is on the waitlist (number 1)." in text(refused)
    seated = client.post(f"{desk(meeting)}/walk-in", data=walk_in_form(email=waiting.email, over_capacity="y"),
                         follow_redirects=True)
    assert "Wendy Waiting, MD was already registered (confirmed, now checked in)" in text(seated)
    assert "Wendy Waiting was seated over capacity: the capacity of “Liver Update” is now 3." in text(seated)


def test_walk_ins_follow_the_check_in_window_and_a_cancelled_meeting_or_a_webcast_takes_none(
        db, make_user, make_activity, organizer):
    start = now_utc().replace(microsecond=0) + timedelta(days=3)
    activity = make_activity(organizers=[organizer], time_zone="UTC", start_dt=start, end_dt=start + timedelta(hours=2))
    person = walk_in.WalkIn(full_name="Grace Hopper", email="grace@example.org")

    def attempt(**options):
        try:
            return walk_in.register_walk_in(activity.id, person, by=organizer, **options)
        finally:
            db.session.rollback()

    with pytest.raises(AttendanceError, match="Check-in opens on .* Untick “Check in now”") as early:
        attempt(now=start - timedelta(days=1))
    assert early.value.code == "too_early"
    outcome = walk_in.register_walk_in(activity.id, person, by=organizer, check_in_now=False,
                                       now=start - timedelta(days=1))
    assert outcome.registration.is_confirmed and not outcome.checked_in
    db.session.rollback()
    assert walk_in.register_walk_in(activity.id, person, by=organizer, now=start + timedelta(hours=1)).checked_in
    db.session.rollback()
    with pytest.raises(AttendanceError, match="Check-in closed on .* Walk-ins are no longer registered") as late:
        attempt(now=start + timedelta(days=1), check_in_now=False)
    assert late.value.code == "too_late"
    activity.status = "cancelled"
    db.session.commit()
    with pytest.raises(AttendanceError, match="This activity has been cancelled.") as cancelled:
        attempt(now=start)
    assert cancelled.value.code == "closed"
    webcast = make_activity(organizers=[organizer], format="live_webcast", start_dt=start, end_dt=start + timedelta(hours=1))
    with pytest.raises(AttendanceError, match="Walk-ins are registered at a live meeting's check-in desk."):
        walk_in.register_walk_in(webcast.id, person, by=organizer, now=start)
    assert count(db, Registration) == 0 and count(db, User) == 1


def test_the_desk_shows_the_walk_in_form_only_while_walk_ins_are_taken(client, db, meeting):
    page = text(client.get(desk(meeting)))
    assert "Register walk-in" in page and '<input checked id="check_in_now"' in page
    meeting.start_dt, meeting.end_dt = meeting.start_dt - timedelta(days=2), meeting.end_dt - timedelta(days=2)
    db.session.commit()
    page = text(client.get(desk(meeting)))
    assert "Register walk-in" not in page and "Walk-ins are no longer registered at the desk." in page


# ---------------------------------------------------------------- taking back a whole-meeting check-in

@pytest.fixture
def arrived(db, make_user, register, meeting, organizer):
    """Grace Hopper, registered and checked in to the whole meeting."""
    from cme.attendance.service import check_in

    registration = register(make_user(full_name="Grace Hopper"), meeting, by_organizer=True)
    check_in(registration, by=organizer)
    db.session.commit()
    return registration


def undo_form(page: str) -> str:
    """The "Undo check-in" form of a page, whole."""
    return re.search(r'<form method="post" action="[^"]*/undo"[^>]*>(?:(?!</form>).)*Undo check-in</button>\s*</form>',
                     page, re.S).group(0)


def test_a_whole_meeting_check_in_is_taken_back_from_the_desk_after_a_confirmation(client, db, meeting, arrived):
    page = text(client.get(f"{desk(meeting)}?q=grace"))
    form = undo_form(page)
    assert 'data-confirm="Take back Grace Hopper\'s check-in to the whole meeting?"' in form
    assert 'name="back" value="desk"' in form and 'name="q" value="grace"' in form
    response = client.post(f"{desk(meeting)}/{arrived.id}/undo", data={"back": "desk", "q": "grace"})
    assert response.status_code == 302 and response.location.endswith(f"{desk(meeting)}?q=grace")
    page = text(client.get(f"{desk(meeting)}?q=grace"))
    assert "Grace Hopper's check-in is taken back." in page and "Check in Grace Hopper" in page
    assert count(db, Attendance) == 0


def test_a_whole_meeting_check_in_is_taken_back_from_the_roster(client, db, meeting, arrived):
    roster = f"/organize/activities/{meeting.id}/roster"
    form = undo_form(text(client.get(roster)))
    assert 'name="back" value="roster"' in form and "data-confirm=" in form
    response = client.post(f"{desk(meeting)}/{arrived.id}/undo", data={"back": "roster"})
    assert response.status_code == 302 and response.location.endswith(roster)
    page = text(client.get(roster))
    assert "Grace Hopper's check-in is taken back." in page and "Undo check-in" not in page
    assert count(db, Attendance) == 0


@pytest.mark.parametrize("rests_on_it", ["credit", "evaluation"])
def test_a_check_in_that_credit_or_the_evaluation_rests_on_stays_and_the_pages_say_why(
        client, db, meeting, arrived, rests_on_it):
    if rests_on_it == "credit":
        db.session.add(CreditRecord(user_id=arrived.user_id, activity_id=meeting.id, credit_type="ama_pra_1",
                                    amount=Decimal("1.00"), attested=True))
        why = "Grace Hopper has claimed credit for this activity: the check-in stays."
    else:
        db.session.add(EvaluationResponse(user_id=arrived.user_id, activity_id=meeting.id, answers={}))
        why = ("Grace Hopper has completed this activity's evaluation, which rests on the check-in: the check-in "
               "stays.")
    db.session.commit()
    for page in (f"{desk(meeting)}?q=grace", f"/organize/activities/{meeting.id}/roster",
                 f"{desk(meeting)}/{arrived.checkin_code}"):
        shown = text(client.get(page))
        assert why in shown and "Undo check-in" not in shown and ">Undo</button>" not in shown, page
    refused = client.post(f"{desk(meeting)}/{arrived.id}/undo", data={"back": "roster"}, follow_redirects=True)
    assert why in text(refused)
    assert count(db, Attendance) == 1
