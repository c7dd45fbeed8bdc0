"""Who may claim what (DESIGN.md): the credit types each profession may claim, on the claim form and in the service;
ABIM MOC points need the ABIM ID and never exceed AMA credit (claimed or designated, and so never the scheduled
hours); the ACPE Universal Activity Number (format, required to publish with ACPE credit, printed on the
certificate); certificates of participation that state the AMA designation."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from cme.accounts.identity_forms import IDENTITY_FIELDS
from cme.activities import service as activities
from cme.activities.acpe import uan_problem
from cme.activities.service import ActivityError
from cme.attendance.models import Attendance
from cme.certificates import service as certificates
from cme.credit import service
from cme.credit.errors import CreditError
from cme.credit.evaluation import submit_evaluation
from cme.credit.models import CreditRecord
from cme.timeutil import now_utc

NOW = now_utc().replace(microsecond=0)
EVERY_TYPE = {"ama_pra_1": "2", "ancc": "2", "acpe": "2", "aapa_1": "2", "abim_moc": "2", "participation": "2"}
UAN = "0197-0000-26-001-H01-P"

# (profession, degree, ABIM ID) -> the credit types the claim form offers for an activity designating every type
# (hours of participation only for those who claim no credit: the same minutes never count twice)
OFFERED = [
    ("physician", "MD", None, ["ama_pra_1"]),
    ("physician", "DO", "123456", ["ama_pra_1", "abim_moc"]),
    ("other", "MBBS", None, ["ama_pra_1"]),  # the degree decides for "other"
    ("nurse", "RN", None, ["ancc"]),
    ("nurse_practitioner", "NP", None, ["ancc"]),
    ("pharmacist", "PharmD", None, ["acpe"]),
    ("pharmacy_technician", "CPhT", None, ["participation"]),  # the UAN ends in P: for pharmacists
    ("physician_assistant", "PA-C", None, ["aapa_1"]),
    ("other", "MPH", None, ["participation"]),
]


@pytest.fixture
def webcast(make_activity):
    """An on-demand webcast designating every credit type (its UAN is for pharmacists)."""
    return make_activity(format="on_demand_webcast", join_url="https://webcast.example.org/od", acpe_uan=UAN,
                         title="Simplified HCV Treatment", start_dt=NOW - timedelta(days=1),
                         end_dt=NOW + timedelta(days=90), credits=EVERY_TYPE)


def ready(db, user, activity, minutes=120):
    """The learner watched `minutes` and completed the evaluation: claims are open."""
    db.session.add(Attendance(user_id=user.id, activity_id=activity.id, watched_seconds=minutes * 60,
                              minutes_watched=minutes))
    db.session.flush()
    submit_evaluation(user, activity, {})
    db.session.commit()


def learner(make_user, profession, degree, abim_id=None, **profile):
    return make_user(profile.pop("email", None), profession=profession, degree=degree, abim_id=abim_id, **profile)


def field_names(page: str) -> set[str]:
    """The credit types the claim form offers (not the permission to report nor the identity reporting needs:
    issue 16, point 1)."""
    return {name for name in re.findall(r'<input[^>]*name="([a-z_0-9]+)"', page)
            if name not in ("csrf_token", "attest", *IDENTITY_FIELDS) and not name.startswith("consent_")}


@pytest.mark.parametrize("profession, degree, abim_id, offered", OFFERED)
def test_the_claim_form_offers_and_the_service_accepts_only_what_the_profession_may_claim(
        client, db, make_user, webcast, auth, profession, degree, abim_id, offered):
    user = learner(make_user, profession, degree, abim_id, email="learner@example.org")
    ready(db, user, webcast)
    auth.login("learner@example.org")
    page = client.get(f"/activities/{webcast.id}/claim").get_data(as_text=True)
    assert field_names(page) == set(offered)
    assert list(service.claim_status(user, webcast).limits) == offered
    for credit_type in EVERY_TYPE:
        if credit_type in offered:
            continue
        with pytest.raises(CreditError) as refused:
            service.claim_credit(user, webcast, {credit_type: Decimal("1")}, attested=True)
        assert refused.value.code == "not_eligible", credit_type
    claim = {credit_type: Decimal("1") for credit_type in offered}
    assert sorted(r.credit_type for r in service.claim_credit(user, webcast, claim, attested=True)) == sorted(offered)


def test_a_physician_cannot_claim_ancc_or_acpe_for_the_same_minutes(client, db, make_user, webcast, auth):
    physician = learner(make_user, "physician", "MD", email="ada@example.org")
    ready(db, physician, webcast)
    for credit_type in ("ancc", "acpe"):
        with pytest.raises(CreditError, match="You cannot claim this credit") as refused:
            service.claim_credit(physician, webcast, {"ama_pra_1": Decimal("2"), credit_type: Decimal("2")},
                                 attested=True)
        assert refused.value.code == "not_eligible" and refused.value.field == credit_type
    db.session.rollback()  # as unit_of_work does after a refusal (an open write would hold SQLite's lock)
    auth.login("ada@example.org")
    page = client.get(f"/activities/{webcast.id}/claim").get_data(as_text=True)
    assert "ANCC contact hours are for nurses and nurse practitioners." in page
    assert "ACPE contact hours are for pharmacists and pharmacy technicians." in page
    assert 'name="ancc"' not in page and 'name="acpe"' not in page
    # A forged POST of those types records nothing of them.
    client.post(f"/activities/{webcast.id}/claim", data={"ama_pra_1": "2", "ancc": "2", "acpe": "2", "attest": "y"})
    assert [r.credit_type for r in db.session.scalars(select(CreditRecord))] == ["ama_pra_1"]


def test_a_nurse_claims_contact_hours_not_contact_hours_plus_participation_for_the_same_minutes(db, make_user,
                                                                                                webcast):
    nurse = learner(make_user, "nurse", "RN")
    ready(db, nurse, webcast)
    with pytest.raises(CreditError) as refused:
        service.claim_credit(nurse, webcast, {"ancc": Decimal("2"), "participation": Decimal("2")}, attested=True)
    assert (refused.value.code, refused.value.field) == ("not_eligible", "participation")
    assert "you claim ANCC contact hours" in service.claim_status(nurse, webcast).missing["participation"]


def test_the_claim_page_says_why_a_type_is_missing(client, db, make_user, webcast, auth):
    physician = learner(make_user, "physician", "MD", email="ada@example.org")
    ready(db, physician, webcast)
    auth.login("ada@example.org")
    page = client.get(f"/activities/{webcast.id}/claim").get_data(as_text=True)
    assert "ABIM MOC points: add your ABIM ID to your profile." in page
    assert service.claim_status(physician, webcast).missing["abim_moc"] == "ABIM MOC points: add your ABIM ID to your profile."
    technician = learner(make_user, "pharmacy_technician", "CPhT")
    assert service.claim_status(technician, webcast).missing["acpe"] == (
        f"ACPE contact hours: this activity's UAN ({UAN}) is for pharmacists.")
    webcast.acpe_uan = UAN[:-1] + "T"
    assert "acpe" in service.claim_status(technician, webcast).limits


def test_moc_points_need_the_abim_id_and_never_exceed_the_ama_credit_claimed(db, make_user, webcast):
    physician = learner(make_user, "physician", "MD")
    ready(db, physician, webcast)
    with pytest.raises(CreditError) as refused:
        service.claim_credit(physician, webcast, {"ama_pra_1": Decimal("2"), "abim_moc": Decimal("2")}, attested=True)
    assert refused.value.code == "not_eligible"
    physician.abim_id = "123456"
    with pytest.raises(CreditError, match="claim at most 1.5 MOC points") as refused:
        service.claim_credit(physician, webcast, {"ama_pra_1": Decimal("1.5"), "abim_moc": Decimal("2")}, attested=True)
    assert refused.value.code == "moc_over_ama" and refused.value.field == "abim_moc"
    service.claim_credit(physician, webcast, {"ama_pra_1": Decimal("1.5")}, attested=True)
    # Against the AMA credit claimed earlier ...
    with pytest.raises(CreditError, match="moc|MOC"):
        service.claim_credit(physician, webcast, {"abim_moc": Decimal("1.75")}, attested=True)
    service.claim_credit(physician, webcast, {"abim_moc": Decimal("1.5")}, attested=True)
    # ... and a later claim cannot lower the AMA credit below the MOC points, nor an organizer's adjustment.
    with pytest.raises(CreditError) as refused:
        service.claim_credit(physician, webcast, {"ama_pra_1": Decimal("1")}, attested=True)
    assert refused.value.code == "moc_over_ama"
    organizer = make_user(role="organizer")
    records = {r.credit_type: r for r in db.session.scalars(select(CreditRecord))}
    with pytest.raises(CreditError) as refused:
        service.adjust_credit(records["ama_pra_1"], Decimal("1"), reason="Left early", by=organizer)
    assert refused.value.code == "moc_over_ama"
    with pytest.raises(CreditError):
        service.adjust_credit(records["abim_moc"], Decimal("2"), reason="Typo", by=organizer)
    assert {t: r.amount for t, r in records.items()} == {"ama_pra_1": Decimal("1.5"), "abim_moc": Decimal("1.5")}


def test_moc_designations_never_exceed_the_ama_designation_or_the_scheduled_hours(db, make_activity):
    meeting = make_activity(credits={})  # three scheduled hours
    with pytest.raises(ActivityError) as refused:
        activities.set_designation(meeting, "abim_moc", Decimal("2"))
    assert refused.value.code == "moc_without_ama"
    activities.set_designation(meeting, "ama_pra_1", Decimal("2"))
    with pytest.raises(ActivityError, match="cannot exceed the AMA designation") as refused:
        activities.set_designation(meeting, "abim_moc", Decimal("2.5"))
    assert refused.value.code == "moc_over_ama"
    with pytest.raises(ActivityError, match=r"scheduled hours of instruction \(3 h\)") as refused:
        activities.set_designation(meeting, "abim_moc", Decimal("3.5"))
    assert refused.value.code == "moc_over_hours"
    activities.set_designation(meeting, "abim_moc", Decimal("2"))
    # The AMA designation cannot drop below the MOC one, nor go while MOC stays.
    with pytest.raises(ActivityError) as refused:
        activities.set_designation(meeting, "ama_pra_1", Decimal("1.5"))
    assert refused.value.code == "ama_under_moc"
    ama = next(d for d in meeting.credit_designations if d.credit_type == "ama_pra_1")
    with pytest.raises(ActivityError, match="Remove the ABIM MOC designation first"):
        activities.delete_designation(ama)
    activities.set_designation(meeting, "abim_moc", Decimal("1.5"))
    activities.set_designation(meeting, "ama_pra_1", Decimal("1.5"))
    assert {d.credit_type: d.max_amount for d in meeting.credit_designations} == {
        "ama_pra_1": Decimal("1.5"), "abim_moc": Decimal("1.5")}


def test_an_activity_whose_moc_exceeds_its_ama_designation_cannot_be_published(db, make_activity, make_user):
    draft = make_activity(status="draft", credits={"ama_pra_1": "2", "abim_moc": "3"})
    problems = activities.publication_problems(draft)
    assert "ABIM MOC points cannot exceed the AMA designation (2)." in problems


GOOD_UANS = ["0197-0000-26-001-L01-P", "0290-0000-18-028-H05-T", "JA4008162-9999-25-076-L08-P",
             "0871-9999-26-999-B04-T", " 0197-0000-26-001-l01-p "]
BAD_UANS = {
    "0197-0000-26-001-L01": "looks like",  # no audience
    "197-0000-26-001-L01-P": "looks like",  # three-digit provider number
    "0197000026001L01P": "looks like",  # no hyphens
    "0197-1234-26-001-L01-P": "0000 (offered by the provider alone) or 9999",
    "0197-0000-26-000-L01-P": "starts at 001",
    "0197-0000-26-001-Q01-P": "L (live), H (home study) or B (blended)",
    "0197-0000-26-001-L09-P": "topic designator",
    "0197-0000-26-001-L00-P": "topic designator",
    "0197-0000-26-001-L01-X": "P (for pharmacists) or T (for pharmacy technicians)",
}


@pytest.mark.parametrize("uan", GOOD_UANS)
def test_valid_acpe_universal_activity_numbers_are_accepted(db, make_activity, uan):
    activity = make_activity(status="draft", credits={"acpe": "3"})
    activities.set_acpe_uan(activity, uan)
    assert activity.acpe_uan == uan.strip().upper() and uan_problem(activity.acpe_uan) is None


@pytest.mark.parametrize("uan, reason", BAD_UANS.items())
def test_invalid_acpe_universal_activity_numbers_are_refused_with_the_reason(db, make_activity, uan, reason):
    activity = make_activity(status="draft", credits={"acpe": "3"})
    with pytest.raises(ActivityError, match=re.escape(reason)) as refused:
        activities.set_acpe_uan(activity, uan)
    assert refused.value.code == "acpe_uan" and refused.value.field == "acpe_uan"
    assert activity.acpe_uan is None


def test_the_organizer_enters_the_uan_on_the_manage_page_with_a_clear_error(client, db, organizer, make_activity):
    activity = make_activity(status="draft", organizers=[organizer], credits={"ama_pra_1": "3", "acpe": "3"})
    page = client.get(f"/organize/activities/{activity.id}").get_data(as_text=True)
    assert "ACPE Universal Activity Number" in page and "Add the activity&#39;s ACPE Universal Activity Number" in page
    bad = client.post(f"/organize/activities/{activity.id}/acpe-uan", data={"acpe_uan": "0197-0000-26-001-L01-X"})
    assert bad.status_code == 422 and "The UAN ends in P (for pharmacists) or T (for pharmacy technicians)." in \
        bad.get_data(as_text=True)
    assert client.post(f"/organize/activities/{activity.id}/acpe-uan",
                       data={"acpe_uan": "0197-0000-26-001-l01-p"}).status_code == 302
    db.session.refresh(activity)
    assert activity.acpe_uan == "0197-0000-26-001-L01-P"


def test_publishing_with_acpe_credit_requires_the_uan_and_keeps_it(db, make_activity, make_user):
    draft = make_activity(status="draft", credits={"ama_pra_1": "3", "acpe": "3"}, accreditation_kind="joint_accreditation")
    activities.add_faculty(draft, full_name="Grace Liu", degree="MD", affiliation="", role="faculty",
                           disclosure_received=True)
    with pytest.raises(ActivityError) as refused:
        activities.publish(draft)
    assert "Add the activity's ACPE Universal Activity Number: ACPE credit needs it." in refused.value.problems
    activities.set_acpe_uan(draft, "0197-0000-26-001-L01-P")
    activities.publish(draft)
    with pytest.raises(ActivityError) as refused:
        activities.set_acpe_uan(draft, "")
    assert refused.value.code == "acpe_uan_required"
    published = make_activity(credits={"ama_pra_1": "3"})
    with pytest.raises(ActivityError, match="Universal Activity Number first") as refused:
        activities.set_designation(published, "acpe", Decimal("3"))
    assert refused.value.code == "acpe_uan_required"


def test_the_profile_shows_and_saves_the_abim_id(client, db, make_user, auth):
    user = make_user("ada@example.org", full_name="Ada Lovelace", profession="physician", degree="MD")
    auth.login("ada@example.org")
    assert "ABIM ID (optional)" in client.get("/account/profile").get_data(as_text=True)
    data = {"email": "ada@example.org", "full_name": "Ada Lovelace", "degree": "MD", "profession": "physician",
            "time_zone": "America/New_York"}
    bad = client.post("/account/profile", data={**data, "abim_id": "12345A"})
    assert bad.status_code == 422 and "An ABIM ID is six digits" in bad.get_data(as_text=True)
    assert client.post("/account/profile", data={**data, "abim_id": " 123456 "}).status_code == 302
    db.session.refresh(user)
    assert user.abim_id == "123456"
    page = client.get("/account/profile").get_data(as_text=True)
    assert 'value="123456"' in page
    client.post("/account/profile", data={**data, "abim_id": ""})
    db.session.refresh(user)
    assert user.abim_id is None


def test_pharmacy_technicians_can_sign_up(client, db):
    response = client.post("/account/signup", data={
        "email": "tech@example.org", "password": "correct horse battery", "confirm": "correct horse battery",
        "full_name": "Tia Tech", "degree": "CPhT", "profession": "pharmacy_technician", "time_zone": "America/Chicago"})
    assert response.status_code == 302


# ---------------------------------------------------------------- certificates

def pdf_text(pdf: bytes) -> str:
    return " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())


@pytest.fixture
def summit(make_activity):
    return make_activity(title="Hepatitis C Elimination Summit", acpe_uan="0197-0000-26-001-L01-P",
                         start_dt=datetime(2026, 10, 16, 13, tzinfo=timezone.utc),
                         end_dt=datetime(2026, 10, 16, 16, tzinfo=timezone.utc), venue_name="Javits Center",
                         city="New York", state="NY", credits={"ama_pra_1": "3", "ancc": "3", "acpe": "3"})


def record(db, user, activity, credit_type, amount):
    db.session.add(CreditRecord(user_id=user.id, activity_id=activity.id, credit_type=credit_type,
                                amount=Decimal(amount), attested=True))
    db.session.commit()


def test_a_nurse_claiming_ancc_gets_a_certificate_of_credit_for_ancc_contact_hours(client, db, make_user, summit, auth):
    nurse = make_user("nina@example.org", full_name="Nina Nurse", degree="RN", profession="nurse")
    record(db, nurse, summit, "ancc", "2.5")
    certificate, _ = certificates.issue_certificate(nurse, summit)
    db.session.commit()
    assert certificate.kind == "credit"
    assert [c["line"] for c in certificate.snapshot["credits"]] == ["2.5 ANCC contact hours claimed"]
    auth.login("nina@example.org")
    text = pdf_text(client.get(f"/my/certificates/{certificate.id}.pdf").data)
    for expected in ("Certificate of Credit", "Nina Nurse, RN", "2.5 ANCC contact hours claimed",
                     "The Liver Education Foundation designates this activity for a maximum of 3 ANCC contact hour(s)."):
        assert expected in text, expected
    assert "AMA PRA" not in text and "ACPE" not in text


def test_a_non_physician_claiming_against_an_ama_designation_gets_participation_naming_it(db, make_user, make_activity):
    meeting = make_activity(format="on_demand_webcast", join_url="https://x.example/od", start_dt=NOW - timedelta(days=1),
                            end_dt=NOW + timedelta(days=30), credits={"ama_pra_1": "2"})
    nurse = make_user(full_name="Nina Nurse", degree="RN", profession="nurse")
    ready(db, nurse, meeting)
    status = service.claim_status(nurse, meeting)
    assert status.limits == {"participation": Decimal("2")}
    assert status.missing["ama_pra_1"].startswith("AMA PRA Category 1 Credit™ is for physicians (MD, DO, MBBS or equivalent)")
    with pytest.raises(CreditError) as refused:
        service.claim_credit(nurse, meeting, {"ama_pra_1": Decimal("2")}, attested=True)
    assert refused.value.code == "not_eligible"
    service.claim_credit(nurse, meeting, {"participation": Decimal("1.75")}, attested=True)
    certificate, _ = certificates.issue_certificate(nurse, meeting)
    assert certificate.kind == "participation" and certificate.snapshot["heading"] == "Certificate of Participation"
    [line] = certificate.snapshot["credits"]
    assert line["line"] == "1.75 hour(s) of participation"
    assert line["statement"] == "This enduring material was designated for a maximum of 2 AMA PRA Category 1 Credit(s)™."


def test_a_pharmacists_acpe_certificate_prints_the_uan(db, make_user, summit):
    pharmacist = make_user(full_name="Hannah Cho", degree="PharmD", profession="pharmacist")
    record(db, pharmacist, summit, "acpe", "3")
    certificate, _ = certificates.issue_certificate(pharmacist, summit)
    [line] = certificate.snapshot["credits"]
    assert line["line"] == "3 ACPE contact hours claimed"
    assert line["statement"] == ("The Liver Education Foundation designates this activity for a maximum of 3 ACPE "
                                 "contact hour(s) for pharmacists (ACPE Universal Activity Number "
                                 "0197-0000-26-001-L01-P).")


def test_a_physicians_certificate_never_says_ancc_or_acpe(db, make_user, summit):
    """Claims recorded before the rule (a physician's ANCC and ACPE for the same minutes) stay off the certificate."""
    physician = make_user(full_name="Ada Lovelace", degree="MD", profession="physician")
    for credit_type in ("ama_pra_1", "ancc", "acpe"):
        record(db, physician, summit, credit_type, "3")
    certificate, _ = certificates.issue_certificate(physician, summit)
    assert [c["type"] for c in certificate.snapshot["credits"]] == ["ama_pra_1"]
    assert "pharmacists" not in str(certificate.snapshot)
