"""Operations on a learner's identity for reporting (issue 16, points 1 and 7): licences (add, change, remove, and
the one licence sign-up and registration ask for), board IDs, NABP e-Profile ID and birthday. Each value is checked
by cme.accounts.identity's `*_problem` functions, the same the forms and the exports ask."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select

from cme.accounts.identity import (
    Board, BoardIdentifier, LicenceRequirement, StateLicence, birthday_problem, board_field, board_id_problem,
    licence_number_problem, nabp_id_problem,
)
from cme.accounts.models import US_STATES, Profession, User
from cme.content_tags import ContentTag
from cme.errors import DomainError
from cme.extensions import db


class IdentityError(DomainError):
    """A refused change to a learner's reporting identity."""


def _check(problem: str | None, field: str) -> None:
    if problem:
        raise IdentityError(problem, code="format", field=field)


def board_ids_of(user: User) -> dict[str, str]:
    """{profile field: ID} for every board ID the learner gave (ABIM's from the user row), one query."""
    ids = {board_field(b.board): b.value for b in db.session.scalars(
        select(BoardIdentifier).where(BoardIdentifier.user_id == user.id))}
    if user.abim_id:
        ids[board_field(Board.ABIM)] = user.abim_id
    return ids


def set_board_id(user: User, board: Board | str, value: str | None) -> None:
    """Set (or with None, remove) the learner's ID at `board`."""
    board = Board(board)
    value = (value or "").strip() or None
    if value is not None:
        _check(board_id_problem(board, value), board_field(board))
    if board == Board.ABIM:
        user.abim_id = value
        return
    row = db.session.scalar(select(BoardIdentifier).where(BoardIdentifier.user_id == user.id,
                                                          BoardIdentifier.board == board.value))
    if value is None:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(BoardIdentifier(user_id=user.id, board=board.value, value=value))
    else:
        row.value = value


def set_reporting_identity(user: User, **values: Any) -> None:
    """Save what is given of: `birth_month` with `birth_day`, `nabp_eprofile_id`, `full_name`, `abim_id` and
    `board_<board>`, and one licence (`licence_state`, `licence_number`: note_licence). Keys not given stay."""
    if "birth_month" in values or "birth_day" in values:
        month, day = values.get("birth_month"), values.get("birth_day")
        _check(birthday_problem(month, day), "birth_day")
        user.birth_month, user.birth_day = month, day
    if "nabp_eprofile_id" in values:
        nabp = (values["nabp_eprofile_id"] or "").strip() or None
        if nabp is not None:
            _check(nabp_id_problem(nabp), "nabp_eprofile_id")
        user.nabp_eprofile_id = nabp
    if values.get("full_name"):
        user.full_name = values["full_name"].strip()
    for board in Board:
        if board_field(board) in values:
            set_board_id(user, board, values[board_field(board)])
    if values.get("licence_state") and values.get("licence_number"):
        note_licence(user, values["licence_state"], values["licence_number"])
    db.session.flush()


def note_licence(user: User, state: str, number: str, *, profession: str | None = None) -> StateLicence:
    """The licence sign-up, registration or a claim was given: it becomes one of the learner's licences unless they
    already have one of that state and profession (the profile is where a number is changed)."""
    profession = profession if profession in Profession._value2member_map_ else user.profession
    if user.id is None:
        db.session.flush()
    existing = db.session.scalar(select(StateLicence).where(
        StateLicence.user_id == user.id, StateLicence.state == state, StateLicence.profession == profession))
    if existing is not None:
        return existing
    _check(None if state in US_STATES else "Choose a state from the list.", "licence_state")
    _check(licence_number_problem(number), "licence_number")
    licence = StateLicence(user_id=user.id, state=state, number=number, profession=profession)
    db.session.add(licence)
    db.session.flush()
    return licence


def save_licence(user: User, licence: StateLicence | None, *, state: str, number: str, profession: str,
                 expires_on: date | None = None, required_hours: Decimal | None = None,
                 cycle_months: int | None = None, topic_hours: Mapping[str, Decimal | None] | None = None
                 ) -> StateLicence:
    """Add a licence (`licence` None) or change one of the learner's, with its renewal and required hours, in total
    and per mandated topic (`topic_hours`: {ContentTag value: hours}; empty or zero removes a topic)."""
    _check(None if state in US_STATES else "Choose a state from the list.", "state")
    _check(licence_number_problem(number), "number")
    _check(None if profession in Profession._value2member_map_ else "Choose a profession.", "profession")
    if licence is not None and licence.user_id != user.id:
        raise IdentityError("This license is not yours.", code="not_yours")
    clash = db.session.scalar(select(StateLicence.id).where(
        StateLicence.user_id == user.id, StateLicence.state == state, StateLicence.profession == profession,
        *([StateLicence.id != licence.id] if licence is not None else [])))
    if clash is not None:
        raise IdentityError(f"You already have a {state} license for this profession: change that one instead.",
                            code="duplicate", field="state")
    if required_hours is not None and required_hours <= 0:
        required_hours = None
    if required_hours is not None and (expires_on is None or not cycle_months):
        raise IdentityError("Give the renewal date and the cycle too: the hours count within the cycle.",
                            code="cycle", field="required_hours")
    if licence is None:
        licence = StateLicence(user_id=user.id)
        db.session.add(licence)
    licence.state, licence.number, licence.profession = state, number, profession
    licence.expires_on, licence.required_hours, licence.cycle_months = expires_on, required_hours, cycle_months
    wanted = {ContentTag(tag).value: Decimal(hours) for tag, hours in (topic_hours or {}).items() if hours}
    for requirement in list(licence.requirements):
        if requirement.topic not in wanted:
            licence.requirements.remove(requirement)
        else:
            requirement.hours = wanted.pop(requirement.topic)
    for topic, hours in wanted.items():
        licence.requirements.append(LicenceRequirement(topic=topic, hours=hours))
    db.session.flush()
    return licence


def remove_licence(user: User, licence: StateLicence) -> None:
    if licence.user_id != user.id:
        raise IdentityError("This license is not yours.", code="not_yours")
    db.session.execute(delete(LicenceRequirement).where(LicenceRequirement.licence_id == licence.id))
    db.session.delete(licence)
    db.session.flush()
