"""Session materials and the stored files they point at.

A `StoredFile` is one file's bytes as kept under CME_STORAGE_DIR, named by its SHA-256: the same slides uploaded
twice (to two sessions, or two activities) are stored once. A `Material` is what organizers and learners see: a
title, the speaker, the session (or the whole activity) it belongs to, its release rule and the file's display
name. A stored file lives as long as a material points at it (`service.delete_material` removes the last one's
file).
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Optional

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme.enums import LabeledEnum, check_in
from cme.extensions import db
from cme.timeutil import UTCDateTime, now_utc

if TYPE_CHECKING:
    from cme.accounts.models import User
    from cme.activities.models import Activity, ActivitySession, Faculty


class MaterialKind(LabeledEnum):
    """What a file is, found from its content (never its name): `checks.inspect_file`."""

    PDF = "pdf", "PDF"
    PPTX = "pptx", "PowerPoint"


CONTENT_TYPES = {
    MaterialKind.PDF: "application/pdf",
    MaterialKind.PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
EXTENSIONS = {MaterialKind.PDF: ".pdf", MaterialKind.PPTX: ".pptx"}


class Release(LabeledEnum):
    """Who may open a material (`release.may_open` is the one rule); an optional embargo holds it back from
    everyone but the organizers until a date."""

    PUBLIC = "public", "Everyone"
    REGISTRANTS = "registrants", "Registrants"
    REGISTRANTS_AFTER_SESSION = "registrants_after_session", "Registrants, after the session ends"
    ORGANIZERS = "organizers", "Organizers only"


class StoredFile(db.Model):
    """A file's bytes under CME_STORAGE_DIR (`storage.Store.path_of(sha256)`), and its first-page thumbnail
    beside it when it has one. Its row is the lock that uploads and deletions of the same bytes take, so a file is
    never removed while another material comes to point at it (`service`)."""

    __tablename__ = "stored_files"
    __table_args__ = (CheckConstraint("size >= 0", name="size_non_negative"),)

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    has_thumbnail: Mapped[bool] = mapped_column(default=False)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class Material(db.Model):
    """Slides or a handout of an agenda session (`session_id`), or of the whole activity (no session)."""

    __tablename__ = "materials"
    __table_args__ = (
        CheckConstraint(check_in("kind", MaterialKind), name="kind"),
        CheckConstraint(check_in("release", Release), name="release"),
        CheckConstraint("page_count >= 0", name="page_count_non_negative"),
        Index("ix_materials_activity_id_session_id", "activity_id", "session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    # A session removed from the agenda leaves its materials with the activity; a speaker removed, unnamed.
    session_id: Mapped[Optional[int]] = mapped_column(ForeignKey("activity_sessions.id", ondelete="SET NULL"),
                                                      index=True)
    speaker_id: Mapped[Optional[int]] = mapped_column(ForeignKey("faculty.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    release: Mapped[str] = mapped_column(String(30), default=Release.REGISTRANTS.value)
    # Before this instant nobody but the activity's organizers may open it, or see its title.
    embargo_until_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    file_sha256: Mapped[str] = mapped_column(ForeignKey("stored_files.sha256", ondelete="RESTRICT"), index=True)
    # The name a download is saved under: the uploaded name made safe (`checks.display_name`), its extension the
    # one its content has.
    file_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    page_count: Mapped[int] = mapped_column(default=0)  # pages of a PDF, slides of a presentation
    # The words of the document (PDF pages, slide text), for the library's search.
    text: Mapped[str] = mapped_column(Text, default="", deferred=True)
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    activity: Mapped[Activity] = relationship()
    session: Mapped[Optional[ActivitySession]] = relationship()
    speaker: Mapped[Optional[Faculty]] = relationship()
    stored_file: Mapped[StoredFile] = relationship()
    uploaded_by: Mapped[Optional[User]] = relationship()

    @property
    def kind_label(self) -> str:
        return MaterialKind(self.kind).label

    @property
    def release_label(self) -> str:
        return Release(self.release).label

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[MaterialKind(self.kind)]

    @property
    def is_pdf(self) -> bool:
        return self.kind == MaterialKind.PDF

    @property
    def size(self) -> int:
        return self.stored_file.size

    @property
    def has_thumbnail(self) -> bool:
        return self.stored_file.has_thumbnail

    @property
    def speaker_name(self) -> str:
        return self.speaker.byline if self.speaker is not None else ""

    @property
    def released_after_dt(self) -> datetime:
        """When "registrants, after the session ends" opens it: the end of its session; for a material of the
        whole activity the activity's end (an on-demand webcast's: its release, since its end is when it can no
        longer be watched)."""
        if self.session is not None:
            return self.session.end_dt
        return self.activity.start_dt if self.activity.is_on_demand else self.activity.end_dt

    @property
    def search_text(self) -> str:
        """What the library's search indexes: the title, the speaker, the session and the document's words."""
        parts = [self.title, self.speaker_name, self.session.title if self.session is not None else "", self.text]
        return "\n".join(part for part in parts if part)

    def __repr__(self) -> str:
        return f"<Material {self.id} {self.title!r} {self.release}>"
