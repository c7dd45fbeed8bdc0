"""Issue 16, point 1: a learner's identity for reporting (licences, board IDs, NABP e-Profile ID, birth month and
day), each validated; the permission to report asked at claim time, stored with the claim, shown on My credit and
changed later; the fields a report lacks asked at claim time and on /account/reporting/<activity>."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from cme.accounts.identity import (
    Board, BoardIdentifier, ReportingBody, StateLicence, birthday_problem, board_id_problem, licence_number_problem,
    licences_of, missing_for, nabp_id_problem,
)
from cme.accounts.identity_service import IdentityError, save_licence
from cme.attendance.models import Attendance
from cme.credit import evaluation
from cme.credit.models import CreditRecord, ReportingConsent
from cme.timeutil import now_utc

NOW = now_utc().replace(microsecond=0)


# ---------------------------------------------------------------- formats, one refusal at a time

@pytest.mark.parametrize("value, ok", [("123456", True), ("1234567", True), ("12345", False), ("12345678", False),
                                       ("12345a", False), ("", False), (" 123456", False)])
def test_nabp_eprofile_ids_are_six_or_seven_digits(value, ok):
    assert (nabp_id_problem(value) is None) is ok


@pytest.mark.parametrize("board, value, ok", [
    (Board.ABIM, "123456", True), (Board.ABIM, "12345", False), (Board.ABIM, "1234567", False),
    (Board.ABA, "12345678", True), (Board.ABA, "123", False), (Board.ABS, "12345678901", False),
    (Board.ABP, "12a456", False), (Board.ABTS, "1234", True), (Board.ABPATH, "", False)])
def test_board_ids_are_digits_of_each_boards_length(board, value, ok):
    problem = board_id_problem(board, value)
    assert (problem is None) is ok
    if not ok:
        assert board.acronym in problem and "digits" in problem  # the rule, said to the learner


@pytest.mark.parametrize("value, ok", [("A158392", True), ("MD.12-34", True), ("NP 12345", False),
                                       ("-123", False), ("x" * 40, True), ("x" * 41, False), ("12/34", False)])
def test_licence_numbers_are_letters_digits_dots_and_hyphens(value, ok):
    assert (licence_number_problem(value) is None) is ok


@pytest.mark.parametrize("month, day, ok", [(2, 29, True), (4, 31, False), (4, 30, True), (None, None, True),
                                            (3, None, False), (None, 3, False), (13, 1, False), (1, 0, False)])
def test_birthdays_are_a_month_and_a_day_that_exists_never_a_year(month, day, ok):
    assert (birthday_problem(month, day) is None) is ok


# ---------------------------------------------------------------- the profile

def test_the_profile_saves_birthday_nabp_and_board_ids_and_refuses_bad_ones_keeping_what_was_typed(
        client, db, make_user, auth):
    ada = make_user("ada@example.org", full_name="Ada Lovelace", degree="MD")
    auth.login("ada@example.org")
    form = {"full_name": "Ada Lovelace", "degree": "MD", "profession": "physician", "time_zone": "America/New_York",
            "birth_month": "2", "birth_day": "29", "nabp_eprofile_id": "", "board_aba": "12345678", "abim_id": "123456"}
    assert client.post("/account/profile", data=form).status_code == 302
    db.session.refresh(ada)
    assert (ada.birth_month, ada.birth_day, ada.abim_id) == (2, 29, "123456")
    assert db.session.scalar(select(BoardIdentifier.value).where(BoardIdentifier.user_id == ada.id)) == "12345678"

    for changes, field, message in [({"birth_month": "4", "birth_day": "31"}, "birth_day", "does not exist"),
                                    ({"birth_day": ""}, "birth_day", "both the month and the day"),
                                    ({"nabp_eprofile_id": "12345"}, "nabp_eprofile_id", "six or seven digits"),
                                    ({"board_abs": "12ab"}, "board_abs", "ABS ID is 4 to 10 digits")]:
        response = client.post("/account/profile", data={**form, **changes})
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and message in page and f'id="{field}-error"' in page
        if field.startswith(("board", "nabp")):
            assert f'value="{changes[field]}"' in page
    # Clearing a board's ID removes it.
    assert client.post("/account/profile", data={**form, "board_aba": ""}).status_code == 302
    assert db.session.scalar(select(BoardIdentifier).where(BoardIdentifier.user_id == ada.id)) is None


def test_licences_are_added_changed_and_removed_with_their_requirements_and_only_by_their_owner(
        client, db, make_user, auth):
    ada = make_user("ada@example.org", full_name="Ada Lovelace")
    make_user("bea@example.org")
    auth.login("ada@example.org")
    data = {"state": "CA", "number": "A158392", "profession": "physician", "expires_on": "2027-01-31",
            "cycle_months": "24", "required_hours": "50", "topic_pain_management": "12"}
    assert client.post("/account/licences/new", data=data).status_code == 302
    [licence] = licences_of(ada)
    assert (licence.state, licence.number, licence.required_hours) == ("CA", "A158392", Decimal("50"))
    assert [(r.topic, r.hours) for r in licence.requirements] == [("pain_management", Decimal("12"))]
    page = client.get("/account/profile").get_data(as_text=True)
    assert 'id="licences"' in page and "A158392" in page

    refused = client.post("/account/licences/new", data={**data, "number": "A 158"})
    assert refused.status_code == 422 and "letters, digits, dots and hyphens" in refused.get_data(as_text=True)
    duplicate = client.post("/account/licences/new", data=data)
    assert duplicate.status_code == 422 and "already have a CA license" in duplicate.get_data(as_text=True)
    no_cycle = client.post("/account/licences/new", data={**data, "state": "NY", "expires_on": ""})
    assert no_cycle.status_code == 422 and "renewal date and the cycle" in no_cycle.get_data(as_text=True)

    changed = client.post(f"/account/licences/{licence.id}", data={**data, "topic_pain_management": "",
                                                                   "topic_implicit_bias": "2"})
    assert changed.status_code == 302
    db.session.expire_all()
    assert [(r.topic, r.hours) for r in licences_of(ada)[0].requirements] == [("implicit_bias", Decimal("2"))]

    auth.logout()
    auth.login("bea@example.org")
    assert client.get(f"/account/licences/{licence.id}").status_code == 404
    assert client.post(f"/account/licences/{licence.id}/remove").status_code == 404
    auth.logout()
    auth.login("ada@example.org")
    assert client.post(f"/account/licences/{licence.id}/remove").status_code == 302
    assert db.session.scalar(select(StateLicence)) is None


def test_a_licence_state_and_profession_is_held_once(db, make_user):
    ada = make_user("ada@example.org")
    save_licence(ada, None, state="CA", number="A1", profession="physician")
    with pytest.raises(IdentityError) as refused:
        save_licence(ada, None, state="CA", number="A2", profession="physician")
    assert refused.value.code == "duplicate"
    save_licence(ada, None, state="CA", number="RN1", profession="nurse")  # another profession: another licence
    assert len(licences_of(ada)) == 2


def test_registration_adds_its_licence_to_the_learners_licences_once(db, make_user, make_activity, register):
    ada = make_user("ada@example.org")
    register(ada, make_activity(), licence_state="TX", licence_number="Q1234")
    register(ada, make_activity(title="Another"), licence_state="TX", licence_number="Q1234")
    assert [(lic.state, lic.number) for lic in licences_of(ada)] == [("TX", "Q1234")]


# ---------------------------------------------------------------- the one rule of what a body needs

def test_missing_for_names_the_profile_fields_each_body_needs(db, make_user):
    ada = make_user("ada@example.org", full_name="Ada")
    fields = lambda body: [m.field for m in missing_for(ada, body)]  # noqa: E731
    assert fields(ReportingBody.ACCME) == ["full_name", "birth_month", "licences"]
    assert fields(ReportingBody.NABP) == ["full_name", "birth_month", "nabp_eprofile_id"]
    assert fields(ReportingBody.ABIM) == ["full_name", "birth_month", "abim_id"]
    assert fields(ReportingBody.ABS) == ["full_name", "birth_month", "board_abs"]
    ada.full_name, ada.birth_month, ada.birth_day = "Ada Lovelace", 12, 10
    db.session.add(BoardIdentifier(user_id=ada.id, board="abs", value="1234"))
    db.session.flush()
    assert fields(ReportingBody.ACCME) == [] and fields(ReportingBody.ABS) == []
    assert fields(ReportingBody.CE_BROKER) == ["licences"]


# ---------------------------------------------------------------- the permission, at claim time

@pytest.fixture
def webcast(db, make_activity):
    return make_activity(format="on_demand_webcast", join_url="https://webcast.example.org/od",
                         start_dt=NOW - timedelta(days=1), end_dt=NOW + timedelta(days=90),
                         credits={"ama_pra_1": "1.5", "abim_moc": "1.5"})


def ready_to_claim(client, db, auth, register, user, activity):
    register(user, activity, by_organizer=True)
    db.session.add(Attendance(user_id=user.id, activity_id=activity.id, watched_seconds=90 * 60,
                              minutes_watched=90))
    db.session.commit()
    auth.login(user.email)
    questions = evaluation.evaluation_questions(activity)
    client.post(f"/activities/{activity.id}/evaluation",
                data={q.key: (q.choices[0] if q.choices else "Great") for q in questions})


def consents(db, user) -> dict[str, bool]:
    return {c.body: c.granted for c in db.session.scalars(
        select(ReportingConsent).where(ReportingConsent.user_id == user.id))}


def test_the_claim_asks_permission_per_body_and_the_missing_fields_and_stores_both_with_the_claim(
        client, db, make_user, auth, register, webcast):
    ada = make_user("ada@example.org", full_name="Ada Lovelace", degree="MD", abim_id="123456")
    ready_to_claim(client, db, auth, register, ada, webcast)
    page = client.get(f"/activities/{webcast.id}/claim").get_data(as_text=True)
    assert "Report this completion to ACCME&#39;s PARS (and your state medical board)?" in page
    assert "Report this completion to the American Board of Internal Medicine for MOC?" in page
    # Her ABIM ID serves PARS as her board ID: what it still needs, inline, is her birth month and day.
    assert 'id="birth_month"' in page and 'id="licence_number"' not in page

    # Allowing PARS without what it needs is refused, keeping what was typed; nothing is claimed.
    claim = {"ama_pra_1": "1.5", "abim_moc": "1.5", "attest": "y", "consent_accme": "yes", "consent_abim": "no",
             "birth_month": "", "birth_day": ""}
    refused = client.post(f"/activities/{webcast.id}/claim", data=claim)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Needed to report to ACCME" in text and 'id="birth_month-error"' in text
    assert db.session.scalar(select(CreditRecord)) is None and consents(db, ada) == {}
    refused = client.post(f"/activities/{webcast.id}/claim", data={**claim, "birth_month": "4", "birth_day": "31"})
    assert refused.status_code == 422 and "does not exist" in refused.get_data(as_text=True)

    done = client.post(f"/activities/{webcast.id}/claim", data={**claim, "birth_month": "2", "birth_day": "29"})
    assert done.status_code == 302
    db.session.refresh(ada)
    assert consents(db, ada) == {"accme": True, "abim": False}
    assert (ada.birth_month, ada.birth_day) == (2, 29)
    assert missing_for(ada, ReportingBody.ACCME) == []

    # Shown on My credit, and changed later with a new decision time.
    page = client.get("/my/credit").get_data(as_text=True)
    assert "ACCME (PARS) and state medical boards: yes" in page
    assert "American Board of Internal Medicine (MOC): no" in page
    before = db.session.scalar(select(ReportingConsent).where(ReportingConsent.body == "abim")).decided_dt
    assert client.get(f"/my/credit/{webcast.id}/reporting").status_code == 200
    assert client.post(f"/my/credit/{webcast.id}/reporting",
                       data={"consent_accme": "no", "consent_abim": "yes"}).status_code == 302
    db.session.expire_all()
    assert consents(db, ada) == {"accme": False, "abim": True}
    assert db.session.scalar(select(ReportingConsent).where(ReportingConsent.body == "abim")).decided_dt >= before


def test_withholding_permission_still_claims_and_asks_for_nothing(client, db, make_user, auth, register, webcast):
    bea = make_user("bea@example.org", full_name="Bea", degree="MD")
    ready_to_claim(client, db, auth, register, bea, webcast)
    done = client.post(f"/activities/{webcast.id}/claim", data={"ama_pra_1": "1", "attest": "y",
                                                                "consent_accme": "no"})
    assert done.status_code == 302
    assert db.session.scalar(select(CreditRecord.amount)) == Decimal("1")
    assert consents(db, bea) == {"accme": False}
    assert bea.birth_month is None


def test_the_reporting_page_asks_exactly_the_missing_fields_of_ones_own_claim(
        client, db, make_user, auth, register, webcast):
    ada = make_user("ada@example.org", full_name="Ada Lovelace", degree="MD")
    make_user("bea@example.org")
    ready_to_claim(client, db, auth, register, ada, webcast)
    assert client.post(f"/activities/{webcast.id}/claim", data={"ama_pra_1": "1", "attest": "y",
                                                                "consent_accme": "yes", "birth_month": "7",
                                                                "birth_day": "4", "licence_state": "MA",
                                                                "licence_number": "MA-1"}).status_code == 302
    db.session.execute(StateLicence.__table__.delete())  # the licence is gone again: PARS lacks it
    db.session.commit()
    page = client.get(f"/account/reporting/{webcast.id}").get_data(as_text=True)
    assert 'id="licence_state"' in page and 'id="birth_month"' not in page and 'id="full_name"' not in page
    refused = client.post(f"/account/reporting/{webcast.id}", data={"licence_state": "MA", "licence_number": ""})
    assert refused.status_code == 422
    saved = client.post(f"/account/reporting/{webcast.id}", data={"licence_state": "MA", "licence_number": "MA-9"})
    assert saved.status_code == 302 and saved.location == "/my/credit"
    assert "Nothing is missing" in client.get(f"/account/reporting/{webcast.id}").get_data(as_text=True)
    auth.logout()
    auth.login("bea@example.org")
    assert client.get(f"/account/reporting/{webcast.id}").status_code == 404  # not her claim
    assert client.get(f"/my/credit/{webcast.id}/reporting").status_code == 404


# ---------------------------------------------------------------- one home for licences

def test_the_migration_moves_each_users_licence_into_their_licences_and_back(scratch_database_url, tmp_path):
    """The licence users.licence_state/number held becomes a state_licences row (with the user's profession); going
    down puts the first licence back on the user row."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from cme import create_app
    from cme.extensions import db
    from tests.helpers import base_config

    app = create_app(base_config(scratch_database_url, tmp_path / "instance"))
    with app.app_context():
        upgrade(revision="b3e8d1f4a6c2")
        with db.engine.begin() as connection:
            for email, state, number in (("nurse@example.org", "CA", "RN-1"), ("none@example.org", None, None)):
                connection.execute(sa.text(
                    "INSERT INTO users (email, password_hash, full_name, degree, profession, specialty, time_zone, "
                    "role, is_active_account, created_dt, password_changed_dt, session_version, licence_state, "
                    "licence_number) VALUES (:email, 'x', 'N', 'RN', 'nurse', '', 'UTC', 'provider', true, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0, :state, :number)"),
                    {"email": email, "state": state, "number": number})
        upgrade()
        with db.engine.connect() as connection:
            assert connection.execute(sa.text(
                "SELECT u.email, s.state, s.number, s.profession FROM state_licences s JOIN users u "
                "ON u.id = s.user_id")).all() == [("nurse@example.org", "CA", "RN-1", "nurse")]
            assert "licence_state" not in {c["name"] for c in sa.inspect(connection).get_columns("users")}
        downgrade(revision="b3e8d1f4a6c2")
        with db.engine.connect() as connection:
            assert sorted(connection.execute(sa.text(
                "SELECT email, licence_state, licence_number FROM users")).all()) == [
                ("none@example.org", None, None), ("nurse@example.org", "CA", "RN-1")]
        db.engine.dispose()
