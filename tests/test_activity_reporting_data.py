"""An activity's reporting data (issue 16, point 2): ACCME IDs, outcome measures, content tags and MOC registrations
per board on the organizer's Reporting data page; the rules that keep holding after later edits (the AMA
designation never below a board's MOC points, ABIM's points one with the ABIM MOC designation, points never below
what learners claimed); a duplicate keeps the reporting data but not the ACCME activity ID."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from cme.accounts.identity import BoardIdentifier
from cme.activities import reporting_data_service as reporting_data, service
from cme.activities.models import Activity, CreditDesignation
from cme.activities.reporting_data import (
    ActivityContentTag, ActivityOutcomeMeasure, MocRegistration, moc_credit_types,
)
from cme.activities.service import ActivityError
from cme.credit import service as credit
from cme.credit.errors import CreditError
from cme.credit.models import CreditRecord
from cme.timeutil import now_utc


def _abim(activity, **overrides):
    fields = {"board": "abim", "points": "2", "credit_types": ["Medical Knowledge"], "practice_areas": "Hepatology\nGastroenterology",
              "claim_deadline": "2031-03-31"}
    return {**fields, **overrides}


@pytest.fixture
def activity(make_activity, organizer):
    return make_activity(organizers=[organizer], credits={"ama_pra_1": "3.00"})


def _url(activity, tail=""):
    return f"/organize/activities/{activity.id}/reporting-data{tail}"


def _registration(db, activity, board="abim"):
    db.session.expire_all()
    return db.session.scalar(select(MocRegistration).where(MocRegistration.activity_id == activity.id,
                                                           MocRegistration.board == board))


def _designation(db, activity, credit_type):
    return db.session.scalar(select(CreditDesignation.max_amount).where(
        CreditDesignation.activity_id == activity.id, CreditDesignation.credit_type == credit_type))


# ---------------------------------------------------------------- the page and its main form

def test_the_manage_page_links_the_reporting_page_which_shows_what_is_edited_elsewhere(client, activity, db):
    activity.acpe_uan = "0197-0000-26-001-L08-P"
    activity.accreditation_kind, activity.joint_provider = "joint_providership", "Hepatology Society"
    db.session.commit()
    assert _url(activity) in client.get(f"/organize/activities/{activity.id}").get_data(as_text=True)
    page = client.get(_url(activity)).get_data(as_text=True)
    assert "topic designator 08 (Pain management/opioids)" in page
    assert "Joint: Joint providership" in page and "Hepatology Society" in page
    assert "Commercial support" in page and f"/organize/activities/{activity.id}#support" in page


def test_saving_the_ids_outcome_measures_and_content_tags(client, activity, db):
    response = client.post(_url(activity), data={
        "accme_activity_id": " 200123456 ", "accme_provider_id": "0001234",
        "outcome_measures": ["learner_competence", "patient_health"],
        "content_tags": ["opioid_prescribing", "implicit_bias"]})
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Activity, activity.id)
    assert (saved.accme_activity_id, saved.accme_provider_id) == ("200123456", "0001234")
    assert reporting_data.outcome_measures(saved) == ["learner_competence", "patient_health"]
    assert reporting_data.content_tags(saved) == ["opioid_prescribing", "implicit_bias"]
    # A second save replaces the sets; blank IDs clear them.
    client.post(_url(activity), data={"accme_activity_id": "", "accme_provider_id": "", "content_tags": ["law"]})
    db.session.expire_all()
    assert saved.accme_activity_id is None and reporting_data.outcome_measures(saved) == []
    assert reporting_data.content_tags(saved) == ["law"]


@pytest.mark.parametrize("data, field, message", [
    ({"accme_activity_id": "20-01"}, "accme_activity_id", "digits only"),
    ({"accme_provider_id": "123"}, "accme_provider_id", "4 to 10 digits"),
    ({"accme_provider_id": "12345678901"}, "accme_provider_id", "10"),
    ({"outcome_measures": ["happiness"]}, "outcome_measures", "not a valid choice"),
    ({"content_tags": ["astrology"]}, "content_tags", "not a valid choice"),
])
def test_bad_reporting_data_re_renders_with_the_field_error_and_what_was_typed(client, activity, db, data, field,
                                                                             message):
    typed = {"accme_activity_id": "777", "content_tags": ["ethics"], **data}
    response = client.post(_url(activity), data=typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in page and message in page
    assert 'value="ethics" checked' in page or 'checked value="ethics"' in page or "ethics" in page
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).accme_activity_id is None
    assert db.session.scalars(select(ActivityContentTag)).all() == []


def test_the_provider_id_defaults_from_the_configuration(client, activity, app):
    app.config["CME_ACCME_PROVIDER_ID"] = "0004321"
    assert 'value="0004321"' in client.get(_url(activity)).get_data(as_text=True)


# ---------------------------------------------------------------- MOC registrations

def test_the_credit_types_of_each_board_are_one_list():
    assert moc_credit_types("abim") == ("Medical Knowledge", "Practice Assessment", "Patient Safety")
    assert moc_credit_types("abp") == ("Lifelong Learning and Self-Assessment (Part 2)",
                                       "Improving Professional Practice (Part 4)")
    assert moc_credit_types("abs") == ("Lifelong Learning (Part 2)",)


def test_an_abim_registration_sets_the_abim_moc_designation_and_the_designation_moves_it(client, activity, db):
    response = client.post(_url(activity, "/moc"), data=_abim(activity, points="1.5"))
    assert response.status_code == 302
    registration = _registration(db, activity)
    assert registration.points == Decimal("1.5") and registration.practice_areas == ["Hepatology", "Gastroenterology"]
    assert registration.credit_types == ["Medical Knowledge"]
    assert _designation(db, activity, "abim_moc") == Decimal("1.5")
    # The claim deadline is the local date typed, in the activity's zone (New York).
    assert reporting_data.claim_deadline_date(registration, "America/New_York") == date(2031, 3, 31)
    # The credit panel's designation form edits the same points.
    assert client.post(f"/organize/activities/{activity.id}/designations",
                       data={"credit_type": "abim_moc", "max_amount": "2.25"}).status_code == 302
    assert _registration(db, activity).points == Decimal("2.25")
    # ... and its edit page edits the designation.
    client.post(_url(activity, f"/moc/{registration.id}/edit"), data=_abim(activity, points="0.75"))
    assert _registration(db, activity).points == Decimal("0.75")
    assert _designation(db, activity, "abim_moc") == Decimal("0.75")
    # The designation cannot go while the registration carries its points.
    designation = db.session.scalar(select(CreditDesignation).where(CreditDesignation.activity_id == activity.id,
                                                                    CreditDesignation.credit_type == "abim_moc"))
    with pytest.raises(ActivityError, match="Remove the ABIM MOC registration first"):
        service.delete_designation(designation)


def test_other_boards_registrations_with_their_own_credit_types(client, activity, db):
    response = client.post(_url(activity, "/moc"), data={
        "board": "abp", "points": "3", "credit_types": ["Improving Professional Practice (Part 4)"],
        "practice_areas": "General pediatrics; Adolescent medicine", "claim_deadline": ""})
    assert response.status_code == 302
    registration = _registration(db, activity, "abp")
    assert registration.practice_areas == ["General pediatrics", "Adolescent medicine"]
    assert registration.claim_deadline_dt is None
    assert _designation(db, activity, "abim_moc") is None  # only ABIM's points live in a designation
    page = client.get(_url(activity)).get_data(as_text=True)
    assert "American Board of Pediatrics (ABP)" in page and "Adolescent medicine" in page


@pytest.mark.parametrize("overrides, field, message", [
    ({"points": "1.1"}, "points", "steps of 0.25"),
    ({"points": "0"}, "points", "from 0.25"),
    ({"points": "abc"}, "points", ""),
    ({"points": "3.25"}, "points", "cannot exceed the AMA designation (3)"),
    ({"credit_types": []}, "credit_types", "Tick at least one"),
    ({"credit_types": ["Lifelong Learning (Part 2)"]}, "credit_types", "ABIM does not take"),
    ({"board": "abx"}, "board", "Not a valid choice"),
    ({"practice_areas": "x" * 101}, "practice_areas", "at most 100"),
    ({"claim_deadline": "2031-02-30"}, "claim_deadline", "Not a valid date"),
])
def test_a_bad_moc_registration_re_renders_the_page_with_the_field_error(client, activity, db, overrides, field,
                                                                        message):
    response = client.post(_url(activity, "/moc"), data=_abim(activity, **overrides))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in page and message in page
    assert field == "practice_areas" or "Hepatology\nGastroenterology" in page  # what was typed stays
    assert db.session.scalars(select(MocRegistration)).all() == []


def test_one_registration_per_board(client, activity, db):
    client.post(_url(activity, "/moc"), data=_abim(activity))
    response = client.post(_url(activity, "/moc"), data=_abim(activity, points="1"))
    assert response.status_code == 422 and "already registered with ABIM" in response.get_data(as_text=True)


def test_a_board_needs_an_ama_designation(client, make_activity, organizer, db):
    activity = make_activity(organizers=[organizer], credits={"participation": "3.00"})
    response = client.post(_url(activity, "/moc"), data={"board": "abs", "points": "1",
                                                         "credit_types": ["Lifelong Learning (Part 2)"]})
    assert response.status_code == 422 and "Designate AMA PRA Category 1 Credit™ first" in response.get_data(as_text=True)


def test_the_ama_designation_never_drops_below_a_boards_points(client, activity, db):
    client.post(_url(activity, "/moc"), data={"board": "abs", "points": "2.5",
                                              "credit_types": ["Lifelong Learning (Part 2)"]})
    response = client.post(f"/organize/activities/{activity.id}/designations",
                           data={"credit_type": "ama_pra_1", "max_amount": "2"})
    assert response.status_code == 422
    assert "cannot drop below the ABS MOC points (2.5" in response.get_data(as_text=True)
    assert _designation(db, activity, "ama_pra_1") == Decimal("3.00")
    assert client.post(f"/organize/activities/{activity.id}/designations",
                       data={"credit_type": "ama_pra_1", "max_amount": "2.5"}).status_code == 302
    ama = db.session.scalar(select(CreditDesignation).where(CreditDesignation.activity_id == activity.id,
                                                            CreditDesignation.credit_type == "ama_pra_1"))
    with pytest.raises(ActivityError, match="Remove the ABS MOC registration first"):
        service.delete_designation(ama)


def _claimed(db, make_user, activity, amounts: dict[str, str], **user_fields):
    learner = make_user(**user_fields)
    for credit_type, amount in amounts.items():
        db.session.add(CreditRecord(user_id=learner.id, activity_id=activity.id, credit_type=credit_type,
                                    amount=Decimal(amount), attested=True, claimed_dt=now_utc(),
                                    completed_dt=now_utc()))
    db.session.commit()
    return learner


def test_points_never_drop_below_what_learners_claimed_for_that_board(client, activity, db, make_user):
    client.post(_url(activity, "/moc"), data=_abim(activity, points="2"))
    client.post(_url(activity, "/moc"), data={"board": "abs", "points": "2",
                                              "credit_types": ["Lifelong Learning (Part 2)"]})
    _claimed(db, make_user, activity, {"ama_pra_1": "3", "abim_moc": "1.5"}, abim_id="123456")
    surgeon = _claimed(db, make_user, activity, {"ama_pra_1": "1.75"})
    db.session.add(BoardIdentifier(user_id=surgeon.id, board="abs", value="12345"))
    db.session.commit()
    abim, abs_ = _registration(db, activity), _registration(db, activity, "abs")
    response = client.post(_url(activity, f"/moc/{abim.id}/edit"), data=_abim(activity, points="1.25"))
    assert response.status_code == 422 and "claimed up to 1.5 ABIM MOC credit" in response.get_data(as_text=True)
    response = client.post(_url(activity, f"/moc/{abs_.id}/edit"), data={
        "points": "1.5", "credit_types": ["Lifelong Learning (Part 2)"]})
    assert response.status_code == 422 and "claimed up to 1.75 ABS MOC credit" in response.get_data(as_text=True)
    assert _registration(db, activity, "abs").points == Decimal(2)
    # Down to what was claimed is fine; the designation form holds the same floor for ABIM.
    assert client.post(_url(activity, f"/moc/{abs_.id}/edit"), data={
        "points": "1.75", "credit_types": ["Lifelong Learning (Part 2)"]}).status_code == 302
    with pytest.raises(CreditError, match="claimed more than 1"):
        credit.change_designation(db.session.get(Activity, activity.id), "abim_moc", Decimal(1))
    db.session.rollback()
    # A registration learners claimed under stays.
    response = client.post(_url(activity, f"/moc/{abim.id}/delete"), follow_redirects=True)
    assert "the registration stays" in response.get_data(as_text=True)
    assert _registration(db, activity) is not None


def test_removing_a_registration_keeps_abims_designation(client, activity, db):
    client.post(_url(activity, "/moc"), data=_abim(activity))
    registration = _registration(db, activity)
    assert client.post(_url(activity, f"/moc/{registration.id}/delete")).status_code == 302
    assert _registration(db, activity) is None
    assert _designation(db, activity, "abim_moc") == Decimal(2)


def test_the_edit_page_keeps_the_board_and_shows_the_local_deadline(client, activity, db):
    client.post(_url(activity, "/moc"), data=_abim(activity))
    registration = _registration(db, activity)
    page = client.get(_url(activity, f"/moc/{registration.id}/edit")).get_data(as_text=True)
    assert 'value="2031-03-31"' in page and "Hepatology\nGastroenterology" in page
    client.post(_url(activity, f"/moc/{registration.id}/edit"), data=_abim(activity, board="abp"))
    assert _registration(db, activity).board == "abim"
    response = client.post(_url(activity, f"/moc/{registration.id}/edit"),
                           data=_abim(activity, points="1.1", practice_areas="Typed area"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="points-error"' in page and "Typed area" in page
    assert _registration(db, activity).practice_areas == ["Hepatology", "Gastroenterology"]


# ---------------------------------------------------------------- ownership

def test_another_organizer_gets_nothing(client, activity, db, make_user, make_activity, auth):
    client.post(_url(activity, "/moc"), data=_abim(activity))
    registration = _registration(db, activity)
    other = make_user("other@example.org", role="organizer")
    theirs = make_activity(organizers=[other])
    auth.logout()
    auth.login("other@example.org")
    assert client.get(_url(activity)).status_code == 403
    assert client.post(_url(activity), data={"accme_activity_id": "1"}).status_code == 403
    assert client.post(_url(activity, f"/moc/{registration.id}/delete")).status_code == 403
    # Their own activity's URL with this registration's id: 404, and nothing changes.
    assert client.get(_url(theirs, f"/moc/{registration.id}/edit")).status_code == 404
    assert client.post(_url(theirs, f"/moc/{registration.id}/delete")).status_code == 404
    assert client.get(_url(theirs, "/moc/999999/edit")).status_code == 404
    assert _registration(db, activity) is not None
    assert db.session.get(Activity, activity.id).accme_activity_id is None


# ---------------------------------------------------------------- duplicating

def test_a_duplicate_keeps_the_reporting_data_but_not_the_accme_activity_id(client, activity, db, organizer):
    client.post(_url(activity), data={"accme_activity_id": "200123456", "accme_provider_id": "0001234",
                                      "outcome_measures": ["learner_performance"], "content_tags": ["pain_management"]})
    client.post(_url(activity, "/moc"), data=_abim(activity))
    client.post(_url(activity, "/moc"), data={"board": "abp", "points": "1",
                                              "credit_types": ["Lifelong Learning and Self-Assessment (Part 2)"]})
    db.session.expire_all()
    original = db.session.get(Activity, activity.id)
    first_day = service.shift_to_local(original.start_dt, original.time_zone).date() + timedelta(weeks=52)
    copy = service.duplicate(original, organizer, first_day=first_day)
    db.session.commit()
    assert copy.accme_activity_id is None and copy.accme_provider_id == "0001234"
    assert reporting_data.outcome_measures(copy) == ["learner_performance"]
    assert reporting_data.content_tags(copy) == ["pain_management"]
    copied = {r.board: r for r in service.moc_registrations(copy)}
    assert set(copied) == {"abim", "abp"} and copied["abim"].points == Decimal(2)
    assert copied["abim"].practice_areas == ["Hepatology", "Gastroenterology"]
    assert reporting_data.claim_deadline_date(copied["abim"], copy.time_zone) == date(2032, 3, 29)
    assert _designation(db, copy, "abim_moc") == Decimal(2)
    # The rules hold on the copy too.
    with pytest.raises(ActivityError, match="cannot drop below the ABIM MOC"):
        service.set_designation(copy, "ama_pra_1", Decimal("1.5"))
    assert len(db.session.scalars(select(ActivityOutcomeMeasure)).all()) == 2


# ---------------------------------------------------------------- the public page

def test_the_public_page_says_what_mandated_content_it_covers(client, activity, db):
    client.post(_url(activity), data={"content_tags": ["opioid_prescribing", "implicit_bias"]})
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "Covers: Opioid prescribing, Implicit bias" in page


def test_the_catalog_search_finds_activities_by_the_mandated_content_they_cover(client, activity, db, make_activity):
    make_activity(title="Unrelated meeting")
    client.post(_url(activity), data={"content_tags": ["human_trafficking"]})
    page = client.get("/activities/?q=trafficking").get_data(as_text=True)
    assert activity.title in page and "Unrelated meeting" not in page
    page = client.get("/activities/?q=hepatitis+trafficking").get_data(as_text=True)  # every word still counts
    assert activity.title in page
    assert activity.title not in client.get("/activities/?q=opioid").get_data(as_text=True)
