"""News (issue 15, point 7): the article rules (service), who reads what (public, drafts and scheduled articles),
who writes (organizers and admins; providers are refused), the forms with odd input, and the Atom feed read back
with feedparser and an XML parser."""
from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

import feedparser
import pytest
from sqlalchemy import func, select

from cme.library.news import service
from cme.library.news.feed import news_feed_export
from cme.library.news.models import NewsArticle, NewsArticleTopic, public_on
from cme.library.news.service import ArticleData, NewsError, news_today
from cme.library.topics import BY_SLUG

ATOM = "{http://www.w3.org/2005/Atom}"


def data(**overrides) -> ArticleData:
    values = dict(title="HER2 raises CXCR4 to steer breast cancer metastasis", source="Cancer Cell",
                  summary="HER2 signalling increased CXCR4.", body="CXCR4 was **required** for invasion.",
                  publication_date=news_today() - timedelta(days=3), is_published=True,
                  reviewed_on=news_today() - timedelta(days=1), topics=("liver-cancer",),
                  citation_journal="Cancer Cell", citation_year=2004, citation_volume="6", citation_issue="5",
                  citation_pages="459-469", doi="", pmid="")
    values.update(overrides)
    return ArticleData(**values)


@pytest.fixture
def make_article(db) -> Callable[..., NewsArticle]:
    """make_article(**fields): through the service, committed."""

    def make(**overrides) -> NewsArticle:
        article = service.create_article(data(**overrides))
        db.session.commit()
        return article

    return make


def form_data(**overrides) -> dict:
    values = {"title": "Resmetirom in MASH", "source": "N Engl J Med", "summary": "Fibrosis improved.",
              "body": "# Results\n\n| a | b |\n|---|---|\n| 1 | 2 |", "topics": ["masld"],
              "citation_journal": "N Engl J Med", "citation_year": "2024", "citation_volume": "390",
              "citation_issue": "6", "citation_pages": "497-509", "doi": "doi:10.1056/NEJMoa2309000",
              "pmid": "PMID: 38324483", "publication_date": news_today().isoformat(), "is_published": "y",
              "reviewed_on": news_today().isoformat(), "save": "Save"}
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


# ---------------------------------------------------------------- the rules (service)

def test_an_article_is_public_once_published_and_its_date_has_come(db, make_article):
    today = news_today()
    draft = make_article(title="Draft", is_published=False)
    scheduled = make_article(title="Scheduled", publication_date=today + timedelta(days=1))
    due_today = make_article(title="Today", publication_date=today)
    states = {a.title: a.state_on(today) for a in (draft, scheduled, due_today)}
    assert states == {"Draft": "draft", "Scheduled": "scheduled", "Today": "published"}
    # The SQL rule and the Python rule agree, today and the day the scheduled one comes out.
    for day in (today, today + timedelta(days=1)):
        in_sql = set(db.session.scalars(select(NewsArticle.title).where(public_on(day))))
        assert in_sql == {a.title for a in (draft, scheduled, due_today) if a.is_public_on(day)}
    assert service.public_article(scheduled.id, today=today) is None
    assert service.public_article(scheduled.id, today=today + timedelta(days=1)) is scheduled


def test_the_public_list_is_newest_first_and_by_topic(db, make_article):
    today = news_today()
    older = make_article(title="Older", publication_date=today - timedelta(days=30), topics=("hepatitis-c",))
    newer = make_article(title="Newer", publication_date=today - timedelta(days=2),
                         topics=("masld", "hepatitis-c"))
    same_day = make_article(title="Same day, later", publication_date=today - timedelta(days=2), topics=("masld",))
    make_article(title="Hidden", is_published=False, topics=("masld",))
    everything = db.session.scalars(service.public_articles(today=today)).all()
    assert [a.title for a in everything] == [same_day.title, newer.title, older.title]
    assert [a.title for a in db.session.scalars(service.public_articles("hepatitis-c", today=today))] == [
        newer.title, older.title]
    assert [a.title for a in db.session.scalars(service.public_articles("transplantation", today=today))] == []


@pytest.mark.parametrize("topics, code", [((), "topics_missing"), (("masld", "not-a-topic"), "topic_unknown")])
def test_topics_come_from_the_topic_list_and_at_least_one(db, topics, code):
    with pytest.raises(NewsError) as refused:
        service.create_article(data(topics=topics))
    assert refused.value.code == code and refused.value.field == "topics"


