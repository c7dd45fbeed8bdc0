"""Conference highlights (issue 15, point 6): what an organizer of a past activity writes about it afterwards: a
title, a Markdown body (rendered and sanitised by `cme.library.markdown`), the activity's abstracts it points to, a
publication date and a "last reviewed" date.

A highlight is public when it is published, its publication date has come (a later date schedules it) and its
activity is published (`is_public_on(day)`; `public_on(day)` says the same in SQL). Offered as enduring material,
it points to the on-demand activity made from it (`enduring_activity_id`, one at most, each way).
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Optional

from sqlalchemy import Column, ColumnElement, ForeignKey, Index, String, Table, Text, and_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme.activities.models import Activity, ActivityStatus
from cme.extensions import db
from cme.library.abstracts.models import Abstract
from cme.library.markdown import markdown_text
from cme.library.materials.models import Material
from cme.timeutil import UTCDateTime, now_utc

TITLE_MAX = 300
BODY_MAX = 50_000
_NOT_SLUG = re.compile(r"[^a-z0-9]+")

# The abstracts a highlight points to (chosen among its activity's; the service checks that).
highlight_abstracts = Table(
    "highlight_abstracts", db.metadata,
    Column("highlight_id", ForeignKey("highlights.id", ondelete="CASCADE"), primary_key=True),
    Column("abstract_id", ForeignKey("abstracts.id", ondelete="CASCADE"), primary_key=True, index=True),
)

# Its key slides: materials of its activity, shown as thumbnails to those `release.may_open` lets open them.
highlight_materials = Table(
    "highlight_materials", db.metadata,
    Column("highlight_id", ForeignKey("highlights.id", ondelete="CASCADE"), primary_key=True),
    Column("material_id", ForeignKey("materials.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Highlight(db.Model):
    __tablename__ = "highlights"
    __table_args__ = (
        # The public list: published, newest first.
        Index("ix_highlights_is_published_publication_date_id", "is_published", "publication_date", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)  # Markdown
    publication_date: Mapped[date]
    reviewed_on: Mapped[date]  # "Last reviewed"
    is_published: Mapped[bool] = mapped_column(default=False)
    # The on-demand activity that offers this highlight as enduring material with credit (None until offered; an
    # activity deleted leaves the highlight as it was).
    enduring_activity_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("activities.id", ondelete="SET NULL"), unique=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    activity: Mapped[Activity] = relationship(foreign_keys=[activity_id])
    enduring_activity: Mapped[Optional[Activity]] = relationship(foreign_keys=[enduring_activity_id])
    abstracts: Mapped[list[Abstract]] = relationship(secondary=highlight_abstracts, order_by=Abstract.title)
    key_slides: Mapped[list[Material]] = relationship(secondary=highlight_materials, order_by=Material.id)

    def is_public_on(self, day: date) -> bool:
        """Published, dated `day` or earlier, of a published activity (`public_on` says the same in SQL)."""
        return bool(self.is_published) and self.publication_date <= day and self.activity.is_published

    def state_on(self, day: date) -> str:
        """"draft", "scheduled" (published with a later date) or "published"."""
        if not self.is_published:
            return "draft"
        return "published" if self.publication_date <= day else "scheduled"

    @property
    def slug(self) -> str:
        return _NOT_SLUG.sub("-", self.title.lower())[:60].strip("-")

    @property
    def public_abstracts(self) -> list[Abstract]:
        return [abstract for abstract in self.abstracts if abstract.is_public]

    @property
    def search_text(self) -> str:
        """What the library's search matches: the title, the body's words (no markup), the activity's title and
        the linked abstracts' titles."""
        return "\n".join(part for part in (
            self.title, markdown_text(self.body), self.activity.title,
            *(abstract.title for abstract in self.abstracts)) if part)

    def __repr__(self) -> str:
        return f"<Highlight {self.id} {self.title!r}>"


def public_on(day: date) -> ColumnElement[bool]:
    """SQL for `Highlight.is_public_on(day)`."""
    return and_(Highlight.is_published.is_(True), Highlight.publication_date <= day,
                Highlight.activity_id.in_(select(Activity.id).where(Activity.status == ActivityStatus.PUBLISHED.value)))
