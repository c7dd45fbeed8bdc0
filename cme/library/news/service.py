"""News: writing, changing and deleting articles (organizers and admins), and what the public may read.

Days are the foundation's days (`ZONE`, the catalog's zone): an article dated today is public from midnight there,
one dated later is scheduled. Every rule an article's fields obey is checked in `_checked`, whoever calls (the
organizer's form, the demo, a test): a refusal is a `NewsError` naming the field it belongs to.
"""
from __future__ import annotations

import re
import uuid as uuid_module
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Optional

from sqlalchemy import Select, select
from sqlalchemy.orm import defer, selectinload

from cme.activities.catalog import DEFAULT_ZONE
from cme.errors import DomainError
from cme.extensions import db
from cme.library import topics as topic_list
from cme.library.news.models import NewsArticle, NewsArticleTopic, public_on
from cme.timeutil import local_to_utc, now_utc, utc_to_local

ZONE = DEFAULT_ZONE
# Dates an article may carry (publication, review): well inside what dates, zones and both databases handle.
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
EARLIEST_CITATION_YEAR = 1800
LIMITS = {"title": 300, "source": 200, "summary": 1000, "body": 50_000, "citation_journal": 200,
          "citation_volume": 20, "citation_issue": 20, "citation_pages": 40}
# A DOI is "10.", a registrant code of 4 to 9 digits, "/", and a suffix without spaces (DOI Handbook 2.2;
# Crossref's advice). Typed with "doi:" or as a doi.org link, it is stored bare.
DOI = re.compile(r"10\.\d{4,9}/\S+")
DOI_PREFIX = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/)", re.IGNORECASE)
MAX_DOI = 200
# A PubMed ID is a positive integer (8 digits today); typed with "PMID:", it is stored as its digits.
PMID = re.compile(r"[1-9][0-9]{0,8}")
PMID_PREFIX = re.compile(r"^pmid:?\s*", re.IGNORECASE)


class NewsError(DomainError):
    """A refused change to an article."""


@dataclass(frozen=True)
class ArticleData:
    """An article's fields, as the organizer's form (or the demo) gives them."""

    title: str
    source: str
    summary: str
    body: str
    publication_date: date
    is_published: bool
    reviewed_on: date
    topics: tuple[str, ...]
    citation_journal: str = ""
    citation_year: Optional[int] = None
    citation_volume: str = ""
    citation_issue: str = ""
    citation_pages: str = ""
    doi: str = ""
    pmid: str = ""


# ---------------------------------------------------------------- days

def news_today(now: datetime | None = None) -> date:
    """Today, in the foundation's zone."""
    return utc_to_local(now or now_utc(), ZONE).date()


def publication_instant(day: date) -> datetime:
    """When an article dated `day` becomes public: midnight of that day in the foundation's zone (UTC)."""
    return local_to_utc(datetime.combine(day, time(0, 0)), ZONE, fold=0)


# ---------------------------------------------------------------- identifiers

def clean_doi(text: str | None) -> str | None:
    """A DOI as stored (bare: "10.1056/NEJMoa2309000"), from what was typed ("doi:10...", "https://doi.org/10...");
    None for nothing typed. Refuses what is not a DOI."""
    value = DOI_PREFIX.sub("", (text or "").strip()).strip()
    if not value:
        return None
    if len(value) > MAX_DOI or not DOI.fullmatch(value):
        raise NewsError("Enter a DOI such as 10.1056/NEJMoa2309000 (with or without \"doi:\" or https://doi.org/).",
                        code="doi_invalid", field="doi")
    return value


def clean_pmid(text: str | None) -> str | None:
    """A PubMed ID as stored (its digits), from what was typed ("PMID: 38324483"); None for nothing typed."""
    value = PMID_PREFIX.sub("", (text or "").strip()).strip()
    if not value:
        return None
    if not PMID.fullmatch(value):
        raise NewsError("Enter a PubMed ID: its digits, such as 38324483.", code="pmid_invalid", field="pmid")
    return value


# ---------------------------------------------------------------- the rules of an article's fields

def _text(data: ArticleData, name: str, label: str, *, required: bool) -> str:
    value = (getattr(data, name) or "").replace("\x00", "").strip()
    if required and not value:
        raise NewsError(f"Enter the {label}.", code=f"{name}_missing", field=name)
    if len(value) > LIMITS[name]:
        raise NewsError(f"The {label} is longer than {LIMITS[name]:,} characters.", code=f"{name}_too_long",
                        field=name)
    return value


def _day(value: date | None, name: str, label: str) -> date:
    if value is None:
        raise NewsError(f"Enter the {label}.", code=f"{name}_missing", field=name)
    if not EARLIEST <= value <= LATEST:
        raise NewsError(f"Choose a {label} between {EARLIEST.year} and {LATEST.year}.", code=f"{name}_out_of_range",
                        field=name)
    return value


