"""Abstracts (issue 15, point 5): how authors are written, the rules every abstract keeps (in the service and in the
database), the organizer's pages (add, edit, publish, delete; another organizer's activity is a 404), and the public
library (only published abstracts of published activities; the list's order, filters and pages; one abstract's page).
The CSV import and the book of abstracts have their own modules."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from cme.activities.models import ActivitySession
from cme.library.abstracts import service
from cme.library.abstracts.models import Abstract, AbstractAuthor
from cme.library.abstracts.service import AbstractError, AbstractFields, AuthorEntry
from cme.timeutil import now_utc


def fields(title: str = "Same-day HCV treatment in a syringe services program", **changes) -> AbstractFields:
    values = dict(title=title, authors=[AuthorEntry("Maria Lopez", "Cascade Center", True),
                                        AuthorEntry("John Smith", "Front Range University"),
                                        AuthorEntry("Ana Ruiz", "Cascade Center")],
                  background="Few people start treatment.", methods="A cohort.", results="81% started.",
                  conclusions="Feasible.", presentation_type="poster", keywords=["hepatitis C", "harm reduction"],
                  topic="Hepatology", is_published=True)
    values.update(changes)
    return AbstractFields(**values)


@pytest.fixture
def meeting(db, make_user, make_activity):
    """A past published meeting organized by org@example.org, with two agenda sessions."""
    owner = make_user("org@example.org", role="organizer", full_name="Olga Organizer")
    start = now_utc().replace(microsecond=0) - timedelta(days=30)
    activity = make_activity(organizers=[owner], title="Liver Meeting", start_dt=start, end_dt=start + timedelta(hours=6),
                             specialty="Hepatology")
    activity.sessions += [ActivitySession(title="Posters", start_dt=start, end_dt=start + timedelta(hours=1)),
                          ActivitySession(title="Orals", start_dt=start + timedelta(hours=2),
                                          end_dt=start + timedelta(hours=3))]
    db.session.commit()
    return activity


@pytest.fixture
def add(db):
    """add(activity, title=..., **changes): an abstract through the service, committed."""
    def add_(activity, title: str = "Same-day HCV treatment in a syringe services program", **changes) -> Abstract:
        abstract = service.create_abstract(activity, fields(title, **changes))
        db.session.commit()
        return abstract
    return add_


# ---------------------------------------------------------------- how authors and keywords are written

@pytest.mark.parametrize("text, expected", [
    ("Maria Lopez", AuthorEntry("Maria Lopez")),
    ("*Maria Lopez (University of Washington, Seattle)", AuthorEntry("Maria Lopez", "University of Washington, Seattle", True)),
    ("  * Ana  Ruiz ( Hospital Clínic (IDIBAPS), Barcelona ) ", AuthorEntry("Ana Ruiz", "Hospital Clínic (IDIBAPS), Barcelona", True)),
    ("张伟 (北京大学)", AuthorEntry("张伟", "北京大学")),
    ("Ivan Petrov ()", AuthorEntry("Ivan Petrov")),
])
def test_an_author_is_a_name_with_the_affiliation_in_parentheses_and_a_star_for_the_presenter(text, expected):
    assert service.parse_author(text) == expected
    assert service.parse_author(expected.as_text()) == expected  # what the edit form shows reads back the same


@pytest.mark.parametrize("text, message", [
    ("Maria Lopez (University of Washington", "end the affiliation with “)”"),
    ("(University of Washington)", "needs a name"),
    ("Maria Lopez)", "without its “(”"),
    ("M" * 201, "at most 200 characters"),
])
def test_an_author_that_cannot_be_read_says_why(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        service.parse_author(text)


def test_the_form_takes_one_author_per_line_and_names_the_line_that_is_wrong():
    assert service.parse_authors("*Maria Lopez (A)\r\n\n John Smith (B; C) \n") == [
        AuthorEntry("Maria Lopez", "A", True), AuthorEntry("John Smith", "B; C")]
    with pytest.raises(ValueError, match=r"^Line 2: one author per line"):
        service.parse_authors("Maria Lopez (A)\nJohn Smith; Front Range University")
    with pytest.raises(ValueError, match=r"^Line 1: .*end the affiliation"):
        service.parse_authors("Maria Lopez (A")


def test_the_csv_separates_authors_with_semicolons_outside_the_parentheses():
    assert service.parse_author_list("*Maria Lopez (A; B); John Smith;; Ana Ruiz (C)") == [
        AuthorEntry("Maria Lopez", "A; B", True), AuthorEntry("John Smith"), AuthorEntry("Ana Ruiz", "C")]
    with pytest.raises(ValueError, match=r"^Author 2: "):
        service.parse_author_list("Maria Lopez (A); (B)")


def test_keywords_are_split_on_commas_and_semicolons_once_each_and_limited():
    assert service.parse_keywords("HCV; hepatitis C,  hcv ,\nharm   reduction,") == ["HCV", "hepatitis C",
                                                                                   "harm reduction"]
    with pytest.raises(ValueError, match="At most 12 keywords"):
        service.parse_keywords(", ".join(f"k{n}" for n in range(13)))
    with pytest.raises(ValueError, match="at most 60 characters"):
        service.parse_keywords("k" * 61)


# ---------------------------------------------------------------- the rules of an abstract

def test_an_abstract_keeps_its_byline_order_numbers_its_affiliations_and_names_its_presenter(db, meeting, add):
    abstract = add(meeting)
    db.session.expire_all()
    abstract = db.session.get(Abstract, abstract.id)
    assert [a.name for a in abstract.authors] == ["Maria Lopez", "John Smith", "Ana Ruiz"]
    assert abstract.affiliations == ["Cascade Center", "Front Range University"]
    assert [(a.name, a.number, a.presenting) for a in abstract.byline] == [
        ("Maria Lopez", 1, True), ("John Smith", 2, False), ("Ana Ruiz", 1, False)]
    assert abstract.keywords == "hepatitis C, harm reduction" and abstract.topic == "Hepatology"


def test_the_search_text_holds_title_authors_affiliations_body_and_keywords(meeting, add):
    text = add(meeting, results="Of 212 people, 171 started.").search_text
    for part in ("Same-day HCV treatment", "Maria Lopez (Cascade Center)", "Few people start treatment.",
                 "A cohort.", "Of 212 people, 171 started.", "Feasible.", "hepatitis C, harm reduction"):
        assert part in text


def test_a_title_is_once_per_activity_whatever_its_case_and_spaces(db, meeting, add, make_activity):
    add(meeting, title="Frailty at evaluation")
    with pytest.raises(AbstractError) as refused:
        service.create_abstract(meeting, fields("  FRAILTY   at evaluation "))
    assert refused.value.code == "duplicate_title" and refused.value.field == "title"
    db.session.rollback()
    other = make_activity(title="Another meeting")
    assert service.create_abstract(other, fields("Frailty at evaluation")).activity_id == other.id


def test_the_database_holds_one_title_per_activity_and_one_presenter_per_abstract(db, meeting, add):
    abstract = add(meeting, title="Kept once")
    db.session.add(Abstract(activity_id=meeting.id, title="KEPT ONCE", title_key="kept once", presentation_type="oral"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
    abstract = db.session.get(Abstract, abstract.id)
    abstract.authors[1].is_presenting = True
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
    db.session.add(Abstract(activity_id=meeting.id, title="Spoken", title_key="spoken", presentation_type="speech"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_an_edit_reorders_the_authors_and_moves_the_presenter_in_one_save(db, meeting, add):
    abstract = add(meeting)
    service.update_abstract(abstract, fields(authors=[AuthorEntry("Ana Ruiz", "Cascade Center"),
                                                      AuthorEntry("John Smith", "Front Range University", True)]))
    db.session.commit()
    db.session.expire_all()
    rows = db.session.execute(select(AbstractAuthor.position, AbstractAuthor.name, AbstractAuthor.is_presenting)
                              .order_by(AbstractAuthor.position)).all()
    assert [tuple(r) for r in rows] == [(0, "Ana Ruiz", False), (1, "John Smith", True)]


@pytest.mark.parametrize("change, field, message", [
    ({"title": " "}, "title", "Enter the title."),
    ({"authors": []}, "authors", "Enter at least one author."),
    ({"authors": [AuthorEntry("A", presenting=True), AuthorEntry("B", presenting=True)]}, "authors",
     "Mark one presenting author with * (2 are marked)."),
    ({"presentation_type": "speech"}, "presentation_type", "Choose oral presentation or poster."),
    ({"topic": "Astrology"}, "topic", "Choose a topic from the list."),
    ({"methods": "\n "}, "methods", "Enter the methods."),
    ({"results": "r" * 5001}, "results", "The results is at most 5,000 characters (5,001 given)."),
])
def test_what_an_abstract_needs_is_refused_with_the_field_it_concerns(db, meeting, change, field, message):
    with pytest.raises(AbstractError) as refused:
        service.create_abstract(meeting, fields(**change))
    assert (refused.value.field, refused.value.message) == (field, message)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Abstract.id))) == 0


def test_a_session_of_another_activity_is_refused(db, meeting, make_activity):
    other = make_activity(title="Other")
    other.sessions.append(ActivitySession(title="Elsewhere", start_dt=other.start_dt, end_dt=other.end_dt))
    db.session.commit()
    with pytest.raises(AbstractError, match="Choose a session of this activity's agenda."):
        service.create_abstract(meeting, fields(session_id=other.sessions[0].id))


def test_a_session_removed_from_the_agenda_leaves_its_abstracts_without_one(db, meeting, add):
    abstract = add(meeting, session_id=meeting.sessions[0].id)
    db.session.delete(meeting.sessions[0])
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Abstract, abstract.id).session_id is None


def test_a_cancelled_activity_takes_no_new_or_changed_abstracts(db, meeting, add):
    abstract = add(meeting)
    meeting.status = "cancelled"
    db.session.commit()
    for attempt in (lambda: service.create_abstract(meeting, fields("New")),
                    lambda: service.update_abstract(abstract, fields("Changed")),
                    lambda: service.set_published(abstract, True)):
        with pytest.raises(AbstractError, match="cancelled"):
            attempt()
    service.delete_abstract(abstract)  # an organizer may still remove one


# ---------------------------------------------------------------- the public library

def test_only_published_abstracts_of_published_activities_are_public(db, client, meeting, add, make_activity):
    shown = add(meeting, title="Shown")
    unpublished = add(meeting, title="Not yet", is_published=False)
    draft = add(make_activity(title="A draft", status="draft"), title="Of a draft")
    cancelled_activity = make_activity(title="Called off")
    cancelled = add(cancelled_activity, title="Of a cancelled one")
    cancelled_activity.status = "cancelled"
    db.session.commit()
    listed = client.get("/library/abstracts").get_data(as_text=True)
    assert "Shown" in listed and "1 abstract" in listed
    assert not any(title in listed for title in ("Not yet", "Of a draft", "Of a cancelled one"))
    assert client.get(f"/library/abstracts/{shown.id}").status_code == 200
    for hidden in (unpublished, draft, cancelled):
        assert client.get(f"/library/abstracts/{hidden.id}").status_code == 404
    assert client.get(f"/library/abstracts/activities/{draft.activity_id}/book.pdf").status_code == 404
    assert client.get(f"/library/abstracts/activities/{cancelled.activity_id}/book.pdf").status_code == 404


def test_the_list_shows_the_newest_activity_first_filters_and_pages(db, client, meeting, add, make_activity):
    older = make_activity(title="Older meeting", start_dt=meeting.start_dt - timedelta(days=300))
    add(older, title="From last year", presentation_type="oral", topic="Addiction medicine")
    add(meeting, title="Zebra poster", session_id=meeting.sessions[1].id)
    add(meeting, title="Alpha poster", session_id=meeting.sessions[1].id)
    add(meeting, title="Early oral", session_id=meeting.sessions[0].id, presentation_type="oral")
    add(meeting, title="No session")

    def titles(query: str = "") -> list[str]:
        html = client.get(f"/library/abstracts{query}").get_data(as_text=True)
        return re.findall(r'<h2><a href="/library/abstracts/\d+-[^"]*">([^<]+)</a></h2>', html)

    assert titles() == ["Early oral", "Alpha poster", "Zebra poster", "No session", "From last year"]
    assert titles(f"?activity={older.id}") == ["From last year"]
    assert titles("?type=oral") == ["Early oral", "From last year"]
    assert titles("?topic=Addiction+medicine") == ["From last year"]
    html = client.get("/library/abstracts?type=speech&activity=999999").get_data(as_text=True)
    assert "Not a valid choice" in html and len(titles("?type=speech")) == 5  # ignored, and said so
    for n in range(20):
        add(meeting, title=f"Poster {n:02d}")
    assert len(titles()) == 20 and len(titles("?page=2")) == 5 and titles("?page=99") == []
    assert 'rel="next"' in client.get("/library/abstracts").get_data(as_text=True)


def test_an_abstract_page_shows_its_sections_byline_keywords_and_where_it_was_presented(db, client, meeting, add):
    abstract = add(meeting, title="<script>alert(1)</script> & more", session_id=meeting.sessions[1].id,
                   results="Line one.\nLine two <b>bold</b>.")
    html = client.get(f"/library/abstracts/{abstract.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "Line two &lt;b&gt;bold&lt;/b&gt;." in html
    assert re.search(r'<span class="author presenting">Maria Lopez<sup>1</sup></span>, '
                     r'<span class="author">John Smith<sup>2</sup></span>, <span class="author">Ana Ruiz<sup>1</sup>', html)
    assert "<li>Cascade Center</li><li>Front Range University</li>" in html
    assert "Presenting author: Maria Lopez" in html
    for heading in ("Background", "Methods", "Results", "Conclusions", "Keywords"):
        assert f">{heading}</h2>" in html
    assert "<li>harm reduction</li>" in html and ">Orals</a>" in html
    assert f'href="/activities/{meeting.id}-liver-meeting"' in html
    assert f'href="/library/abstracts/activities/{meeting.id}/book.pdf"' in html


def test_the_activity_page_links_its_published_abstracts(db, client, meeting, add):
    assert 'id="abstracts"' not in client.get(f"/activities/{meeting.id}").get_data(as_text=True)
    add(meeting, title="One")
    add(meeting, title="Two")
    add(meeting, title="Hidden", is_published=False)
    html = client.get(f"/activities/{meeting.id}").get_data(as_text=True)
    assert "2 abstracts were presented at this activity." in html
    assert f'href="/library/abstracts?activity={meeting.id}"' in html


# ---------------------------------------------------------------- the organizer's pages

FORM = {"title": "Alcohol use disorder care after transplant", "presentation_type": "oral", "session": "",
        "topic": "Addiction medicine", "background": "Often missed.", "methods": "Chart review.",
        "results": "41% treated.", "conclusions": "Treat more.", "keywords": "alcohol use disorder, relapse",
        "authors": "*Tomas Lindgren (Cascade Transplant Center)\nAyesha Rahman (Puget Sound Addiction Service)",
        "is_published": "y"}


def test_an_organizer_adds_an_abstract_with_authors_one_per_line(db, client, auth, meeting):
    auth.login("org@example.org")
    form = client.get(f"/organize/activities/{meeting.id}/abstracts/new").get_data(as_text=True)
    assert '<option selected value="Hepatology">' in form  # the activity's specialty, to start with
    response = client.post(f"/organize/activities/{meeting.id}/abstracts/new",
                           data={**FORM, "session": str(meeting.sessions[1].id)})
    assert response.status_code == 302
    abstract = db.session.scalar(select(Abstract))
    assert response.location.endswith(f"/organize/activities/{meeting.id}/abstracts#abstract-{abstract.id}")
    assert [(a.name, a.affiliation, a.is_presenting) for a in abstract.authors] == [
        ("Tomas Lindgren", "Cascade Transplant Center", True), ("Ayesha Rahman", "Puget Sound Addiction Service", False)]
    assert abstract.session_id == meeting.sessions[1].id and abstract.is_published
    listed = client.get(f"/organize/activities/{meeting.id}/abstracts").get_data(as_text=True)
    assert "Alcohol use disorder care after transplant" in listed and "1 abstract, 1 published." in listed


def test_a_form_with_mistakes_comes_back_with_what_was_typed_and_each_error_by_its_field(db, client, auth, meeting):
    auth.login("org@example.org")
    typed = {**FORM, "authors": "Tomas Lindgren (Cascade\nAyesha Rahman", "methods": "", "keywords": "k" * 61}
    response = client.post(f"/organize/activities/{meeting.id}/abstracts/new", data=typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="authors-error">Line 1: “Tomas Lindgren (Cascade”: end the affiliation with “)”' in html
    assert 'id="methods-error">Enter the methods.' in html and 'id="keywords-error">“' in html
    assert ">\r\nTomas Lindgren (Cascade\nAyesha Rahman</textarea>" in html  # as typed
    assert 'class="error-summary"' in html and 'href="#authors"' in html
    assert db.session.scalar(select(func.count(Abstract.id))) == 0


def test_a_title_the_activity_already_has_is_a_field_error(db, client, auth, meeting, add):
    add(meeting, title="Alcohol use disorder care after transplant")
    auth.login("org@example.org")
    response = client.post(f"/organize/activities/{meeting.id}/abstracts/new", data=FORM)
    assert response.status_code == 422
    assert 'id="title-error">Another abstract of this activity has this title.' in response.get_data(as_text=True)


def test_an_organizer_edits_publishes_unpublishes_and_deletes_an_abstract(db, client, auth, meeting, add):
    abstract = add(meeting, is_published=False)
    auth.login("org@example.org")
    page = client.get(f"/organize/activities/{meeting.id}/abstracts/{abstract.id}/edit").get_data(as_text=True)
    assert ">\r\n*Maria Lopez (Cascade Center)\nJohn Smith (Front Range University)\nAna Ruiz (Cascade Center)</textarea>" in page
    response = client.post(f"/organize/activities/{meeting.id}/abstracts/{abstract.id}/edit",
                           data={**FORM, "title": "Renamed", "is_published": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert abstract.title == "Renamed" and [a.name for a in abstract.authors] == ["Tomas Lindgren", "Ayesha Rahman"]
    assert not abstract.is_published
    client.post(f"/organize/activities/{meeting.id}/abstracts/{abstract.id}/published", data={"published": "1"})
    db.session.expire_all()
    assert abstract.is_published and client.get(f"/library/abstracts/{abstract.id}").status_code == 200
    client.post(f"/organize/activities/{meeting.id}/abstracts/{abstract.id}/published", data={"published": "0"})
    db.session.expire_all()
    assert not abstract.is_published
    assert client.post(f"/organize/activities/{meeting.id}/abstracts/{abstract.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count(Abstract.id))) == 0
    assert db.session.scalar(select(func.count(AbstractAuthor.id))) == 0


def test_its_organizers_preview_an_unpublished_abstract_and_nobody_else_sees_it(db, client, auth, meeting, add,
                                                                                make_user):
    abstract = add(meeting, is_published=False)
    auth.login("org@example.org")
    html = client.get(f"/library/abstracts/{abstract.id}").get_data(as_text=True)
    assert "<strong>Preview.</strong> This abstract is not published" in html
    make_user("other.org@example.org", role="organizer")
    auth.logout()
    auth.login("other.org@example.org")
    assert client.get(f"/library/abstracts/{abstract.id}").status_code == 404
    auth.logout()
    assert client.get(f"/library/abstracts/{abstract.id}").status_code == 404


def test_another_organizer_gets_404_on_every_abstract_page_and_changes_nothing(db, client, auth, meeting, add,
                                                                               make_user, make_activity):
    abstract = add(meeting)
    intruder = make_user("intruder@example.org", role="organizer")
    own = make_activity(title="The intruder's own", organizers=[intruder])
    auth.login("intruder@example.org")
    base = f"/organize/activities/{meeting.id}/abstracts"
    for method, path in [("GET", base), ("GET", f"{base}/new"), ("POST", f"{base}/new"),
                         ("GET", f"{base}/{abstract.id}/edit"), ("POST", f"{base}/{abstract.id}/edit"),
                         ("POST", f"{base}/{abstract.id}/published"), ("POST", f"{base}/{abstract.id}/delete"),
                         ("GET", f"{base}/import"), ("POST", f"{base}/import"), ("GET", f"{base}/import/template.csv"),
                         ("GET", f"{base}/book.pdf"),
                         # their own activity's URL does not reach another activity's abstract
                         ("GET", f"/organize/activities/{own.id}/abstracts/{abstract.id}/edit"),
                         ("POST", f"/organize/activities/{own.id}/abstracts/{abstract.id}/delete")]:
        response = client.open(path, method=method, data={**FORM, "published": "0"} if method == "POST" else None)
        assert response.status_code == 404, (method, path)
    db.session.expire_all()
    assert abstract.title != FORM["title"] and abstract.is_published


def test_a_provider_may_not_open_the_organizer_pages(client, make_user, auth, meeting):
    make_user("ada@example.org")
    auth.login("ada@example.org")
    assert client.get(f"/organize/activities/{meeting.id}/abstracts").status_code == 403
    auth.logout()
    assert client.get(f"/organize/activities/{meeting.id}/abstracts").status_code == 302  # to log in


@pytest.mark.parametrize("odd", ["\x00", "Ana\r\nRuiz (A\x0bB)", "😀" * 300, "(" * 50 + ")" * 50, "*" * 10, ";;;;"])
def test_odd_authors_text_is_a_field_error_or_saved_never_a_server_error(db, client, auth, meeting, odd):
    auth.login("org@example.org")
    response = client.post(f"/organize/activities/{meeting.id}/abstracts/new", data={**FORM, "authors": odd})
    assert response.status_code in (302, 422)
    for author in db.session.scalars(select(AbstractAuthor)):
        assert "\x00" not in author.name and "\n" not in author.name and len(author.name) <= 200
