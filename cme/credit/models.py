"""Credit records: what learners claimed."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, UniqueConstraint, event, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme.accounts.identity import ReportingBody
from cme.activities.models import Activity, ActivityFormat, CreditType
from cme.amounts import QUARTER_STEP_SQL
from cme.enums import check_in
from cme.extensions import db
from cme.timeutil import UTCDateTime, now_utc

if TYPE_CHECKING:
    from cme.accounts.models import User


class CreditRecord(db.Model):
    """Credit a learner claimed for an activity, one per credit type."""

    __tablename__ = "credit_records"
    __table_args__ = (
        CheckConstraint(check_in("credit_type", CreditType), name="credit_type"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(QUARTER_STEP_SQL.format(col="amount"), name="amount_quarter_step"),
        CheckConstraint("attested", name="attested"),
        UniqueConstraint("user_id", "activity_id", "credit_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    credit_type: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    attested: Mapped[bool] = mapped_column(default=False)
    claimed_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    user: Mapped[User] = relationship()
    activity: Mapped[Activity] = relationship()
    # Issue 12 point 3: when the learner completed the activity, the date their credit carries. A live activity's
    # end; for an on-demand webcast the learner's own (credit.service.completion_dt). A record written without
    # one gets the live activity's end, or the moment of the claim (_default_completed_dt).
    completed_dt: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def credit_type_label(self) -> str:
        return CreditType(self.credit_type).label


@event.listens_for(CreditRecord, "before_insert")
def _default_completed_dt(_mapper, connection, record: CreditRecord) -> None:
    if record.completed_dt is not None:
        return
    activities = Activity.__table__
    row = connection.execute(select(activities.c.format, activities.c.end_dt)
                             .where(activities.c.id == record.activity_id)).one()
    on_demand = row.format == ActivityFormat.ON_DEMAND_WEBCAST
    record.completed_dt = (record.claimed_dt or now_utc()) if on_demand else row.end_dt


class ReportingConsent(db.Model):
    """The learner's answer, given with a claim, to "may we report this completion to <body>?" (issue 16, point 1).
    One row per learner, activity and body; a later claim on the same activity updates it. Exports report only
    what has a row with `granted` true (cme/reporting)."""

    __tablename__ = "reporting_consents"
    __table_args__ = (
        CheckConstraint(check_in("body", ReportingBody), name="body"),
        UniqueConstraint("user_id", "activity_id", "body"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(String(20))
    granted: Mapped[bool]
    decided_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    user: Mapped[User] = relationship()
    activity: Mapped[Activity] = relationship()

    @property
    def body_label(self) -> str:
        return ReportingBody(self.body).label