def test_topics_are_kept_once_each_in_the_lists_order_and_replaced_on_edit(db, make_article):
    article = make_article(topics=("substance-use-disorder", "hepatitis-c", "hepatitis-c"))
    assert [t.slug for t in article.topics] == ["hepatitis-c", "substance-use-disorder"]
    service.update_article(article, data(topics=("masld",)))
    db.session.commit()
    assert db.session.scalars(select(NewsArticleTopic.topic).where(
        NewsArticleTopic.article_id == article.id)).all() == ["masld"]


@pytest.mark.parametrize("typed, stored", [
    ("10.1056/NEJMoa2309000", "10.1056/NEJMoa2309000"),
    ("doi:10.1016/j.jhep.2023.06.003", "10.1016/j.jhep.2023.06.003"),
    ("DOI: 10.1002/hep.31042", "10.1002/hep.31042"),
    ("https://doi.org/10.1056/NEJMoa1512610", "10.1056/NEJMoa1512610"),
    ("http://dx.doi.org/10.1000/182", "10.1000/182"),
    ("10.1002/(SICI)1097-4636(199707)36:1<1::AID-JBM1>3.0.CO;2-T", "10.1002/(SICI)1097-4636(199707)36:1<1::AID-JBM1>3.0.CO;2-T"),
    ("", None),
])
def test_a_doi_is_stored_bare_whatever_way_it_was_typed(db, typed, stored):
    assert service.create_article(data(doi=typed)).doi == stored


@pytest.mark.parametrize("typed", ["10.1056", "11.1056/x", "10.12/abc", "NEJMoa2309000", "10.1056/with space",
                                   "javascript:alert(1)", "10.1056/" + "x" * 300])
def test_what_is_not_a_doi_is_refused(db, typed):
    with pytest.raises(NewsError) as refused:
        service.create_article(data(doi=typed))
    assert (refused.value.code, refused.value.field) == ("doi_invalid", "doi")


@pytest.mark.parametrize("typed, stored", [("38324483", "38324483"), ("PMID: 37364790", "37364790"),
                                           ("pmid37364790", "37364790"), (" ", None)])
def test_a_pubmed_id_is_stored_as_its_digits(db, typed, stored):
    assert service.create_article(data(pmid=typed)).pmid == stored


@pytest.mark.parametrize("typed", ["0123", "12a", "-5", "1234567890", "3.14", "٣٨٣٢٤٤٨٣"])
def test_what_is_not_a_pubmed_id_is_refused(db, typed):
    with pytest.raises(NewsError) as refused:
        service.create_article(data(pmid=typed))
    assert (refused.value.code, refused.value.field) == ("pmid_invalid", "pmid")


@pytest.mark.parametrize("parts, reference", [
    ({}, "Cancer Cell. 2004;6(5):459-469."),
    ({"citation_issue": ""}, "Cancer Cell. 2004;6:459-469."),
    ({"citation_volume": "", "citation_issue": ""}, "Cancer Cell. 2004:459-469."),
    ({"citation_volume": "", "citation_pages": ""}, "Cancer Cell. 2004;(5)."),
    ({"citation_pages": "", "citation_issue": "", "citation_volume": ""}, "Cancer Cell. 2004."),
    ({"citation_journal": "N Engl J Med.", "citation_year": 2024, "citation_volume": "390", "citation_issue": "6",
      "citation_pages": "497-509"}, "N Engl J Med. 2024;390(6):497-509."),
])
def test_the_citation_reads_as_ama_style(db, parts, reference):
    assert service.create_article(data(**parts)).citation_reference == reference


def test_the_citation_links_to_doi_org_and_pubmed(db):
    article = service.create_article(data(doi="10.1056/NEJMoa2309000", pmid="38324483"))
    assert article.doi_url == "https://doi.org/10.1056/NEJMoa2309000"
    assert article.pubmed_url == "https://pubmed.ncbi.nlm.nih.gov/38324483/"
    assert article.citation_text == "Cancer Cell. 2004;6(5):459-469. doi:10.1056/NEJMoa2309000 PMID: 38324483"
    odd = service.create_article(data(doi="10.1002/(SICI)1097-4636(199707)36:1<1::AID-JBM1>3.0.CO;2-T"))
    assert odd.doi_url == "https://doi.org/10.1002/(SICI)1097-4636(199707)36:1%3C1::AID-JBM1%3E3.0.CO;2-T"


