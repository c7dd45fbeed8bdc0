"""The seeded demo: what it shows, that it comes from its data file, and that the CME rules hold for it, checked
with the rules' own functions (publication, seats and waitlist, check-in, viewing time, evaluations, claims,
certificates). The demo is seeded once per backend and only read here: a test that needs `app`, `db` or
`client` (whose teardown empties the tables) belongs in test_demo_seed.py."""
from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Iterator

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select

from cme.accounts.identity import licences_of
from cme.accounts.models import User
from cme.accounts.npi import is_valid_npi
from cme.activities.models import Activity, ActivityFormat, ActivityStatus
from cme.activities.catalog import seat_state
from cme.activities.service import accreditation_problems, publication_problems
from cme.attendance.models import Attendance
from cme.attendance.service import checkin_counts, supported_hours
from cme.certificates.models import Certificate
from cme.certificates.service import current_certificate, current_certificates_for, find_by_code
from cme.credit.evaluation import evaluation_questions, evaluation_summary, post_test_questions, post_test_state
from cme.credit.progress import Step, my_schedule
from cme.credit.evaluation_models import EvaluationResponse
from cme.credit.models import CreditRecord
from cme.credit.service import claim_status
from cme.demo import (
    ADMIN_EMAIL, DATA_FILE, DEMO_DOMAIN, DEMO_PASSWORD, ORGANIZER_EMAIL, PROVIDER_EMAIL, load_demo_data,
)
from cme.extensions import db as _db
from cme.library.abstracts.models import Abstract
from cme.library.abstracts.service import AbstractFields, AuthorEntry, problems
from cme.registration.counts import counts_for
from cme.registration.service import registration_problem, roster
from cme.timeutil import now_utc, utc_to_local


@pytest.fixture
def demo(demo_app) -> Iterator[list[Activity]]:
    """The demo's activities, in an app context of the test's own (as `app` gives other tests)."""
    with demo_app.app_context():
        yield list(_db.session.scalars(select(Activity).order_by(Activity.start_dt)))
        _db.session.remove()


@pytest.fixture
def demo_client(demo_app, demo) -> FlaskClient:
    return demo_app.test_client()


def user(email: str) -> User:
    return _db.session.scalar(select(User).where(User.email == email))


def activity_titled(activities: list[Activity], key: str) -> Activity:
    title = next(spec["title"] for spec in load_demo_data()["activities"] if spec["key"] == key)
    return next(a for a in activities if a.title == title)


# ---------------------------------------------------------------- what the demo shows

def test_the_catalog_comes_from_the_data_file_that_ships_with_the_package(demo):
    assert DATA_FILE.parent.name == "cme" and DATA_FILE.suffix == ".toml" and DATA_FILE.is_file()
    data = load_demo_data()
    assert sorted(a.title for a in demo) == sorted(spec["title"] for spec in data["activities"])
    emails = {u.email for u in _db.session.scalars(select(User))}
    walk_ins = {person["email"] for spec in data["activities"] for person in spec.get("walk_ins", [])}
    assert walk_ins and emails == {account["email"] for account in data["accounts"].values()} | walk_ins
    for spec in data["activities"]:
        for name in spec.get("faculty", []) + spec.get("planners", []) + spec.get("reviewers", []):
            assert name in data["faculty"], (spec["key"], name)



def test_demo_accounts(demo):
    users = {u.email: u for u in _db.session.scalars(select(User))}
    assert users[ORGANIZER_EMAIL].role == "organizer"
    assert users[ADMIN_EMAIL].role == "admin"
    provider = users[PROVIDER_EMAIL]
    assert (provider.role, provider.profession, provider.degree) == ("provider", "physician", "MD")
    assert is_valid_npi(provider.npi) and licences_of(provider)
    assert provider.time_zone == "America/Los_Angeles"
    assert all(u.check_password(DEMO_PASSWORD) for u in (provider, users[ORGANIZER_EMAIL], users[ADMIN_EMAIL]))
    degrees = {u.degree for u in users.values() if u.role == "provider"}
    assert {"MD", "DO", "PA-C", "NP", "RN", "PharmD"} <= degrees
    assert all(is_valid_npi(u.npi) for u in users.values() if u.npi)
    # The demo vouches for its addresses: all may register, but the walk-in made at the desk, whose address is
    # confirmed when she chooses her password through the link mailed there.
    unverified = {email for email, u in users.items() if not u.is_email_verified}
    assert unverified == {"teresa.okonjo@demo.example.org"}


