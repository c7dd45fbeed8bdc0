"""Who took part, for the operations below credit that must not undo it: a registration with attendance or
claimed credit cannot be cancelled, and a check-in whose credit was claimed cannot be taken back. Attendance and
registration cannot see claims (credit sits above them), so these operations are asked for here."""
from __future__ import annotations

from datetime import datetime

from cme.attendance import service as attendance
from cme.credit.service import claimed, took_part
from cme.registration import service as registration_service
from cme.registration.models import Registration


def cancel_registration(registration: Registration, *, by_organizer: bool = False,
                        now: datetime | None = None) -> list[Registration]:
    """Cancel a registration unless its registrant took part. Returns the registrations promoted."""
    return registration_service.cancel_registration(
        registration, took_part=registration.id in took_part([registration]), by_organizer=by_organizer, now=now)


def undo_check_in(registration: Registration, *, session_id: int | None = None) -> bool:
    """Take back a check-in made by mistake, unless credit was claimed on it. False when there was none."""
    credit_claimed = bool(claimed([(registration.user_id, registration.activity_id)]))
    return attendance.undo_check_in(registration, session_id=session_id, credit_claimed=credit_claimed)


def cancellable(registrations: list[Registration], *, now: datetime | None = None) -> set[int]:
    """Which of these registrations may be cancelled now (pages offer Cancel for exactly these)."""
    return registration_service.cancellable(registrations, took_part=took_part(registrations), now=now)