@pytest.mark.parametrize("parts, field", [
    ({"citation_year": None}, "citation_year"),
    ({"citation_journal": ""}, "citation_journal"),
    ({"citation_journal": "", "citation_year": None}, "citation_journal"),  # volume, issue and pages need a journal
    ({"citation_year": 1799}, "citation_year"),
    ({"citation_year": date.today().year + 2}, "citation_year"),
])
def test_the_citations_parts_go_together(db, parts, field):
    with pytest.raises(NewsError) as refused:
        service.create_article(data(**parts))
    assert refused.value.field == field


def test_news_without_a_study_has_no_citation(db):
    article = service.create_article(data(citation_journal="", citation_year=None, citation_volume="",
                                          citation_issue="", citation_pages=""))
    assert not article.has_citation and article.citation_reference == "" and article.citation_text == ""


@pytest.mark.parametrize("parts, field", [
    ({"reviewed_on": "tomorrow"}, "reviewed_on"),
    ({"reviewed_on": date(1999, 12, 31)}, "reviewed_on"),
    ({"publication_date": date(1, 1, 1)}, "publication_date"),
    ({"publication_date": date(9999, 12, 31)}, "publication_date"),
    ({"title": "  "}, "title"),
    ({"body": ""}, "body"),
    ({"summary": "x" * 1001}, "summary"),
])
def test_dates_and_texts_are_checked_whoever_calls(db, parts, field):
    # "tomorrow" is worked out when the test runs, not when it is collected: a run that crosses midnight
    # would otherwise ask for today's date and expect a refusal.
    parts = {key: news_today() + timedelta(days=1) if value == "tomorrow" else value for key, value in parts.items()}
    with pytest.raises(NewsError) as refused:
        service.create_article(data(**parts))
    assert refused.value.field == field


def test_an_edit_bumps_the_update_time_and_deleting_takes_the_topics_along(db, make_article):
    start = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    article = service.create_article(data(publication_date=date(2026, 2, 27), reviewed_on=date(2026, 2, 28)),
                                     now=start)
    db.session.commit()
    service.update_article(article, data(title="Edited", publication_date=date(2026, 2, 27),
                                         reviewed_on=date(2026, 3, 1)), now=start + timedelta(hours=2))
    db.session.commit()
    assert (article.title, article.updated_dt, article.created_dt) == ("Edited", start + timedelta(hours=2), start)
    service.delete_article(article)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(NewsArticleTopic)) == 0


def test_the_search_text_holds_title_source_summary_body_words_citation_and_topics(db):
    article = service.create_article(data(body="# Results\n\nCXCR4 was **required** for [invasion](https://x.org)."
                                               "\n\n<script>hidden()</script>", doi="10.1016/j.ccr.2004.09.027"))
    text = article.search_text
    for expected in ("HER2 raises CXCR4", "Cancer Cell", "HER2 signalling increased CXCR4.",
                     "Results CXCR4 was required for invasion.", "Cancer Cell. 2004;6(5):459-469.",
                     "doi:10.1016/j.ccr.2004.09.027", "Liver cancer"):
        assert expected in text
    assert "**" not in text and "<" not in text and "hidden" not in text


def test_every_topic_an_article_may_carry_is_a_topic_page_slug():
    assert set(BY_SLUG) >= {"hepatitis-c", "masld", "liver-cancer", "substance-use-disorder"}


# ---------------------------------------------------------------- public pages

def test_the_news_page_lists_only_what_is_public_newest_first(client, make_article):
    today = news_today()
    make_article(title="Older study", publication_date=today - timedelta(days=10))
    make_article(title="Newer study", publication_date=today - timedelta(days=1))
    make_article(title="Secret draft", is_published=False)
    make_article(title="Coming next week", publication_date=today + timedelta(days=7))
    page = client.get("/library/news").get_data(as_text=True)
    assert page.index("Newer study") < page.index("Older study")
    assert "Secret draft" not in page and "Coming next week" not in page
    assert 'type="application/atom+xml"' in page and "/library/news.atom" in page


def test_the_news_page_filters_by_topic_and_an_unknown_topic_is_not_found(client, make_article):
    make_article(title="About hepatitis C", topics=("hepatitis-c",))
    make_article(title="About MASLD", topics=("masld",))
    page = client.get("/library/news?topic=masld").get_data(as_text=True)
    assert "About MASLD" in page and "About hepatitis C" not in page and "News on MASLD and MASH" in page
    assert '<a href="/library/news?topic=masld" aria-current="page">' in page
    assert client.get("/library/news?topic=nonsense").status_code == 404
    assert client.get("/library/news?topic=%00").status_code == 404


