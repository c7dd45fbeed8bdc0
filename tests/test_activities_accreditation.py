"""Accreditation statements as providers need them (issue 12, point 9): the statement follows the activity's chosen
accreditation (ACCME, Joint Accreditation, joint providership naming the joint provider, or a custom statement),
commercial support is acknowledged only when there was some, both show on the activity page and the certificate,
publishing (and staying published) needs a complete statement, duplicating copies the choice and the supporters,
and the migration maps the free text of existing rows."""
from __future__ import annotations

import io
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from markupsafe import escape
from pypdf import PdfReader

from flask_migrate import downgrade, upgrade

from cme import create_app
from cme.activities import service
from cme.activities.models import Activity, CommercialSupport
from cme.activities.statements import (
    accreditation_statement, activity_statements, commercial_support_statements, designation_statement,
)
from cme.certificates.render import build_certificate_pdf
from cme.certificates.service import issue_certificate
from cme.credit.models import CreditRecord
from cme.extensions import db as _db
from tests.helpers import base_config

PROVIDER = "The Liver Education Foundation"  # CME_PROVIDER_NAME in the tests' configuration

ACCME_TEXT = ("The Liver Education Foundation is accredited by the Accreditation Council for Continuing Medical "
              "Education (ACCME) to provide continuing medical education for physicians.")
JOINT_ACCREDITATION_TEXT = (
    "In support of improving patient care, The Liver Education Foundation is jointly accredited by the Accreditation "
    "Council for Continuing Medical Education (ACCME), the Accreditation Council for Pharmacy Education (ACPE), and "
    "the American Nurses Credentialing Center (ANCC), to provide continuing education for the healthcare team.")
JOINT_PROVIDERSHIP_TEXT = (
    "This activity has been planned and implemented in accordance with the accreditation requirements and policies "
    "of the ACCME through the joint providership of The Liver Education Foundation and Pacific Hepatology Society. "
    "The Liver Education Foundation is accredited by the ACCME to provide continuing medical education for "
    "physicians.")
EXPECTED = {"accme": ACCME_TEXT, "joint_accreditation": JOINT_ACCREDITATION_TEXT,
            "joint_providership": JOINT_PROVIDERSHIP_TEXT}


def test_the_accme_statement_is_word_for_word():
    assert accreditation_statement("accme", provider=PROVIDER) == ACCME_TEXT


def test_the_joint_accreditation_statement_is_word_for_word():
    assert accreditation_statement("joint_accreditation", provider=PROVIDER) == JOINT_ACCREDITATION_TEXT


def test_joint_providership_names_both_organizations_and_is_blank_without_the_joint_provider():
    assert accreditation_statement("joint_providership", provider=PROVIDER,
                                   joint_provider="Pacific Hepatology Society") == JOINT_PROVIDERSHIP_TEXT
    assert accreditation_statement("joint_providership", provider=PROVIDER, joint_provider="") == ""


def test_a_custom_statement_is_the_organizers_text():
    text = "The Foundation is accredited by the California Medical Association (CMA) to provide CME for physicians."
    assert accreditation_statement("custom", provider=PROVIDER, custom=text) == text


@pytest.mark.parametrize("credit_type, amount, expected", [
    ("ancc", "1.5", "Nurses: The Liver Education Foundation designates this activity for a maximum of 1.5 ANCC "
                    "contact hour(s)."),
    ("acpe", "2", "Pharmacists: The Liver Education Foundation designates this activity for a maximum of 2 ACPE "
                  "contact hour(s)."),
    ("aapa_1", "1.25", "Physician assistants: The Liver Education Foundation has been authorized by the American "
                       "Academy of PAs (AAPA) to award AAPA Category 1 CME credit for activities planned in accordance "
                       "with AAPA CME Criteria. This activity is designated for 1.25 AAPA Category 1 CME credit(s). "
                       "PAs should only claim credit commensurate with the extent of their participation."),
])
def test_a_jointly_accredited_provider_designates_nursing_pharmacy_and_pa_credit_in_the_logo_free_text(
        credit_type, amount, expected):
    assert designation_statement(credit_type, Decimal(amount), provider=PROVIDER, activity_format="live_meeting",
                                 accreditation="joint_accreditation") == expected


def test_the_ama_statement_is_the_same_whatever_the_accreditation():
    statements = {designation_statement("ama_pra_1", Decimal("3"), provider=PROVIDER, activity_format="live_meeting",
                                        accreditation=kind) for kind in ("accme", "joint_accreditation",
                                                                         "joint_providership")}
    assert statements == {"The Liver Education Foundation designates this live activity for a maximum of 3 AMA PRA "
                          "Category 1 Credit(s)™. Physicians should claim only the credit commensurate with the extent "
                          "of their participation in the activity."}