def test_formats_statuses_and_past_and_upcoming(demo):
    now = now_utc()
    assert {a.format for a in demo} == {f.value for f in ActivityFormat}
    statuses = Counter(a.status for a in demo)
    assert statuses[ActivityStatus.DRAFT] == 1 and statuses[ActivityStatus.CANCELLED] == 1
    assert statuses[ActivityStatus.PUBLISHED] >= 8
    published = [a for a in demo if a.status == ActivityStatus.PUBLISHED]
    assert any(a.end_dt < now for a in published), "no past activity"
    assert sum(a.start_dt > now for a in published) >= 5, "too few upcoming activities"
    assert all(not accreditation_problems(a) and a.summary and a.learning_objectives and a.specialty and a.topics
               for a in demo)
    assert all(a.organizers and a.organizers[0].email == ORGANIZER_EMAIL for a in demo)


def test_live_meetings_have_venues_in_three_zones_and_webcasts_have_links(demo):
    meetings = [a for a in demo if a.format == ActivityFormat.LIVE_MEETING]
    assert len({a.time_zone for a in meetings}) >= 3
    assert all(a.venue_name and a.street_address and a.city and a.state and a.postal_code for a in meetings)
    webcasts = [a for a in demo if a.is_webcast]
    assert all(a.capacity is None and a.join_url.startswith("https://webcast.example.org/") for a in webcasts)
    for a in webcasts:
        if a.is_on_demand:
            assert (a.available_from_dt, a.available_until_dt) == (a.start_dt, a.end_dt)
            assert not a.sessions
    assert {8, 40, 120} <= {a.capacity for a in meetings}


def test_agendas_have_speakers_and_their_own_uids(demo):
    for activity in demo:
        if not activity.is_on_demand:
            assert 3 <= len(activity.sessions) <= 8, activity.title
            assert all(s.title and s.speakers for s in activity.sessions)
            assert all(p in activity.faculty for s in activity.sessions for p in s.speakers)  # linked records
    assert len({s.uuid for a in demo for s in a.sessions}) == sum(len(a.sessions) for a in demo)


def test_one_live_meeting_spans_a_dst_transition(demo):
    spanning = [a for a in demo if a.format == ActivityFormat.LIVE_MEETING
                and len({utc_to_local(s.start_dt, a.time_zone).utcoffset() for s in a.sessions}) > 1]
    assert len(spanning) >= 1
    meeting = spanning[0]
    days = {utc_to_local(s.start_dt, meeting.time_zone).date() for s in meeting.sessions}
    assert 2 <= len(days) <= 3 and meeting.start_dt > now_utc()


# ---------------------------------------------------------------- the rules hold

def test_published_activities_pass_the_publication_rule_and_the_draft_does_not(demo):
    published = [a for a in demo if a.status != ActivityStatus.DRAFT]
    for activity in published:
        assert publication_problems(activity) == [], activity.title
    people = [p for a in published for p in a.faculty]
    assert any(p.disclosures for p in people) and any(p.has_no_relationships for p in people)
    assert {"faculty", "planner", "reviewer"} <= {p.role for p in people}
    draft = next(a for a in demo if a.status == ActivityStatus.DRAFT)
    problems = publication_problems(draft)
    assert any("no disclosure on file" in p for p in problems)
    assert any("has not been mitigated" in p for p in problems)


