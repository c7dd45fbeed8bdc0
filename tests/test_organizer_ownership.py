"""The ownership sweep: an organizer who does not organize an activity gets 403 or 404 on every organizer route of
it, whatever the method, and changes nothing. The routes come from the app's URL map, so a new /organize route is
swept the day it is added; one whose URL parameters the sweep cannot fill fails here until it is taught them."""
from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from werkzeug.routing import Map, Rule

from cme.activities.models import ActivitySession, CommercialSupport, Disclosure, Faculty
from cme.activities.reporting_data import MocRegistration
from cme.certificates.models import Certificate
from cme.credit.evaluation_models import EvaluationQuestion, PostTestQuestion
from cme.credit.models import CreditRecord
from cme.library.abstracts.models import Abstract, AbstractAuthor
from cme.library.highlights.models import Highlight
from cme.library.materials.service import Details, add_material
from cme.registration.models import Registration
from cme.timeutil import now_utc
from tests.helpers import make_pdf

# Organizer pages that belong to no activity: any organizer may open them.
NOT_PER_ACTIVITY = {"/organize/", "/organize/activities/new", "/organize/news", "/organize/news/new",
                    "/organize/news/<id:article_id>/edit", "/organize/news/<id:article_id>/delete",
                    "/organize/analytics",  # the year summary: each organizer sees only their own activities
                    # A year of the organizer's own activities (an admin's: all), never another's:
                    # tests/test_pars_activities.py.
                    "/organize/reports/pars-activities", "/organize/reports/pars-activities/download",
                    # Issue 16's exports by date cover only the organizer's own activities (tests/test_reporting_*):
                    "/organize/reporting", "/organize/reporting/<kind>/<fmt>", "/organize/reporting/mark",
                    "/organize/reporting/remind", "/organize/reporting/batches/<id:batch_id>/<fmt>"}

# What a person would type into the organizer forms (a union of their fields); an unchecked route would act on it.
FORM = {
    "format": "live_meeting", "title": "Hijacked", "summary": "Changed", "description": "Changed",
    "learning_objectives": "Changed", "target_audience": "Changed", "specialty": "Hepatology", "topics": "Changed",
    "time_zone": "America/New_York", "start_local": "2030-01-10T09:00", "end_local": "2030-01-10T10:00", "fold": "",
    "venue_name": "Elsewhere", "street_address": "1 Main St", "city": "Boston", "state": "MA", "postal_code": "02101",
    "capacity": "500", "accreditation_statement": "Changed", "accreditation_kind": "custom",
    "joint_provider": "Hijack Society", "room": "B", "speakers": "Dr Hijack",
    "full_name": "Dr Hijack", "degree": "MD", "affiliation": "Elsewhere", "role": "faculty", "disclosure_received": "y",
    "company": "Gilead Sciences", "relationship_type": "consultant", "mitigated": "y",
    "credit_type": "ama_pra_1", "max_amount": "1", "amount": "0.5", "reason": "Changed", "kind": "text",
    "prompt": "Hijacked?", "choices": "Yes\nNo", "required": "y", "correct": "0", "passing_score": "10",
    "email": "walk.in@example.org", "q": "", "issue": "automatic",
    "question-kind": "text", "question-prompt": "Hijacked?", "question-required": "y",  # the credit page's two
    "post_test-prompt": "Hijacked?", "post_test-choices": "Yes\nNo", "post_test-correct": "1",  # question forms
    "authors": "Dr Hijack (Elsewhere)", "background": "Changed", "methods": "Changed", "results": "Changed",
    "conclusions": "Changed", "presentation_type": "oral", "published": "0", "is_published": "y",
    "accme_activity_id": "666", "accme_provider_id": "6666", "outcome_measures": "patient_health",  # reporting data
    "content_tags": "ethics", "board": "abim", "points": "0.5", "credit_types": "Medical Knowledge",
}


