"""Abstracts (issue 15, point 5): the work presented at an activity, as a title, its authors with their
affiliations in byline order, a structured body (background, methods, results, conclusions), keywords and how it
was presented (oral or poster). It belongs to an activity and, optionally, to the agenda session where it was
presented; its topic is one of the activities' specialties (`SPECIALTIES`), the one topic vocabulary.

The public sees an abstract when it is published and its activity is published (`is_public`). A title is unique
within its activity, compared without case and repeated spaces (`title_key`, a database constraint): that is what
lets a CSV import find the abstract a row updates."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme.activities.models import Activity, ActivitySession, ActivityStatus
from cme.enums import LabeledEnum, check_in
from cme.extensions import db
from cme.timeutil import UTCDateTime, now_utc


class PresentationType(LabeledEnum):
    ORAL = "oral", "Oral presentation"
    POSTER = "poster", "Poster"


# What the columns hold (forms and the CSV import check against these).
TITLE_MAX = 300
SECTION_MAX = 5000
KEYWORDS_MAX = 500
KEYWORD_MAX = 60
MAX_KEYWORDS = 12
TOPIC_MAX = 120
AUTHOR_NAME_MAX = 200
AFFILIATION_MAX = 300
MAX_AUTHORS = 50

# The structured body, in reading order: (attribute, heading).
SECTIONS = (("background", "Background"), ("methods", "Methods"), ("results", "Results"),
            ("conclusions", "Conclusions"))


def title_key(title: str) -> str:
    """The title as compared for uniqueness within an activity: case and repeated spaces do not count."""
    return " ".join((title or "").split()).casefold()[:TITLE_MAX]


@dataclass(frozen=True)
class Affiliated:
    """An author with the numbers of the affiliation list (`Abstract.affiliations`) they belong to."""

    name: str
    number: Optional[int]
    presenting: bool


class Abstract(db.Model):
    __tablename__ = "abstracts"
    __table_args__ = (
        CheckConstraint(check_in("presentation_type", PresentationType), name="presentation_type"),
        UniqueConstraint("activity_id", "title_key"),
        # The public list: published abstracts, by activity.
        Index("ix_abstracts_is_published_activity_id", "is_published", "activity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    # The agenda session where it was presented; a session removed from the agenda leaves the abstract without one.
    session_id: Mapped[Optional[int]] = mapped_column(ForeignKey("activity_sessions.id", ondelete="SET NULL"),
                                                      index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    title_key: Mapped[str] = mapped_column(String(TITLE_MAX))
    background: Mapped[str] = mapped_column(Text, default="")
    methods: Mapped[str] = mapped_column(Text, default="")
    results: Mapped[str] = mapped_column(Text, default="")
    conclusions: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[str] = mapped_column(String(KEYWORDS_MAX), default="")  # "a, b, c"
    presentation_type: Mapped[str] = mapped_column(String(10))
    topic: Mapped[str] = mapped_column(String(TOPIC_MAX), default="")  # one of SPECIALTIES, or none
    is_published: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    activity: Mapped[Activity] = relationship()
    session: Mapped[Optional[ActivitySession]] = relationship()
    authors: Mapped[list[AbstractAuthor]] = relationship(
        back_populates="abstract", cascade="all, delete-orphan", order_by="AbstractAuthor.position")

    @property
    def presentation_label(self) -> str:
        return PresentationType(self.presentation_type).label

    @property
    def is_public(self) -> bool:
        """Published, in a published activity: what anyone may read."""
        return self.is_published and self.activity.status == ActivityStatus.PUBLISHED

    @property
    def keyword_list(self) -> list[str]:
        return [k.strip() for k in self.keywords.split(",") if k.strip()]

    @property
    def sections(self) -> list[tuple[str, str]]:
        """(heading, text) of the body's sections that have text, in reading order."""
        return [(heading, getattr(self, name)) for name, heading in SECTIONS if (getattr(self, name) or "").strip()]

    @property
    def affiliations(self) -> list[str]:
        """The distinct affiliations in the order of their first author: the numbered list under the byline."""
        seen: list[str] = []
        for author in self.authors:
            if author.affiliation and author.affiliation not in seen:
                seen.append(author.affiliation)
        return seen

    @property
    def byline(self) -> list[Affiliated]:
        numbers = {affiliation: n for n, affiliation in enumerate(self.affiliations, start=1)}
        return [Affiliated(a.name, numbers.get(a.affiliation), a.is_presenting) for a in self.authors]

    @property
    def short_authors(self) -> str:
        """The first three names, then "et al." (list pages)."""
        names = [a.name for a in self.authors]
        return ", ".join(names[:3]) + (", et al." if len(names) > 3 else "")

    @property
    def search_text(self) -> str:
        """The plain text a full-text search indexes: title, authors with affiliations, the body and keywords."""
        authors = "; ".join(f"{a.name} ({a.affiliation})" if a.affiliation else a.name for a in self.authors)
        body = [getattr(self, name) or "" for name, _ in SECTIONS]
        return "\n".join(part for part in [self.title, authors, *body, self.keywords] if part)

    def __repr__(self) -> str:
        return f"<Abstract {self.id} {self.title!r}>"


class AbstractAuthor(db.Model):
    """An author of an abstract, at their place in the byline (0 first). At most one presents it."""

    __tablename__ = "abstract_authors"
    __table_args__ = (
        UniqueConstraint("abstract_id", "position"),
        CheckConstraint("position >= 0", name="position_non_negative"),
        Index("uq_abstract_authors_one_presenting", "abstract_id", unique=True,
              sqlite_where=text("is_presenting"), postgresql_where=text("is_presenting")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    abstract_id: Mapped[int] = mapped_column(ForeignKey("abstracts.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(AUTHOR_NAME_MAX))
    affiliation: Mapped[str] = mapped_column(String(AFFILIATION_MAX), default="")
    is_presenting: Mapped[bool] = mapped_column(default=False, server_default=sa_false())

    abstract: Mapped[Abstract] = relationship(back_populates="authors")
