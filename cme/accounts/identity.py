"""A learner's identity for reporting (issue 16, point 1): state licences (several, each with its renewal and the
hours it requires, point 7), certifying-board IDs, and, on the user row, the NABP e-Profile ID and birth month
and day (never the year).

The ABIM ID stays where it has been since issue 12 (`users.abim_id`, the credit rules read it); the other boards'
IDs live in `board_identifiers`. `Board` lists all eight; `board_id(user, board)` reads either home.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Optional

from sqlalchemy import CheckConstraint, Date, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme.accounts.models import Profession
from cme.amounts import QUARTER_STEP_SQL
from cme.content_tags import ContentTag
from cme.enums import LabeledEnum, check_in
from cme.extensions import db
from cme.timeutil import UTCDateTime, now_utc

if TYPE_CHECKING:
    from cme.accounts.models import User


class Board(LabeledEnum):
    """ABMS member boards that take CME for MOC through ACCME's PARS."""
    ABA = "aba", "American Board of Anesthesiology (ABA)"
    ABIM = "abim", "American Board of Internal Medicine (ABIM)"
    ABOS = "abos", "American Board of Orthopaedic Surgery (ABOS)"
    ABOHNS = "abohns", "American Board of Otolaryngology – Head and Neck Surgery (ABOHNS)"
    ABPATH = "abpath", "American Board of Pathology (ABPath)"
    ABP = "abp", "American Board of Pediatrics (ABP)"
    ABS = "abs", "American Board of Surgery (ABS)"
    ABTS = "abts", "American Board of Thoracic Surgery (ABTS)"

    @property
    def acronym(self) -> str:
        return self.label.rsplit("(", 1)[1].rstrip(")")


class StateLicence(db.Model):
    """A licence to practise: state, number and profession; when it must be renewed and the hours it requires
    (in total, and per mandated topic in `requirements`)."""

    __tablename__ = "state_licences"
    __table_args__ = (
        CheckConstraint(check_in("profession", Profession), name="profession"),
        CheckConstraint("required_hours IS NULL OR required_hours > 0", name="required_hours_positive"),
        CheckConstraint(QUARTER_STEP_SQL.format(col="required_hours"), name="required_hours_quarter_step"),
        UniqueConstraint("user_id", "state", "profession"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(2))
    number: Mapped[str] = mapped_column(String(40))
    profession: Mapped[str] = mapped_column(String(40))
    expires_on: Mapped[Optional[date]] = mapped_column(Date)  # the renewal date
    required_hours: Mapped[Optional[Decimal]] = mapped_column(Numeric(6, 2))  # per renewal cycle, all topics
    cycle_months: Mapped[Optional[int]]  # the renewal cycle: hours earned since expires_on minus this count
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    user: Mapped[User] = relationship()
    requirements: Mapped[list[LicenceRequirement]] = relationship(
        back_populates="licence", cascade="all, delete-orphan", order_by="LicenceRequirement.topic")


class LicenceRequirement(db.Model):
    """Hours a licence requires in one mandated topic per renewal cycle."""

    __tablename__ = "licence_requirements"
    __table_args__ = (
        CheckConstraint(check_in("topic", ContentTag), name="topic"),
        CheckConstraint("hours > 0", name="hours_positive"),
        CheckConstraint(QUARTER_STEP_SQL.format(col="hours"), name="hours_quarter_step"),
        UniqueConstraint("licence_id", "topic"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("state_licences.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(String(40))
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))

    licence: Mapped[StateLicence] = relationship(back_populates="requirements")


class BoardIdentifier(db.Model):
    """A learner's ID at a certifying board other than ABIM (ABIM's is users.abim_id)."""

    __tablename__ = "board_identifiers"
    __table_args__ = (
        CheckConstraint(check_in("board", Board) + " AND board <> 'abim'", name="board"),
        UniqueConstraint("user_id", "board"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    board: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(20))

    user: Mapped[User] = relationship()


def board_id(user: User, board: Board | str) -> str | None:
    """The learner's ID at `board` (ABIM's from the user row), or None."""
    if board == Board.ABIM:
        return user.abim_id
    return db.session.scalar(db.select(BoardIdentifier.value).where(BoardIdentifier.user_id == user.id,
                                                                     BoardIdentifier.board == board))


class ReportingBody(LabeledEnum):
    """Where a completion may be reported, each with the learner's permission (asked at claim time): ACCME's PARS
    (CME credit, passed on to state medical boards), a certifying board through PARS (MOC), NABP's CPE Monitor
    (pharmacy), CE Broker (nursing and other state boards)."""
    ACCME = "accme", "ACCME (PARS) and state medical boards"
    ABA = "aba", "American Board of Anesthesiology (MOC)"
    ABIM = "abim", "American Board of Internal Medicine (MOC)"
    ABOS = "abos", "American Board of Orthopaedic Surgery (MOC)"
    ABOHNS = "abohns", "American Board of Otolaryngology – Head and Neck Surgery (MOC)"
    ABPATH = "abpath", "American Board of Pathology (MOC)"
    ABP = "abp", "American Board of Pediatrics (MOC)"
    ABS = "abs", "American Board of Surgery (MOC)"
    ABTS = "abts", "American Board of Thoracic Surgery (MOC)"
    NABP = "nabp", "NABP CPE Monitor"
    CE_BROKER = "cebroker", "CE Broker"

    @classmethod
    def for_board(cls, board: Board | str) -> ReportingBody:
        return cls(str(board))
