"""News articles: short pieces on research and on the foundation, with their citation and topics.

An article is public once it is published and its publication date has come (a later date schedules it); the rule
is `NewsArticle.is_public_on(day)` for one article and `public_on(day)` for a query, side by side here.
"""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Optional
from urllib.parse import quote

from sqlalchemy import CheckConstraint, ColumnElement, ForeignKey, Index, String, Text, Uuid, and_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme.extensions import db
from cme.library import topics as topic_list
from cme.library.markdown import markdown_text
from cme.timeutil import UTCDateTime, now_utc

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class NewsArticle(db.Model):
    __tablename__ = "news_articles"
    __table_args__ = (
        CheckConstraint("citation_year IS NULL OR (citation_year >= 1800 AND citation_year <= 2200)",
                        name="citation_year"),
        # The public list, its count and the feed's version (count, last change): the published, newest first, read
        # from the index alone.
        Index("ix_news_articles_is_published_publication_date_id_updated_dt", "is_published",
              "publication_date", "id", "updated_dt"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable identity for the Atom feed's entry ids (urn:uuid:...), whatever the site's address becomes.
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(200))  # the journal or organization the news comes from
    summary: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # Markdown (cme.library.markdown renders and sanitises it)
    publication_date: Mapped[date]
    is_published: Mapped[bool] = mapped_column(default=False)
    reviewed_on: Mapped[date]  # "Last reviewed"
    # The study the article reports, as a citation (AMA style): "Cancer Cell. 2004;6(5):459-469."
    citation_journal: Mapped[str] = mapped_column(String(200), default="")
    citation_year: Mapped[Optional[int]]
    citation_volume: Mapped[str] = mapped_column(String(20), default="")
    citation_issue: Mapped[str] = mapped_column(String(20), default="")
    citation_pages: Mapped[str] = mapped_column(String(40), default="")
    doi: Mapped[Optional[str]] = mapped_column(String(200))  # "10.1056/NEJMoa2309000", without "doi:" or a URL
    pmid: Mapped[Optional[str]] = mapped_column(String(12))  # PubMed ID, digits
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    topic_links: Mapped[list[NewsArticleTopic]] = relationship(
        back_populates="article", cascade="all, delete-orphan", order_by="NewsArticleTopic.topic")

    # ------------------------------------------------------------ who may read it

    def is_public_on(self, day: date) -> bool:
        """Published, and its publication date is `day` or earlier (`public_on` says the same in SQL)."""
        return bool(self.is_published) and self.publication_date <= day

    def state_on(self, day: date) -> str:
        """"draft" (not published), "scheduled" (published with a later date) or "published"."""
        if not self.is_published:
            return "draft"
        return "published" if self.publication_date <= day else "scheduled"

    @property
    def slug(self) -> str:
        """The title in the article's address (/library/news/<id>-<slug>); the id alone finds it."""
        return _NOT_SLUG.sub("-", self.title.lower())[:60].strip("-")

    # ------------------------------------------------------------ topics

    @property
    def topics(self) -> list[topic_list.Topic]:
        """The article's topics, in the order of the topic list."""
        chosen = {link.topic for link in self.topic_links}
        return [topic for topic in topic_list.TOPICS if topic.slug in chosen]

    # ------------------------------------------------------------ the citation

    @property
    def citation_reference(self) -> str:
        """Journal, year, volume, issue and pages as AMA style writes them: "Cancer Cell. 2004;6(5):459-469."
        Empty when no journal is given."""
        if not self.citation_journal:
            return ""
        text = self.citation_journal.rstrip(".") + "."
        if self.citation_year:
            text += f" {self.citation_year}"
            if self.citation_volume:
                text += f";{self.citation_volume}"
            if self.citation_issue:
                text += f"{'' if self.citation_volume else ';'}({self.citation_issue})"
            if self.citation_pages:
                text += f":{self.citation_pages}"
            text += "."
        return text

    @property
    def doi_url(self) -> str | None:
        return f"https://doi.org/{quote(self.doi, safe='/:;()._-')}" if self.doi else None

    @property
    def pubmed_url(self) -> str | None:
        return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/" if self.pmid else None

    @property
    def citation_text(self) -> str:
        """The whole citation on one line: "Cancer Cell. 2004;6(5):459-469. doi:10.1016/... PMID: 15542430"."""
        parts = [self.citation_reference]
        if self.doi:
            parts.append(f"doi:{self.doi}")
        if self.pmid:
            parts.append(f"PMID: {self.pmid}")
        return " ".join(part for part in parts if part)

    @property
    def has_citation(self) -> bool:
        return bool(self.citation_journal or self.doi or self.pmid)

    # ------------------------------------------------------------ full-text search (issue 15, point 9)

    @property
    def search_text(self) -> str:
        """What a search over the library matches: title, source, summary, the body's words (no markup), the
        citation and the topics' names."""
        return "\n".join(part for part in (
            self.title, self.source, self.summary, markdown_text(self.body), self.citation_text,
            " ".join(topic.name for topic in self.topics)) if part)


def public_on(day: date) -> ColumnElement[bool]:
    """SQL for `NewsArticle.is_public_on(day)`."""
    return and_(NewsArticle.is_published.is_(True), NewsArticle.publication_date <= day)


class NewsArticleTopic(db.Model):
    """One topic of an article: a slug of `cme.library.topics` (checked by the service, as the list is code)."""

    __tablename__ = "news_article_topics"
    __table_args__ = (
        # An article's topics come with the article; the filter by topic reads this index.
        Index("ix_news_article_topics_topic_article_id", "topic", "article_id"),
    )

    article_id: Mapped[int] = mapped_column(ForeignKey("news_articles.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(60), primary_key=True)

    article: Mapped[NewsArticle] = relationship(back_populates="topic_links")
