"""Forms for a learner's identity for reporting (issue 16, points 1 and 7): the profile's board IDs, NABP e-Profile
ID and birthday (ReportingIdentityMixin), a licence with its renewal and required hours (LicenceForm), and the few
fields one report still lacks (`missing_fields_form`, asked at claim time and on /account/reporting/<activity>).
Every format is checked by cme.accounts.identity's `*_problem` functions: the forms restate none."""
from __future__ import annotations

import calendar

from wtforms import DateField, DecimalField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from cme.accounts.identity import (
    BOARD_ID_DIGITS, OTHER_BOARD_FIELDS, Board, Missing, StateLicence, birthday_problem, board_field, board_id_problem, licence_number_problem,
    nabp_id_problem,
)
from cme.accounts.models import US_STATES, Profession
from cme.amounts import is_quarter_step
from cme.content_tags import ContentTag
from cme.formtools import Form, InRange, SelectField, none_if_blank, select_choices, strip

MONTHS = [("", "Month")] + [(str(m), calendar.month_name[m]) for m in range(1, 13)]
DAYS = [("", "Day")] + [(str(d), str(d)) for d in range(1, 32)]
MAX_HOURS = 999


def optional_int(value):
    """A select's value as an int, None for the empty choice (a value that is no number fails the choice)."""
    if value in ("", None):
        return None
    return int(value)


def _problem_check(problem):
    """A WTForms validator from one of identity's `*_problem` functions."""

    def check(_form, field) -> None:
        message = field.data and problem(field.data)
        if message:
            raise ValidationError(message)

    return check


def _board_check(board: Board):
    return _problem_check(lambda value: board_id_problem(board, value))


def birth_month_field() -> SelectField:
    return SelectField("Birth month", choices=select_choices(MONTHS), coerce=optional_int, validators=[Optional()],
                       description="Month and day only, never the year: boards match your credit by them.")


def birth_day_field() -> SelectField:
    return SelectField("Birth day", choices=select_choices(DAYS), coerce=optional_int, validators=[Optional()])


def validate_birthday(form, _field) -> None:
    problem = birthday_problem(form.birth_month.data, form.birth_day.data)
    if problem:
        raise ValidationError(problem)


def nabp_field() -> StringField:
    return StringField("NABP e-Profile ID", validators=[Optional(), Length(max=7), _problem_check(nabp_id_problem)],
                       filters=[none_if_blank], description="Six or seven digits; pharmacists' and technicians' "
                                                            "credit goes to CPE Monitor with it.")


def board_id_field(board: Board) -> StringField:
    return StringField(f"{board.acronym} ID", validators=[Optional(), Length(max=BOARD_ID_DIGITS[board][1]),
                                                          _board_check(board)],
                       filters=[none_if_blank], description=f"Your {board.label} ID, if you are its diplomate.")


class ReportingIdentityMixin:
    """The profile's reporting identity: birth month and day, NABP e-Profile ID, and the IDs at the boards other
    than ABIM (ABIM's is ProfessionalIdentityMixin.abim_id)."""

    birth_month = birth_month_field()
    birth_day = birth_day_field()
    nabp_eprofile_id = nabp_field()
    validate_birth_day = validate_birthday


for _board in Board:
    if _board != Board.ABIM:
        setattr(ReportingIdentityMixin, board_field(_board), board_id_field(_board))


def topic_field(tag: ContentTag) -> str:
    return f"topic_{tag.value}"


def _hours_rules():
    return [Optional(), InRange(min=0, max=MAX_HOURS, message=f"Enter hours from 0 to {MAX_HOURS}."), _quarter_steps]


def _quarter_steps(_form, field) -> None:
    if field.data is not None and not is_quarter_step(field.data):
        raise ValidationError("Use steps of 0.25 (e.g. 1.25, 1.5).")