def test_credit_designations_cover_every_credit_type(demo):
    types = Counter(d.credit_type for a in demo for d in a.credit_designations)
    assert set(types) == {"ama_pra_1", "ancc", "acpe", "aapa_1", "abim_moc", "participation"}
    assert all(a.credit_designations for a in demo)


def test_the_demo_shows_each_accreditation_and_commercial_support_on_a_certificate(demo):
    """Issue 12, point 9: ACCME, Joint Accreditation and joint providership each appear, and an activity whose
    learners hold certificates acknowledges its commercial support."""
    published = [a for a in demo if a.status == ActivityStatus.PUBLISHED]
    assert {"accme", "joint_accreditation", "joint_providership"} <= {a.accreditation_kind for a in published}
    assert all(a.joint_provider for a in published if a.accreditation_kind == "joint_providership")
    supported = [a for a in published if a.commercial_supports]
    assert {s.kind for a in supported for s in a.commercial_supports} == {"monetary", "in_kind"}
    certificates = [c for a in supported for c in _db.session.scalars(select(Certificate).where(
        Certificate.activity_id == a.id))]
    assert certificates and all(c.snapshot["commercial_support"] for c in certificates)
    joint = [c for a in published if a.accreditation_kind != "accme"
             for c in _db.session.scalars(select(Certificate).where(Certificate.activity_id == a.id))]
    assert {c.snapshot["accreditation_statement"].split(" ")[0] for c in joint} == {"In", "This"}


def test_the_small_workshop_is_full_with_a_numbered_waitlist(demo):
    small = next(a for a in demo if a.capacity == 8)
    assert (counts_for(small.id).confirmed, counts_for(small.id).waitlisted) == (8, 2)
    assert seat_state(small, counts_for(small.id).confirmed) == ("waitlist", "Waitlist")
    assert [r.waitlist_position for r in roster(small) if r.is_waitlisted] == [1, 2]


def test_the_demo_provider_has_two_upcoming_meetings_two_completed_activities_and_a_cancellation(demo):
    provider = user(PROVIDER_EMAIL)
    schedule = my_schedule(provider, certificates=current_certificates_for(provider))
    upcoming, past = [c.registration for c in schedule.upcoming], [c.registration for c in schedule.past]
    assert len(upcoming) == 2 and all(r.activity.is_live_meeting for r in upcoming)
    assert all(r.is_confirmed and r.attested_professional and r.npi == provider.npi for r in upcoming + past)
    # A meeting attended and an on-demand webcast completed (post-test passed at the second attempt): credit and
    # a certificate for each.
    assert {c.activity.format for c in schedule.past} == {"live_meeting", "on_demand_webcast"}
    assert all(c.step == Step.CERTIFICATE and c.status.records.keys() == {"ama_pra_1"} for c in schedule.past)
    meeting = next(c.activity for c in schedule.past if c.activity.is_live_meeting)
    assert supported_hours(provider, meeting) > 0
    on_demand = next(c.activity for c in schedule.past if c.activity.is_on_demand)
    state = post_test_state(provider, on_demand)
    assert (state.attempts, state.passed, state.max_attempts) == (2, True, 3)
    [cancelled] = schedule.cancelled
    assert cancelled.registration.is_cancelled and cancelled.step == Step.REGISTER_AGAIN


def test_the_on_demand_post_test_explains_each_question(demo):
    on_demand = activity_titled(demo, "simplified-hcv-on-demand")
    questions = post_test_questions(on_demand)
    assert len(questions) == 4 and all(q.explanation for q in questions)


def test_every_claim_was_open_and_within_its_limit_when_made_and_still_is(demo):
    records = list(_db.session.scalars(select(CreditRecord)))
    assert len(records) >= 3
    for record in records:
        user_, activity = record.user, record.activity
        for when in (record.claimed_dt, now_utc()):
            status = claim_status(user_, activity, now=when)
            assert status.open, (activity.title, user_.email, status.problems)
            assert record.attested and 0 < record.amount <= status.limits[record.credit_type]


