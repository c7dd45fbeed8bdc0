"""The news as an Atom feed (RFC 4287), built by feedgen from plain data, with a version (ETag, Last-Modified)
computed by one aggregate query, so an unchanged feed answers 304 without loading an article.

`build_feed(meta, entries) -> bytes` is a pure function; `news_feed_export(topic)` reads the database and gives
the `Export` that `cme.calendar.responses.conditional_response` serves.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from feedgen.feed import FeedGenerator
from flask import current_app
from markupsafe import Markup, escape
from sqlalchemy import func, select

from cme.calendar.service import Export
from cme.extensions import db
from cme.library.markdown import render_markdown
from cme.library.news.models import NewsArticle, NewsArticleTopic, public_on
from cme.library.news.service import news_today, public_articles, publication_instant
from cme.library.topics import Topic
from cme.timeutil import now_utc
from cme.urls import absolute_url

FEED_SIZE = 30  # the newest articles a feed carries
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
CONTENT_TYPE = "application/atom+xml; charset=utf-8"


@dataclass(frozen=True)
class FeedMeta:
    id: str
    title: str
    subtitle: str
    author: str
    self_url: str
    page_url: str
    updated: datetime


@dataclass(frozen=True)
class FeedEntry:
    id: str
    title: str
    url: str
    published: datetime
    updated: datetime
    summary: str
    content_html: str
    categories: tuple[tuple[str, str, str], ...]  # (term, label, scheme)


def build_feed(meta: FeedMeta, entries: list[FeedEntry]) -> bytes:
    """The Atom document, entries in the order given."""
    feed = FeedGenerator()
    feed.id(meta.id)
    feed.title(meta.title)
    feed.subtitle(meta.subtitle)
    feed.author({"name": meta.author})
    feed.link(href=meta.self_url, rel="self", type="application/atom+xml")
    feed.link(href=meta.page_url, rel="alternate", type="text/html")
    feed.language("en")
    feed.updated(meta.updated)
    for item in entries:
        entry = feed.add_entry(order="append")
        entry.id(item.id)
        entry.title(item.title)
        entry.link(href=item.url, rel="alternate", type="text/html")
        entry.published(item.published)
        entry.updated(item.updated)
        entry.summary(item.summary)
        entry.content(item.content_html, type="html")
        for term, label, scheme in item.categories:
            entry.category(term=term, label=label, scheme=scheme)
    return feed.atom_str(pretty=True)


def entry_content(article: NewsArticle) -> str:
    """The article's body (sanitised HTML), then its source and reference with DOI and PubMed links."""
    parts = [render_markdown(article.body), Markup("<p>Source: {}</p>").format(article.source)]
    if article.has_citation:
        links = [Markup('<a href="{}">doi:{}</a>').format(article.doi_url, article.doi) if article.doi else "",
                 Markup('<a href="{}">PMID: {}</a>').format(article.pubmed_url, article.pmid) if article.pmid else ""]
        parts.append(Markup("<p>Reference: {}</p>").format(
            Markup(" ").join(p for p in (escape(article.citation_reference), *links) if p)))
    return str(Markup("\n").join(parts))


def _entry(article: NewsArticle) -> FeedEntry:
    published = publication_instant(article.publication_date)
    return FeedEntry(
        id=f"urn:uuid:{article.uuid}", title=article.title,
        url=absolute_url("news.article", article_id=article.id, slug=article.slug or None),
        published=published, updated=max(published, article.updated_dt), summary=article.summary,
        content_html=entry_content(article),
        categories=tuple((topic.slug, topic.name, absolute_url("news.index", topic=topic.slug))
                         for topic in article.topics))


def news_feed_export(topic: Optional[Topic] = None, *, now: datetime | None = None) -> Export:
    today = news_today(now or now_utc())
    matching = select(func.count(), func.max(NewsArticle.updated_dt), func.sum(NewsArticle.id),
                      func.max(NewsArticle.publication_date)).where(public_on(today))
    if topic:
        matching = matching.where(NewsArticle.topic_links.any(NewsArticleTopic.topic == topic.slug))
    count, last_updated, id_sum, last_date = db.session.execute(matching).one()
    last_modified = max(last_updated or EPOCH, publication_instant(last_date) if last_date else EPOCH)
    provider = current_app.config["CME_PROVIDER_NAME"]
    base = current_app.config["CME_BASE_URL"]
    etag = hashlib.sha256("|".join(map(str, (
        "news", topic.slug if topic else "", count, last_modified.isoformat(), id_sum, last_date, FEED_SIZE, base,
        provider))).encode()).hexdigest()[:32]

    def build() -> bytes:
        slug = topic.slug if topic else None
        meta = FeedMeta(
            id=absolute_url("news.index", topic=slug), title=f"{provider}: news" + (f" on {topic.name}" if topic else ""),
            subtitle=topic.summary if topic else "Short articles on research in liver disease and addiction medicine.",
            author=provider, self_url=absolute_url("news.feed", topic=slug), page_url=absolute_url("news.index", topic=slug),
            updated=last_modified)
        articles = db.session.scalars(public_articles(slug, today=today, bodies=True).limit(FEED_SIZE)).all()
        return build_feed(meta, [_entry(article) for article in articles])

    return Export(etag, last_modified, "news.atom", build)
