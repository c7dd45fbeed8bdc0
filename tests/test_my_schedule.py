"""My schedule (issue 14, point 6): upcoming, past and cancelled apart; one card per activity; each card's next
step follows where the learner stands (seat, attendance, evaluation, post-test, claim, certificate), at a query
cost that does not grow with the number of registrations."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from cme.attendance import service as attendance
from cme.attendance.models import Attendance
from cme.certificates import service as certificates
from cme.credit import evaluation
from cme.credit import service as credit
from cme.credit.participation import cancel_registration
from cme.credit.progress import Step, my_schedule
from cme.registration.lifecycle import cancel_activity
from cme.timeutil import now_utc

NOW = now_utc().replace(microsecond=0)


def cards(page: str, heading: str) -> str:
    """The HTML of one section of My schedule (from its heading to the next h2)."""
    start = page.index(f"<h2>{heading}</h2>")
    following = page.find("<h2", start + 4)
    return page[start:following if following != -1 else len(page)]


def steps(user) -> dict[str, tuple[str, Step | None]]:
    """{activity title: (section, next step)} of the user's schedule."""
    schedule = my_schedule(user, certificates=certificates.current_certificates_for(user))
    return {card.activity.title: (card.section, card.step)
            for cards_ in (schedule.upcoming, schedule.past, schedule.cancelled) for card in cards_}


def on_demand(make_activity, title: str, **fields):
    return make_activity(title=title, format="on_demand_webcast", join_url="https://webcast.example.org/x",
                         start_dt=NOW - timedelta(days=1), end_dt=NOW + timedelta(days=60),
                         credits={"ama_pra_1": "1"}, **fields)


def watched(db, user, activity, minutes: int) -> None:
    db.session.add(Attendance(user_id=user.id, activity_id=activity.id, watched_seconds=minutes * 60,
                              minutes_watched=minutes))
    db.session.commit()


def test_cancelled_registrations_leave_upcoming_and_re_registering_shows_one_card(client, db, make_activity, provider,
                                                                                  register):
    """Reproduces issue 14: a cancelled registration stayed under Upcoming, and re-registering showed two cards."""
    again = make_activity(title="Registered again")
    dropped = make_activity(title="Dropped for good")
    for _ in range(2):
        cancel_registration(register(provider, again))
        db.session.commit()
    register(provider, again)
    cancel_registration(register(provider, dropped))
    db.session.commit()
    page = client.get("/my/schedule").get_data(as_text=True)
    upcoming, cancelled = cards(page, "Upcoming"), cards(page, "Cancelled")
    assert "Registered again" in upcoming and "Dropped for good" not in upcoming
    assert page.count(f'href="/activities/{again.id}"') == 1  # one card, however often re-registered
    assert "Dropped for good" in cancelled and "Registration cancelled on" in cancelled
    assert f'href="/activities/{dropped.id}/register"' in cancelled  # still open: "Register again"
    assert steps(provider) == {"Registered again": ("upcoming", None),
                               "Dropped for good": ("cancelled", Step.REGISTER_AGAIN)}


def test_a_cancelled_activity_is_listed_under_cancelled_with_no_step(db, make_activity, provider, register):
    activity = make_activity(title="Called off")
    register(provider, activity)
    cancel_activity(activity)
    db.session.commit()
    assert steps(provider) == {"Called off": ("cancelled", None)}


