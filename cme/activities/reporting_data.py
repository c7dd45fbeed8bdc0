"""What an activity carries for the accreditors' reports (issue 16, point 2), beside what the activity already
holds for its statements: providership (`Activity.accreditation_kind`, `joint_provider`), commercial support
(`CommercialSupport`) and the ACPE UAN with its topic designator (`Activity.acpe_uan`, cme/activities/acpe.py).

Here: the outcomes the activity measures, its registration for MOC with each certifying board, and the state-mandated
content it covers (cme/content_tags.py). The ACCME activity and provider IDs are columns of `activities`."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme.accounts.identity import Board
from cme.activities.models import Activity
from cme.amounts import QUARTER_STEP_SQL
from cme.content_tags import ContentTag
from cme.enums import LabeledEnum, check_in
from cme.extensions import db
from cme.timeutil import UTCDateTime


class OutcomeMeasure(LabeledEnum):
    """ACCME's outcome levels an activity may measure change in (PARS activity data)."""
    LEARNER_COMPETENCE = "learner_competence", "Learner competence"
    LEARNER_PERFORMANCE = "learner_performance", "Learner performance"
    PATIENT_HEALTH = "patient_health", "Patient health"
    COMMUNITY_HEALTH = "community_health", "Community or population health"


class ActivityOutcomeMeasure(db.Model):
    __tablename__ = "activity_outcome_measures"
    __table_args__ = (CheckConstraint(check_in("measure", OutcomeMeasure), name="measure"),)

    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    measure: Mapped[str] = mapped_column(String(30), primary_key=True)


class ActivityContentTag(db.Model):
    """State-mandated content an activity covers (e.g. opioid prescribing), for licence requirements and CE Broker."""

    __tablename__ = "activity_content_tags"
    __table_args__ = (CheckConstraint(check_in("tag", ContentTag), name="tag"),)

    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


# The credit types each board takes for MOC, in one place (the form's checkboxes, the service's check, the exports).
# ABIM and ABP name theirs; the other boards take CME as Lifelong Learning (Part 2).
MOC_CREDIT_TYPES: dict[str, tuple[str, ...]] = {
    Board.ABIM: ("Medical Knowledge", "Practice Assessment", "Patient Safety"),
    Board.ABP: ("Lifelong Learning and Self-Assessment (Part 2)", "Improving Professional Practice (Part 4)"),
}
DEFAULT_MOC_CREDIT_TYPES: tuple[str, ...] = ("Lifelong Learning (Part 2)",)


def moc_credit_types(board: Board | str) -> tuple[str, ...]:
    """The MOC credit types `board` takes."""
    return MOC_CREDIT_TYPES.get(Board(board), DEFAULT_MOC_CREDIT_TYPES)


class MocRegistration(db.Model):
    """The activity's registration for MOC with one certifying board: how many points, of which credit types (e.g.
    ABIM's Medical Knowledge, Practice Assessment), for which practice areas, and until when learners may claim."""

    __tablename__ = "moc_registrations"
    __table_args__ = (
        CheckConstraint(check_in("board", Board), name="board"),
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint(QUARTER_STEP_SQL.format(col="points"), name="points_quarter_step"),
        UniqueConstraint("activity_id", "board"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    board: Mapped[str] = mapped_column(String(10))
    points: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    credit_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    practice_areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    claim_deadline_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    activity: Mapped[Activity] = relationship()

    @property
    def board_label(self) -> str:
        return Board(self.board).label
