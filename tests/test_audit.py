"""The audit log (issue 13, point 8): every watched change by an organizer, an admin or a command records who,
what, when, and the fields before and after, in the change's own transaction; learners' own actions are not
recorded; admins read everything, an activity's organizers its history, nobody else anything."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cme.activities import service as activities
from cme.activities.models import Activity, CreditDesignation, Faculty
from cme.audit.actor import acting_as
from cme.audit.models import AuditEntry
from cme.certificates import service as certificates
from cme.certificates.models import Certificate
from cme.credit.models import CreditRecord
from cme.timeutil import now_utc

MEETING_FORM = {
    "format": "live_meeting", "title": "Rocky Mountain Liver Symposium", "summary": "", "description": "",
    "learning_objectives": "", "target_audience": "", "specialty": "Hepatology", "topics": "",
    "time_zone": "America/Denver", "start_local": "2027-06-10T08:00", "end_local": "2027-06-10T17:00", "fold": "",
    "venue_name": "Denver Convention Center", "street_address": "700 14th St", "city": "Denver", "state": "CO",
    "postal_code": "80202", "capacity": "120", "accreditation_kind": "accme", "joint_provider": "",
    "accreditation_statement": "",
}


def entries(db, action: str | None = None) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return list(db.session.scalars(stmt))


def count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


@pytest.fixture
def denver(make_activity, organizer):
    """The logged-in organizer's published meeting in Denver (8:00 to 17:00 MDT), capacity 120."""
    return make_activity(organizers=[organizer], title="Rocky Mountain Liver Symposium", time_zone="America/Denver",
                         capacity=120, venue_name="Denver Convention Center", street_address="700 14th St",
                         city="Denver", state="CO", postal_code="80202", specialty="Hepatology",
                         credits={"ama_pra_1": "1"}, start_dt=datetime(2027, 6, 10, 14, tzinfo=timezone.utc),
                         end_dt=datetime(2027, 6, 10, 23, tzinfo=timezone.utc))


def test_a_reschedule_and_a_capacity_change_record_who_when_and_the_fields_before_and_after(client, db, organizer,
                                                                                           denver):
    started = now_utc()
    response = client.post(f"/organize/activities/{denver.id}/edit",
                           data={**MEETING_FORM, "start_local": "2027-06-10T09:00", "capacity": "80"})
    assert response.status_code == 302
    [entry] = entries(db, "activity.changed")
    assert (entry.actor_id, entry.actor_label, entry.activity_id) == (organizer.id, "Olga Organizer", denver.id)
    assert (entry.subject_table, entry.subject_id, entry.summary) == ("activities", denver.id, denver.title)
    assert started <= entry.created_dt <= now_utc()
    assert entry.before == {"start_dt": "2027-06-10T14:00:00+00:00", "capacity": 120}
    assert entry.after == {"start_dt": "2027-06-10T15:00:00+00:00", "capacity": 80}

    page = client.get(f"/organize/activities/{denver.id}/history").get_data(as_text=True)
    assert "Thu Jun 10, 2027 8:00 AM MDT" in page and "Thu Jun 10, 2027 9:00 AM MDT" in page  # the activity's zone
    assert "Olga Organizer" in page and "Capacity" in page and "120" in page and "80" in page


def test_a_save_that_changes_nothing_watched_records_nothing(client, db, organizer, denver):
    before = count(db)
    client.post(f"/organize/activities/{denver.id}/edit", data={**MEETING_FORM, "summary": "Now with a summary"})
    assert count(db) == before


def test_a_refused_edit_records_nothing(client, db, make_user, register, organizer, denver):
    for name in "ab":
        register(make_user(f"{name}@example.org"), denver)
    before = count(db)
    response = client.post(f"/organize/activities/{denver.id}/edit",
                           data={**MEETING_FORM, "start_local": "2027-06-10T09:00", "capacity": "1"})
    assert response.status_code == 422
    assert count(db) == before


def test_agenda_sessions_record_their_times(client, db, organizer, denver):
    client.post(f"/organize/activities/{denver.id}/sessions",
                data={"title": "Opening", "start_local": "2027-06-10T08:00", "end_local": "2027-06-10T09:30",
                      "fold": "", "room": "Hall A", "description": ""})
    session = denver.sessions[0]
    client.post(f"/organize/activities/{denver.id}/sessions/{session.id}/edit",
                data={"title": "Opening", "start_local": "2027-06-10T08:30", "end_local": "2027-06-10T09:30",
                      "fold": "", "room": "Hall A", "description": ""})
    client.post(f"/organize/activities/{denver.id}/sessions/{session.id}/delete")
    created, changed, removed = entries(db, "session.created") + entries(db, "session.changed") + entries(
        db, "session.removed")
    assert created.after == {"title": "Opening", "start_dt": "2027-06-10T14:00:00+00:00",
                             "end_dt": "2027-06-10T15:30:00+00:00", "room": "Hall A"}
    assert (changed.before, changed.after) == ({"start_dt": "2027-06-10T14:00:00+00:00"},
                                               {"start_dt": "2027-06-10T14:30:00+00:00"})
    assert removed.before["start_dt"] == "2027-06-10T14:30:00+00:00" and removed.after is None
    assert {e.activity_id for e in (created, changed, removed)} == {denver.id}
    assert {e.summary for e in (created, changed, removed)} == {"Session “Opening”"}