@pytest.mark.parametrize("supports, expected", [
    ([], []),
    ([("Gilead Sciences", "monetary")], ["This activity is supported by an educational grant from Gilead Sciences."]),
    ([("Gilead Sciences", "monetary"), ("AbbVie", "monetary"), ("Merck", "monetary"), ("Cepheid", "in_kind")],
     ["This activity is supported by educational grants from Gilead Sciences, AbbVie and Merck.",
      "This activity is supported by in-kind support from Cepheid."]),
    ([("Cepheid", "in_kind"), ("Abbott", "in_kind")],
     ["This activity is supported by in-kind support from Cepheid and Abbott."]),
])
def test_commercial_support_is_acknowledged_for_each_supporter_and_only_when_there_was_support(supports, expected):
    assert commercial_support_statements(supports) == expected


# ---------------------------------------------------------------- the page and the certificate

def accredited(make_activity, kind: str, *, supports=(), **fields) -> Activity:
    activity = make_activity(accreditation_kind=kind,
                             joint_provider="Pacific Hepatology Society" if kind == "joint_providership" else "",
                             credits={"ama_pra_1": "3", "ancc": "3", "acpe": "3", "aapa_1": "3"}, **fields)
    activity.commercial_supports = [CommercialSupport(company=c, kind=k, amount=None) for c, k in supports]
    return activity


@pytest.mark.parametrize("kind", ["accme", "joint_accreditation", "joint_providership"])
def test_the_activity_page_shows_the_chosen_statement(client, db, make_activity, kind):
    activity = accredited(make_activity, kind)
    db.session.commit()
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert str(escape(EXPECTED[kind])) in page
    assert ("Nurses: The Liver Education Foundation designates" in page) == (kind == "joint_accreditation")
    assert "This activity is supported by" not in page  # no support, no acknowledgement


def test_the_activity_page_acknowledges_commercial_support(client, db, make_activity):
    activity = accredited(make_activity, "accme", supports=[("Gilead Sciences", "monetary"), ("Cepheid", "in_kind")])
    db.session.commit()
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "This activity is supported by an educational grant from Gilead Sciences." in page
    assert "This activity is supported by in-kind support from Cepheid." in page


def pdf_text(pdf: bytes) -> str:
    return " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())


@pytest.mark.parametrize("kind, supports", [
    ("accme", []),
    ("joint_accreditation", [("Gilead Sciences", "monetary")]),
    ("joint_providership", [("Gilead Sciences", "monetary"), ("Cepheid", "in_kind")]),
])
def test_the_certificate_prints_the_chosen_statement_and_the_support(db, make_user, make_activity, kind, supports):
    activity = accredited(make_activity, kind, supports=supports)
    nurse = make_user("nina@example.org", full_name="Nina Nurse", degree="RN", profession="nurse")
    db.session.add(CreditRecord(user_id=nurse.id, activity_id=activity.id, credit_type="ancc", amount=Decimal("2"),
                                attested=True))
    db.session.commit()
    certificate, _ = issue_certificate(nurse, activity)
    db.session.commit()
    assert certificate.snapshot["accreditation_statement"] == EXPECTED[kind]
    text = pdf_text(build_certificate_pdf(certificate.snapshot, "http://cme.test/verify/X"))
    assert EXPECTED[kind] in text
    nursing = "designates this activity for a maximum of 3 ANCC contact hour(s)."
    assert nursing in text and text.count("Nurses: ") == (kind == "joint_accreditation")
    for line in commercial_support_statements(supports):
        assert line in text
    assert ("This activity is supported by" in text) == bool(supports)


def test_a_certificate_issued_before_the_change_still_renders(db):
    """Certificates are snapshots: one stored before supporters existed has no `commercial_support` key."""
    snapshot = {"heading": "Certificate of Credit", "provider": PROVIDER, "learner": "Ada Lovelace, MD",
                "participation_line": "participated in the educational activity", "activity_title": "Old",
                "format": "Live meeting", "dates": "Oct 16, 2026", "location": "New York, NY", "credits": [],
                "accreditation_statement": "The Foundation is accredited by the ACCME.", "issued": "Oct 20, 2026",
                "code": "ABC"}
    assert "The Foundation is accredited by the ACCME." in pdf_text(build_certificate_pdf(snapshot, "http://x/v"))