class LicenceForm(Form):
    """One state licence: which, and (point 7) when it must be renewed and the hours it requires per cycle, in
    total and per mandated topic (a field per ContentTag: `topic_<tag>`)."""

    state = SelectField("State", choices=select_choices([("", "Choose…")] + [(s, s) for s in US_STATES]),
                        validators=[DataRequired("Choose the state that issued the license.")])
    number = StringField("License number", validators=[DataRequired("Enter the license number."), Length(max=40),
                                                       _problem_check(licence_number_problem)], filters=[strip])
    profession = SelectField("Profession", choices=select_choices(Profession.choices()))
    expires_on = DateField("Renewal date", validators=[Optional()],
                           description="When the license must next be renewed.")
    cycle_months = IntegerField("Renewal cycle (months)", validators=[Optional(), InRange(
        min=1, max=120, message="Enter a cycle from 1 to 120 months.")], description="Usually 24.")
    required_hours = DecimalField("Hours required per cycle", places=2, validators=_hours_rules())

    def __init__(self, *args, licence: StateLicence | None = None, **kwargs):
        if licence is not None and "obj" not in kwargs:
            kwargs["obj"] = licence
            kwargs.update({topic_field(ContentTag(r.topic)): r.hours for r in licence.requirements})
        super().__init__(*args, **kwargs)

    def validate_required_hours(self, field) -> None:
        if field.data is not None and field.data <= 0:
            raise ValidationError("Enter hours above 0, or leave it empty.")
        if field.data and (not self.expires_on.data or not self.cycle_months.data):
            raise ValidationError("Give the renewal date and the cycle too: the hours count within the cycle.")

    def topic_hours(self) -> dict[str, object]:
        return {tag.value: self[topic_field(tag)].data for tag in ContentTag}


for _tag in ContentTag:
    setattr(LicenceForm, topic_field(_tag), DecimalField(f"{_tag.label} (hours)", places=2, validators=_hours_rules()))


# ---------------------------------------------------------------- what one report still lacks

def missing_fields_form(missing: list[Missing], *, required: bool, base: type[Form] = Form, **kwargs) -> Form:
    """A form (subclassing `base`) with the fields `missing` names and nothing else: `full_name`, `birth_month`
    (with the day), `nabp_eprofile_id`, `abim_id` / `board_<board>`, `licences` (one licence: state and number).
    `required`: each must be given (the reporting page); else the caller decides (the claim form asks them only
    for a body the learner allows to report to)."""
    fields = {m.field for m in missing}

    class MissingFieldsForm(base):
        pass

    if base is not Form:  # the claim form with these fields is still the claim form
        MissingFieldsForm.__name__ = MissingFieldsForm.__qualname__ = base.__name__

    must = [DataRequired("This is needed to report your credit.")] if required else [Optional()]
    if "full_name" in fields:
        MissingFieldsForm.full_name = StringField("Full name (first and last)", validators=[*must, Length(max=200)],
                                                  filters=[strip])
    if "birth_month" in fields:
        MissingFieldsForm.birth_month = birth_month_field()
        MissingFieldsForm.birth_day = birth_day_field()
        MissingFieldsForm.validate_birth_day = validate_birthday
        if required:
            MissingFieldsForm.birth_month.kwargs["validators"] = list(must)
            MissingFieldsForm.birth_day.kwargs["validators"] = list(must)
    if "nabp_eprofile_id" in fields:
        MissingFieldsForm.nabp_eprofile_id = StringField(
            "NABP e-Profile ID", validators=[*must, Length(max=7), _problem_check(nabp_id_problem)],
            filters=[none_if_blank], description="Six or seven digits.")
    for board in Board:
        name = board_field(board)
        if name in fields:
            setattr(MissingFieldsForm, name, StringField(
                f"{board.acronym} ID", validators=[*must, Length(max=BOARD_ID_DIGITS[board][1]), _board_check(board)],
                filters=[none_if_blank]))
    if "licences" in fields:
        MissingFieldsForm.licence_state = SelectField(
            "License state", choices=select_choices([("", "—")] + [(s, s) for s in US_STATES]),
            validators=list(must), filters=[none_if_blank])
        MissingFieldsForm.licence_number = StringField(
            "License number", validators=[*must, Length(max=40), _problem_check(licence_number_problem)],
            filters=[none_if_blank], description="Letters, digits, dots and hyphens, as your board prints it.")
    return MissingFieldsForm(**kwargs)


IDENTITY_FIELDS = ("full_name", "birth_month", "birth_day", "nabp_eprofile_id", "abim_id", *OTHER_BOARD_FIELDS,
                   "licence_state", "licence_number")


def identity_data(form: Form) -> dict[str, object]:
    """What a missing-fields form holds, by field name (only the fields it has)."""
    return {name: form[name].data for name in IDENTITY_FIELDS if name in form}