def _topics(slugs: tuple[str, ...] | list[str]) -> list[str]:
    chosen = set(slugs or ())
    unknown = chosen - set(topic_list.BY_SLUG)
    if unknown:
        raise NewsError("Choose topics from the list.", code="topic_unknown", field="topics")
    if not chosen:
        raise NewsError("Choose at least one topic.", code="topics_missing", field="topics")
    return [topic.slug for topic in topic_list.TOPICS if topic.slug in chosen]


def _checked(data: ArticleData, *, today: date) -> dict[str, Any]:
    """The article's column values, after every rule; raises NewsError (naming the field) on the first broken."""
    values: dict[str, Any] = {
        "title": _text(data, "title", "title", required=True),
        "source": _text(data, "source", "source", required=True),
        "summary": _text(data, "summary", "summary", required=True),
        "body": _text(data, "body", "text of the article", required=True),
        "publication_date": _day(data.publication_date, "publication_date", "publication date"),
        "is_published": bool(data.is_published),
        "reviewed_on": _day(data.reviewed_on, "reviewed_on", "review date"),
    }
    if values["reviewed_on"] > today:
        raise NewsError("The last review cannot be in the future.", code="reviewed_in_future", field="reviewed_on")
    journal = _text(data, "citation_journal", "journal", required=False)
    year = data.citation_year
    parts = {name: _text(data, name, label, required=False) for name, label in (
        ("citation_volume", "volume"), ("citation_issue", "issue"), ("citation_pages", "pages"))}
    if year is not None and not EARLIEST_CITATION_YEAR <= year <= today.year + 1:
        raise NewsError(f"Enter a year between {EARLIEST_CITATION_YEAR} and {today.year + 1}.",
                        code="citation_year_out_of_range", field="citation_year")
    if journal and year is None:
        raise NewsError("Enter the year the study was published.", code="citation_year_missing",
                        field="citation_year")
    if not journal and (year is not None or any(parts.values())):
        raise NewsError("Enter the journal, or leave the year, volume, issue and pages empty.",
                        code="citation_journal_missing", field="citation_journal")
    values.update(citation_journal=journal, citation_year=year, **parts,
                  doi=clean_doi(data.doi), pmid=clean_pmid(data.pmid))
    return values


def _apply(article: NewsArticle, values: dict[str, Any], slugs: list[str]) -> None:
    for name, value in values.items():
        setattr(article, name, value)
    kept = {link.topic: link for link in article.topic_links}
    article.topic_links = [kept.get(slug) or NewsArticleTopic(topic=slug) for slug in slugs]


# ---------------------------------------------------------------- operations

def create_article(data: ArticleData, *, uuid: uuid_module.UUID | None = None,
                   now: datetime | None = None) -> NewsArticle:
    now = now or now_utc()
    values = _checked(data, today=news_today(now))
    article = NewsArticle(uuid=uuid or uuid_module.uuid4(), created_dt=now, updated_dt=now)
    _apply(article, values, _topics(data.topics))
    db.session.add(article)
    db.session.flush()
    return article


def update_article(article: NewsArticle, data: ArticleData, *, now: datetime | None = None) -> NewsArticle:
    now = now or now_utc()
    values = _checked(data, today=news_today(now))
    _apply(article, values, _topics(data.topics))
    article.updated_dt = now  # also when only the topics changed (the feed's version reads it)
    db.session.flush()
    return article


def delete_article(article: NewsArticle) -> None:
    db.session.delete(article)
    db.session.flush()


# ---------------------------------------------------------------- reading

def public_articles(topic: str | None = None, *, today: date, bodies: bool = False) -> Select:
    """Public articles (on `topic` when given), newest first; their bodies only with `bodies` (a list shows the
    summaries)."""
    query = (select(NewsArticle).where(public_on(today))
             .order_by(NewsArticle.publication_date.desc(), NewsArticle.id.desc())
             .options(selectinload(NewsArticle.topic_links)))
    if not bodies:
        query = query.options(defer(NewsArticle.body))
    if topic:
        query = query.where(NewsArticle.topic_links.any(NewsArticleTopic.topic == topic))
    return query


def public_article(article_id: int, *, today: date) -> NewsArticle | None:
    return db.session.scalar(select(NewsArticle).where(NewsArticle.id == article_id, public_on(today)))


def all_articles() -> Select:
    """Every article, drafts and scheduled ones too, newest first (the organizers' list)."""
    return (select(NewsArticle).order_by(NewsArticle.publication_date.desc(), NewsArticle.id.desc())
            .options(selectinload(NewsArticle.topic_links)))


def article_data(article: NewsArticle) -> dict[str, Any]:
    """An article's values as the form's fields hold them (to edit it)."""
    return {"title": article.title, "source": article.source, "summary": article.summary, "body": article.body,
            "publication_date": article.publication_date, "is_published": article.is_published,
            "reviewed_on": article.reviewed_on, "topics": [topic.slug for topic in article.topics],
            "citation_journal": article.citation_journal, "citation_year": article.citation_year,
            "citation_volume": article.citation_volume, "citation_issue": article.citation_issue,
            "citation_pages": article.citation_pages, "doi": article.doi or "", "pmid": article.pmid or ""}