def test_claims_follow_check_in_and_viewing_time(demo):
    seattle = activity_titled(demo, "transplant-care-team-seattle")
    assert checkin_counts(seattle) == (4, 4)  # three registrants and a walk-in (issue 14, point 13)
    [walk_in] = [r for r in roster(seattle) if r.full_name == "Teresa Okonjo"]
    assert walk_in.is_confirmed and walk_in.registered_dt > seattle.start_dt
    webcast = activity_titled(demo, "hbv-reactivation-webcast")
    assert supported_hours(user(f"hannah.cho@{DEMO_DOMAIN}"), webcast) == Decimal("0.75")
    on_demand = activity_titled(demo, "simplified-hcv-on-demand")
    midway = user(f"grace.nakamura@{DEMO_DOMAIN}")
    assert supported_hours(midway, on_demand) == Decimal("0.5")
    assert not claim_status(midway, on_demand).open  # watching, not yet evaluated
    claimed_types = {(r.activity.format, r.credit_type) for r in _db.session.scalars(select(CreditRecord))}
    assert {f for f, _ in claimed_types} == {f.value for f in ActivityFormat}


def test_evaluations_answer_the_activity_questions_and_vary(demo):
    responses = list(_db.session.scalars(select(EvaluationResponse)))
    assert len(responses) >= 3
    for response in responses:
        activity = _db.session.get(Activity, response.activity_id)
        for question in evaluation_questions(activity):
            answer = response.answers[question.key]["answer"]
            assert (answer in question.choices) if question.choices else isinstance(answer, str)
    total, summaries = evaluation_summary(activity_titled(demo, "transplant-care-team-seattle"))
    assert total == 3
    assert all(len([n for _, n in s.counts if n]) > 1 for s in summaries if s.counts)


def test_every_claimant_has_a_current_certificate_that_verifies(demo, demo_client):
    pairs = {(r.user, r.activity) for r in _db.session.scalars(select(CreditRecord))}
    for learner, activity in pairs:
        certificate = current_certificate(learner, activity)
        assert certificate is not None and certificate.is_valid
        assert find_by_code(certificate.verification_code) == certificate
        claimed = {r.credit_type: r.amount for r in claim_status(learner, activity).records.values()}
        assert [Decimal(c["amount"]) for c in certificate.snapshot["credits"]] == list(claimed.values())
        page = demo_client.get(f"/verify/{certificate.verification_code}")
        assert page.status_code == 200 and "Valid." in page.get_data(as_text=True)


def test_the_cancelled_activity_is_closed_and_has_no_attendance(demo):
    cancelled = next(a for a in demo if a.status == ActivityStatus.CANCELLED)
    assert registration_problem(cancelled) == "This activity has been cancelled."
    assert cancelled.cancelled_dt < now_utc() and counts_for(cancelled.id).confirmed == 2
    assert _db.session.scalar(select(func.count()).select_from(Attendance)
                              .where(Attendance.activity_id == cancelled.id)) == 0


# ---------------------------------------------------------------- pages

