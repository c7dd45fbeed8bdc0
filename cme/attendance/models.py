"""Attendance: who came (a check-in to a live meeting, or to one of its sessions) and who watched (a webcast's
viewing time)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Optional

from sqlalchemy import CheckConstraint, ForeignKey, Index, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme.extensions import db
from cme.timeutil import UTCDateTime, now_utc

if TYPE_CHECKING:
    from cme.accounts.models import User
    from cme.activities.models import Activity, ActivitySession


class Attendance(db.Model):
    """Proof of participation: a check-in (live meeting, per session if any) or viewing time (webcast)."""

    __tablename__ = "attendance"
    __table_args__ = (
        CheckConstraint("minutes_watched >= 0", name="minutes_non_negative"),
        UniqueConstraint("user_id", "activity_id", "session_id"),
        # NULLs are distinct in unique constraints, so whole-activity attendance needs its own index.
        Index(
            "uq_attendance_user_activity_whole",
            "user_id",
            "activity_id",
            unique=True,
            sqlite_where=text("session_id IS NULL"),
            postgresql_where=text("session_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[Optional[int]] = mapped_column(ForeignKey("activity_sessions.id", ondelete="CASCADE"))
    checked_in_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    minutes_watched: Mapped[int] = mapped_column(default=0)
    # Viewing time counted from heartbeats: at most the wall time between two reports (see attendance.service).
    watched_seconds: Mapped[int] = mapped_column(default=0, server_default="0")
    last_heartbeat_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    activity: Mapped[Activity] = relationship()
    session: Mapped[Optional[ActivitySession]] = relationship()