def test_each_cards_next_step_follows_the_learners_state(client, db, make_user, make_activity, provider, register):
    organizer = make_user(role="organizer")
    fresh = on_demand(make_activity, "Not watched")
    halfway = on_demand(make_activity, "Watched")
    tested = on_demand(make_activity, "With a post-test")
    evaluation.add_post_test_question(tested, prompt="SVR12?", choices=["Cure", "Relapse"], correct_index=0)
    evaluation.set_post_test_rules(tested, passing_score=100, max_attempts=2)
    done = on_demand(make_activity, "Completed")
    unseen = make_activity(title="Missed meeting", start_dt=NOW - timedelta(days=3),
                           end_dt=NOW - timedelta(days=3) + timedelta(hours=2))
    attended = make_activity(title="Attended meeting", start_dt=NOW - timedelta(days=3),
                             end_dt=NOW - timedelta(days=3) + timedelta(hours=2), certificates_automatic=False)
    seats = {activity.id: register(provider, activity, by_organizer=True)
             for activity in (fresh, halfway, tested, done, unseen, attended)}
    for activity in (halfway, tested, done):
        watched(db, provider, activity, 60)
    for activity in (tested, done):
        evaluation.submit_evaluation(provider, activity, {})
    attendance.check_in(seats[attended.id], by=organizer, now=attended.start_dt)
    evaluation.submit_evaluation(provider, attended, {})
    db.session.commit()
    assert steps(provider) == {
        "Not watched": ("upcoming", Step.WATCH), "Watched": ("upcoming", Step.EVALUATE),
        "With a post-test": ("upcoming", Step.POST_TEST), "Completed": ("upcoming", Step.CLAIM),
        "Missed meeting": ("past", Step.NO_ATTENDANCE), "Attended meeting": ("past", Step.CLAIM)}

    evaluation.submit_post_test(provider, tested, {})
    evaluation.submit_post_test(provider, tested, {})  # the second and last attempt, failed
    certificates.claim_and_certify(provider, done, {"ama_pra_1": Decimal("1")}, attested=True)  # issued at once
    certificates.claim_and_certify(provider, attended, {"ama_pra_1": Decimal("2")}, attested=True)  # organizer issues
    db.session.commit()
    now = steps(provider)
    assert now["With a post-test"] == ("upcoming", Step.NO_ATTEMPTS)
    assert now["Completed"] == ("past", Step.CERTIFICATE)  # a completed on-demand webcast is past
    assert now["Attended meeting"] == ("past", Step.CERTIFICATE_PENDING)

    page = client.get("/my/schedule").get_data(as_text=True)
    certificate = certificates.current_certificate(provider, done)
    past = cards(page, "Past")
    assert f'href="/my/certificates/{certificate.id}.pdf"' in past and "Credit claimed: 1 AMA PRA Category 1" in past
    assert "yours will be mailed to you then" in past
    assert "no record of your attendance" in past
    upcoming = cards(page, "Upcoming")
    assert f'href="/activities/{halfway.id}/evaluation"' in upcoming
    assert "You have used all 2 attempt(s) at the post-test" in upcoming
    assert f'href="/activities/{done.id}/claim"' not in upcoming


def test_the_schedule_costs_the_same_queries_for_few_and_many_registrations(
        client, db, make_user, make_activity, provider, register, count_queries):
    """One registration of each kind, then four of each: the page sends the same number of statements."""
    organizer = make_user(role="organizer")

    def one_of_each(n: int) -> None:
        upcoming = make_activity(title=f"Upcoming {n}")
        register(provider, upcoming)
        meeting = make_activity(title=f"Past {n}", start_dt=NOW - timedelta(days=3),
                                end_dt=NOW - timedelta(days=3) + timedelta(hours=2))
        registration = register(provider, meeting, by_organizer=True)
        attendance.check_in(registration, by=organizer, now=meeting.start_dt)
        evaluation.submit_evaluation(provider, meeting, {})
        credit.claim_credit(provider, meeting, {"ama_pra_1": Decimal("2")}, attested=True)
        certificates.issue_certificate(provider, meeting)
        webcast = on_demand(make_activity, f"On demand {n}")
        evaluation.add_post_test_question(webcast, prompt="Q?", choices=["A", "B"], correct_index=0)
        register(provider, webcast)
        watched(db, provider, webcast, 30)
        evaluation.submit_evaluation(provider, webcast, {})
        evaluation.submit_post_test(provider, webcast, {})
        cancel_registration(register(provider, make_activity(title=f"Cancelled {n}")))
        db.session.commit()

    def schedule_queries() -> int:
        db.session.expire_all()
        with count_queries() as statements:
            page = client.get("/my/schedule").get_data(as_text=True)
        assert len(re.findall(r'<li class="schedule-item', page)) == 4 * registered
        return len(statements)

    registered = 1
    one_of_each(0)
    few = schedule_queries()
    for n in range(1, 4):
        one_of_each(n)
    registered = 4
    assert schedule_queries() == few
