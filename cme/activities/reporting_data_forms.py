"""The reporting page's forms (issue 16, point 2): the ACCME IDs with outcome measures and content tags, and one
MOC registration per board. The rules live in activities.reporting_data_service; these check the shape of what was
typed and keep it for the re-rendered page."""
from __future__ import annotations

from decimal import Decimal

from wtforms import DateField, DecimalField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from cme.accounts.identity import Board
from cme.activities.reporting_data import DEFAULT_MOC_CREDIT_TYPES, MOC_CREDIT_TYPES, OutcomeMeasure, moc_credit_types
from cme.activities.reporting_data_service import (
    MAX_PRACTICE_AREA, MAX_PRACTICE_AREAS, accme_activity_id_problem, accme_provider_id_problem,
)
from cme.amounts import MAX_AMOUNT, is_quarter_step
from cme.content_tags import ContentTag
from cme.formtools import Form, InRange, MultiCheckboxField, SelectField, none_if_blank, select_choices

# Every board's credit types, once each (ABIM's, ABP's, then the others' Lifelong Learning).
ALL_MOC_CREDIT_TYPES = list(dict.fromkeys([*[t for types in MOC_CREDIT_TYPES.values() for t in types],
                                           *DEFAULT_MOC_CREDIT_TYPES]))


def _boards_taking(credit_type: str) -> str:
    return ", ".join(board.acronym for board in Board if credit_type in moc_credit_types(board))


class ReportingDataForm(Form):
    accme_activity_id = StringField("ACCME activity ID", filters=[none_if_blank], validators=[Optional(), Length(max=20)],
                                    description="The number PARS gave this activity (digits). Blank until PARS "
                                                "numbers it.")
    accme_provider_id = StringField("ACCME provider ID", filters=[none_if_blank], validators=[Optional(), Length(max=10)],
                                    description="Your provider number in PARS: 4 to 10 digits.")
    outcome_measures = MultiCheckboxField("Outcomes measured", choices=select_choices(OutcomeMeasure.choices()),
                                          validate_choice=True)
    content_tags = MultiCheckboxField("State-mandated content covered", choices=select_choices(ContentTag.choices()),
                                      validate_choice=True,
                                      description="Learners see these on the activity's page; licence requirements "
                                                  "and CE Broker read them.")

    def validate_accme_activity_id(self, field) -> None:
        if field.data and (problem := accme_activity_id_problem(field.data)):
            raise ValidationError(problem)

    def validate_accme_provider_id(self, field) -> None:
        if field.data and (problem := accme_provider_id_problem(field.data)):
            raise ValidationError(problem)


def _lines(value):
    """Practice areas typed one per line (or separated by semicolons), blanks dropped."""
    if isinstance(value, str):
        return [part.strip() for line in value.splitlines() for part in line.split(";") if part.strip()]
    return value


class MocRegistrationForm(Form):
    board = SelectField("Certifying board", choices=select_choices(Board.choices()), default=Board.ABIM.value)
    points = DecimalField("MOC points", places=2, validators=[
        InputRequired("Enter the points."), InRange(min=Decimal("0.25"), max=MAX_AMOUNT,
                                                    message=f"Enter from 0.25 to {MAX_AMOUNT} points.")],
        description="In steps of 0.25; never more than the AMA credit designated. ABIM's are the activity's ABIM MOC "
                    "designation: saving here changes it.")
    credit_types = MultiCheckboxField(
        "Credit types", choices=select_choices((t, f"{t} ({_boards_taking(t)})") for t in ALL_MOC_CREDIT_TYPES),
        validate_choice=True, description="Only the types the board takes count.")
    practice_areas = TextAreaField("Practice areas", validators=[Optional(), Length(max=MAX_PRACTICE_AREAS * (MAX_PRACTICE_AREA + 2))],
                                   description="One per line, as the board lists them (e.g. Gastroenterology).")
    claim_deadline = DateField("Claim deadline", validators=[Optional()],
                               description="The last day learners may claim MOC, in the activity's time zone.")

    def validate_points(self, field) -> None:
        if isinstance(field.data, Decimal) and field.data.is_finite() and not is_quarter_step(field.data):
            raise ValidationError("MOC points are in steps of 0.25 (e.g. 1.25, 1.5, 1.75).")

    def validate_credit_types(self, field) -> None:
        board = self.board.data
        if board not in Board._value2member_map_:
            return
        allowed = moc_credit_types(board)
        if not field.data:
            raise ValidationError(f"Tick at least one credit type {Board(board).acronym} takes: {', '.join(allowed)}.")
        if wrong := [t for t in field.data if t not in allowed]:
            raise ValidationError(f"{Board(board).acronym} does not take {wrong[0]}: it takes {', '.join(allowed)}.")

    def validate_practice_areas(self, field) -> None:
        areas = self.areas()
        if len(areas) > MAX_PRACTICE_AREAS:
            raise ValidationError(f"List at most {MAX_PRACTICE_AREAS} practice areas.")
        if any(len(area) > MAX_PRACTICE_AREA for area in areas):
            raise ValidationError(f"A practice area has at most {MAX_PRACTICE_AREA} characters.")

    def areas(self) -> list[str]:
        return _lines(self.practice_areas.data or "")

    def registration_fields(self) -> dict:
        return {"board": self.board.data, "points": self.points.data, "credit_types": self.credit_types.data or [],
                "practice_areas": self.areas(), "claim_deadline": self.claim_deadline.data}
