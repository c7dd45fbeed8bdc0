"""Organizer management: create/edit with local times and DST rules, agenda, faculty and disclosures,
credit, publish rules, lifecycle (publish, unpublish, duplicate, cancel), notices, permissions."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from cme.activities import service
from cme.activities.models import Activity, ActivitySession, Faculty
from cme.mail.models import OutboxMessage
from cme.registration.models import Registration
from cme.timeutil import now_utc
from tests.helpers import outbox

DENVER_MEETING = {
    "format": "live_meeting",
    "title": "Rocky Mountain Liver Symposium",
    "summary": "A day on MASLD, HCC and transplant.",
    "description": "Talks and cases.",
    "learning_objectives": "Stage fibrosis\nChoose therapy",
    "target_audience": "Hepatologists and primary care",
    "specialty": "Hepatology",
    "topics": "MASLD, HCC",
    "time_zone": "America/Denver",
    "start_local": "2027-06-10T08:00",
    "end_local": "2027-06-10T17:00",
    "fold": "",
    "venue_name": "Denver Convention Center",
    "street_address": "700 14th St",
    "city": "Denver",
    "state": "CO",
    "postal_code": "80202",
    "capacity": "120",
    "accreditation_statement": "Accredited by ACCME.",
}


def create(client, **changes):
    return client.post("/organize/activities/new", data={**DENVER_MEETING, **changes})


def activity_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Activity))


def publishable(make_activity, organizer, **fields) -> Activity:
    """A draft with everything publishing needs."""
    activity = make_activity(status="draft", organizers=[organizer], **fields)
    service.add_faculty(activity, full_name="Dr Faculty", degree="MD", affiliation="U", role="faculty",
                        disclosure_received=True)
    return activity


def test_organizer_creates_a_draft_with_local_times_stored_as_utc(client, db, organizer):
    response = create(client)
    assert response.status_code == 302
    activity = db.session.scalar(select(Activity))
    assert response.location == f"/organize/activities/{activity.id}"
    assert activity.status == "draft" and activity.organizers == [organizer]
    # 08:00 MDT (UTC-6) in June
    assert activity.start_dt == datetime(2027, 6, 10, 14, 0, tzinfo=timezone.utc)
    assert activity.end_dt == datetime(2027, 6, 10, 23, 0, tzinfo=timezone.utc)
    assert activity.capacity == 120 and activity.city == "Denver"


@pytest.mark.parametrize("changes, field, message", [
    ({"end_local": "2027-06-10T07:00"}, "end_local", "The end must be after the start."),
    ({"time_zone": "America/New_York", "start_local": "2027-03-14T02:30", "end_local": "2027-03-14T05:00"},
     "start_local", "does not exist in America/New_York"),
    ({"time_zone": "America/New_York", "start_local": "2026-11-01T01:30", "end_local": "2026-11-01T05:00"},
     "start_local", "happens twice in America/New_York"),
    ({"venue_name": "", "city": ""}, "venue_name", "Enter the venue."),
    ({"format": "live_webcast", "join_url": ""}, "join_url", "A live webcast needs its join link."),
    ({"capacity": "-5"}, "capacity", "Enter a capacity from 0 to 1,000,000 seats."),
    ({"time_zone": "Nowhere/Land"}, "time_zone", "Not a valid choice"),
    ({"registration_opens_local": "2027-06-01T09:00", "registration_closes_local": "2027-05-01T09:00"},
     "registration_closes_local", "Registration must close after it opens."),
    ({"start_local": "not a date"}, "start_local", "Not a valid datetime value"),
])
def test_create_form_rejections_keep_what_was_typed_and_save_nothing(client, db, organizer, changes, field, message):
    response = create(client, **changes)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and f'id="{field}-error"' in page
    assert 'value="Rocky Mountain Liver Symposium"' in page
    assert "A day on MASLD, HCC and transplant." in page
    assert activity_count(db) == 0


def test_an_ambiguous_time_is_accepted_once_the_organizer_says_which(client, db, organizer):
    first = create(client, time_zone="America/New_York", start_local="2026-11-01T01:30",
                   end_local="2026-11-01T05:00", fold="0")
    assert first.status_code == 302
    activity = db.session.scalar(select(Activity))
    assert activity.start_dt == datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc)  # 01:30 EDT
    second = create(client, time_zone="America/New_York", start_local="2026-11-01T01:30",
                    end_local="2026-11-01T05:00", fold="1", title="Second")
    assert second.status_code == 302
    other = db.session.scalar(select(Activity).where(Activity.title == "Second"))
    assert other.start_dt == datetime(2026, 11, 1, 6, 30, tzinfo=timezone.utc)  # 01:30 EST


def test_edit_form_shows_local_times_and_saves(client, db, organizer):
    create(client)
    activity = db.session.scalar(select(Activity))
    page = client.get(f"/organize/activities/{activity.id}/edit").get_data(as_text=True)
    assert 'value="2027-06-10T08:00"' in page and 'value="2027-06-10T17:00"' in page
    response = client.post(f"/organize/activities/{activity.id}/edit", data={**DENVER_MEETING, "title": "Renamed"})
    assert response.status_code == 302
    db.session.refresh(activity)
    assert activity.title == "Renamed" and activity.schedule_sequence == 0


def add_session(client, activity, **changes):
    data = {"title": "Opening", "start_local": "2027-06-10T08:00", "end_local": "2027-06-10T09:30", "fold": "",
            "room": "Hall A", "description": ""}
    return client.post(f"/organize/activities/{activity.id}/sessions", data={**data, **changes})


def test_agenda_sessions_are_added_in_local_time_and_must_fall_within_the_activity(client, db, organizer):
    create(client)
    activity = db.session.scalar(select(Activity))
    assert add_session(client, activity).status_code == 302
    assert add_session(client, activity, title="Keynote", start_local="2027-06-10T10:00",
                       end_local="2027-06-10T11:00").status_code == 302
    sessions = db.session.scalars(select(ActivitySession).order_by(ActivitySession.start_dt)).all()
    assert [s.title for s in sessions] == ["Opening", "Keynote"]
    assert sessions[0].start_dt == datetime(2027, 6, 10, 14, 0, tzinfo=timezone.utc)
    outside = add_session(client, activity, title="Dinner", start_local="2027-06-10T18:00", end_local="2027-06-10T20:00")
    assert outside.status_code == 422
    page = outside.get_data(as_text=True)
    assert "must fall within the activity" in page and 'value="Dinner"' in page
    assert 'id="start_local-error"' not in page and "it ends after the activity does" in page.split(
        'id="end_local-error"')[1].split("</p>")[0]  # beside the end, the time that is out
    early = add_session(client, activity, title="Breakfast", start_local="2027-06-10T07:00",
                        end_local="2027-06-10T08:30").get_data(as_text=True)
    assert 'id="end_local-error"' not in early and "it starts before the activity does" in early.split(
        'id="start_local-error"')[1].split("</p>")[0]
    backwards = add_session(client, activity, title="Backwards", start_local="2027-06-10T12:00",
                            end_local="2027-06-10T11:00")
    assert "The end must be after the start." in backwards.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ActivitySession)) == 2


def test_session_in_a_dst_gap_is_refused(client, db, organizer):
    create(client, time_zone="America/Chicago", start_local="2027-03-13T08:00", end_local="2027-03-14T17:00")
    activity = db.session.scalar(select(Activity))
    response = add_session(client, activity, start_local="2027-03-14T02:15", end_local="2027-03-14T04:00")
    assert response.status_code == 422 and "does not exist in America/Chicago" in response.get_data(as_text=True)


def test_editing_times_that_would_strand_sessions_is_refused(client, db, organizer):
    create(client)
    activity = db.session.scalar(select(Activity))
    add_session(client, activity, start_local="2027-06-10T15:00", end_local="2027-06-10T16:00")
    response = client.post(f"/organize/activities/{activity.id}/edit", data={**DENVER_MEETING, "end_local": "2027-06-10T12:00"})
    assert response.status_code == 422 and "would fall outside these times" in response.get_data(as_text=True)
    db.session.refresh(activity)
    assert activity.end_dt == datetime(2027, 6, 10, 23, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("amount, message", [("1.3", "steps of 0.25"), ("0", "more than zero"), ("abc", "Not a valid decimal")])
def test_credit_amounts_must_be_quarter_steps(client, db, organizer, amount, message):
    create(client)
    activity = db.session.scalar(select(Activity))
    response = client.post(f"/organize/activities/{activity.id}/designations",
                           data={"credit_type": "ancc", "max_amount": amount})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert activity.credit_designations == []


def test_ama_credit_cannot_exceed_scheduled_hours(client, db, organizer):
    create(client)  # 9 hours, no sessions
    activity = db.session.scalar(select(Activity))
    too_much = client.post(f"/organize/activities/{activity.id}/designations", data={"credit_type": "ama_pra_1", "max_amount": "9.25"})
    assert too_much.status_code == 422 and "cannot exceed the scheduled hours" in too_much.get_data(as_text=True)
    ok = client.post(f"/organize/activities/{activity.id}/designations", data={"credit_type": "ama_pra_1", "max_amount": "9"})
    assert ok.status_code == 302
    # With an agenda, the hours are the sessions' total: 1.5 h. A draft may be inconsistent while it is
    # being built, but it says so and cannot be published.
    assert add_session(client, activity).status_code == 302
    db.session.refresh(activity)
    assert service.scheduled_hours(activity) == Decimal("1.5")
    assert "AMA credit cannot exceed the scheduled hours of instruction (1.5 h)." in \
        client.get(f"/organize/activities/{activity.id}").get_data(as_text=True)
    client.post(f"/organize/activities/{activity.id}/designations", data={"credit_type": "ama_pra_1", "max_amount": "1.5"})
    db.session.refresh(activity)
    assert [d.max_amount for d in activity.credit_designations] == [Decimal("1.50")]
    assert not any("AMA" in p for p in service.publication_problems(activity))


def test_a_published_activity_cannot_lose_the_hours_its_ama_credit_needs(db, make_activity, organizer):
    activity = make_activity(organizers=[organizer], credits={"ama_pra_1": "3"})  # 3-hour span
    with pytest.raises(service.ActivityError, match="cannot exceed the scheduled hours"):
        service.add_session(activity, {"title": "Short", "start_dt": activity.start_dt,
                                       "end_dt": activity.start_dt + timedelta(hours=1), "room": "", "speakers": "",
                                       "description": ""})
    db.session.rollback()


def test_on_demand_webcasts_are_not_limited_by_scheduled_hours(db, make_activity, organizer):
    start = datetime(2027, 1, 1, tzinfo=timezone.utc)
    activity = make_activity(format="on_demand_webcast", start_dt=start, end_dt=start + timedelta(hours=1), credits={})
    assert service.set_designation(activity, "ama_pra_1", Decimal("2")).max_amount == Decimal("2")


def test_publishing_is_refused_with_the_list_of_what_is_missing(client, db, organizer):
    create(client)
    activity = db.session.scalar(select(Activity))
    client.post(f"/organize/activities/{activity.id}/faculty", data={"full_name": "Dr No Disclosure", "role": "planner"})
    response = client.post(f"/organize/activities/{activity.id}/publish", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "cannot be published yet" in page
    assert "Add at least one credit designation." in page
    assert "Dr No Disclosure (planner) has no disclosure on file." in page
    db.session.refresh(activity)
    assert activity.status == "draft"

    person = db.session.scalar(select(Faculty))
    client.post(f"/organize/activities/{activity.id}/faculty/{person.id}/disclosures",
                data={f"d{person.id}-company": "Gilead Sciences", f"d{person.id}-relationship_type": "consultant"})
    client.post(f"/organize/activities/{activity.id}/designations", data={"credit_type": "ama_pra_1", "max_amount": "6"})
    page = client.post(f"/organize/activities/{activity.id}/publish", follow_redirects=True).get_data(as_text=True)
    assert "relationship with Gilead Sciences (consultant) has not been mitigated" in page
    db.session.refresh(activity)
    assert activity.status == "draft"

    [disclosure] = person.disclosures
    client.post(f"/organize/activities/{activity.id}/disclosures/{disclosure.id}/mitigated", data={"mitigated": "1"})
    page = client.post(f"/organize/activities/{activity.id}/publish", follow_redirects=True).get_data(as_text=True)
    assert "Published" in page
    db.session.refresh(activity)
    assert activity.status == "published" and activity.published_dt is not None


def test_an_activity_without_anyone_in_a_content_role_cannot_be_published(db, make_activity, organizer):
    activity = make_activity(status="draft", organizers=[organizer])
    with pytest.raises(service.ActivityError) as caught:
        service.publish(activity)
    assert any("Add the people who control content" in p for p in caught.value.problems)


def test_organizers_see_and_change_only_their_own_activities(client, db, make_user, make_activity, organizer):
    other_org = make_user("other@example.org", role="organizer")
    mine = make_activity(title="Mine", organizers=[organizer])
    theirs = make_activity(title="Theirs", organizers=[other_org])
    dashboard = client.get("/organize/").get_data(as_text=True)
    assert "Mine" in dashboard and "Theirs" not in dashboard
    assert client.get(f"/organize/activities/{mine.id}").status_code == 200
    assert client.get(f"/organize/activities/{theirs.id}").status_code == 403
    assert client.post(f"/organize/activities/{theirs.id}/cancel").status_code == 403
    assert client.post(f"/organize/activities/{theirs.id}/edit", data={**DENVER_MEETING, "title": "Hijacked"}).status_code == 403
    db.session.refresh(theirs)
    assert theirs.title == "Theirs" and theirs.status == "published"


def test_admins_see_and_manage_every_activity(client, make_user, make_activity, auth):
    org = make_user("o@example.org", role="organizer")
    activity = make_activity(title="Someone else's", organizers=[org])
    make_user("admin@example.org", role="admin")
    auth.login("admin@example.org")
    assert "Someone else&#39;s" in client.get("/organize/").get_data(as_text=True)
    assert client.get(f"/organize/activities/{activity.id}").status_code == 200


def organize_urls(app, activity_id: int) -> list[tuple[str, str]]:
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/organize"):
            continue
        path = rule.rule.replace("<id:activity_id>", str(activity_id))
        path = re.sub(r"<(?:id:)?[a-z_]+>", "1", path)
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            urls.append((method, path))
    return urls


def test_providers_get_403_on_every_organizer_view(app, client, make_user, make_activity, auth):
    activity = make_activity()
    make_user("provider@example.org")
    auth.login("provider@example.org")
    urls = organize_urls(app, activity.id)
    assert len(urls) >= 40  # activities, roster, check-in, credit, certificates
    for method, path in urls:
        response = client.open(path, method=method)
        assert response.status_code == 403, (method, path)


def test_bad_ids_on_organizer_pages_are_404(client, db, make_activity, organizer):
    mine = make_activity(organizers=[organizer])
    other = make_activity(organizers=[organizer])
    session = ActivitySession(activity=other, title="S", start_dt=other.start_dt, end_dt=other.start_dt + timedelta(hours=1))
    db.session.add(session)
    db.session.commit()
    assert client.get("/organize/activities/999999").status_code == 404
    assert client.get(f"/organize/activities/{mine.id}/sessions/{session.id}/edit").status_code == 404
    assert client.post(f"/organize/activities/{mine.id}/sessions/{session.id}/delete").status_code == 404
    assert client.post(f"/organize/activities/{mine.id}/faculty/999999/delete").status_code == 404
    assert client.post(f"/organize/activities/{mine.id}/designations/999999/delete").status_code == 404


def register(db, activity, user, status="confirmed", position=None):
    registration = Registration(user=user, activity=activity, status=status, waitlist_position=position)
    db.session.add(registration)
    db.session.commit()
    return registration


def test_changing_the_schedule_of_a_published_activity_bumps_the_sequence_and_tells_registrants(
        client, db, make_user, make_activity, organizer):
    activity = make_activity(organizers=[organizer], time_zone="America/Denver", credits={"ama_pra_1": "1"}, capacity=120,
                             start_dt=datetime(2027, 6, 10, 14, tzinfo=timezone.utc),
                             end_dt=datetime(2027, 6, 10, 23, tzinfo=timezone.utc),
                             **{k: DENVER_MEETING[k] for k in ("venue_name", "street_address", "city", "state",
                                                               "postal_code")})
    register(db, activity, make_user("a@example.org"))
    register(db, activity, make_user("b@example.org"), "waitlisted", 1)
    register(db, activity, make_user("c@example.org"), "cancelled")
    # A change that is not about time: no notice, no sequence bump.
    client.post(f"/organize/activities/{activity.id}/edit", data={**DENVER_MEETING, "title": "New title"})
    db.session.refresh(activity)
    assert activity.schedule_sequence == 0 and [(m.kind, m.recipient, m.subject) for m in outbox(db)] == []
    # Moving it by an hour.
    response = client.post(f"/organize/activities/{activity.id}/edit",
                           data={**DENVER_MEETING, "title": "New title", "start_local": "2027-06-10T09:00"})
    assert response.status_code == 302
    db.session.refresh(activity)
    assert activity.schedule_sequence == 1 and activity.schedule_changed_dt is not None
    notices = outbox(db, "schedule_changed")
    assert sorted(n.recipient for n in notices) == ["a@example.org", "b@example.org"]
    # Agenda changes are schedule changes too; within minutes of the last, they join the notice still waiting.
    add_session(client, activity, start_local="2027-06-10T09:00", end_local="2027-06-10T10:00")
    db.session.refresh(activity)
    assert activity.schedule_sequence == 2 and len(outbox(db, "schedule_changed")) == 2
    text = _decoded(outbox(db, "schedule_changed")[0])
    assert "Starts: Thu Jun 10, 8:00 AM MDT → 9:00 AM MDT" in text and "New session" in text


def _decoded(row: OutboxMessage) -> str:
    from email import message_from_string, policy

    from cme.mail.service import message_text

    return message_from_string(message_text(row), policy=policy.default).get_body(("plain",)).get_content()


def test_draft_schedule_changes_send_nothing(client, db, organizer):
    create(client)
    activity = db.session.scalar(select(Activity))
    add_session(client, activity)
    db.session.refresh(activity)
    assert activity.schedule_sequence == 0 and [(m.kind, m.recipient, m.subject) for m in outbox(db)] == []


def test_cancelling_tells_every_registrant_and_bumps_the_sequence(client, db, make_user, make_activity, organizer):
    activity = make_activity(organizers=[organizer])
    register(db, activity, make_user("a@example.org"))
    register(db, activity, make_user("b@example.org"), "waitlisted", 1)
    page = client.post(f"/organize/activities/{activity.id}/cancel", follow_redirects=True).get_data(as_text=True)
    assert "2 registrant(s) are being told" in page
    db.session.refresh(activity)
    assert activity.status == "cancelled" and activity.cancelled_dt and activity.schedule_sequence == 1
    assert sorted(n.recipient for n in outbox(db, "activity_cancelled")) == ["a@example.org", "b@example.org"]
    assert "has been cancelled" in _decoded(outbox(db)[0])
    again = client.post(f"/organize/activities/{activity.id}/cancel", follow_redirects=True).get_data(as_text=True)
    assert "already cancelled" in again and len(outbox(db)) == 2


def test_unpublishing_is_refused_once_people_registered(client, db, make_user, make_activity, organizer):
    activity = make_activity(organizers=[organizer])
    register(db, activity, make_user("a@example.org"))
    page = client.post(f"/organize/activities/{activity.id}/unpublish", follow_redirects=True).get_data(as_text=True)
    assert "cancel it instead" in page
    empty = make_activity(organizers=[organizer])
    client.post(f"/organize/activities/{empty.id}/unpublish")
    db.session.refresh(empty)
    assert empty.status == "draft"


def test_duplicate_copies_content_agenda_faculty_and_credit_as_a_new_draft(client, db, make_activity, organizer):
    activity = publishable(make_activity, organizer, credits={"ama_pra_1": "2", "ancc": "2"})
    service.add_disclosure(activity.faculty[0], company="AbbVie", relationship_type="consultant", mitigated=True)
    service.add_session(activity, {"title": "One", "start_dt": activity.start_dt,
                                   "end_dt": activity.start_dt + timedelta(hours=2), "room": "", "speakers": "",
                                   "description": ""})
    db.session.commit()
    first_day = activity.start_dt.astimezone(ZoneInfo(activity.time_zone)).date() + timedelta(days=7)
    response = client.post(f"/organize/activities/{activity.id}/duplicate", data={"first_day": first_day.isoformat()})
    copy = db.session.scalar(select(Activity).where(Activity.id != activity.id))
    assert response.location == f"/organize/activities/{copy.id}"
    assert copy.start_dt.astimezone(ZoneInfo(copy.time_zone)).date() == first_day
    assert copy.status == "draft" and copy.title == f"Copy of {activity.title}" and copy.uuid != activity.uuid
    assert [s.title for s in copy.sessions] == ["One"] and copy.sessions[0].uuid != activity.sessions[0].uuid
    assert [d.company for d in copy.faculty[0].disclosures] == ["AbbVie"]
    assert sorted(d.credit_type for d in copy.credit_designations) == ["ama_pra_1", "ancc"]
    assert organizer in copy.organizers


def test_dashboard_lists_counts_and_next_dates(client, db, make_user, make_activity, organizer):
    activity = make_activity(title="Counted", organizers=[organizer], capacity=10,
                             start_dt=datetime(2030, 5, 1, 16, tzinfo=timezone.utc),
                             end_dt=datetime(2030, 5, 1, 20, tzinfo=timezone.utc))
    register(db, activity, make_user("a@example.org"))
    register(db, activity, make_user("b@example.org"))
    register(db, activity, make_user("c@example.org"), "waitlisted", 1)
    page = client.get("/organize/").get_data(as_text=True)
    row = page[page.index("Counted"):]
    assert "Wed May 1, 2030 12:00 PM EDT" in row
    assert re.search(r'<td class="num" data-label="Confirmed"><a href="/organize/activities/\d+/roster">2 / 10</a></td>'
                     r'\s*<td class="num" data-label="Waitlisted">1</td>', row)


def test_faculty_and_disclosures_are_managed_from_the_page(client, db, make_activity, organizer):
    activity = make_activity(status="draft", organizers=[organizer])
    client.post(f"/organize/activities/{activity.id}/faculty",
                data={"full_name": "Dr Jane Smith", "degree": "MD, PhD", "affiliation": "UCSF", "role": "faculty",
                      "disclosure_received": "y"})
    person = db.session.scalar(select(Faculty))
    assert person.has_no_relationships
    bad = client.post(f"/organize/activities/{activity.id}/faculty/{person.id}/disclosures",
                      data={f"d{person.id}-company": "", f"d{person.id}-relationship_type": "consultant"})
    assert bad.status_code == 422 and "This field is required." in bad.get_data(as_text=True)
    client.post(f"/organize/activities/{activity.id}/faculty/{person.id}/disclosures",
                data={f"d{person.id}-company": "Madrigal Pharmaceuticals", f"d{person.id}-relationship_type": "advisory_board",
                      f"d{person.id}-mitigated": "y"})
    db.session.refresh(person)
    assert [(d.company, d.relationship_type, d.mitigated) for d in person.disclosures] == [
        ("Madrigal Pharmaceuticals", "advisory_board", True)]
    edit = client.post(f"/organize/activities/{activity.id}/faculty/{person.id}/edit",
                       data={"full_name": "Dr Jane Smith-Jones", "degree": "MD", "affiliation": "UCSF", "role": "planner"})
    assert edit.status_code == 302
    db.session.refresh(person)
    assert person.full_name == "Dr Jane Smith-Jones" and person.role == "planner" and not person.has_disclosure_on_file


def test_organizers_preview_their_drafts_and_nobody_else_sees_them(client, make_user, make_activity, organizer, auth):
    draft = make_activity(status="draft", title="Secret draft", organizers=[organizer])
    page = client.get(f"/activities/{draft.id}").get_data(as_text=True)
    assert "Preview of a draft." in page and "Secret draft" in page
    auth.logout()
    make_user("other-org@example.org", role="organizer")
    auth.login("other-org@example.org")
    assert client.get(f"/activities/{draft.id}").status_code == 404
    auth.logout()
    assert client.get(f"/activities/{draft.id}").status_code == 404


def test_a_cancelled_activitys_agenda_is_frozen(client, db, make_activity, organizer):
    activity = make_activity(status="cancelled", organizers=[organizer])
    response = add_session(client, activity, start_local="2030-01-01T09:00", end_local="2030-01-01T10:00")
    assert response.status_code == 422 or "cannot change" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ActivitySession)) == 0


def test_get_on_an_add_endpoint_returns_to_the_manage_page(client, make_activity, organizer):
    activity = make_activity(organizers=[organizer])
    for endpoint, anchor in (("sessions", "agenda"), ("faculty", "faculty"), ("designations", "credit")):
        response = client.get(f"/organize/activities/{activity.id}/{endpoint}")
        assert response.status_code == 302 and response.location.endswith(f"/organize/activities/{activity.id}#{anchor}")


def test_dashboard_lists_current_and_upcoming_first_then_past(client, make_activity, organizer):
    from cme.timeutil import now_utc

    now = now_utc()
    make_activity(title="Past one", organizers=[organizer], start_dt=now - timedelta(days=30))
    make_activity(title="Far future", organizers=[organizer], start_dt=now + timedelta(days=90))
    make_activity(title="Soon", organizers=[organizer], start_dt=now + timedelta(days=2))
    make_activity(title="On demand now", format="on_demand_webcast", organizers=[organizer],
                  start_dt=now - timedelta(days=10), end_dt=now + timedelta(days=300))
    page = client.get("/organize/").get_data(as_text=True)
    order = [t for t in re.findall(r'activities/\d+">([^<]+)</a>', page)]
    assert order == ["On demand now", "Soon", "Far future", "Past one"]
    assert "Available until" in page and "Ended" in page


# ---------------------------------------------------------------- named operations and the one commit point

def test_capacity_never_drops_below_the_confirmed_count_even_from_unlimited(client, db, make_user, make_activity,
                                                                            organizer):
    activity = make_activity(organizers=[organizer], time_zone="America/Denver", capacity=None,
                             credits={"ama_pra_1": "1"}, start_dt=datetime(2027, 6, 10, 14, tzinfo=timezone.utc),
                             end_dt=datetime(2027, 6, 10, 23, tzinfo=timezone.utc))
    for name in "abc":
        register(db, activity, make_user(f"{name}@example.org"))
    response = client.post(f"/organize/activities/{activity.id}/edit", data={**DENVER_MEETING, "capacity": "1"})
    assert response.status_code == 422
    assert "3 registrants are already confirmed" in response.get_data(as_text=True)
    db.session.refresh(activity)
    assert activity.capacity is None


def test_a_refused_edit_saves_nothing_of_the_form(client, db, make_user, make_activity, organizer):
    """The edit runs several operations in one unit of work: when one refuses, the others are rolled back."""
    activity = make_activity(organizers=[organizer], time_zone="America/Denver", capacity=5, credits={"ama_pra_1": "1"},
                             start_dt=datetime(2027, 6, 10, 14, tzinfo=timezone.utc),
                             end_dt=datetime(2027, 6, 10, 23, tzinfo=timezone.utc))
    register(db, activity, make_user("a@example.org"))
    register(db, activity, make_user("b@example.org"))
    response = client.post(f"/organize/activities/{activity.id}/edit",
                           data={**DENVER_MEETING, "title": "Renamed", "start_local": "2027-06-10T09:00",
                                 "capacity": "1"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="Renamed"' in page  # what was typed stays in the form
    db.session.refresh(activity)
    assert (activity.title, activity.capacity, activity.schedule_sequence) == ("Hepatitis C elimination update", 5, 0)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_text_edits_tell_nobody_and_a_reschedule_says_it_changed(db, make_activity):
    activity = make_activity()
    service.update_details(activity, title="New", summary="", description="", learning_objectives="",
                           target_audience="", specialty="", topics="")
    assert activity.schedule_sequence == 0
    assert service.reschedule(activity, time_zone=activity.time_zone, start_dt=activity.start_dt,
                              end_dt=activity.end_dt) is False
    assert service.reschedule(activity, time_zone=activity.time_zone, start_dt=activity.start_dt - timedelta(hours=1),
                              end_dt=activity.end_dt) is True
    assert activity.schedule_sequence == 1


@pytest.mark.parametrize("operation", ["update_details", "change_place", "reschedule", "set_deadlines"])
def test_a_cancelled_activity_refuses_every_edit(db, make_activity, operation):
    activity = make_activity(status="cancelled")
    arguments = {
        "update_details": dict(title="x", summary="", description="", learning_objectives="", target_audience="",
                               specialty="", topics=""),
        "change_place": dict(venue_name="Elsewhere"),
        "reschedule": dict(time_zone="UTC", start_dt=activity.start_dt, end_dt=activity.end_dt),
        "set_deadlines": dict(registration_opens_dt=None, registration_closes_dt=None, claim_deadline_dt=None),
    }[operation]
    with pytest.raises(service.ActivityError) as refused:
        getattr(service, operation)(activity, **arguments)
    assert refused.value.code == "cancelled"


def test_every_refusal_is_a_domain_error_with_a_code():
    from cme.accounts.service import AccountError
    from cme.certificates.service import CertificateError
    from cme.credit.service import CreditError
    from cme.errors import DomainError
    from cme.registration.service import RegistrationError

    for error_class in (AccountError, service.ActivityError, CertificateError, CreditError, RegistrationError):
        error = error_class("Refused.", code="some_code", field="amount")
        assert isinstance(error, DomainError)
        assert (error.message, error.code, error.field, error.problems) == ("Refused.", "some_code", "amount", [])


def test_an_on_demand_webcast_becomes_a_longer_live_meeting_in_one_save(client, db, make_activity, organizer):
    """Format and times are checked together, once: the final state (9 hours, 3 AMA credits) is valid even though
    the old 2-hour window with the new format would not be."""
    start = datetime(2027, 6, 1, 14, tzinfo=timezone.utc)
    activity = make_activity(organizers=[organizer], format="on_demand_webcast", join_url="https://x.example/w",
                             start_dt=start, end_dt=start + timedelta(hours=2), credits={"ama_pra_1": "3"})
    response = client.post(f"/organize/activities/{activity.id}/edit", data=DENVER_MEETING)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(activity)
    assert activity.is_live_meeting and activity.venue_name == "Denver Convention Center"
    assert activity.available_from_dt is None


def test_saving_a_session_unchanged_is_no_change_of_its_activity(db, make_activity):
    activity = make_activity()
    session = ActivitySession(title="Talk", start_dt=activity.start_dt, end_dt=activity.end_dt)
    activity.sessions.append(session)
    db.session.commit()
    before = activity.updated_dt
    service.update_session(session, {"title": "Talk", "start_dt": session.start_dt, "end_dt": session.end_dt})
    db.session.commit()
    assert activity.updated_dt == before


# ---------------------------------------------------------------- issue 14, point 3: re-dating

CHICAGO = ZoneInfo("America/Chicago")


def chicago(*args) -> datetime:
    """A Chicago wall-clock time as aware UTC (the zone's offset at that moment: CST, or CDT from Mar 14, 2027)."""
    return datetime(*args, tzinfo=CHICAGO).astimezone(timezone.utc)


def local(instant: datetime) -> str:
    return f"{instant.astimezone(CHICAGO):%Y-%m-%d %H:%M %Z}"


@pytest.fixture
def chicago_meeting(db, make_activity, organizer):
    """Fri Mar 5, 2027 in Chicago (CST), 8 AM to 5 PM, with two sessions, registration and a claim deadline; the
    clocks spring forward on Sunday Mar 14."""
    activity = make_activity(organizers=[organizer], time_zone="America/Chicago", venue_name="Riverwalk Center",
                             city="Chicago", state="IL", start_dt=chicago(2027, 3, 5, 8), end_dt=chicago(2027, 3, 5, 17),
                             registration_opens_dt=chicago(2027, 2, 1, 9), registration_closes_dt=chicago(2027, 3, 3, 17),
                             claim_deadline_dt=chicago(2027, 6, 3, 23, 59), credits={"ama_pra_1": "2"})
    activity.sessions = [ActivitySession(title="Morning talk", start_dt=chicago(2027, 3, 5, 9), end_dt=chicago(2027, 3, 5, 10)),
                         ActivitySession(title="Afternoon panel", start_dt=chicago(2027, 3, 5, 13),
                                         end_dt=chicago(2027, 3, 5, 14, 30))]
    db.session.commit()
    return activity


def test_a_copy_moves_to_its_first_day_at_the_same_local_times_across_a_change_of_the_clocks(db, chicago_meeting,
                                                                                          organizer):
    copy = service.duplicate(chicago_meeting, organizer, first_day=date(2027, 3, 19))  # two weeks later, in CDT
    db.session.commit()
    assert (local(copy.start_dt), local(copy.end_dt)) == ("2027-03-19 08:00 CDT", "2027-03-19 17:00 CDT")
    assert [(s.title, local(s.start_dt), local(s.end_dt)) for s in copy.sessions] == [
        ("Morning talk", "2027-03-19 09:00 CDT", "2027-03-19 10:00 CDT"),
        ("Afternoon panel", "2027-03-19 13:00 CDT", "2027-03-19 14:30 CDT")]
    assert (local(copy.registration_opens_dt), local(copy.registration_closes_dt), local(copy.claim_deadline_dt)) == (
        "2027-02-15 09:00 CST", "2027-03-17 17:00 CDT", "2027-06-17 23:59 CDT")
    assert copy.status == "draft" and [local(s.start_dt) for s in chicago_meeting.sessions] == [
        "2027-03-05 09:00 CST", "2027-03-05 13:00 CST"]  # the original stays


def test_a_copy_landing_a_time_in_the_skipped_hour_is_refused_naming_it(db, chicago_meeting, organizer):
    chicago_meeting.sessions[0].start_dt = chicago(2027, 3, 5, 2, 30)  # an early session, moved to Mar 14 2:30 AM
    chicago_meeting.start_dt = chicago(2027, 3, 5, 1)
    db.session.commit()
    with pytest.raises(service.ActivityError, match="“Morning talk” would move to Sun Mar 14, 2027, 2:30 AM, a time "
                                                    "that does not exist in America/Chicago") as refused:
        service.duplicate(chicago_meeting, organizer, first_day=date(2027, 3, 14))
    assert refused.value.field == "first_day"


def test_duplicating_asks_for_the_first_day_and_lands_on_the_copy(client, db, chicago_meeting, organizer):
    page = client.get(f"/organize/activities/{chicago_meeting.id}/duplicate").get_data(as_text=True)
    suggested = service.suggested_first_day(chicago_meeting)
    assert suggested.weekday() == 4 and suggested > now_utc().date()  # a Friday, to come
    assert f'value="{suggested.isoformat()}"' in page and "First day of the copy" in page
    assert activity_count(db) == 1  # asking writes nothing
    missing = client.post(f"/organize/activities/{chicago_meeting.id}/duplicate", data={"first_day": ""})
    assert missing.status_code == 422 and "Enter the first day of the copy." in missing.get_data(as_text=True)
    response = client.post(f"/organize/activities/{chicago_meeting.id}/duplicate", data={"first_day": "2027-03-19"})
    copy = db.session.scalar(select(Activity).where(Activity.id != chicago_meeting.id))
    assert response.location == f"/organize/activities/{copy.id}" and local(copy.start_dt) == "2027-03-19 08:00 CDT"


def test_moving_a_meeting_moves_its_agenda_in_one_save_and_tells_registrants_once(db, make_user, chicago_meeting):
    from cme.registration import lifecycle

    chicago_meeting.registration_opens_dt = None
    chicago_meeting.registration_closes_dt = None
    db.session.commit()
    register(db, chicago_meeting, make_user("a@example.org"))
    told = lifecycle.reschedule(chicago_meeting, time_zone="America/Chicago", start_dt=chicago(2027, 3, 19, 8),
                                end_dt=chicago(2027, 3, 19, 17), move_sessions=True)
    db.session.commit()
    assert told == 1 and len(outbox(db, "schedule_changed")) == 1
    assert [local(s.start_dt) for s in chicago_meeting.sessions] == ["2027-03-19 09:00 CDT", "2027-03-19 13:00 CDT"]
    assert chicago_meeting.schedule_sequence == 1
    text = _decoded(outbox(db, "schedule_changed")[0])
    assert "Session “Morning talk”: Fri Mar 5, 9:00–10:00 AM CST → Fri Mar 19, 9:00–10:00 AM CDT" in text


def test_the_edit_form_offers_to_move_the_agenda_with_the_start(client, db, chicago_meeting):
    data = {**DENVER_MEETING, "time_zone": "America/Chicago", "city": "Chicago", "state": "IL",
            "start_local": "2027-03-19T08:00", "end_local": "2027-03-19T17:00", "registration_opens_local": "",
            "registration_closes_local": "", "claim_deadline_local": ""}
    page = client.get(f"/organize/activities/{chicago_meeting.id}/edit").get_data(as_text=True)
    assert "Move the agenda with the start" in page
    refused = client.post(f"/organize/activities/{chicago_meeting.id}/edit", data=data)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'id="move_sessions-error"' in text and "2 agenda session(s) would fall outside these times" in text
    assert "Tick “Move the agenda with the start”" in text
    moved = client.post(f"/organize/activities/{chicago_meeting.id}/edit", data={**data, "move_sessions": "y"},
                        follow_redirects=True)
    assert "The agenda moved with the start (2 sessions)." in moved.get_data(as_text=True)
    db.session.refresh(chicago_meeting)
    assert [local(s.start_dt) for s in chicago_meeting.sessions] == ["2027-03-19 09:00 CDT", "2027-03-19 13:00 CDT"]
    # Moving the start alone (the end unchanged, the box ticked) keeps every session inside.
    assert client.post(f"/organize/activities/{chicago_meeting.id}/edit",
                       data={**data, "start_local": "2027-03-19T07:30", "move_sessions": "y"}).status_code == 302
    db.session.refresh(chicago_meeting)
    assert [local(s.start_dt) for s in chicago_meeting.sessions] == ["2027-03-19 08:30 CDT", "2027-03-19 12:30 CDT"]


def test_a_meeting_moved_to_another_zone_keeps_its_agenda_at_the_same_local_times(db, chicago_meeting):
    denver = ZoneInfo("America/Denver")
    start = datetime(2027, 3, 5, 8, tzinfo=denver).astimezone(timezone.utc)
    service.reschedule(chicago_meeting, time_zone="America/Denver", start_dt=start, end_dt=start + timedelta(hours=9),
                       move_sessions=True)
    db.session.commit()
    assert [f"{s.start_dt.astimezone(denver):%H:%M %Z}" for s in chicago_meeting.sessions] == ["09:00 MST", "13:00 MST"]


def duplicate_ids(page: str) -> list[str]:
    ids = re.findall(r'\sid="([^"]+)"', page)
    return sorted({i for i in ids if ids.count(i) > 1})


def test_the_manage_page_of_a_draft_says_it_is_not_published_and_repeats_no_id(client, db, make_activity, organizer):
    """Issue 14, point 11: a draft had "Schedule changes: None since publishing"; every one of the page's forms
    (agenda, faculty, a disclosure per person, credit, UAN, support) renders its hidden CSRF field without an id."""
    activity = make_activity(status="draft", organizers=[organizer],
                             faculty=[Faculty(full_name="Pat One", role="faculty"), Faculty(full_name="Sam Two", role="planner")])
    page = client.get(f"/organize/activities/{activity.id}").get_data(as_text=True)
    changes = page.split("<dt>Schedule changes</dt>")[1].split("</dd>")[0]
    assert "None (not published yet)" in changes and "since publishing" not in changes
    assert page.count('name="csrf_token"') >= 6 and duplicate_ids(page) == []
    activity.status = "published"
    db.session.commit()
    assert "None since publishing" in client.get(f"/organize/activities/{activity.id}").get_data(as_text=True)