def test_designations_added_changed_and_removed_are_recorded(client, db, organizer, denver):
    client.post(f"/organize/activities/{denver.id}/designations", data={"credit_type": "abim_moc", "max_amount": "1"})
    client.post(f"/organize/activities/{denver.id}/designations", data={"credit_type": "ama_pra_1", "max_amount": "2.5"})
    moc = db.session.scalar(select(CreditDesignation).where(CreditDesignation.credit_type == "abim_moc"))
    client.post(f"/organize/activities/{denver.id}/designations/{moc.id}/delete")
    [added] = [e for e in entries(db, "designation.created") if e.actor_id == organizer.id]
    [changed] = entries(db, "designation.changed")
    [removed] = entries(db, "designation.removed")
    assert added.after == {"credit_type": "abim_moc", "max_amount": "1"} and added.before is None
    assert (changed.before, changed.after) == ({"max_amount": "1"}, {"max_amount": "2.5"})
    assert changed.summary == "AMA PRA Category 1 Credit™ designation"
    assert removed.before == {"credit_type": "abim_moc", "max_amount": "1"} and removed.after is None
    assert {e.actor_id for e in (added, changed, removed)} == {organizer.id}
    page = client.get(f"/organize/activities/{denver.id}/history").get_data(as_text=True)
    assert "ABIM MOC points" in page and "Credit designation: removed" in page


def test_disclosures_added_and_changed_are_recorded(client, db, organizer, make_activity):
    denver = make_activity(status="draft", organizers=[organizer], time_zone="America/Denver")
    with acting_as(organizer):
        person = activities.add_faculty(denver, full_name="Dr Jane Smith", degree="MD", affiliation="UCSF",
                                        role="faculty", disclosure_received=False)
        db.session.commit()
    client.post(f"/organize/activities/{denver.id}/faculty/{person.id}/disclosures",
                data={f"d{person.id}-company": "Madrigal Pharmaceuticals",
                      f"d{person.id}-relationship_type": "advisory_board"})
    disclosure = db.session.scalars(select(Faculty)).one().disclosures[0]
    client.post(f"/organize/activities/{denver.id}/disclosures/{disclosure.id}/mitigated", data={"mitigated": "1"})
    [received] = entries(db, "faculty.changed")
    assert received.before == {"disclosure_received_dt": None} and received.after["disclosure_received_dt"]
    [added] = entries(db, "disclosure.created")
    assert added.after == {"company": "Madrigal Pharmaceuticals", "relationship_type": "advisory_board",
                           "mitigated": False}
    assert added.summary == "Dr Jane Smith: Madrigal Pharmaceuticals (advisory board)"
    [mitigated] = entries(db, "disclosure.changed")
    assert (mitigated.before, mitigated.after) == ({"mitigated": False}, {"mitigated": True})
    assert {e.activity_id for e in (received, added, mitigated)} == {denver.id}
    page = client.get(f"/organize/activities/{denver.id}/history").get_data(as_text=True)
    assert "Madrigal Pharmaceuticals" in page and "Mitigated" in page


def test_a_claim_adjusted_by_an_organizer_and_the_certificates_that_follow_are_recorded(client, db, make_user,
                                                                                      make_activity, organizer):
    ended = make_activity(organizers=[organizer], format="on_demand_webcast", join_url="https://webcast.example.org",
                          start_dt=now_utc() - timedelta(days=2), end_dt=now_utc() + timedelta(days=30),
                          credits={"ama_pra_1": "1.5"})
    learner = make_user(full_name="Ada Lovelace", degree="MD")
    db.session.add(CreditRecord(user_id=learner.id, activity_id=ended.id, credit_type="ama_pra_1",
                                amount=Decimal("1"), attested=True))
    db.session.commit()
    first, _ = certificates.issue_certificate(learner, ended)
    db.session.commit()
    record = db.session.scalars(select(CreditRecord)).one()
    client.post(f"/organize/activities/{ended.id}/credit/adjust",
                data={"record_id": record.id, "amount": "1.5", "reason": "Late check-in confirmed"})
    [adjusted] = entries(db, "claim.adjusted")
    assert (adjusted.before, adjusted.after) == ({"amount": "1"}, {"amount": "1.5"})
    assert (adjusted.actor_id, adjusted.user_id, adjusted.activity_id) == (organizer.id, learner.id, ended.id)
    assert adjusted.summary == "Ada Lovelace: AMA PRA Category 1 Credit™"
    issued = entries(db, "certificate.issued")
    assert [(e.actor_label, e.user_id) for e in issued] == [("System", learner.id), ("Olga Organizer", learner.id)]
    new = certificates.current_certificate(learner, ended)
    assert issued[1].after == {"verification_code": new.verification_code, "kind": "credit"}
    [superseded] = entries(db, "certificate.superseded")
    assert superseded.subject_id == first.id and superseded.before == {"superseded_dt": None}