def test_the_news_page_is_paginated(client, make_article):
    today = news_today()
    for n in range(12):
        make_article(title=f"Study number {n:02d}", publication_date=today - timedelta(days=n))
    first = client.get("/library/news").get_data(as_text=True)
    second = client.get("/library/news?page=2").get_data(as_text=True)
    assert first.count("Study number") == 10 and second.count("Study number") == 2
    assert "Study number 00" in first and "Study number 11" in second and "Page 1 of 2" in first
    assert client.get("/library/news?page=99999999999").status_code == 200


def test_an_article_page_shows_the_citation_links_and_the_last_review(client, make_article):
    article = make_article(body="## Findings\n\n| Arm | SVR12 |\n|---|---|\n| Active | 99% |",
                           doi="10.1016/j.ccr.2004.09.027", pmid="15542430",
                           reviewed_on=news_today() - timedelta(days=5))
    response = client.get(f"/library/news/{article.id}-{article.slug}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r"Cancer Cell\. 2004;6\(5\):459-469\.\s*<a href=\"https://doi\.org/10\.1016/j\.ccr\.2004\.09\.027\">"
                     r"doi:10\.1016/j\.ccr\.2004\.09\.027</a>", page)
    assert '<a href="https://pubmed.ncbi.nlm.nih.gov/15542430/">PMID: 15542430</a>' in page
    assert f'Last reviewed <time datetime="{article.reviewed_on.isoformat()}">' \
           f'{article.reviewed_on.strftime("%B %-d, %Y")}</time>' in page
    assert "<h2>Findings</h2>" in page and '<td data-label="SVR12">99%</td>' in page
    # Any slug (or none) finds it: titles change.
    assert client.get(f"/library/news/{article.id}").status_code == 200
    assert client.get(f"/library/news/{article.id}-an-old-title").status_code == 200


@pytest.mark.parametrize("who", [None, "provider"])
def test_drafts_and_scheduled_articles_are_not_found_by_the_public(client, make_article, make_user, auth, who):
    if who:
        make_user("reader@example.org")
        auth.login("reader@example.org")
    draft = make_article(is_published=False)
    scheduled = make_article(publication_date=news_today() + timedelta(days=2))
    for article in (draft, scheduled):
        assert client.get(f"/library/news/{article.id}").status_code == 404
        assert client.get(f"/library/news/{article.id}-{article.slug}").status_code == 404
    assert client.get("/library/news/2147483647").status_code == 404
    assert client.get("/library/news/2147483648").status_code == 404


def test_organizers_read_drafts_and_scheduled_articles_with_a_notice(client, organizer, make_article):
    draft = make_article(is_published=False)
    scheduled = make_article(publication_date=news_today() + timedelta(days=2))
    assert "Draft: only organizers see this article" in client.get(f"/library/news/{draft.id}").get_data(as_text=True)
    page = client.get(f"/library/news/{scheduled.id}").get_data(as_text=True)
    assert f"Scheduled: public on {scheduled.publication_date.strftime('%B %-d, %Y')}" in page
    assert f'href="/organize/news/{scheduled.id}/edit"' in page


def test_the_news_is_reached_from_the_headers_library_link(client):
    assert re.search(r'<a href="/library"\s*>Library</a>', client.get("/").get_data(as_text=True))
    assert '<a href="/library/news">News</a>' in client.get("/library").get_data(as_text=True)
    assert 'href="/library" aria-current="page">Library' in client.get("/library/news").get_data(as_text=True)


# ---------------------------------------------------------------- who writes

def test_a_provider_cannot_reach_or_change_the_news_pages(client, provider, make_article, db):
    article = make_article(title="Untouched")
    for url in ("/organize/news", "/organize/news/new", f"/organize/news/{article.id}/edit"):
        assert client.get(url).status_code == 403
    assert client.post("/organize/news/new", data=form_data()).status_code == 403
    assert client.post(f"/organize/news/{article.id}/edit", data=form_data(title="Changed")).status_code == 403
    assert client.post(f"/organize/news/{article.id}/delete").status_code == 403
    db.session.expire_all()
    assert db.session.scalars(select(NewsArticle.title)).all() == ["Untouched"]


