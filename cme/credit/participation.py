"""Who took part, for the operations below credit that must not undo it: a registration with attendance or
claimed credit cannot be cancelled, and a check-in cannot be taken back once credit was claimed or the evaluation
submitted on it. Attendance and registration cannot see claims or evaluations (credit sits above them), so these
operations are asked for here."""
from __future__ import annotations

from datetime import datetime

from cme.attendance import service as attendance
from cme.credit.evaluation import evaluated_pairs
from cme.credit.service import claimed, took_part
from cme.registration import service as registration_service
from cme.registration.models import Registration


def cancel_registration(registration: Registration, *, by_organizer: bool = False,
                        now: datetime | None = None) -> list[Registration]:
    """Cancel a registration unless its registrant took part. Returns the registrations promoted."""
    return registration_service.cancel_registration(
        registration, took_part=registration.id in took_part([registration]), by_organizer=by_organizer, now=now)


def undo_check_in(registration: Registration, *, session_id: int | None = None) -> bool:
    """Take back a check-in made by mistake, unless credit was claimed or the evaluation submitted on it. False
    when there was none. The activity is locked first, so a claim made at the same moment waits (claim_credit
    locks it too) and is then judged on the attendance left."""
    registration_service.lock_activity(registration.activity_id)
    pair = (registration.user_id, registration.activity_id)
    return attendance.undo_check_in(registration, session_id=session_id, credit_claimed=bool(claimed([pair])),
                                    evaluated=bool(evaluated_pairs([pair])))


def check_in_undo_problems(registrations: list[Registration]) -> dict[int, str]:
    """Why the check-in of each of these registrations may not be taken back, for the ones that may not (pages
    offer "Undo check-in" for the others): attendance.undo_problem, two queries."""
    pairs = {(r.user_id, r.activity_id) for r in registrations}
    with_claims, with_evaluations = claimed(pairs), evaluated_pairs(pairs)
    problems = {}
    for r in registrations:
        pair = (r.user_id, r.activity_id)
        problem = attendance.undo_problem(r, credit_claimed=pair in with_claims, evaluated=pair in with_evaluations)
        if problem:
            problems[r.id] = problem[0]
    return problems


def cancellable(registrations: list[Registration], *, now: datetime | None = None) -> set[int]:
    """Which of these registrations may be cancelled now (pages offer Cancel for exactly these)."""
    return registration_service.cancellable(registrations, took_part=took_part(registrations), now=now)