def test_certificates_the_organizer_issues_are_recorded(client, db, make_user, make_activity, organizer):
    past = make_activity(organizers=[organizer], start_dt=now_utc() - timedelta(days=3),
                         end_dt=now_utc() - timedelta(days=3) + timedelta(hours=3))
    learner = make_user(full_name="Grace Hopper", degree="MD")
    db.session.add(CreditRecord(user_id=learner.id, activity_id=past.id, credit_type="ama_pra_1",
                                amount=Decimal("2"), attested=True))
    db.session.commit()
    client.post(f"/organize/activities/{past.id}/certificates")
    [issued] = entries(db, "certificate.issued")
    certificate = db.session.scalars(select(Certificate)).one()
    assert (issued.actor_id, issued.user_id, issued.activity_id, issued.subject_id) == (
        organizer.id, learner.id, past.id, certificate.id)
    assert issued.summary == f"Certificate {certificate.verification_code} for Grace Hopper"


def test_a_learners_own_claims_and_certificates_are_not_recorded_but_others_changes_to_them_are(
        db, make_user, make_activity):
    webcast = make_activity(format="on_demand_webcast", join_url="https://webcast.example.org",
                            certificates_automatic=True, start_dt=now_utc() - timedelta(days=2),
                            end_dt=now_utc() + timedelta(days=30), credits={"ama_pra_1": "1.5"})
    learner, organizer = make_user(), make_user(role="organizer")
    before = count(db)
    with acting_as(learner):
        record = CreditRecord(user_id=learner.id, activity_id=webcast.id, credit_type="ama_pra_1",
                              amount=Decimal("1"), attested=True)
        db.session.add(record)
        certificates.issue_certificate(learner, webcast)
        db.session.commit()
        record.amount = Decimal("1.5")
        db.session.commit()
    assert count(db) == before
    with acting_as(organizer):
        record.amount = Decimal("1.25")
        db.session.commit()
    [adjusted] = entries(db, "claim.adjusted")
    assert (adjusted.actor_id, adjusted.before, adjusted.after) == (organizer.id, {"amount": "1.5"}, {"amount": "1.25"})


def test_the_old_value_is_recorded_even_when_it_was_not_loaded(db, make_activity):
    activity = make_activity(capacity=40)
    db.session.expire(activity)
    activity.capacity = 30  # nothing of the row is loaded: the listener loads the old value first
    db.session.commit()
    [entry] = entries(db, "activity.changed")
    assert (entry.before, entry.after) == ({"capacity": 40}, {"capacity": 30})


def test_role_changes_by_an_admin_are_recorded(client, db, make_user, auth):
    admin = make_user("root@example.org", role="admin", full_name="Ann Admin")
    someone = make_user("someone@example.org", full_name="Sam Someone")
    auth.login("root@example.org")
    client.post(f"/admin/users/{someone.id}/role", data={"role": "organizer"})
    [entry] = entries(db, "account.role_changed")
    assert (entry.actor_id, entry.user_id, entry.summary) == (admin.id, someone.id, "Sam Someone")
    assert (entry.before, entry.after) == ({"role": "provider"}, {"role": "organizer"})
    page = client.get("/admin/audit?action=account.role_changed").get_data(as_text=True)
    assert "Sam Someone" in page and "Provider" in page and "Organizer" in page


def test_commands_are_recorded_as_the_system(app, db, make_user, make_activity):
    past = make_activity(start_dt=now_utc() - timedelta(days=3), end_dt=now_utc() - timedelta(days=3, hours=-3))
    learner = make_user()
    db.session.add(CreditRecord(user_id=learner.id, activity_id=past.id, credit_type="ama_pra_1",
                                amount=Decimal("2"), attested=True))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["cme", "issue-certificates", str(past.id)])
    assert result.exit_code == 0, result.output
    [issued] = entries(db, "certificate.issued")
    assert (issued.actor_id, issued.actor_label) == (None, "System")