def test_a_visitor_is_sent_to_log_in(client):
    response = client.get("/organize/news")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_an_organizer_writes_an_article_through_the_form(client, organizer, db):
    response = client.post("/organize/news/new", data=form_data())
    assert response.status_code == 302 and response.headers["Location"].endswith("/organize/news")
    article = db.session.scalar(select(NewsArticle))
    assert (article.title, article.doi, article.pmid, [t.slug for t in article.topics]) == (
        "Resmetirom in MASH", "10.1056/NEJMoa2309000", "38324483", ["masld"])
    assert article.citation_reference == "N Engl J Med. 2024;390(6):497-509."
    listing = client.get("/organize/news").get_data(as_text=True)
    assert "Resmetirom in MASH" in listing and "Published" in listing


def test_an_admin_writes_too(client, make_user, auth, db):
    make_user("boss@example.org", role="admin")
    auth.login("boss@example.org")
    assert client.post("/organize/news/new", data=form_data(is_published=None)).status_code == 302
    assert db.session.scalar(select(NewsArticle.is_published)) is False


def test_a_refused_form_comes_back_with_the_errors_beside_the_fields_and_what_was_typed(client, organizer, db):
    response = client.post("/organize/news/new", data=form_data(doi="not a doi", title="My title <b>kept</b>"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="doi-error"' in page and "Enter a DOI such as" in page
    assert 'value="not a doi"' in page and "My title &lt;b&gt;kept&lt;/b&gt;" in page
    assert 'class="error-summary"' in page
    assert db.session.scalar(select(func.count()).select_from(NewsArticle)) == 0
    missing = client.post("/organize/news/new", data=form_data(title="", topics=None)).get_data(as_text=True)
    assert "Enter the title." in missing and "Choose at least one topic." in missing
    assert 'href="#topics-0"' in missing  # the summary links to the first checkbox


def test_preview_shows_the_sanitised_text_and_saves_nothing(client, organizer, db):
    response = client.post("/organize/news/new", data=form_data(
        save=None, preview="Preview", body="## Seen\n\n<script>alert(1)</script><img src=x onerror=alert(1)>\n\n**bold**"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Preview (not saved)" in page and "<h2>Seen</h2>" in page and "<strong>bold</strong>" in page
    assert "<script>alert" not in page and "onerror" not in page.split("<textarea")[0]
    assert db.session.scalar(select(func.count()).select_from(NewsArticle)) == 0


def test_an_organizer_edits_and_deletes_an_article(client, organizer, make_article, db):
    article = make_article(title="First title", doi="10.1000/182")
    form = client.get(f"/organize/news/{article.id}/edit").get_data(as_text=True)
    assert 'value="First title"' in form and 'value="10.1000/182"' in form
    assert re.findall(r'<input[^>]*checked[^>]*name="topics"[^>]*value="([a-z-]+)"', form) == ["liver-cancer"]
    assert client.post(f"/organize/news/{article.id}/edit", data=form_data(title="Second title")).status_code == 302
    db.session.expire_all()
    assert db.session.get(NewsArticle, article.id).title == "Second title"
    assert client.post(f"/organize/news/{article.id}/delete").status_code == 302
    assert db.session.get(NewsArticle, article.id) is None
    assert client.post(f"/organize/news/{article.id}/delete").status_code == 404
    assert client.get(f"/organize/news/{article.id}/edit").status_code == 404


@pytest.mark.parametrize("field, value", [
    ("title", "Title\x00with NUL"), ("title", "x" * 10_000), ("citation_year", "2147483648"),
    ("citation_year", "1e999999"), ("citation_year", "NaN"), ("publication_date", "0001-01-01"),
    ("publication_date", "9999-12-31"), ("reviewed_on", "-1"), ("topics", "not-a-topic"), ("pmid", "1" * 40),
    ("doi", "10.1056/" + "x" * 400), ("body", "line\r\nbreak\x0b\x1f and zoë名😀"), ("citation_pages", "459\n469"),
])
def test_odd_input_gives_a_field_error_or_a_clean_save_never_a_server_error(client, organizer, db, field, value):
    response = client.post("/organize/news/new", data=form_data(**{field: value}))
    assert response.status_code in (302, 422)
    saved = db.session.scalar(select(NewsArticle))
    if saved is not None:
        assert "\x00" not in saved.title and "\n" not in saved.citation_pages


# ---------------------------------------------------------------- the Atom feed

def _feed(client, url: str = "/library/news.atom"):
    response = client.get(url)
    assert response.status_code == 200
    return response, feedparser.parse(response.data)


def test_the_feed_is_well_formed_atom_with_absolute_links_newest_first(client, make_article, app):
    today = news_today()
    make_article(title="Older", publication_date=today - timedelta(days=9), topics=("hepatitis-c",),
                 doi="10.1056/NEJMoa1512610", body="Cured <script>steal()</script> **99%**")
    newest = make_article(title="Newest & best", publication_date=today - timedelta(days=1),
                          topics=("masld", "hepatitis-c"))
    make_article(title="Draft", is_published=False)
    make_article(title="Scheduled", publication_date=today + timedelta(days=1))
    response, parsed = _feed(client)
    root = ET.fromstring(response.data)  # well-formed XML, or this raises
    assert root.tag == f"{ATOM}feed"
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert parsed.bozo == 0 and parsed.version == "atom10"
    assert [e.title for e in parsed.entries] == ["Newest & best", "Older"]
    base = app.config["CME_BASE_URL"]
    links = [link.href for link in parsed.feed.links] + [link.href for e in parsed.entries for link in e.links]
    assert links and all(href.startswith(f"{base}/") for href in links)
    assert parsed.entries[0].link == f"{base}/library/news/{newest.id}-{newest.slug}"
    assert parsed.entries[0].id == f"urn:uuid:{newest.uuid}" and uuid.UUID(parsed.entries[0].id[9:])
    assert [t.term for t in parsed.entries[0].tags] == ["hepatitis-c", "masld"]
    midnight_in_new_york = datetime.combine(newest.publication_date, datetime.min.time(), tzinfo=ZoneInfo(
        "America/New_York")).astimezone(timezone.utc)
    assert datetime(*parsed.entries[0].published_parsed[:6], tzinfo=timezone.utc) == midnight_in_new_york
    older = parsed.entries[1]
    assert "<strong>99%</strong>" in older.content[0].value and "steal" not in older.content[0].value
    assert 'href="https://doi.org/10.1056/NEJMoa1512610"' in older.content[0].value
    assert older.summary == "HER2 signalling increased CXCR4."
    assert parsed.feed.title == f"{app.config['CME_PROVIDER_NAME']}: news"


def test_the_feed_by_topic_holds_that_topic_only_and_an_unknown_topic_is_not_found(client, make_article, app):
    make_article(title="C", topics=("hepatitis-c",))
    make_article(title="M", topics=("masld",))
    response, parsed = _feed(client, "/library/news.atom?topic=masld")
    assert [e.title for e in parsed.entries] == ["M"]
    self_link = next(link.href for link in parsed.feed.links if link.rel == "self")
    assert self_link == f"{app.config['CME_BASE_URL']}/library/news.atom?topic=masld"
    assert client.get("/library/news.atom?topic=nope").status_code == 404


def test_an_empty_feed_is_still_valid(client):
    response, parsed = _feed(client)
    assert parsed.bozo == 0 and parsed.entries == [] and ET.fromstring(response.data).tag == f"{ATOM}feed"


def test_the_feed_answers_304_until_an_article_changes(client, make_article, db):
    article = make_article(title="Stable")
    first = client.get("/library/news.atom")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "public, max-age=900"
    assert client.get("/library/news.atom", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/library/news.atom", headers={"If-Modified-Since": last_modified}).status_code == 304
    assert client.get("/library/news.atom?topic=masld", headers={"If-None-Match": etag}).status_code == 200
    service.update_article(article, data(title="Changed"), now=article.updated_dt + timedelta(minutes=5))
    db.session.commit()
    changed = client.get("/library/news.atom", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert b"Changed" in changed.data


def test_a_scheduled_article_changes_the_feed_version_on_its_day(db, make_article, app):
    today = news_today()
    make_article(title="Now")
    make_article(title="Tomorrow", publication_date=today + timedelta(days=1))
    noon = datetime.combine(today, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=17)
    before, after = news_feed_export(now=noon), news_feed_export(now=noon + timedelta(days=1))
    assert before.etag != after.etag and after.last_modified > before.last_modified
    assert [e.title for e in feedparser.parse(after.build()).entries] == ["Tomorrow", "Now"]
