"""Audit entries: one per watched change (created, changed, removed), written in the change's transaction."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cme.extensions import db
from cme.timeutil import UTCDateTime, now_utc


class AuditEntry(db.Model):
    """Who (`actor_id`, and `actor_label` as they were named then; no actor: the system, e.g. a CLI command) did
    `action` ("<kind>.<verb>", e.g. "designation.changed") when, to which row (`subject_table`, `subject_id`, and
    `summary`, its description at the time), with the watched fields `before` and `after` ({field: value}, JSON).

    `activity_id` names the activity the row belongs to and `user_id` the learner it is about (their claim, their
    certificate, their account). Neither is a foreign key to what it names: the log outlives the rows it
    describes (a removed session, a deleted activity) and keeps their ids."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_activity_id_created_dt", "activity_id", "created_dt"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40), index=True)
    activity_id: Mapped[Optional[int]]
    user_id: Mapped[Optional[int]] = mapped_column(index=True)
    subject_table: Mapped[str] = mapped_column(String(60))
    subject_id: Mapped[Optional[int]]
    summary: Mapped[str] = mapped_column(String(500))
    before: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    after: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)

    @property
    def kind(self) -> str:
        return self.action.partition(".")[0]