@pytest.fixture
def their_activity(db, make_user, make_activity):
    """An activity organizer A runs, with one of everything an organizer route can name, happening now."""
    owner = make_user("owner@example.org", role="organizer")
    seated_user, waiting_user = make_user("seated@example.org"), make_user("waiting@example.org")
    make_user("walk.in@example.org")
    start = now_utc().replace(microsecond=0) - timedelta(minutes=10)
    activity = make_activity(organizers=[owner], start_dt=start, end_dt=start + timedelta(hours=3), capacity=1,
                             credits={"ama_pra_1": "3.00"})
    session = ActivitySession(title="Opening", start_dt=start, end_dt=start + timedelta(hours=1))
    activity.sessions.append(session)
    person = Faculty(full_name="Dr Owner", role="faculty", disclosure_received_dt=start)
    activity.faculty.append(person)
    disclosure = Disclosure(company="AbbVie", relationship_type="consultant", mitigated=True)
    person.disclosures.append(disclosure)
    support = CommercialSupport(company="AbbVie", kind="monetary", amount=Decimal("1000.00"))
    activity.commercial_supports.append(support)
    seated = Registration(user_id=seated_user.id, activity_id=activity.id, status="confirmed")
    waiting = Registration(user_id=waiting_user.id, activity_id=activity.id, status="waitlisted", waitlist_position=1)
    question = EvaluationQuestion(activity_id=activity.id, kind="text", prompt="Useful?", choices=[])
    post_test = PostTestQuestion(activity_id=activity.id, prompt="2 + 2?", choices=["3", "4"], correct_index=1)
    abstract = Abstract(activity=activity, title="Owned", title_key="owned", background="B", methods="M", results="R",
                        conclusions="C", presentation_type="poster", is_published=True,
                        authors=[AbstractAuthor(position=0, name="Dr Owner")])
    highlight = Highlight(activity=activity, title="Owned highlights", body="Owned", publication_date=start.date(),
                          reviewed_on=start.date(), is_published=False)
    db.session.add_all([seated, waiting, question, post_test, abstract, highlight])
    db.session.flush()
    record = CreditRecord(user_id=seated.user_id, activity_id=activity.id, credit_type="ama_pra_1",
                          amount=Decimal("1.00"), attested=True)
    certificate = Certificate(user_id=seated.user_id, activity_id=activity.id, kind="credit", snapshot={},
                              issued_dt=start)
    registration = MocRegistration(activity_id=activity.id, board="abp", points=Decimal(1),
                                   credit_types=["Improving Professional Practice (Part 4)"], practice_areas=[])
    db.session.add_all([record, certificate, registration])
    material = add_material(activity, Details(title="Owned slides", session_id=session.id, speaker_id=None,
                                              release="public"), stream=io.BytesIO(make_pdf(["Owned"])),
                            filename="owned.pdf", by=owner)
    db.session.commit()
    return {"certificate_id": certificate.id, "activity_id": activity.id, "session_id": session.id, "faculty_id": person.id,
            "disclosure_id": disclosure.id, "designation_id": activity.credit_designations[0].id,
            "registration_id": seated.id, "code": seated.checkin_code, "question_id": question.id,
            "post_test_question_id": post_test.id, "record_id": record.id, "support_id": support.id,
            "abstract_id": abstract.id, "highlight_id": highlight.id,
            "material_id": material.id, "moc_id": registration.id, "kind": "pars", "fmt": "tab"}


def url_values(rule: Rule, ids: dict) -> dict:
    """The rule's URL parameters filled with the ids of the other organizer's activity; fails on an unknown one."""
    values = {}
    for name in rule.arguments:
        key = "post_test_question_id" if name == "question_id" and "/post-test/" in rule.rule else name
        if key not in ids:
            pytest.fail(f"The ownership sweep cannot fill <{name}> in {rule.rule}: teach it what <{name}> names.")
        values[name] = ids[key]
    return values


def organizer_rules(app) -> list[Rule]:
    rules = [rule for rule in app.url_map.iter_rules()
             if rule.rule.startswith("/organize") and rule.rule not in NOT_PER_ACTIVITY]
    unowned = [rule.rule for rule in rules if "activity_id" not in rule.arguments]
    assert unowned == [], "organizer routes outside an activity: list them in NOT_PER_ACTIVITY or give them one"
    return sorted(rules, key=lambda rule: rule.rule)


def snapshot(db) -> dict[str, list]:
    """Every row of every table, in primary key order."""
    return {table.name: [tuple(row) for row in db.session.execute(
        sa.select(table).order_by(*table.primary_key.columns)).all()] for table in db.metadata.sorted_tables}


def test_an_organizer_gets_403_or_404_on_every_route_of_an_activity_they_do_not_organize(
        app, client, db, make_user, make_activity, auth, their_activity):
    intruder = make_user("intruder@example.org", role="organizer")
    make_activity(title="The intruder's own", organizers=[intruder])
    auth.login("intruder@example.org")
    ids = their_activity
    before = snapshot(db)
    answers = []
    rules = organizer_rules(app)
    for rule in rules:
        with app.test_request_context():
            path = app.url_for(rule.endpoint, **url_values(rule, ids))
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            data = {**FORM, "record_id": ids["record_id"]} if method == "POST" else None
            response = client.open(path, method=method, data=data)
            answers.append((method, path, response.status_code))
    db.session.rollback()
    db.session.expire_all()
    assert [a for a in answers if a[2] not in (403, 404)] == []
    assert snapshot(db) == before
    assert len(rules) >= 35 and {m for m, _, _ in answers} == {"GET", "POST"}


def test_the_sweep_refuses_a_route_it_cannot_fill(their_activity):
    rule = Rule("/organize/activities/<int:activity_id>/handouts/<int:handout_id>", endpoint="handouts")
    Map([rule])
    with pytest.raises(pytest.fail.Exception, match="cannot fill <handout_id>"):
        url_values(rule, their_activity)


def test_the_owner_reaches_the_swept_pages(app, client, auth, their_activity):
    """The sweep's ids are real: the organizer of the activity gets the pages the intruder is refused."""
    auth.login("owner@example.org")
    for rule in organizer_rules(app):
        if "GET" in (rule.methods or set()) and not rule.rule.endswith("/checkin/<code>"):
            with app.test_request_context():
                path = app.url_for(rule.endpoint, **url_values(rule, their_activity))
            assert client.get(path).status_code in (200, 302), path