def test_admins_see_every_entry_and_filter_by_activity_actor_and_action(client, db, make_user, make_activity, auth):
    admin = make_user("root@example.org", role="admin", full_name="Ann Admin")
    olga = make_user("olga@example.org", role="organizer", full_name="Olga Organizer")
    first = make_activity(title="Hepatitis B update", organizers=[olga], capacity=10)
    second = make_activity(title="Transplant day", organizers=[olga], capacity=10)
    with acting_as(olga):
        first.capacity, second.capacity = 20, 30
        db.session.commit()
    with acting_as(admin):
        activities.set_designation(second, "ama_pra_1", Decimal("2"))
        db.session.commit()
    auth.login("root@example.org")

    def shown(query: str = "") -> list[str]:
        page = client.get(f"/admin/audit{query}")
        assert page.status_code == 200
        return [e.summary for e in entries(db) if f'data-entry="{e.id}"' in page.get_data(as_text=True)]

    assert len(shown()) == count(db) == 7  # two activities and their designations created by the system; 3 changes
    assert shown("?actor=olga") == ["Hepatitis B update", "Transplant day"]
    assert shown("?actor=system") == ["Hepatitis B update", "AMA PRA Category 1 Credit™ designation",
                                      "Transplant day", "AMA PRA Category 1 Credit™ designation"]
    assert shown(f"?activity={second.id}&action=designation.changed") == ["AMA PRA Category 1 Credit™ designation"]
    assert shown("?activity=hepatitis&action=activity.changed") == ["Hepatitis B update"]
    assert shown("?action=nonsense") == [e.summary for e in entries(db)]  # a bad value is ignored (and shown)


def test_the_log_is_paginated(client, db, make_user, make_activity, auth):
    make_user("root@example.org", role="admin")
    activity = make_activity(capacity=1)
    for capacity in range(2, 62):
        activity.capacity = capacity
        db.session.commit()
    auth.login("root@example.org")
    first = client.get("/admin/audit").get_data(as_text=True)
    second = client.get("/admin/audit?page=2").get_data(as_text=True)
    assert first.count("data-entry=") == 50 and second.count("data-entry=") == count(db) - 50
    assert "Page 1 of 2" in first and 'rel="next"' in first


def test_organizers_read_their_activitys_history_and_nobody_elses(client, db, make_user, make_activity, auth):
    mine_org = make_user("olga@example.org", role="organizer")
    other_org = make_user("otto@example.org", role="organizer")
    make_user("ada@example.org")
    mine = make_activity(title="Mine", organizers=[mine_org])
    theirs = make_activity(title="Theirs", organizers=[other_org])
    auth.login("olga@example.org")
    assert client.get(f"/organize/activities/{mine.id}/history").status_code == 200
    assert client.get(f"/organize/activities/{theirs.id}/history").status_code == 403
    assert client.get(f"/organize/activities/{theirs.id + 1000}/history").status_code == 404
    assert client.get("/admin/audit").status_code == 403
    manage = client.get(f"/organize/activities/{mine.id}").get_data(as_text=True)
    assert f"/organize/activities/{mine.id}/history" in manage
    auth.logout()
    auth.login("ada@example.org")
    assert client.get(f"/organize/activities/{mine.id}/history").status_code == 403
    assert client.get("/admin/audit").status_code == 403


def test_the_history_shows_only_its_activity(client, db, organizer, make_activity):
    mine = make_activity(title="Mine", organizers=[organizer])
    other = make_activity(title="Another")
    with acting_as(organizer):
        mine.capacity, other.capacity = 5, 6
        db.session.commit()
    page = client.get(f"/organize/activities/{mine.id}/history").get_data(as_text=True)
    shown = [e for e in entries(db) if f'data-entry="{e.id}"' in page]
    assert {e.activity_id for e in shown} == {mine.id} and len(shown) == 3  # created, designation created, changed


def test_names_and_titles_in_the_log_are_escaped(client, db, make_user, make_activity, auth):
    make_user("root@example.org", role="admin")
    activity = make_activity(title="<script>alert(1)</script>")
    activity.venue_name = "<b>Hall</b>"
    db.session.commit()
    auth.login("root@example.org")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>Hall</b>" not in page and "&lt;b&gt;Hall&lt;/b&gt;" in page


def test_an_activity_deleted_from_the_database_keeps_its_entries(db, make_activity):
    """The log outlives the rows it describes: removing an activity (and, with it, its children) is recorded."""
    activity = make_activity(title="Gone")
    activity_id = activity.id
    db.session.delete(activity)
    db.session.commit()
    removed = entries(db, "activity.removed") + entries(db, "designation.removed")
    assert {e.activity_id for e in removed} == {activity_id} and len(removed) == 2
    assert db.session.get(Activity, activity_id) is None
