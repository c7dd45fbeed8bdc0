"""Account forms. Cross-field checks live in validate_<field> methods."""
from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from cme.accounts.identity import licence_number_problem
from cme.accounts.identity_forms import ReportingIdentityMixin
from cme.accounts.models import ABIM_ID_PATTERN, DEGREES, US_STATES, Profession, Role
from cme.accounts.npi import is_valid_npi
from cme.formtools import EmailAddress, Form, SelectField, none_if_blank, select_choices, strip
from cme.timeutil import US_ZONES, is_valid_zone, zone_choices

MIN_PASSWORD_LENGTH = 10

PASSWORD_RULES = [DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200,
                                         message=f"Use at least {MIN_PASSWORD_LENGTH} characters (and at most 200).")]

_US = {name for name, _ in US_ZONES}
TIME_ZONE_CHOICES = (select_choices(US_ZONES, optgroup="United States")
                     + select_choices([c for c in zone_choices() if c[0] not in _US], optgroup="Other time zones"))


def validate_npi(_form, field) -> None:
    if field.data and not is_valid_npi(field.data):
        raise ValidationError("This is not a valid NPI: it must be 10 digits starting with 1 or 2, and its check digit must match.")


def validate_zone(_form, field) -> None:
    if not is_valid_zone(field.data):
        raise ValidationError("Choose a time zone from the list.")


class ProfessionalIdentityMixin:
    """Who the provider is professionally: used on sign-up and the profile."""

    full_name = StringField("Full name (as it should appear on certificates)",
                            validators=[DataRequired(), Length(max=200)], filters=[strip])
    degree = SelectField("Degree / credentials", choices=select_choices([("", "Choose…")] + [(d, d) for d in DEGREES]),
                         validators=[DataRequired(message="Choose your degree or credentials.")])
    profession = SelectField("Profession", choices=select_choices(Profession.choices()), default=Profession.PHYSICIAN.value)
    specialty = StringField("Specialty", validators=[Optional(), Length(max=120)], filters=[strip])
    npi = StringField("NPI (optional)", validators=[Optional(), Length(max=10), validate_npi], filters=[none_if_blank],
                      description="Your 10-digit National Provider Identifier, reported with your credit.")
    abim_id = StringField("ABIM ID (optional)", validators=[Optional(), Length(max=6), Regexp(
                              f"^{ABIM_ID_PATTERN}$", message="An ABIM ID is six digits, as ABIM shows it on your "
                              "Physician Portal (e.g. 123456).")], filters=[none_if_blank],
                          description="Six digits. Needed to claim ABIM MOC points, which are reported to ABIM.")
    time_zone = SelectField("Home time zone", choices=TIME_ZONE_CHOICES, default="America/New_York",
                            validators=[validate_zone], description="Webcast times are also shown in this zone.")


def validate_licence_number_format(_form, field) -> None:
    problem = field.data and licence_number_problem(field.data)
    if problem:
        raise ValidationError(problem)


class LicenceFieldsMixin:
    """One state licence, as sign-up and registration ask it (it becomes one of the learner's licences:
    cme.accounts.identity_service.note_licence; the profile manages them all)."""

    licence_state = SelectField("License state", choices=select_choices([("", "—")] + [(s, s) for s in US_STATES]),
                                validators=[Optional()], filters=[none_if_blank])
    licence_number = StringField("License number", validators=[Optional(), Length(max=40),
                                                               validate_licence_number_format],
                                 filters=[none_if_blank],
                                 description="Letters, digits, dots and hyphens, as your board prints it.")

    def validate_licence_number(self, field) -> None:
        if field.data and not self.licence_state.data:
            raise ValidationError("Choose the state that issued this license.")


class SignUpForm(ProfessionalIdentityMixin, LicenceFieldsMixin, Form):
    email = EmailField("Email", validators=[DataRequired(), EmailAddress(), Length(max=254)], filters=[strip])
    password = PasswordField("Password", validators=PASSWORD_RULES,
                             description=f"At least {MIN_PASSWORD_LENGTH} characters.")
    confirm = PasswordField("Repeat password", validators=[DataRequired(), EqualTo("password", "The passwords do not match.")])
    submit = SubmitField("Create account")


class LoginForm(Form):
    email = EmailField("Email", validators=[DataRequired(), EmailAddress(ascii_local=False)], filters=[strip])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me logged in on this device")
    submit = SubmitField("Log in")


class ProfileForm(ProfessionalIdentityMixin, ReportingIdentityMixin, Form):
    """The professional identity and what reporting credit needs (the licences have their own forms:
    LicenceForm); the email address changes on its own form (EmailChangeForm)."""

    submit = SubmitField("Save profile")


class EmailChangeForm(Form):
    email = EmailField("New email address", validators=[DataRequired(), EmailAddress(), Length(max=254)], filters=[strip],
                       description="We will send a link to this address; your address changes when it is followed.")
    current_password = PasswordField("Current password", validators=[DataRequired()])
    submit = SubmitField("Send the confirmation link")


class PasswordChangeForm(Form):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    password = PasswordField("New password", validators=PASSWORD_RULES,
                             description=f"At least {MIN_PASSWORD_LENGTH} characters.")
    confirm = PasswordField("Repeat new password", validators=[DataRequired(), EqualTo("password", "The passwords do not match.")])
    submit = SubmitField("Change password")


class PasswordResetRequestForm(Form):
    email = EmailField("Email", validators=[DataRequired(), EmailAddress()], filters=[strip])
    submit = SubmitField("Send reset link")


class PasswordResetForm(Form):
    password = PasswordField("New password", validators=PASSWORD_RULES,
                             description=f"At least {MIN_PASSWORD_LENGTH} characters.")
    confirm = PasswordField("Repeat new password", validators=[DataRequired(), EqualTo("password", "The passwords do not match.")])
    submit = SubmitField("Set new password")


class RoleForm(Form):
    role = SelectField("Role", choices=select_choices(Role.choices()))
    submit = SubmitField("Change role")
