"""Topic pages and the library's home (issue 15, point 8): what each section of a topic page shows (upcoming and
on-demand activities by the topic's terms over topics, specialty and title; public abstracts by title, keywords and
topic; public news by the topics articles store), what it leaves out (drafts, cancelled and ended activities,
unpublished abstracts, scheduled news), the same match in SQL as in Python, unknown and odd slugs, a fixed number of
queries whatever the amount of content, the one "Library" link of the header and the links back to the library."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest

from cme.activities.models import Activity
from cme.library import topic_pages
from cme.library.abstracts import service as abstracts
from cme.library.abstracts.service import AbstractFields, AuthorEntry
from cme.library.highlights import service as highlights
from cme.library.materials import service as materials
from cme.library.news import service as news
from cme.library.news.service import ArticleData, news_today
from cme.library.topics import BY_SLUG, TOPICS, Topic
from cme.timeutil import now_utc
from tests.helpers import make_pdf

HCV = BY_SLUG["hepatitis-c"]


def titles(section) -> list[str]:
    return [item.title for item in section.items]


def sections_of(topic: Topic) -> dict[str, list[str]]:
    return {section.key: titles(section) for section in topic_pages.topic_page(topic)}


@pytest.fixture
def at(make_activity):
    """at(title, days_from_now, **fields): a published live meeting starting that many days from now (3 hours)."""
    def make(title: str, days: float = 14, **fields) -> Activity:
        start = now_utc().replace(microsecond=0) + timedelta(days=days)
        fields.setdefault("end_dt", start + timedelta(hours=3))
        return make_activity(title=title, start_dt=start, **fields)
    return make


@pytest.fixture
def on_demand(at):
    """on_demand(title, released_days_from_now, until_days_from_now, **fields)."""
    def make(title: str, released: float, until: float, **fields) -> Activity:
        start = now_utc().replace(microsecond=0) + timedelta(days=released)
        return at(title, released, format="on_demand_webcast", end_dt=start + timedelta(days=until - released),
                  **fields)
    return make


@pytest.fixture
def add_abstract(db):
    def add(activity: Activity, title: str, *, keywords=(), topic: str = "", published: bool = True):
        abstract = abstracts.create_abstract(activity, AbstractFields(
            title=title, authors=[AuthorEntry("Maria Lopez", "Cascade Center", True)], background="B.",
            methods="M.", results="R.", conclusions="C.", presentation_type="poster", keywords=list(keywords),
            topic=topic, is_published=published))
        db.session.commit()
        return abstract
    return add


@pytest.fixture
def add_article(db):
    def add(title: str, topics=("hepatitis-c",), *, days_ago: int = 3, published: bool = True):
        article = news.create_article(ArticleData(
            title=title, source="J Hepatol", summary="A summary.", body="A body.",
            publication_date=news_today() - timedelta(days=days_ago), is_published=published,
            reviewed_on=news_today() - timedelta(days=max(days_ago, 0)), topics=tuple(topics)))
        db.session.commit()
        return article
    return add


# ---------------------------------------------------------------- activities

def test_upcoming_activities_are_published_not_ended_and_on_the_topic_by_topics_specialty_or_title(db, at):
    at("By topics", 10, topics="HCV, direct-acting antivirals", specialty="Hepatology")
    at("Hepatitis C in primary care", 20)  # by its title
    at("Under way", -0.05, topics="HCV")  # started an hour ago, ends in two: not ended
    at("Cancelled HCV", 5, topics="HCV", status="cancelled")
    at("Draft HCV", 5, topics="HCV", status="draft")
    at("Ended HCV", -3, topics="HCV")
    at("Hepatitis B screening", 7, topics="HBV")
    found = sections_of(HCV)
    assert found["upcoming"] == ["Under way", "By topics", "Hepatitis C in primary care"]
    transplant = BY_SLUG["transplantation"]
    at("Care team update", 9, specialty="Transplant surgery")  # by its specialty only
    assert sections_of(transplant)["upcoming"] == ["Care team update"]


def test_on_demand_webcasts_are_listed_while_available_and_before_release_as_upcoming(db, on_demand):
    on_demand("Simplified HCV treatment", -30, 60)
    on_demand("Newer HCV webcast", -2, 60)
    on_demand("HCV coming soon", 5, 90)
    on_demand("Withdrawn HCV webcast", -90, -1)
    on_demand("Cancelled HCV webcast", -5, 30, status="cancelled")
    found = sections_of(HCV)
    assert found["on-demand"] == ["Newer HCV webcast", "Simplified HCV treatment"]
    assert found["upcoming"] == ["HCV coming soon"]


def test_a_section_shows_at_most_its_limit_soonest_first(db, at):
    for n in range(topic_pages.TOPIC_LIMIT + 2):
        at(f"HCV meeting {n}", 30 - n)
    upcoming = sections_of(HCV)["upcoming"]
    assert upcoming == [f"HCV meeting {n}" for n in range(topic_pages.TOPIC_LIMIT + 1, 1, -1)]


@pytest.mark.parametrize("texts", [
    ("HCV, harm reduction", "Hepatology", "Update"), ("", "", "HEPATITIS C in prisons"), ("", "Hepatology", "Liver"),
    ("MASH; NAFLD", "", ""), ("", "Transplant hepatology", ""), ("Buprenorphine", "Psychiatry", ""),
    ("hepatitis", "", "C-reactive protein"), ("li-rads", "Radiology", "Imaging"), ("100%_off", "", "x"),
    ("Alcohol-associated hepatitis", "", "Alcohol use disorder care"), ("hcc", "", ""),
])
def test_sql_puts_an_activity_on_the_same_topics_as_python(db, at, texts):
    activity = at("x", 3, topics=texts[0], specialty=texts[1])
    activity.title = texts[2]
    db.session.commit()
    in_sql = [topic for topic in TOPICS if db.session.scalar(
        db.select(Activity.id).where(Activity.id == activity.id,
                                     topic_pages.mentions(topic, topic_pages._activity_columns())))]
    assert in_sql == topic_pages.topics_of(activity)


# ---------------------------------------------------------------- abstracts and news

def test_recent_abstracts_are_public_and_on_the_topic_by_title_keywords_or_topic(db, at, add_abstract):
    past = at("Liver Meeting", -40)
    older = at("Older meeting", -400)
    draft = at("Draft meeting", -20, status="draft")
    add_abstract(past, "By its keywords", keywords=["hepatitis C", "harm reduction"])
    add_abstract(past, "HCV cure in prisons")
    add_abstract(older, "Older HCV poster")
    add_abstract(past, "Unpublished HCV", published=False)
    add_abstract(draft, "HCV of a draft activity")
    add_abstract(past, "Off topic", keywords=["MASLD"])
    add_abstract(past, "Transplant listing", topic="Transplant hepatology")
    assert sorted(sections_of(HCV)["abstracts"][:2]) == ["By its keywords", "HCV cure in prisons"]
    assert sections_of(HCV)["abstracts"][2:] == ["Older HCV poster"]
    assert sections_of(BY_SLUG["transplantation"])["abstracts"] == ["Transplant listing"]


def test_news_on_the_topic_are_public_newest_first(db, add_article):
    add_article("Older HCV news", days_ago=10)
    add_article("Newer HCV news", ("hepatitis-c", "substance-use-disorder"), days_ago=1)
    add_article("Draft HCV news", published=False)
    add_article("Scheduled HCV news", days_ago=-3)
    add_article("MASLD news", ("masld",))
    assert sections_of(HCV)["news"] == ["Newer HCV news", "Older HCV news"]
    assert sections_of(BY_SLUG["substance-use-disorder"])["news"] == ["Newer HCV news"]


def test_an_empty_section_says_so_and_links_nowhere(client, db):
    response = client.get("/library/topics/liver-cancer")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "No upcoming activity on this topic yet." in text and "No on-demand webcast on this topic yet." in text
    assert text.count("Nothing yet.") == 2  # news, abstracts
    assert "No slides on this topic yet." in text and "No conference highlights on this topic yet." in text
    assert "All news on" not in text


# ---------------------------------------------------------------- slides and highlights

DECK = make_pdf(["Hepatitis C in 2027", "Test, treat, cure"], title="HCV")


@pytest.fixture
def add_slides(db):
    def add(activity: Activity, title: str, rule: str = "public", *, embargo=None):
        material = materials.add_material(activity, materials.Details(title, None, None, rule, embargo),
                                          stream=io.BytesIO(DECK), filename="deck.pdf")
        db.session.commit()
        return material
    return add


def test_recent_slides_are_listed_decks_on_the_topic_newest_activity_first_opening_for_who_may(
        client, db, at, add_slides, make_user, register):
    summit, course = at("HCV summit", -40, topics="HCV"), at("HCV course", -80, topics="HCV")
    cure = add_slides(summit, "Cure for all")
    add_slides(summit, "Organizers' notes", "organizers")
    add_slides(summit, "Embargoed trial", embargo=now_utc() + timedelta(days=3))
    add_slides(at("HCV draft", -10, topics="HCV", status="draft"), "Draft deck")
    add_slides(at("Cardiology update", -20), "Heart failure")
    locked = add_slides(course, "Registrants' deck", "registrants")
    assert sections_of(HCV)["slides"] == ["Cure for all", "Registrants' deck"]
    text = client.get("/library/topics/hepatitis-c").get_data(as_text=True)
    assert ">Recent slides</h2>" in text and f"/library/materials/{cure.id}/thumbnail.png" in text
    assert f"/library/materials/{locked.id}/" not in text and "For registrants" in text
    assert "/library/search?type=material&amp;topic=hepatitis-c" in text
    registrant = make_user("reg@example.org")
    register(registrant, course, by_organizer=True)
    cards = {s.key: s for s in topic_pages.topic_page(HCV, viewer=registrant)}["slides"].items
    assert [card.opens for card in cards] == [True, True]


def test_conference_highlights_of_activities_on_the_topic_are_listed_once_public(db, client, at):
    summit, other = at("HCV summit", -40, topics="HCV"), at("Cardiology update", -20)
    today = highlights.library_today()
    for activity, title, published in ((summit, "What the HCV summit taught", True),
                                       (summit, "Draft notes", False), (other, "Heart failure news", True)):
        highlights.create_highlight(activity, highlights.HighlightData(title, "Body.", today, today, published))
    db.session.commit()
    assert sections_of(HCV)["highlights"] == ["What the HCV summit taught"]
    text = client.get("/library/topics/hepatitis-c").get_data(as_text=True)
    assert ">Conference highlights</h2>" in text and "What the HCV summit taught" in text


# ---------------------------------------------------------------- pages

def test_the_topic_page_shows_each_section_with_links(client, db, at, on_demand, add_abstract, add_article):
    meeting = at("HCV elimination summit", 12, topics="HCV")
    webcast = on_demand("Simplified HCV treatment", -3, 40)
    abstract = add_abstract(at("Liver Meeting", -40), "HCV cure in prisons")
    article = add_article("DAAs in <addiction> services")
    text = client.get("/library/topics/hepatitis-c").get_data(as_text=True)
    assert re.search(r"<h1>\s*Hepatitis C\s*</h1>", text)
    for url in (f"/activities/{meeting.id}-hcv-elimination-summit", f"/activities/{webcast.id}-",
                f"/library/abstracts/{abstract.id}-", f"/library/news/{article.id}-", "/library/news?topic=hepatitis-c",
                'href="/library"'):
        assert url in text, url
    assert "DAAs in &lt;addiction&gt; services" in text and "<addiction>" not in text
    for heading in ("Upcoming activities", "On demand now", "News", "Recent abstracts"):
        assert f">{heading}</h2>" in text


@pytest.mark.parametrize("slug", ["nothing", "Hepatitis-C", "hepatitis-c ", "hepatitis%20c", "%00", "x" * 3000,
                                  "h%C3%A9patite", "..%2Fnews", "hepatitis-c%2F"])
def test_an_unknown_or_odd_slug_is_404(client, db, slug):
    assert client.get(f"/library/topics/{slug}").status_code == 404


def test_the_library_home_links_every_topic_its_parts_and_shows_latest_news_and_abstracts(
        client, db, at, add_abstract, add_article):
    add_article("MASLD news", ("masld",))
    add_abstract(at("Liver Meeting", -40), "Transplant listing", topic="Transplant hepatology")
    add_abstract(at("Draft meeting", -40, status="draft"), "Hidden abstract")
    text = client.get("/library").get_data(as_text=True)
    for topic in TOPICS:
        assert f'href="/library/topics/{topic.slug}"' in text
    assert 'href="/library/news"' in text and 'href="/library/abstracts"' in text
    assert "MASLD news" in text and "Transplant listing" in text and "Hidden abstract" not in text


def test_the_header_has_one_library_link_current_on_every_library_page(client, db, add_article):
    article = add_article("HCV news")
    for url in ("/library", "/library/topics/masld", "/library/news", f"/library/news/{article.id}",
                "/library/abstracts", "/activities/"):
        text = client.get(url).get_data(as_text=True)
        nav = re.search(r'<nav aria-label="Main".*?</nav>', text, re.DOTALL)[0]
        assert re.findall(r">(News|Abstracts)</a>", nav) == [], url
        library = re.search(r'<a href="/library"[^>]*>Library</a>', nav)[0]
        assert ('aria-current="page"' in library) == url.startswith("/library"), url
        if url != "/library" and url.startswith("/library"):
            assert re.search(r'class="breadcrumb"><a href="/library">Library</a>', text), url


def test_the_activity_page_links_the_topics_it_is_on(client, db, at):
    activity = at("Alcohol use disorder and liver transplant", 10, topics="alcohol-associated hepatitis",
                  specialty="Hepatology")
    text = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    links = re.findall(r'href="/library/topics/([a-z-]+)"', text)
    assert links == ["transplantation", "substance-use-disorder", "alcohol-associated-liver-disease"]
    plain = at("Cardiology update", 10)
    assert "/library/topics/" not in client.get(f"/activities/{plain.id}").get_data(as_text=True)


# ---------------------------------------------------------------- a fixed number of queries

def _fill(n: int, at, on_demand, add_abstract, add_article, add_slides) -> None:
    past = at(f"HCV Liver Meeting {n}", -40)
    today = highlights.library_today()
    for i in range(n):
        add_slides(past, f"HCV deck {n}.{i}", "public" if i % 2 else "registrants")
        highlights.create_highlight(past, highlights.HighlightData(f"HCV highlight {n}.{i}", "Body.", today, today,
                                                                   True))
        at(f"HCV meeting {n}.{i}", 5 + i, topics="HCV", credits={"ama_pra_1": "2.00", "ancc": "2.00"})
        on_demand(f"HCV webcast {n}.{i}", -1 - i, 30)
        add_abstract(past, f"HCV abstract {n}.{i}", keywords=["hepatitis C"])
        add_article(f"HCV news {n}.{i}", ("hepatitis-c", "masld"))


@pytest.mark.parametrize("url", ["/library/topics/hepatitis-c", "/library"])
def test_a_library_page_costs_the_same_queries_for_2_or_20_items_per_section(
        client, db, count_queries, at, on_demand, add_abstract, add_article, add_slides, url):
    counts = []
    for n in (2, 18):  # 2, then 20 of each kind
        _fill(n, at, on_demand, add_abstract, add_article, add_slides)
        db.session.expire_all()
        with count_queries() as statements:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 12, counts