# ---------------------------------------------------------------- publishing, editing, duplicating

def publishable(make_activity, **fields) -> Activity:
    activity = make_activity(status="draft", **fields)
    service.add_faculty(activity, full_name="Dr Faculty", degree="MD", affiliation="U", role="faculty",
                        disclosure_received=True)
    return activity


def test_publishing_joint_providership_needs_the_joint_provider(db, make_activity):
    activity = publishable(make_activity, accreditation_kind="joint_providership", joint_provider="")
    with pytest.raises(service.ActivityError) as refused:
        service.publish(activity)
    assert "Name the joint provider: joint providership names both organizations." in refused.value.problems
    service.set_accreditation(activity, accreditation_kind="joint_providership", joint_provider="Pacific Hepatology Society")
    service.publish(activity)
    assert activity.is_published


def test_publishing_a_custom_accreditation_needs_its_text(db, make_activity):
    activity = publishable(make_activity, accreditation_kind="custom", accreditation_statement="")
    assert "Write the accreditation statement, or choose one of the standard accreditations." in \
        service.publication_problems(activity)


def test_a_published_joint_providership_keeps_its_joint_provider(db, make_activity):
    activity = make_activity(accreditation_kind="joint_providership", joint_provider="Pacific Hepatology Society")
    with pytest.raises(service.ActivityError) as refused:
        service.set_accreditation(activity, accreditation_kind="joint_providership", joint_provider="")
    assert refused.value.field == "joint_provider" and "Name the joint provider" in str(refused.value)
    db.session.rollback()
    assert db.session.get(Activity, activity.id).joint_provider == "Pacific Hepatology Society"
    # Switching to a complete accreditation is fine (and forgets the joint provider).
    service.set_accreditation(activity, accreditation_kind="accme", joint_provider="Pacific Hepatology Society")
    assert activity.accreditation_kind == "accme" and activity.joint_provider == ""


EDIT_FORM = {
    "format": "live_meeting", "title": "Hepatitis C elimination update", "summary": "", "description": "",
    "learning_objectives": "", "target_audience": "", "specialty": "", "topics": "", "time_zone": "America/New_York",
    "start_local": "2030-06-10T08:00", "end_local": "2030-06-10T17:00", "fold": "", "venue_name": "Hilton Midtown",
    "street_address": "", "city": "New York", "state": "NY", "postal_code": "", "capacity": "",
}


