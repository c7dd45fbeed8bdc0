"""What was sent (issue 16, point 4): each export marked as sent is a batch, and each record in it is kept with
its key, its action and the exact fields sent, so the next export holds only what is new or changed and a later
delete repeats what was reported."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme.enums import LabeledEnum, check_in
from cme.extensions import db
from cme.timeutil import UTCDateTime, now_utc


class ReportKind(LabeledEnum):
    """The learner-completion exports, one batch history each."""
    PARS = "pars", "ACCME PARS learner completions (CME and MOC)"
    CPE_MONITOR = "cpe_monitor", "NABP CPE Monitor (pharmacists and technicians)"
    CE_BROKER = "ce_broker", "CE Broker roster (licensed nurses and others)"


class RecordAction(LabeledEnum):
    ADD = "add", "Add"
    DELETE = "delete", "Delete"


class ReportBatch(db.Model):
    """One export marked as sent: what it covered (`scope`: an activity or a date range) and how many adds and
    deletes it held."""

    __tablename__ = "report_batches"
    __table_args__ = (CheckConstraint(check_in("kind", ReportKind), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    scope: Mapped[str] = mapped_column(String(100))
    adds: Mapped[int] = mapped_column(default=0)
    deletes: Mapped[int] = mapped_column(default=0)

    records: Mapped[list[ReportedRecord]] = relationship(back_populates="batch", order_by="ReportedRecord.id",
                                                         cascade="all, delete-orphan", passive_deletes=True)

    @property
    def kind_label(self) -> str:
        return ReportKind(self.kind).label


class ReportedRecord(db.Model):
    """One record as sent. Its key is (kind, user, activity, subject: "cme", a board, "acpe", a licence);
    `sequence` counts the rows of that key before it, and the unique constraint on it makes two concurrent
    "mark as sent" of the same records impossible (the second breaks it, is retried, and finds nothing new)."""

    __tablename__ = "reported_records"
    __table_args__ = (
        CheckConstraint(check_in("kind", ReportKind), name="kind"),
        CheckConstraint(check_in("action", RecordAction), name="action"),
        UniqueConstraint("kind", "user_id", "activity_id", "subject", "sequence"),
        Index("ix_reported_records_activity_kind", "activity_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("report_batches.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(80))
    sequence: Mapped[int]
    action: Mapped[str] = mapped_column(String(10))
    fingerprint: Mapped[str] = mapped_column(String(64))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    completed_dt: Mapped[datetime] = mapped_column(UTCDateTime)

    batch: Mapped[ReportBatch] = relationship(back_populates="records")