def test_demo_provider_can_log_in(demo, demo_client):
    response = demo_client.post("/account/login", data={"email": PROVIDER_EMAIL, "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_demo_organizer_sees_the_catalog_on_the_dashboard(demo, demo_client):
    client = demo_client
    response = client.post("/account/login", data={"email": ORGANIZER_EMAIL, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    page = client.get("/organize/").get_data(as_text=True)
    draft = next(a for a in demo if a.status == ActivityStatus.DRAFT)
    assert str(escape(draft.title)) in page


def test_catalog_shows_the_demo(demo, demo_client):
    response = demo_client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    now = now_utc()
    shown = [a for a in demo if a.status != ActivityStatus.DRAFT and a.end_dt >= now]
    assert shown and all(str(escape(a.title)) in page for a in shown)
    hidden = [a for a in demo if a.status == ActivityStatus.DRAFT or a.end_dt < now]
    assert hidden and not any(str(escape(a.title)) in page for a in hidden)


def test_the_catalog_search_finds_a_demo_speaker_a_city_and_a_credit_type(demo):
    """Issue 14, point 4: what the walk-through typed (a faculty member's surname, 'Denver', 'MOC')."""
    from cme.activities.catalog import CatalogFilters, filtered_activities

    def found(q: str) -> set[str]:
        return {a.title for a in _db.session.scalars(filtered_activities(CatalogFilters(q=q, when="all")))}

    denver = activity_titled(demo, "rocky-mountain-transplant-denver")
    assert found("Denver") == {denver.title}
    assert denver.title in found("Harrow") and denver.title in found("Front Range Conference Center")
    moc = {a.title for a in demo if a.is_public and any(d.credit_type == "abim_moc" for d in a.credit_designations)}
    assert moc and found("MOC") == moc
    nursing = {a.title for a in demo if a.is_public and any(d.credit_type == "ancc" for d in a.credit_designations)}
    assert nursing and nursing <= found("nursing")


def test_the_past_activities_show_abstracts_that_keep_the_rules_and_one_waits_unpublished(demo, demo_client):
    abstracts = list(_db.session.scalars(select(Abstract)))
    by_activity = Counter(a.activity.title for a in abstracts)
    keys = [spec["key"] for spec in load_demo_data()["activities"] if spec.get("abstracts")]
    assert sorted(by_activity) == sorted(activity_titled(demo, key).title for key in keys) and min(by_activity.values()) >= 3
    now = now_utc()
    for abstract in abstracts:
        assert abstract.activity.has_ended(now) and abstract.activity.is_published
        assert abstract.created_dt > abstract.activity.end_dt  # written up after the meeting
        assert problems(abstract.activity, _fields(abstract), abstract=abstract) == []
        assert sum(a.is_presenting for a in abstract.authors) == 1
    assert {a.presentation_type for a in abstracts} == {"oral", "poster"}
    assert any(a.session is None for a in abstracts) and any(a.session is not None for a in abstracts)
    hidden = [a for a in abstracts if not a.is_published]
    assert len(hidden) == 1
    listed = demo_client.get("/library/abstracts").get_data(as_text=True)
    assert f"{len(abstracts) - 1} abstracts" in listed and escape(hidden[0].title) not in listed
    seattle = activity_titled(demo, "transplant-care-team-seattle")
    assert demo_client.get(f"/library/abstracts/activities/{seattle.id}/book.pdf").status_code == 200


def _fields(abstract: Abstract) -> AbstractFields:
    return AbstractFields(title=abstract.title, authors=[AuthorEntry(a.name, a.affiliation, a.is_presenting)
                                                         for a in abstract.authors],
                          background=abstract.background, methods=abstract.methods, results=abstract.results,
                          conclusions=abstract.conclusions, presentation_type=abstract.presentation_type,
                          keywords=abstract.keyword_list, session_id=abstract.session_id, topic=abstract.topic)


def test_the_demo_text_promises_only_what_the_product_does(demo):
    """Issue 14, point 12: no captions, transcripts, downloads or mailed join links the product has no part in; a
    post-test, a join link's lead time or a reminder named only where the rules give them, with their figures."""
    from cme.credit.evaluation import best_score, has_post_test
    from cme.registration.mail import reminder_lead
    from cme.registration.models import JOIN_LINK_LEAD_MINUTES

    for activity in demo:
        text = " ".join([activity.summary, activity.description, activity.access_notes,
                         activity.learning_objectives]).lower()
        for unbacked in ("caption", "transcript", "download", "archived", "q&a", "slides", "handout", "emailed",
                         "progress is saved", "has ended"):
            assert unbacked not in text, (activity.title, unbacked)
        if "post-test" in text:
            assert has_post_test(activity), activity.title
            assert f"({activity.post_test_passing_score}% to pass)" in text
        if "my schedule" in text:
            assert activity.format == "live_webcast" and activity.join_url
            assert f"{JOIN_LINK_LEAD_MINUTES} minutes before the start" in text
        if "reminder" in text:
            lead = reminder_lead(activity)
            assert lead is not None and f"{int(lead.total_seconds() // 3600)} hour before the start" in text
        if "viewing time" in text:
            assert activity.is_webcast
    module = activity_titled(demo, "simplified-hcv-on-demand")
    assert has_post_test(module)
    assert best_score(user("jordan.ellis@demo.example.org"), module) >= module.post_test_passing_score


# ---------------------------------------------------------------- the news library (issue 15, point 7)

def test_the_demo_has_news_in_the_foundations_fields_and_one_article_scheduled(demo, demo_client):
    from cme.library.news.models import NewsArticle
    from cme.library.news.service import DOI, PMID, news_today
    from cme.library.topics import BY_SLUG

    articles = list(_db.session.scalars(select(NewsArticle).order_by(NewsArticle.publication_date)))
    specs = {spec["title"]: spec for spec in load_demo_data()["news"]}
    today = news_today()
    assert 4 <= len(articles) <= 6 and {a.title for a in articles} == set(specs)
    assert [a.state_on(today) for a in articles].count("scheduled") == 1
    assert {t.slug for a in articles for t in a.topics} >= {"hepatitis-c", "masld", "substance-use-disorder"}
    for article in articles:
        assert article.topics and all(t.slug in BY_SLUG for t in article.topics)
        assert article.has_citation and article.citation_reference and article.reviewed_on <= today
        assert article.doi is None or DOI.fullmatch(article.doi)
        assert article.pmid is None or PMID.fullmatch(article.pmid)
        status = demo_client.get(f"/library/news/{article.id}").status_code
        assert status == (200 if article.is_public_on(today) else 404), article.title
    cxcr4 = next(a for a in articles if "CXCR4" in a.title)
    assert cxcr4.citation_reference == "Cancer Cell. 2004;6(5):459-469."
    page = demo_client.get("/library/news").get_data(as_text=True)
    assert all((a.title in page) == a.is_public_on(today) for a in articles)
def test_the_demos_slides_are_real_pdfs_in_the_store_released_as_their_rules_say(demo, demo_app):
    """Issue 15: the seed draws slide decks with ReportLab and uploads them through the service: each is a PDF in the
    store under its SHA-256, with its text and first-page thumbnail; the past meeting's open for the provider who
    attended, the summit's are listed to a visitor but open only after each session, and its case panel handout is
    held back until the day of the meeting."""
    import hashlib

    from pypdf import PdfReader

    from cme.library.materials import release, storage
    from cme.library.materials.models import Material

    materials = list(_db.session.scalars(select(Material)))
    assert len(materials) >= 8
    store = storage.current_store()
    for material in materials:
        data = store.path_of(material.file_sha256).read_bytes()
        assert hashlib.sha256(data).hexdigest() == material.file_sha256
        assert len(PdfReader(store.path_of(material.file_sha256)).pages) == material.page_count
        assert " ".join(material.title.split()[:3]) in material.text  # the title slide's first words
        assert store.thumbnail_of(material.file_sha256).is_file()
    provider = user(PROVIDER_EMAIL)
    seattle = activity_titled(demo, "transplant-care-team-seattle")
    past = [m for m in materials if m.activity_id == seattle.id]
    assert len(past) == 3 and all(release.may_open(provider, m) for m in past)
    summit = activity_titled(demo, "hcv-elimination-summit-nyc")
    upcoming = [m for m in materials if m.activity_id == summit.id]
    assert {m.release for m in upcoming} == {"public", "registrants_after_session"}
    assert [release.may_open(None, m) for m in upcoming].count(True) == 1  # the program
    assert [release.is_listed(None, m) for m in upcoming].count(True) == 4  # the embargoed handout is not
