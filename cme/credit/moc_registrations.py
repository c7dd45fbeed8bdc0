"""An activity's MOC registrations once learners have claimed (issue 16, point 2): a board's points never drop
below what learners already claimed for that board, and a registration learners claimed under stays.

What "claimed for a board" means: for ABIM, the ABIM MOC points learners claimed (ABIM_MOC credit records, the
same rule `service.change_designation` holds for the ABIM_MOC designation); for the other boards, which take the
CME credit itself as MOC, the AMA PRA Category 1 Credit™ claimed by learners who hold an ID at that board. What
went out in a PARS report was claimed first, so this covers what was reported too.

The checks lock the activity (as claims do) and then call activities.reporting_data_service.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Iterable

from sqlalchemy import func, select

from cme.accounts.identity import Board, BoardIdentifier
from cme.activities import reporting_data_service as reporting_data
from cme.activities.models import Activity, CreditType
from cme.activities.reporting_data import MocRegistration
from cme.credit.errors import CreditError
from cme.credit.models import CreditRecord
from cme.extensions import db
from cme.registration.service import lock_activity


def moc_claimed(activity: Activity, board: str) -> Decimal:
    """The most credit one learner claimed that rests on the activity's `board` MOC points (0 when none; one
    query)."""
    stmt = select(func.max(CreditRecord.amount)).where(CreditRecord.activity_id == activity.id)
    if board == Board.ABIM:
        stmt = stmt.where(CreditRecord.credit_type == CreditType.ABIM_MOC)
    else:
        stmt = stmt.where(CreditRecord.credit_type == CreditType.AMA_PRA_1, CreditRecord.user_id.in_(
            select(BoardIdentifier.user_id).where(BoardIdentifier.board == board)))
    return db.session.scalar(stmt) or Decimal(0)


def change_moc_registration(activity: Activity, registration: MocRegistration | None, *, board: str,
                            points: Decimal, credit_types: Iterable[str], practice_areas: Iterable[str],
                            claim_deadline: date | None) -> MocRegistration:
    """Add or change a registration; lowering its points below what learners claimed is refused (they adjust
    those claims first, with the audit trail)."""
    activity = lock_activity(activity.id)
    if registration is not None and board == registration.board and Decimal(points) < registration.points:
        floor = min(registration.points, moc_claimed(activity, board))
        if Decimal(points) < floor:
            raise CreditError(f"Learners claimed up to {floor.normalize():f} {Board(board).acronym} MOC credit: the "
                              f"points cannot drop below that. Adjust their claims first (Credit & evaluation), "
                              "then lower the points.", code="below_claims", field="points")
    return reporting_data.save_moc_registration(
        activity, registration, board=board, points=Decimal(points), credit_types=credit_types,
        practice_areas=practice_areas, claim_deadline=claim_deadline)


def remove_moc_registration(registration: MocRegistration) -> None:
    """Remove a registration, only while no learner claimed under it."""
    activity = lock_activity(registration.activity_id)
    if moc_claimed(activity, registration.board) > 0:
        raise CreditError(f"Learners claimed {Board(registration.board).acronym} MOC credit for this activity: the "
                          "registration stays while their claims rest on it.", code="has_claims")
    reporting_data.delete_moc_registration(registration)