def test_the_edit_form_refuses_to_drop_a_published_activitys_joint_provider(client, db, organizer, make_activity):
    activity = make_activity(organizers=[organizer], accreditation_kind="joint_providership",
                             joint_provider="Pacific Hepatology Society",
                             start_dt=datetime(2030, 6, 10, 12, tzinfo=timezone.utc))
    response = client.post(f"/organize/activities/{activity.id}/edit",
                           data={**EDIT_FORM, "accreditation_kind": "joint_providership", "joint_provider": ""})
    assert response.status_code == 422
    assert "Name the joint provider" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).joint_provider == "Pacific Hepatology Society"
    response = client.post(f"/organize/activities/{activity.id}/edit",
                           data={**EDIT_FORM, "accreditation_kind": "joint_accreditation", "joint_provider": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).accreditation_kind == "joint_accreditation"


def test_an_organizer_creates_a_jointly_provided_activity_and_records_support(client, db, organizer):
    response = client.post("/organize/activities/new", data={
        **EDIT_FORM, "accreditation_kind": "joint_providership", "joint_provider": "Pacific Hepatology Society"})
    assert response.status_code == 302
    activity = db.session.scalar(sa.select(Activity))
    assert (activity.accreditation_kind, activity.joint_provider) == ("joint_providership", "Pacific Hepatology Society")
    response = client.post(f"/organize/activities/{activity.id}/supports",
                           data={"company": "Gilead Sciences", "kind": "monetary", "amount": "25000"})
    assert response.status_code == 302
    page = client.get(f"/organize/activities/{activity.id}").get_data(as_text=True)
    assert "This activity is supported by an educational grant from Gilead Sciences." in page
    assert "$25,000.00" in page and JOINT_PROVIDERSHIP_TEXT in page
    support = activity.commercial_supports[0]
    assert support.amount == Decimal("25000.00")
    assert client.post(f"/organize/activities/{activity.id}/supports",
                       data={"company": "", "kind": "monetary"}).status_code == 422
    response = client.post(f"/organize/activities/{activity.id}/supports/{support.id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).commercial_supports == []


def test_duplicating_copies_the_accreditation_and_the_supporters(db, make_user, make_activity):
    organizer = make_user("org@example.org", role="organizer")
    activity = make_activity(accreditation_kind="joint_providership", joint_provider="Pacific Hepatology Society")
    activity.commercial_supports = [CommercialSupport(company="Gilead Sciences", kind="monetary",
                                                      amount=Decimal("5000")),
                                    CommercialSupport(company="Cepheid", kind="in_kind", amount=None)]
    db.session.commit()
    copy = service.duplicate(activity, organizer)
    db.session.commit()
    assert (copy.accreditation_kind, copy.joint_provider) == ("joint_providership", "Pacific Hepatology Society")
    assert [(s.company, s.kind, s.amount) for s in copy.commercial_supports] == [
        ("Gilead Sciences", "monetary", Decimal("5000.00")), ("Cepheid", "in_kind", None)]
    assert {s.id for s in copy.commercial_supports}.isdisjoint({s.id for s in activity.commercial_supports})
    assert activity_statements(copy, provider=PROVIDER) == activity_statements(activity, provider=PROVIDER)


# ---------------------------------------------------------------- the migration

def test_the_migration_maps_existing_free_text_to_the_choice(scratch_database_url, tmp_path):
    app = create_app(base_config(scratch_database_url, tmp_path / "instance"))
    with app.app_context():
        upgrade(revision="6c1d2e9f4b7a")
        now = datetime(2026, 1, 1, tzinfo=timezone.utc)
        texts = {"blank": "", "default": ACCME_TEXT, "own": "The Foundation is accredited by the ACCME."}
        with _db.engine.begin() as connection:
            for title, text in texts.items():
                connection.execute(sa.text(
                    "INSERT INTO activities (uuid, format, status, title, summary, description, learning_objectives, "
                    "target_audience, specialty, topics, time_zone, start_dt, end_dt, access_notes, "
                    "accreditation_statement, schedule_sequence, created_dt, updated_dt) VALUES (:uuid, "
                    "'live_meeting', 'draft', :title, '', '', '', '', '', '', 'UTC', :start, :end, '', :text, 0, "
                    ":start, :start)"), {"uuid": f"00000000-0000-0000-0000-00000000000{len(title)}", "title": title,
                                         "text": text, "start": now, "end": now.replace(hour=3)})
        upgrade()
        with _db.engine.connect() as connection:
            rows = {r.title: (r.accreditation_kind, r.accreditation_statement, r.joint_provider)
                    for r in connection.execute(sa.text("SELECT title, accreditation_kind, accreditation_statement, "
                                                        "joint_provider FROM activities"))}
        assert rows == {"blank": ("accme", "", ""), "default": ("accme", "", ""),
                        "own": ("custom", "The Foundation is accredited by the ACCME.", "")}
        downgrade(revision="6c1d2e9f4b7a")
        with _db.engine.connect() as connection:
            back = dict(connection.execute(sa.text("SELECT title, accreditation_statement FROM activities")).all())
        assert back == {"blank": ACCME_TEXT, "default": ACCME_TEXT, "own": "The Foundation is accredited by the ACCME."}
        _db.engine.dispose()


def test_nursing_pharmacy_and_pa_credit_need_an_accreditation_that_covers_them(db, make_activity):
    """An ACCME accreditation (direct or joint providership) covers physicians' credit: publishing ANCC, ACPE or
    AAPA credit under it is refused, and so is adding such credit to, or switching the accreditation of, a
    published activity."""
    from cme.activities import service as activities

    draft = make_activity(status="draft", credits={"ama_pra_1": "2", "ancc": "2"})
    problems = activities.publication_problems(draft)
    assert any("ANCC contact hours: an ACCME accreditation covers physicians' credit only" in p for p in problems)
    published = make_activity(credits={"ama_pra_1": "2"})
    with pytest.raises(activities.ActivityError) as added:
        activities.set_designation(published, "ancc", Decimal("1"))
    assert added.value.code == "would_break_publication"
    db.session.rollback()
    joint = make_activity(credits={"ama_pra_1": "2", "acpe": "2"}, acpe_uan="0197-0000-26-001-L01-P",
                          accreditation_kind="joint_accreditation")
    with pytest.raises(activities.ActivityError) as switched:
        activities.set_accreditation(joint, accreditation_kind="accme")
    assert (switched.value.code, switched.value.field) == ("accreditation_incomplete", "accreditation_kind")
