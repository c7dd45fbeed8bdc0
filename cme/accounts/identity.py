"""A learner's identity for reporting (issue 16, point 1): state licences (several, each with its renewal and the
hours it requires, point 7), certifying-board IDs, and, on the user row, the NABP e-Profile ID and birth month
and day (never the year).

The ABIM ID stays where it has been since issue 12 (`users.abim_id`, the credit rules read it); the other boards'
IDs live in `board_identifiers`. `Board` lists all eight; `board_id(user, board)` reads either home.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Optional

from sqlalchemy import CheckConstraint, Date, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme.accounts.models import ABIM_ID_PATTERN, Profession, profession_label
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

    @property
    def profession_label(self) -> str:
        return profession_label(self.profession)


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


# The formats each identifier must have, in one place (forms, the claim's questions and the exports' validation
# all ask these functions). ABIM IDs are six digits (ABIM's Physician Portal; users.abim_id's CHECK). NABP e-Profile
# IDs are six or seven digits (NABP, CPE Monitor). The other seven boards publish no format for the ID PARS
# matches learners by (a search of public sources in November 2026 found none): each is taken as digits, with the
# lengths below, and the board's own matching (name and birth MM/DD) does the rest. Lenient, never silent: a value
# outside the range is refused with the range it must be in.
BOARD_ID_DIGITS: dict[Board, tuple[int, int]] = {
    Board.ABA: (4, 10),     # no public rule: digits, 4 to 10
    Board.ABIM: (6, 6),     # six digits (ABIM_ID_PATTERN)
    Board.ABOS: (4, 10),    # no public rule: digits, 4 to 10
    Board.ABOHNS: (4, 10),  # no public rule: digits, 4 to 10
    Board.ABPATH: (4, 10),  # no public rule: digits, 4 to 10
    Board.ABP: (4, 10),     # no public rule: digits, 4 to 10
    Board.ABS: (4, 10),     # no public rule: digits, 4 to 10
    Board.ABTS: (4, 10),    # no public rule: digits, 4 to 10
}
BOARD_ID_PATTERNS = {Board.ABIM: re.compile(ABIM_ID_PATTERN)} | {
    board: re.compile(f"[0-9]{{{low},{high}}}") for board, (low, high) in BOARD_ID_DIGITS.items()
    if board != Board.ABIM}
NABP_ID = re.compile(r"[0-9]{6,7}")
LICENCE_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,39}")
DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February 29 is someone's birthday


def board_field(board: Board | str) -> str:
    """The profile form's field for a board's ID: ABIM's is `abim_id` (the user row), the others `board_<board>`."""
    board = Board(board)
    return "abim_id" if board == Board.ABIM else f"board_{board.value}"


OTHER_BOARD_FIELDS = tuple(board_field(b) for b in Board if b != Board.ABIM)


def board_id_problem(board: Board | str, value: str) -> str | None:
    """Why `value` is not an ID at `board` (None when it may be)."""
    board = Board(board)
    if BOARD_ID_PATTERNS[board].fullmatch(value or ""):
        return None
    if board == Board.ABIM:
        return "An ABIM ID is six digits, as ABIM shows it on your Physician Portal (e.g. 123456)."
    low, high = BOARD_ID_DIGITS[board]
    return f"An {board.acronym} ID is {low} to {high} digits, as the board shows it on your diplomate record."


def nabp_id_problem(value: str) -> str | None:
    if NABP_ID.fullmatch(value or ""):
        return None
    return "An NABP e-Profile ID is six or seven digits (from your NABP e-Profile, nabp.pharmacy)."


def licence_number_problem(value: str) -> str | None:
    """Letters, digits, dots and hyphens (no spaces), at most 40, starting with a letter or digit."""
    if LICENCE_NUMBER.fullmatch(value or ""):
        return None
    return "A license number is letters, digits, dots and hyphens, as your board prints it (at most 40)."


def birthday_problem(month: int | None, day: int | None) -> str | None:
    """Both or neither, and a day the month has (the year is never asked)."""
    if month is None and day is None:
        return None
    if month is None or day is None:
        return "Give both the month and the day of your birthday (never the year)."
    if not 1 <= month <= 12 or not 1 <= day <= DAYS_IN_MONTH[month - 1]:
        return "That day does not exist in that month."
    return None


@dataclass(frozen=True)
class Missing:
    """A field a learner must complete before a completion can be reported to a body: `field` is the profile
    form's field name (a link can point at `#<field>`), `message` says what and why."""
    field: str
    message: str


def missing_for(user: User, body: ReportingBody | str, *, licences: list[StateLicence] | None = None,
                board_ids: dict[str, str] | None = None) -> list[Missing]:
    """What `user` must still give before a completion can be reported to `body` (ReportingBody): the one rule
    the claim form, the profile and the exports' validation share. Each Missing names the profile form's field:
    `full_name`, `birth_month` (with `birth_day`), `licences` (the profile's licence section, #licences),
    `nabp_eprofile_id`, `abim_id` (ABIM, on the user row) or `board_<board>` (the other boards). A licence or board
    ID counts only when its format is right (the `*_problem` functions).

    `licences` and `board_ids` (board value -> ID, without ABIM's): the learner's, when the caller has read them
    already (the exports read them for a whole activity's learners at once); read here otherwise."""
    body = ReportingBody(body)
    missing: list[Missing] = []
    names = (user.full_name or "").split()
    if len(names) < 2:
        missing.append(Missing("full_name", "Your first and last name, as the board knows you."))
    if birthday_problem(user.birth_month, user.birth_day) or user.birth_month is None:
        missing.append(Missing("birth_month", "Your birth month and day (never the year): boards match you by them."))
    if body in (ReportingBody.ACCME, ReportingBody.CE_BROKER):
        if licences is None:
            licences = list(db.session.scalars(db.select(StateLicence).where(StateLicence.user_id == user.id)))
        licences = [licence for licence in licences if not licence_number_problem(licence.number)]
    if body == ReportingBody.ACCME:
        has_board = (user.abim_id and not board_id_problem(Board.ABIM, user.abim_id)) or any(
            not board_id_problem(board, value) for board, value in _board_ids(user, board_ids).items())
        if not licences and not has_board:
            missing.append(Missing("licences", "A state license (state and number) or a certifying-board ID."))
    elif body == ReportingBody.NABP:
        if not user.nabp_eprofile_id or nabp_id_problem(user.nabp_eprofile_id):
            missing.append(Missing("nabp_eprofile_id", "Your NABP e-Profile ID (six or seven digits)."))
    elif body == ReportingBody.CE_BROKER:
        if not licences:
            missing.append(Missing("licences", "The state license (state, number and profession) CE Broker "
                                               "records your hours against."))
    else:
        board = Board(body.value)
        value = user.abim_id if board == Board.ABIM else _board_ids(user, board_ids).get(board.value)
        if not value or board_id_problem(board, value):
            missing.append(Missing(board_field(board), f"Your {board.acronym} ID."))
    return missing


def _board_ids(user: User, known: dict[str, str] | None) -> dict[str, str]:
    """The learner's board IDs other than ABIM's, by board value: `known` when given."""
    if known is not None:
        return known
    return {board: value for board, value in db.session.execute(
        db.select(BoardIdentifier.board, BoardIdentifier.value).where(BoardIdentifier.user_id == user.id))}


def licences_of(user: User) -> list[StateLicence]:
    """The learner's licences, the first one given first."""
    return list(db.session.scalars(db.select(StateLicence).where(StateLicence.user_id == user.id)
                                   .order_by(StateLicence.id)))
