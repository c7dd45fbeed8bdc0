"""Credit records: what learners claimed."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme.activities.models import CreditType
from cme.amounts import QUARTER_STEP_SQL
from cme.enums import check_in
from cme.extensions import db
from cme.timeutil import UTCDateTime, now_utc

if TYPE_CHECKING:
    from cme.accounts.models import User
    from cme.activities.models import Activity


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

    @property
    def credit_type_label(self) -> str:
        return CreditType(self.credit_type).label
