"""The transactional outbox: mail is a row written with the change that caused it."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cme.enums import LabeledEnum, check_in
from cme.extensions import db
from cme.timeutil import UTCDateTime, now_utc


class OutboxStatus(LabeledEnum):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(check_in("status", OutboxStatus), name="status"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        CheckConstraint("raw_message IS NOT NULL OR payload IS NOT NULL", name="message_or_payload"),
        # The worker's claim reads due rows in (next_attempt_dt, id) order straight from this index: without `id`,
        # rows due at the same moment (an activity's reminders, claims let go together) were all read and sorted
        # for each batch of ten (issue 17, point 3).
        Index("ix_outbox_messages_status_next_attempt_dt_id", "status", "next_attempt_dt", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(50), default="")  # e.g. password_reset, registration_confirmed
    # The complete RFC 5322 message, composed by the delivery worker from `payload` (a JSON note of what to say,
    # naming its composer) and stored here before the first try.
    raw_message: Mapped[Optional[str]] = mapped_column(Text)
    payload: Mapped[Optional[str]] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    sent_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Issue 12, point 5 (and 6): not before this instant. A notice waits a few minutes so that a burst of edits
    # makes one mail; a reminder waits for its time. The worker claims nothing before it.
    send_after_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Issue 12, points 5 and 6: what the row is about ("notice:<registration id>", "reminder:<registration id>").
    # While the row waits (no worker has claimed it), a later change updates, moves or drops it by this key
    # instead of queueing a second mail.
    coalesce_key: Mapped[Optional[str]] = mapped_column(String(100), index=True)
    # Issue 13, point 7: the delivery worker holding the row ("<host>:<pid>:<random>", `worker_identity()`);
    # `next_attempt_dt` is then its lease. Cleared when the worker lets the row go (a retry is scheduled, it stops
    # or the SMTP server is unreachable); kept on a sent or failed row as the worker that settled it.
    claimed_by: Mapped[Optional[str]] = mapped_column(String(200))
