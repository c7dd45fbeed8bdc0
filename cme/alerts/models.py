"""Alerts: a learner's saved catalog filters, and which activities each alert has already mailed."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme.accounts.models import User
from cme.activities.models import ActivityFormat, CreditType
from cme.extensions import db
from cme.timeutil import UTCDateTime, now_utc

# The catalog's format filter: a format, or "webcast" (live and on-demand alike), or "" (any).
ALERT_FORMATS = ("", "webcast", *(f.value for f in ActivityFormat))
ALERT_CREDIT_TYPES = ("", *(c.value for c in CreditType))


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def filter_key(q: str, format: str, specialty: str, credit_type: str) -> str:  # noqa: A002  (the filter's name)
    """What makes two alerts the same (the words in any case): one alert per learner and key (a unique
    constraint, so a double submit cannot make two)."""
    return "\x1f".join((q.lower(), format, specialty, credit_type))


class ActivityAlert(db.Model):
    """The catalog filters a learner asked to hear about (`q`, `format`, `specialty`, `credit_type`, as the catalog
    reads them: cme.activities.catalog.CatalogFilters), under a name of their choosing.

    `watermark_dt`: activities published after it are new to this alert (set when it is made, turned back on, and
    at each digest). `next_digest_dt`: when the learner's next weekly digest is due; all the active alerts of one
    learner share it, so one mail a week gathers them. `last_sent_dt`: the last digest that carried activities for
    this alert. `stopped_dt`: turned off then (from the alerts page, or by a digest's unsubscribe link); None while
    it is on."""

    __tablename__ = "activity_alerts"
    __table_args__ = (
        CheckConstraint(_one_of("format", ALERT_FORMATS), name="format"),
        CheckConstraint(_one_of("credit_type", ALERT_CREDIT_TYPES), name="credit_type"),
        CheckConstraint("name <> ''", name="name_not_empty"),
        UniqueConstraint("user_id", "filter_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    q: Mapped[str] = mapped_column(String(200), default="")
    format: Mapped[str] = mapped_column(String(20), default="")
    specialty: Mapped[str] = mapped_column(String(120), default="")
    credit_type: Mapped[str] = mapped_column(String(30), default="")
    filter_key: Mapped[str] = mapped_column(String(400))  # `filter_key(...)` of the four filters
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    watermark_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    next_digest_dt: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_sent_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    stopped_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def is_on(self) -> bool:
        return self.stopped_dt is None

    def __repr__(self) -> str:
        return f"<ActivityAlert {self.id} user={self.user_id} {self.name!r}>"


class AlertMailing(db.Model):
    """An activity an alert has mailed: never twice, even if it is unpublished and published again."""

    __tablename__ = "activity_alert_mailings"

    alert_id: Mapped[int] = mapped_column(ForeignKey("activity_alerts.id", ondelete="CASCADE"), primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True,
                                             index=True)
    mailed_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
