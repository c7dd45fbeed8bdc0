"""ACCME Standard 3 at every moment (issue 12, point 1): on a published activity, edits of the people in content
roles, their disclosures, mitigation and the agenda's speakers that would make `publication_problems` grow are
refused with the reason (the same edits are free on a draft); the learner disclosure text says only what the data
make true; agenda speakers are the activity's faculty records (form, publishing, the public agenda, ICS,
duplicate, and the migration that linked the old free text)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import icalendar
import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from cme import create_app
from cme.activities import service
from cme.activities.models import Activity, ActivitySession, Disclosure, Faculty
from cme.extensions import db as _db
from cme.timeutil import now_utc
from tests.helpers import base_config


def staffed(make_activity, *, status: str = "published", organizers=()) -> Activity:
    """A live meeting (3 h, 1 AMA credit) with a disclosed faculty member who has a mitigated relationship, a
    disclosed planner with none, and a one-hour session Dr Vasquez speaks in."""
    start = now_utc().replace(minute=0, second=0, microsecond=0) + timedelta(days=14)
    activity = make_activity(status=status, organizers=list(organizers), credits={"ama_pra_1": "1"}, start_dt=start)
    vasquez = Faculty(full_name="Elena Vasquez", degree="MD", role="faculty", position=0,
                      disclosure_received_dt=activity.start_dt - timedelta(days=30),
                      disclosures=[Disclosure(company="AbbVie", relationship_type="advisory_board", mitigated=True)])
    reed = Faculty(full_name="Marcus Reed", degree="MD, MPH", role="planner", position=1,
                   disclosure_received_dt=activity.start_dt - timedelta(days=30))
    activity.faculty.extend([vasquez, reed])
    activity.sessions.append(ActivitySession(title="HCV in 2027", start_dt=activity.start_dt,
                                             end_dt=activity.start_dt + timedelta(hours=1), speakers=[vasquez]))
    _db.session.commit()
    assert service.publication_problems(activity) == []
    return activity


def person(activity: Activity, name: str) -> Faculty:
    return next(p for p in activity.faculty if p.full_name == name)


def session_fields(activity: Activity, speakers: list[Faculty], **changes) -> dict:
    first = activity.sessions[0]
    return {"title": first.title, "start_dt": first.start_dt, "end_dt": first.end_dt, "room": "", "description": "",
            "speakers": speakers, **changes}


def undisclosed(activity: Activity) -> Faculty:
    """Someone without a disclosure on file, put there as data from before the rule (straight into the table)."""
    ghost = Faculty(full_name="Dr Ghost", role="faculty", position=2)
    activity.faculty.append(ghost)
    _db.session.commit()
    return ghost


# Each edit would open a Standard 3 gap: (what it does, the start of the reason, the field it belongs to).
BREAKING_EDITS = {
    "add a person without a disclosure": (
        lambda a: service.add_faculty(a, full_name="Dr New", degree="MD", affiliation="", role="faculty",
                                      disclosure_received=False),
        "Add Dr New's disclosure first", "disclosure_received"),
    "untick disclosure received": (
        lambda a: service.update_faculty(person(a, "Marcus Reed"), full_name="Marcus Reed", degree="MD, MPH",
                                         affiliation="", role="planner", disclosure_received=False),
        "Add Marcus Reed's disclosure first", "disclosure_received"),
    "add an unmitigated relationship": (
        lambda a: service.add_disclosure(person(a, "Marcus Reed"), company="Gilead Sciences",
                                         relationship_type="consultant", mitigated=False),
        "Mark the relationship of Marcus Reed with Gilead Sciences mitigated first", "mitigated"),
    "mark a relationship not mitigated": (
        lambda a: service.set_mitigated(person(a, "Elena Vasquez").disclosures[0], False),
        "Mark the relationship of Elena Vasquez with AbbVie mitigated first", None),
    "remove the last person": (
        lambda a: [service.delete_faculty(p) for p in list(a.faculty)],
        "A published activity keeps at least one person who controls its content", None),
    "add a session whose speaker has no disclosure": (
        lambda a: service.add_session(a, session_fields(a, [undisclosed(a)], title="Late addition")),
        "Add Dr Ghost's disclosure first", "speakers"),
    "name a speaker without a disclosure in a session": (
        lambda a: service.update_session(a.sessions[0], session_fields(a, [undisclosed(a)])),
        "Add Dr Ghost's disclosure first", "speakers"),
}


@pytest.mark.parametrize("edit", BREAKING_EDITS)
def test_an_edit_that_would_break_standard_3_is_refused_on_a_published_activity(db, make_activity, edit):
    operation, reason, field = BREAKING_EDITS[edit]
    activity = staffed(make_activity)
    snapshot = sorted((p.full_name, p.has_disclosure_on_file, tuple((d.company, d.mitigated) for d in p.disclosures))
                      for p in activity.faculty)
    with pytest.raises(service.ActivityError) as refused:
        operation(activity)
    db.session.rollback()
    assert refused.value.code == "would_break_publication"
    assert refused.value.message.startswith(reason) and refused.value.field == field
    assert refused.value.problems  # what would have been wrong, for the flash
    db.session.expire_all()
    assert [s.title for s in activity.sessions] == ["HCV in 2027"]
    assert [p.full_name for p in activity.sessions[0].speakers] == ["Elena Vasquez"]
    if edit not in ("add a session whose speaker has no disclosure", "name a speaker without a disclosure in a session"):
        assert sorted((p.full_name, p.has_disclosure_on_file, tuple((d.company, d.mitigated) for d in p.disclosures))
                      for p in activity.faculty) == snapshot


@pytest.mark.parametrize("edit", BREAKING_EDITS)
def test_the_same_edits_are_free_on_a_draft(db, make_activity, edit):
    operation, _reason, _field = BREAKING_EDITS[edit]
    activity = staffed(make_activity, status="draft")
    operation(activity)
    db.session.commit()
    assert service.publication_problems(activity)  # and publishing would say why


def test_removing_a_relationship_or_a_person_is_allowed_when_what_remains_still_passes(db, make_activity):
    activity = staffed(make_activity)
    vasquez = person(activity, "Elena Vasquez")
    service.delete_disclosure(vasquez.disclosures[0])
    service.add_disclosure(vasquez, company="Gilead Sciences", relationship_type="consultant", mitigated=True)
    service.add_faculty(activity, full_name="Aisha Bello", degree="PharmD", affiliation="", role="reviewer",
                        disclosure_received=True)
    service.delete_faculty(person(activity, "Marcus Reed"))
    service.delete_faculty(vasquez)  # a speaker: the session loses her, and the agenda names nobody unvetted
    db.session.commit()
    db.session.expire_all()
    assert [p.full_name for p in activity.faculty] == ["Aisha Bello"]
    assert activity.sessions[0].speakers == []
    assert service.publication_problems(activity) == []
    assert db.session.scalar(select(func.count()).select_from(Disclosure)) == 0


def test_a_gap_from_before_the_rule_does_not_block_unrelated_edits_but_a_new_one_is_refused(db, make_activity):
    activity = staffed(make_activity)
    undisclosed(activity)
    service.add_faculty(activity, full_name="Aisha Bello", degree="PharmD", affiliation="", role="reviewer",
                        disclosure_received=True)
    db.session.commit()
    with pytest.raises(service.ActivityError, match="Add Dr New's disclosure first"):
        service.add_faculty(activity, full_name="Dr New", degree="", affiliation="", role="faculty",
                            disclosure_received=False)
    db.session.rollback()


def test_reproduction_an_undisclosed_person_cannot_join_a_published_activity_and_the_form_keeps_what_was_typed(
        client, db, make_activity, organizer):
    """Issue 12: an organizer added a faculty member with no disclosure to a published activity, and the public
    page still said that all relevant relationships were mitigated."""
    activity = staffed(make_activity, organizers=[organizer])
    response = client.post(f"/organize/activities/{activity.id}/faculty",
                           data={"full_name": "Dr Newcomer", "degree": "DO", "affiliation": "Mercy Hospital",
                                 "role": "faculty"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = page[page.index('id="disclosure_received-error"'):]
    assert error.split("</p>")[0].endswith(
        "Add Dr Newcomer&#39;s disclosure first: on a published activity everyone who controls content has one on file.")
    assert 'value="Dr Newcomer"' in page and 'value="DO"' in page and 'value="Mercy Hospital"' in page
    assert "<details open>" in page  # the "Add a person" form stays open, with its error
    db.session.expire_all()
    assert sorted(p.full_name for p in activity.faculty) == ["Elena Vasquez", "Marcus Reed"]
    public = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "Dr Newcomer" not in public
    # With the disclosure ticked, the same person is welcome.
    ok = client.post(f"/organize/activities/{activity.id}/faculty",
                     data={"full_name": "Dr Newcomer", "role": "faculty", "disclosure_received": "y"})
    assert ok.status_code == 302
    assert "Dr Newcomer has no relevant financial relationships" in client.get(f"/activities/{activity.id}").get_data(
        as_text=True)


def test_marking_a_relationship_not_mitigated_on_a_published_activity_is_refused_with_a_flash(
        client, db, make_activity, organizer):
    activity = staffed(make_activity, organizers=[organizer])
    disclosure = person(activity, "Elena Vasquez").disclosures[0]
    page = client.post(f"/organize/activities/{activity.id}/disclosures/{disclosure.id}/mitigated",
                       data={"mitigated": "0"}, follow_redirects=True).get_data(as_text=True)
    assert "Mark the relationship of Elena Vasquez with AbbVie mitigated first" in page
    db.session.refresh(disclosure)
    assert disclosure.mitigated is True


# ---------------------------------------------------------------- the learner disclosure text

MITIGATED = "All of the relevant financial relationships listed above have been mitigated."
EVERYONE = "everyone in control of this activity's content has disclosed all financial relationships"


def disclosure_section(client, activity: Activity) -> str:
    """The page from the disclosures heading to the credit designation."""
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    return page[page.index('id="disclosures"'):page.index('id="credit"')]


def test_the_page_names_each_company_and_nature_and_says_mitigated_when_all_are(client, db, make_activity):
    activity = staffed(make_activity)
    text = disclosure_section(client, activity)
    assert EVERYONE in text
    assert "Elena Vasquez has the following relevant financial relationships with ineligible companies:" in text
    assert "<li>AbbVie: Advisory board</li>" in text
    assert "Marcus Reed has no relevant financial relationships with ineligible companies to disclose." in text
    assert MITIGATED in text


def test_with_no_relationships_at_all_the_page_says_so_per_person_and_claims_no_mitigation(client, db,
                                                                                         make_activity):
    activity = staffed(make_activity)
    service.delete_disclosure(person(activity, "Elena Vasquez").disclosures[0])
    db.session.commit()
    text = disclosure_section(client, activity)
    assert EVERYONE in text
    assert "Elena Vasquez has no relevant financial relationships with ineligible companies to disclose." in text
    assert "Marcus Reed has no relevant financial relationships with ineligible companies to disclose." in text
    assert "mitigated" not in text


def test_a_draft_preview_never_claims_what_is_not_true(client, db, make_activity, organizer):
    activity = staffed(make_activity, status="draft", organizers=[organizer])
    service.add_disclosure(person(activity, "Marcus Reed"), company="Gilead Sciences", relationship_type="consultant",
                           mitigated=False)
    service.add_faculty(activity, full_name="Dr Pending", degree="", affiliation="", role="reviewer",
                        disclosure_received=False)
    db.session.commit()
    assert not activity.all_relationships_mitigated and not activity.everyone_disclosed
    text = disclosure_section(client, activity)
    assert MITIGATED not in text and EVERYONE not in text
    assert "Not all of the relevant financial relationships listed above have been mitigated yet." in text
    assert "<li>Gilead Sciences: Consultant</li>" in text
    assert "Dr Pending's disclosure has not been received yet." in text


def test_the_mitigation_sentence_follows_the_data_not_a_template(db, make_activity):
    activity = staffed(make_activity, status="draft")
    assert activity.all_relationships_mitigated
    person(activity, "Elena Vasquez").disclosures[0].mitigated = False
    assert not activity.all_relationships_mitigated
    for p in activity.faculty:
        p.disclosures.clear()
    assert not activity.all_relationships_mitigated and activity.everyone_disclosed


# ---------------------------------------------------------------- speakers are faculty records

def test_the_session_form_offers_the_activitys_faculty_and_links_the_chosen_ones(client, db, make_activity, organizer,
                                                                                 make_user):
    activity = staffed(make_activity, status="draft", organizers=[organizer])
    other = staffed(make_activity, status="draft")
    vasquez, reed = person(activity, "Elena Vasquez"), person(activity, "Marcus Reed")
    page = client.get(f"/organize/activities/{activity.id}").get_data(as_text=True)
    for p in (vasquez, reed):
        assert f'name="speakers" type="checkbox" value="{p.id}"' in page
    for p in other.faculty:
        assert f'name="speakers" type="checkbox" value="{p.id}"' not in page
    local = service.shift_to_local(activity.start_dt + timedelta(hours=1), activity.time_zone)
    data = {"title": "Treating everyone", "start_local": local.strftime("%Y-%m-%dT%H:%M"),
            "end_local": (local + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"), "fold": "", "room": "",
            "description": "", "speakers": [str(vasquez.id), str(reed.id)]}
    assert client.post(f"/organize/activities/{activity.id}/sessions", data=data).status_code == 302
    added = db.session.scalar(select(ActivitySession).where(ActivitySession.title == "Treating everyone"))
    assert added.speakers == [vasquez, reed] and added.speaker_names == "Elena Vasquez, MD; Marcus Reed, MD, MPH"
    # Someone else's faculty is not a choice.
    stranger = client.post(f"/organize/activities/{activity.id}/sessions",
                           data={**data, "title": "Hijack", "speakers": [str(other.faculty[0].id)]})
    assert stranger.status_code == 422 and "is not a valid choice" in stranger.get_data(as_text=True)
    # The edit form shows who is chosen.
    edit = client.get(f"/organize/activities/{activity.id}/sessions/{added.id}/edit").get_data(as_text=True)
    assert f'checked id="speakers-0" name="speakers" type="checkbox" value="{vasquez.id}"' in edit
    # The public agenda names them by their faculty records, linked to their disclosures.
    service.publish(activity)
    db.session.commit()
    agenda = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert f'<a href="#person-{vasquez.id}">Elena Vasquez, MD</a>; <a href="#person-{reed.id}">Marcus Reed, MD, MPH</a>' \
        in agenda
    assert f'<li id="person-{vasquez.id}">' in agenda


def test_the_service_takes_only_this_activitys_faculty_as_speakers(db, make_activity):
    activity = staffed(make_activity, status="draft")
    other = staffed(make_activity, status="draft")
    with pytest.raises(service.ActivityError) as refused:
        service.add_session(activity, session_fields(activity, [other.faculty[0]]))
    assert (refused.value.code, refused.value.field) == ("speaker_not_faculty", "speakers")
    db.session.rollback()


def test_publishing_is_refused_while_a_speaker_has_no_disclosure(db, make_activity):
    activity = staffed(make_activity, status="draft")
    speaker = service.add_faculty(activity, full_name="Dr Late", degree="", affiliation="", role="faculty",
                                  disclosure_received=False)
    service.update_session(activity.sessions[0], session_fields(activity, [speaker]))
    db.session.commit()
    with pytest.raises(service.ActivityError) as refused:
        service.publish(activity)
    assert "“HCV in 2027” names Dr Late as a speaker, who has no disclosure on file." in refused.value.problems
    db.session.rollback()
    service.update_faculty(person(activity, "Dr Late"), full_name="Dr Late", degree="", affiliation="",
                           role="faculty", disclosure_received=True)
    service.publish(activity)
    assert activity.is_published


def test_a_session_edit_naming_an_undisclosed_speaker_is_refused_beside_the_field_keeping_what_was_typed(
        client, db, make_activity, organizer):
    activity = staffed(make_activity, organizers=[organizer])
    ghost = undisclosed(activity)
    session = activity.sessions[0]
    local = service.shift_to_local(session.start_dt, activity.time_zone)
    response = client.post(f"/organize/activities/{activity.id}/sessions/{session.id}/edit", data={
        "title": "HCV in 2027, revised", "start_local": local.strftime("%Y-%m-%dT%H:%M"),
        "end_local": (local + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"), "fold": "", "room": "Salon B",
        "description": "", "speakers": [str(ghost.id)]})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Add Dr Ghost&#39;s disclosure first: every speaker of a published agenda has one on file." in \
        page[page.index('id="speakers-error"'):]
    assert 'value="HCV in 2027, revised"' in page and 'value="Salon B"' in page
    assert f'checked id="speakers-2" name="speakers" type="checkbox" value="{ghost.id}"' in page
    db.session.expire_all()
    assert (session.title, session.speakers) == ("HCV in 2027", [person(activity, "Elena Vasquez")])


def test_the_ics_description_lists_the_linked_speakers(client, db, make_activity):
    activity = staffed(make_activity)
    service.update_session(activity.sessions[0], session_fields(activity, list(activity.faculty)))
    db.session.commit()
    for url in (f"/activities/{activity.id}.ics", "/calendar/activities.ics"):
        response = client.get(url)
        assert response.status_code == 200, url
        [event] = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
        assert str(event["DESCRIPTION"]).startswith("Speakers: Elena Vasquez, MD; Marcus Reed, MD, MPH\n\n"), url


def test_duplicating_links_the_copies_sessions_to_the_copies_of_the_faculty(db, make_activity, make_user):
    organizer = make_user(role="organizer")
    activity = staffed(make_activity)
    service.update_session(activity.sessions[0], session_fields(activity, list(activity.faculty)))
    copy = service.duplicate(activity, organizer)
    db.session.commit()
    db.session.expire_all()
    [session] = copy.sessions
    assert [p.full_name for p in session.speakers] == ["Elena Vasquez", "Marcus Reed"]
    assert all(p.activity_id == copy.id for p in session.speakers)
    assert {p.id for p in session.speakers} == {p.id for p in copy.faculty}
    assert [p.full_name for p in activity.sessions[0].speakers] == ["Elena Vasquez", "Marcus Reed"]


# ---------------------------------------------------------------- the migration's data step

def test_the_migration_links_free_text_speakers_by_exact_name_and_keeps_the_others_as_faculty(scratch_database_url,
                                                                                             tmp_path):
    """Upgrade from the free-text column: "name" or "name, degree" (any case and spacing) links the faculty
    record; any other name becomes a faculty record of that activity with no disclosure on file. Session choices
    of registrants survive (the column is dropped in place)."""
    from flask_migrate import downgrade, upgrade

    from cme.accounts.service import create_user
    from cme.registration.models import Registration

    app = create_app(base_config(scratch_database_url, tmp_path / "instance"))
    with app.app_context():
        upgrade()
        user = create_user("learner@example.org", "correct horse battery", full_name="Lea Learner", degree="MD")
        begin = datetime(2027, 5, 1, 13, tzinfo=timezone.utc)
        activity = Activity(title="Old agenda", format="live_meeting", status="published", time_zone="UTC",
                            start_dt=begin, end_dt=begin + timedelta(hours=4), venue_name="Hall", city="Boston",
                            state="MA")
        vasquez = Faculty(full_name="Elena Vasquez", degree="MD", role="faculty", position=0,
                          disclosure_received_dt=begin)
        reed = Faculty(full_name="Marcus Reed", degree="MD, MPH", role="faculty", position=1,
                       disclosure_received_dt=begin)
        activity.faculty.extend([vasquez, reed])
        sessions = [ActivitySession(title=f"S{n}", start_dt=begin + timedelta(hours=n),
                                    end_dt=begin + timedelta(hours=n + 1)) for n in range(4)]
        activity.sessions.extend(sessions)
        _db.session.add(activity)
        _db.session.flush()
        _db.session.add(Registration(user=user, activity=activity, status="confirmed", sessions=sessions[:2],
                                     full_name="Lea Learner"))
        _db.session.commit()
        ids = [s.id for s in sessions]
        _db.session.remove()

        downgrade(revision="6c1d2e9f4b7a")
        texts = ["Elena Vasquez, MD; Marcus Reed, MD, MPH", "elena   VASQUEZ\nDr. Ng", "Marcus Reed, MD; Dr. Ng", ""]
        with _db.engine.begin() as connection:
            for session_id, text in zip(ids, texts):
                connection.execute(sa.text("UPDATE activity_sessions SET speakers = :t WHERE id = :i"),
                                   {"t": text, "i": session_id})
        upgrade()

        activity = _db.session.scalar(select(Activity))
        by_title = {s.title: [p.full_name for p in s.speakers] for s in activity.sessions}
        assert by_title == {"S0": ["Elena Vasquez", "Marcus Reed"], "S1": ["Elena Vasquez", "Dr. Ng"],
                            "S2": ["Marcus Reed", "Dr. Ng"], "S3": []}
        ng = next(p for p in activity.faculty if p.full_name == "Dr. Ng")
        assert (ng.role, ng.degree, ng.has_disclosure_on_file, ng.position) == ("faculty", "", False, 2)
        assert [p.full_name for p in activity.faculty] == ["Elena Vasquez", "Marcus Reed", "Dr. Ng"]
        assert "“S1” names Dr. Ng as a speaker, who has no disclosure on file." in service.publication_problems(activity)
        [registration] = _db.session.scalars(select(Registration)).all()
        assert [s.title for s in registration.sessions] == ["S0", "S1"]
        assert activity.ics_fragment_version is None  # rebuilt with the linked names

        # Down again: the text comes back from the links.
        _db.session.remove()
        downgrade(revision="6c1d2e9f4b7a")
        with _db.engine.connect() as connection:
            back = dict(connection.execute(sa.text("SELECT title, speakers FROM activity_sessions")).all())
        assert back == {"S0": "Elena Vasquez, MD; Marcus Reed, MD, MPH", "S1": "Elena Vasquez, MD; Dr. Ng",
                        "S2": "Marcus Reed, MD, MPH; Dr. Ng", "S3": ""}
        upgrade()
        _db.session.remove()
        _db.engine.dispose()


def test_the_manage_page_of_a_published_activity_lists_gaps_recorded_before_the_rule(client, db, make_activity,
                                                                                     organizer):
    activity = staffed(make_activity, organizers=[organizer])
    page = client.get(f"/organize/activities/{activity.id}").get_data(as_text=True)
    assert "missing what publishing requires" not in page
    undisclosed(activity)
    page = client.get(f"/organize/activities/{activity.id}").get_data(as_text=True)
    assert "Published, but missing what publishing requires" in page
    assert "Dr Ghost (faculty) has no disclosure on file." in page
