"""Evaluations, post-tests and the audit trail of credit adjustments."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme.activities.models import CreditType
from cme.enums import LabeledEnum, check_in
from cme.extensions import db
from cme.timeutil import UTCDateTime, now_utc

if TYPE_CHECKING:
    from cme.accounts.models import User


class QuestionKind(LabeledEnum):
    LIKERT = "likert", "Agreement (1 to 5)"
    CHOICE = "choice", "Multiple choice"
    TEXT = "text", "Free text"


class EvaluationQuestion(db.Model):
    __tablename__ = "evaluation_questions"
    __table_args__ = (CheckConstraint(check_in("kind", QuestionKind), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(10))
    prompt: Mapped[str] = mapped_column(String(500))
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(default=True)


class EvaluationResponse(db.Model):
    __tablename__ = "evaluation_responses"
    __table_args__ = (UniqueConstraint("user_id", "activity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class PostTestQuestion(db.Model):
    __tablename__ = "post_test_questions"
    __table_args__ = (CheckConstraint("correct_index >= 0", name="correct_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    prompt: Mapped[str] = mapped_column(String(500))
    choices: Mapped[list[str]] = mapped_column(JSON)
    correct_index: Mapped[int]
    # Shown to learners after they submit an attempt (the page escapes it: the organizer's text).
    explanation: Mapped[str] = mapped_column(Text, default="", server_default="")


class PostTestAttempt(db.Model):
    __tablename__ = "post_test_attempts"
    __table_args__ = (CheckConstraint("score >= 0 AND score <= 100", name="score_percent"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    score: Mapped[int]
    passed: Mapped[bool]
    submitted_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # Each question as scored: [{"question_id", "chosen" (index or None), "correct"}] (None: before answers were kept).
    answers: Mapped[Optional[list[dict[str, Any]]]] = mapped_column(JSON)


class CreditAdjustment(db.Model):
    """An organizer's change to a learner's credit, kept for audit."""

    __tablename__ = "credit_adjustments"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_record_id: Mapped[Optional[int]] = mapped_column(ForeignKey("credit_records.id", ondelete="SET NULL"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    credit_type: Mapped[str] = mapped_column(String(20))
    old_amount: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    new_amount: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    reason: Mapped[str] = mapped_column(Text)
    adjusted_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    adjusted_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    learner: Mapped["User"] = relationship(foreign_keys=[user_id])
    adjusted_by: Mapped[Optional["User"]] = relationship(foreign_keys=[adjusted_by_id])

    @property
    def credit_type_label(self) -> str:
        return CreditType(self.credit_type).label
