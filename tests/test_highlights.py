"""Conference highlights (issue 15, point 6): the service's rules (a past activity's, its own abstracts, dates), the
public list and pages (drafts, scheduled ones and those of an unpublished activity are 404 to the public), the
organizer's pages and who may use them, the sanitised Markdown, odd input, the links from the activity page, and a
highlight offered as enduring material taken all the way to a certificate that says "enduring material"."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from cme.activities import service as activities
from cme.activities.models import Activity, ActivityStatus
from cme.attendance import service as attendance
from cme.certificates.service import current_certificate
from cme.credit import evaluation
from cme.library.abstracts.service import AbstractFields, AuthorEntry, activity_abstracts, create_abstract
from cme.library.highlights import service
from cme.library.highlights.models import Highlight
from cme.library.highlights.service import HighlightData, HighlightError
from cme.timeutil import now_utc, utc_to_local

NOW = now_utc().replace(microsecond=0)
BODY = """## Refer earlier

Referral at **MELD 15**, not after the first bleed.

- Review every new medicine
- Recheck tacrolimus within a week
"""


def data(title="Transplant day highlights", **changes) -> HighlightData:
    values = dict(title=title, body=BODY, publication_date=service.library_today(),
                  reviewed_on=service.library_today(), is_published=True, abstract_ids=())
    values.update(changes)
    return HighlightData(**values)


def abstract(activity, title, published=True):
    return create_abstract(activity, AbstractFields(
        title=title, authors=[AuthorEntry("Nadia Osei", "Cascade Center", True)], background="B.", methods="M.",
        results="R.", conclusions="C.", presentation_type="oral", is_published=published))


@pytest.fixture
def owner(make_user):
    return make_user("org@example.org", role="organizer", full_name="Olga Organizer")


@pytest.fixture
def past(db, owner, make_activity):
    """A published meeting of org@example.org that ended a month ago, with two abstracts (one published)."""
    start = NOW - timedelta(days=30)
    activity = make_activity(organizers=[owner], title="Liver Transplant Care Team Update", start_dt=start,
                             end_dt=start + timedelta(hours=6), specialty="Transplant hepatology",
                             topics="liver transplantation", accreditation_kind="joint_accreditation")
    abstract(activity, "Time from MELD 15 to referral")
    abstract(activity, "Tacrolimus variability", published=False)
    db.session.commit()
    return activity


def ids(activity):
    return {a.title: a.id for a in activity_abstracts(activity)}


# ---------------------------------------------------------------- the service

def test_an_organizer_writes_highlights_of_a_past_activity_linking_its_abstracts(db, past):
    linked = ids(past)
    highlight = service.create_highlight(past, data(abstract_ids=tuple(linked.values())))
    db.session.commit()
    assert highlight.activity is past and [a.title for a in highlight.abstracts] == sorted(linked)
    assert [a.title for a in highlight.public_abstracts] == ["Time from MELD 15 to referral"]
    text = highlight.search_text
    assert "Transplant day highlights" in text and "Referral at MELD 15, not after the first bleed." in text
    assert "**" not in text and "<" not in text and "Tacrolimus variability" in text
    assert highlight.is_public_on(service.library_today())


def test_highlights_wait_for_the_end_and_a_cancelled_activity_has_none(db, owner, make_activity):
    upcoming = make_activity(organizers=[owner], start_dt=NOW + timedelta(days=3))
    with pytest.raises(HighlightError) as refused:
        service.create_highlight(upcoming, data())
    assert refused.value.code == "not_ended"
    cancelled = make_activity(organizers=[owner], status="cancelled", start_dt=NOW - timedelta(days=9))
    with pytest.raises(HighlightError) as refused:
        service.create_highlight(cancelled, data())
    assert refused.value.code == "cancelled"


@pytest.mark.parametrize("changes, code", [
    ({"title": "  \n "}, "title_missing"),
    ({"title": "x" * 301}, "title_too_long"),
    ({"body": "\x00 \n"}, "body_missing"),
    ({"body": "x" * 50_001}, "body_too_long"),
    ({"publication_date": None}, "publication_date_missing"),
    ({"reviewed_on": NOW.date().replace(year=1999)}, "reviewed_on_out_of_range"),
    ({"reviewed_on": NOW.date() + timedelta(days=3)}, "reviewed_in_future"),
])
def test_the_rules_of_a_highlight_name_their_field(db, past, changes, code):
    with pytest.raises(HighlightError) as refused:
        service.create_highlight(past, data(**changes))
    assert refused.value.code == code and refused.value.field


def test_only_the_activitys_own_abstracts_may_be_linked(db, owner, past, make_activity):
    other = make_activity(organizers=[owner], title="Other", start_dt=NOW - timedelta(days=50))
    foreign = abstract(other, "Someone else's poster")
    with pytest.raises(HighlightError) as refused:
        service.create_highlight(past, data(abstract_ids=(foreign.id,)))
    assert refused.value.code == "abstract_unknown" and refused.value.field == "abstract_ids"
    with pytest.raises(HighlightError):
        service.create_highlight(past, data(abstract_ids=(2_000_000_000,)))


# ---------------------------------------------------------------- public pages

def test_the_public_list_is_newest_first_and_hides_drafts_scheduled_and_unpublished_activities(
        client, db, owner, past, make_activity):
    today = service.library_today()
    older = service.create_highlight(past, data("Older", publication_date=today - timedelta(days=20)))
    newer = service.create_highlight(past, data("Newer", publication_date=today - timedelta(days=2)))
    draft = service.create_highlight(past, data("Draft one", is_published=False))
    scheduled = service.create_highlight(past, data("Scheduled one", publication_date=today + timedelta(days=5)))
    hidden_activity = make_activity(organizers=[owner], status="draft", start_dt=NOW - timedelta(days=40))
    of_draft_activity = service.create_highlight(hidden_activity, data("Of a draft activity"))
    db.session.commit()
    page = client.get("/library/highlights").get_data(as_text=True)
    assert page.index("Newer") < page.index("Older")
    for title in ("Draft one", "Scheduled one", "Of a draft activity"):
        assert title not in page
    assert client.get(f"/library/highlights/{newer.id}-{newer.slug}").status_code == 200
    assert client.get(f"/library/highlights/{older.id}").status_code == 200
    for hidden in (draft, scheduled, of_draft_activity):
        assert client.get(f"/library/highlights/{hidden.id}").status_code == 404
    assert client.get("/library/highlights/2000000000").status_code == 404


def test_a_highlight_page_shows_its_text_dates_and_public_abstracts(client, db, past):
    linked = ids(past)
    highlight = service.create_highlight(past, data(abstract_ids=tuple(linked.values()),
                                                    reviewed_on=service.library_today() - timedelta(days=1)))
    db.session.commit()
    page = client.get(f"/library/highlights/{highlight.id}").get_data(as_text=True)
    assert "<h2>Refer earlier</h2>" in page and "<strong>MELD 15</strong>" in page
    assert "Last reviewed" in page and "Liver Transplant Care Team Update" in page
    assert "Time from MELD 15 to referral" in page and "Tacrolimus variability" not in page  # not published


def test_the_past_activitys_page_links_to_its_public_highlights(client, db, past):
    shown = service.create_highlight(past, data("Shown highlights"))
    service.create_highlight(past, data("Draft highlights", is_published=False))
    db.session.commit()
    page = client.get(f"/activities/{past.id}").get_data(as_text=True)
    assert f"/library/highlights/{shown.id}" in page and "Shown highlights" in page
    assert "Draft highlights" not in page


def test_script_in_the_body_comes_out_harmless(client, db, past):
    body = ("Hello <script>alert('x')</script> <img src=x onerror=alert(1)> [click](javascript:alert(1)) "
            "<a href=\"https://example.org\" onclick=\"steal()\">site</a> <style>body{display:none}</style>")
    highlight = service.create_highlight(past, data(body=body, title="<b>Bold</b> title"))
    db.session.commit()
    page = client.get(f"/library/highlights/{highlight.id}").get_data(as_text=True)
    article = page[page.index("<article"):page.index("</article>")]
    for dangerous in ("<script", "alert('x')", "onerror", "onclick", 'href="javascript:', "<img", "<style",
                      "display:none"):
        assert dangerous not in article
    assert "[click](javascript:alert(1))" in article  # a link with a javascript: address stays inert text
    assert "&lt;b&gt;Bold&lt;/b&gt; title" in page and 'href="https://example.org"' in article


# ---------------------------------------------------------------- the organizer's pages

def test_the_organizer_writes_previews_edits_and_deletes_through_the_pages(client, db, auth, past):
    auth.login("org@example.org")
    linked = ids(past)
    form = {"title": "Transplant day", "body": "First **point**.", "publication_date": service.library_today().isoformat(),
            "reviewed_on": service.library_today().isoformat(), "abstract_ids": [str(linked["Time from MELD 15 to referral"])]}
    preview = client.post(f"/organize/activities/{past.id}/highlights/new", data={**form, "preview": "Preview"})
    assert preview.status_code == 200 and "<strong>point</strong>" in preview.get_data(as_text=True)
    assert db.session.scalar(select(Highlight)) is None
    saved = client.post(f"/organize/activities/{past.id}/highlights/new", data={**form, "save": "Save"})
    assert saved.status_code == 302
    highlight = db.session.scalar(select(Highlight))
    assert not highlight.is_published and [a.title for a in highlight.abstracts] == ["Time from MELD 15 to referral"]
    # A draft: its organizers read it with a banner; the public gets a 404.
    assert "Draft: only organizers" in client.get(f"/library/highlights/{highlight.id}").get_data(as_text=True)
    edit = client.get(f"/organize/activities/{past.id}/highlights/{highlight.id}/edit").get_data(as_text=True)
    assert "Transplant day" in edit and "checked" in edit
    client.post(f"/organize/activities/{past.id}/highlights/{highlight.id}/edit",
                data={**form, "title": "Transplant day, revised", "is_published": "y", "abstract_ids": [],
                      "save": "Save"})
    db.session.refresh(highlight)
    assert highlight.title == "Transplant day, revised" and highlight.is_published and highlight.abstracts == []
    listing = client.get(f"/organize/activities/{past.id}/highlights").get_data(as_text=True)
    assert "Offer as enduring material with credit" in listing
    auth.logout()
    assert client.get(f"/library/highlights/{highlight.id}").status_code == 200
    auth.login("org@example.org")
    assert client.post(f"/organize/activities/{past.id}/highlights/{highlight.id}/delete").status_code == 302
    assert db.session.scalar(select(Highlight)) is None


def test_another_organizer_gets_404_everywhere(client, db, auth, make_user, past):
    make_user("other@example.org", role="organizer")
    mine = service.create_highlight(past, data(is_published=False))
    db.session.commit()
    auth.login("other@example.org")
    base = f"/organize/activities/{past.id}/highlights"
    for url in (base, f"{base}/new", f"{base}/{mine.id}/edit", f"{base}/{mine.id}/enduring"):
        assert client.get(url).status_code == 404, url
    for url in (f"{base}/new", f"{base}/{mine.id}/edit", f"{base}/{mine.id}/delete", f"{base}/{mine.id}/enduring"):
        assert client.post(url, data={"title": "x", "body": "y"}).status_code == 404, url
    assert client.get(f"/library/highlights/{mine.id}").status_code == 404  # a draft of someone else's activity
    assert db.session.get(Highlight, mine.id).title == "Transplant day highlights"


def test_a_highlight_of_another_activity_is_404_under_this_one(client, db, auth, owner, past, make_activity):
    other = make_activity(organizers=[owner], title="Other", start_dt=NOW - timedelta(days=50))
    theirs = service.create_highlight(other, data())
    db.session.commit()
    auth.login("org@example.org")
    assert client.get(f"/organize/activities/{past.id}/highlights/{theirs.id}/edit").status_code == 404
    assert client.post(f"/organize/activities/{past.id}/highlights/{theirs.id}/delete").status_code == 404


def test_a_provider_may_not_use_the_organizer_pages(client, db, auth, make_user, past):
    make_user("ada@example.org")
    auth.login("ada@example.org")
    assert client.get(f"/organize/activities/{past.id}/highlights").status_code in (403, 404)


@pytest.mark.parametrize("changes", [
    {"title": "Nul\x00 byte", "body": "Body\x00 text"},
    {"title": "x" * 5000},
    {"body": "x" * 60_000},
    {"publication_date": "2024-02-30"},
    {"publication_date": "99999-01-01"},
    {"reviewed_on": "1800-01-01"},
    {"abstract_ids": ["2000000000"]},
    {"abstract_ids": ["not-a-number"]},
    {"title": "Two\r\nlines"},
])
def test_odd_input_is_a_field_error_never_a_500(client, db, auth, past, changes):
    auth.login("org@example.org")
    form = {"title": "T", "body": "B", "publication_date": service.library_today().isoformat(),
            "reviewed_on": service.library_today().isoformat(), "save": "Save", **changes}
    response = client.post(f"/organize/activities/{past.id}/highlights/new", data=form)
    assert response.status_code in (302, 422)
    if response.status_code == 302:  # what was saved is on one line, without NUL bytes
        saved = db.session.scalar(select(Highlight))
        assert "\x00" not in saved.title + saved.body and "\n" not in saved.title


def test_an_activity_that_has_not_ended_offers_no_form(client, db, auth, owner, make_activity):
    upcoming = make_activity(organizers=[owner], start_dt=NOW + timedelta(days=3))
    auth.login("org@example.org")
    page = client.get(f"/organize/activities/{upcoming.id}/highlights/new").get_data(as_text=True)
    assert "once the activity has ended" in page and "<textarea" not in page
    refused = client.post(f"/organize/activities/{upcoming.id}/highlights/new",
                          data={"title": "T", "body": "B", "publication_date": service.library_today().isoformat(),
                                "reviewed_on": service.library_today().isoformat(), "save": "Save"})
    assert refused.status_code == 422 and db.session.scalar(select(Highlight)) is None


# ---------------------------------------------------------------- enduring material with credit

def test_offering_refuses_a_draft_a_second_offer_and_bad_dates(db, owner, past):
    draft = service.create_highlight(past, data(is_published=False))
    local_today = utc_to_local(NOW, past.time_zone).date()
    with pytest.raises(HighlightError) as refused:
        service.offer_as_enduring(draft, owner, release_on=local_today, available_until=local_today)
    assert refused.value.code == "not_published"
    highlight = service.create_highlight(past, data())
    for release, until, code in [(local_today - timedelta(days=1), local_today, "release_in_past"),
                                 (local_today, local_today - timedelta(days=1), "until_before_release"),
                                 (local_today, local_today + timedelta(days=4 * 365), "offer_too_long"),
                                 (None, local_today, "release_on_missing")]:
        with pytest.raises(HighlightError) as refused:
            service.offer_as_enduring(highlight, owner, release_on=release, available_until=until)
        assert refused.value.code == code
    service.offer_as_enduring(highlight, owner, release_on=local_today, available_until=local_today)
    with pytest.raises(HighlightError) as refused:
        service.offer_as_enduring(highlight, owner, release_on=local_today, available_until=local_today)
    assert refused.value.code == "already_offered"


def evaluate(client, activity):
    questions = evaluation.evaluation_questions(activity)
    return client.post(f"/activities/{activity.id}/evaluation",
                       data={q.key: (q.choices[0] if q.choices else "Clear and useful") for q in questions})


def test_a_highlight_offered_as_enduring_material_runs_to_a_certificate(client, db, auth, make_user, register, past):
    highlight = service.create_highlight(past, data(abstract_ids=tuple(ids(past).values())))
    db.session.commit()
    auth.login("org@example.org")
    release = utc_to_local(NOW, past.time_zone).date()
    offered = client.post(f"/organize/activities/{past.id}/highlights/{highlight.id}/enduring",
                          data={"release_on": release.isoformat(),
                                "available_until": (release + timedelta(days=365)).isoformat()})
    assert offered.status_code == 302
    db.session.refresh(highlight)
    enduring = highlight.enduring_activity
    assert offered.location.endswith(f"/organize/activities/{enduring.id}")
    assert enduring.is_on_demand and enduring.status == ActivityStatus.DRAFT and enduring.title == highlight.title
    assert "Referral at MELD 15, not after the first bleed." in enduring.description
    assert "**" not in enduring.description and "\n\n" in enduring.description
    assert enduring.accreditation_kind == "joint_accreditation" and enduring.specialty == "Transplant hepatology"
    assert [o.email for o in enduring.organizers] == ["org@example.org"]
    assert service.highlight_offered_by(enduring) is highlight
    # A second offer goes to the one made.
    again = client.post(f"/organize/activities/{past.id}/highlights/{highlight.id}/enduring",
                        data={"release_on": release.isoformat(), "available_until": release.isoformat()})
    assert again.location.endswith(f"/organize/activities/{enduring.id}")
    assert db.session.scalar(select(Activity).where(Activity.title == highlight.title).offset(1)) is None

    # Publishing follows the rules of every activity: no designation, nobody who controls content.
    client.post(f"/organize/activities/{enduring.id}/publish")
    db.session.refresh(enduring)
    assert enduring.status == ActivityStatus.DRAFT
    assert {"Add at least one credit designation.", "Add the people who control content (faculty, planners, "
            "reviewers) with their disclosures."} <= set(activities.publication_problems(enduring))
    client.post(f"/organize/activities/{enduring.id}/designations", data={"credit_type": "ama_pra_1",
                                                                          "max_amount": "0.5"})
    client.post(f"/organize/activities/{enduring.id}/faculty", data={
        "full_name": "Olga Organizer", "degree": "MD", "affiliation": "Cascade Center", "role": "planner",
        "disclosure_received": "y"})
    db.session.refresh(enduring)
    assert activities.publication_problems(enduring) == []
    assert client.post(f"/organize/activities/{enduring.id}/publish").status_code == 302
    db.session.refresh(enduring)
    assert enduring.status == ActivityStatus.PUBLISHED
    # Linked both ways, on the public pages.
    auth.logout()
    activity_page = client.get(f"/activities/{enduring.id}").get_data(as_text=True)
    assert f"/library/highlights/{highlight.id}" in activity_page
    assert "designates this enduring material" in activity_page
    highlight_page = client.get(f"/library/highlights/{highlight.id}").get_data(as_text=True)
    assert f"/activities/{enduring.id}" in highlight_page and "Earn credit for these highlights" in highlight_page

    # A learner registers, reads on the watch page (which counts the time), evaluates, claims.
    learner = make_user("ada@example.org", full_name="Ada Lovelace", degree="MD")
    register(learner, enduring)
    auth.login("ada@example.org")
    watch = client.get(f"/activities/{enduring.id}/watch").get_data(as_text=True)
    assert "Read here" in watch and "<h2>Refer earlier</h2>" in watch and "<iframe" not in watch
    for minute in range(31):
        attendance.heartbeat(learner, enduring, now=NOW + timedelta(minutes=minute))
    db.session.commit()
    assert evaluate(client, enduring).status_code == 302
    claimed = client.post(f"/activities/{enduring.id}/claim", data={"ama_pra_1": "0.5", "attest": "y"})
    assert claimed.status_code == 302
    certificate = current_certificate(learner, enduring)
    assert certificate is not None
    [line] = certificate.snapshot["credits"]
    assert Decimal(str(line["amount"])) == Decimal("0.5") and "enduring material" in line["statement"]
    pdf = client.get(f"/my/certificates/{certificate.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


# ---------------------------------------------------------------- key slides

def test_key_slides_are_the_activitys_materials_shown_as_thumbnails_to_who_may_open_them(
        client, db, auth, past, make_activity, owner):
    import io

    from cme.library.materials import service as materials
    from tests.helpers import make_pdf

    deck = make_pdf(["Refer at MELD 15", "Tacrolimus troughs"], title="Transplant")

    def slides(activity, title, rule):
        return materials.add_material(activity, materials.Details(title, None, None, rule), stream=io.BytesIO(deck),
                                      filename="deck.pdf")

    public, for_registrants = slides(past, "Referral timing", "public"), slides(past, "Tacrolimus", "registrants")
    hidden = slides(past, "Planning notes", "organizers")
    elsewhere = slides(make_activity(organizers=[owner], title="Other meeting"), "Elsewhere", "public")
    db.session.commit()
    with pytest.raises(HighlightError) as refused:
        service.create_highlight(past, data(material_ids=(public.id, elsewhere.id)))
    assert refused.value.code == "material_unknown" and refused.value.field == "material_ids"
    db.session.rollback()

    auth.login("org@example.org")
    form = client.get(f"/organize/activities/{past.id}/highlights/new").get_data(as_text=True)
    assert "Key slides" in form and "Referral timing" in form and "Elsewhere" not in form
    fields = {"title": "Transplant day", "body": "First point.", "publication_date": service.library_today().isoformat(),
              "reviewed_on": service.library_today().isoformat(), "is_published": "y", "save": "Save",
              "material_ids": [str(public.id), str(for_registrants.id), str(hidden.id)]}
    assert client.post(f"/organize/activities/{past.id}/highlights/new", data=fields).status_code == 302
    highlight = db.session.scalar(select(Highlight))
    assert [m.title for m in highlight.key_slides] == ["Referral timing", "Tacrolimus", "Planning notes"]
    assert "checked" in client.get(f"/organize/activities/{past.id}/highlights/{highlight.id}/edit").get_data(
        as_text=True)
    auth.logout()
    page = client.get(f"/library/highlights/{highlight.id}").get_data(as_text=True)
    assert "Key slides" in page and f"/library/materials/{public.id}/thumbnail.png" in page
    assert "Tacrolimus" in page and f"/library/materials/{for_registrants.id}/" not in page  # listed, locked
    assert "Planning notes" not in page
    materials.delete_material(public)
    db.session.commit()
    db.session.refresh(highlight)
    assert [m.title for m in highlight.key_slides] == ["Tacrolimus", "Planning notes"]
