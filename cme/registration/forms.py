"""Registration forms: the provider's form, and the organizer's roster form."""
from __future__ import annotations

from wtforms import BooleanField, EmailField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from cme.accounts.forms import LicenceFieldsMixin, ProfessionalIdentityMixin
from cme.formtools import EmailAddress, Form, MultiCheckboxField, select_choices, strip
from cme.timeutil import zone


class RegistrationForm(Form):
    """Prefilled from the profile; asks what this activity needs; the professional attestation."""

    full_name = ProfessionalIdentityMixin.full_name
    degree = ProfessionalIdentityMixin.degree
    profession = ProfessionalIdentityMixin.profession
    npi = ProfessionalIdentityMixin.npi
    licence_state = LicenceFieldsMixin.licence_state
    licence_number = LicenceFieldsMixin.licence_number
    dietary_needs = TextAreaField("Dietary needs", validators=[Optional(), Length(max=1000)], filters=[strip],
                                  description="Meals are served at the meeting; tell us about allergies or diets.")
    accessibility_needs = TextAreaField("Accessibility needs", validators=[Optional(), Length(max=1000)],
                                        filters=[strip], description="Seating, mobility, hearing or other needs.")
    session_ids = MultiCheckboxField("Sessions you plan to attend", coerce=int)
    attest = BooleanField("I am a licensed healthcare professional (or in training) and the details above are correct.",
                          validators=[DataRequired("Please confirm that you are a healthcare professional.")])

    def __init__(self, *args, activity, **kwargs):
        super().__init__(*args, **kwargs)
        self.activity = activity
        if activity.is_live_meeting and len(activity.sessions) > 1:
            self.session_ids.choices = select_choices(
                (s.id, f"{s.start_dt.astimezone(_zone(activity)):%a %b %-d, %-I:%M %p} – {s.title}")
                for s in activity.sessions)
        else:
            del self.session_ids
        if not activity.is_live_meeting:
            del self.dietary_needs
            del self.accessibility_needs

    validate_licence_number = LicenceFieldsMixin.validate_licence_number

    def validate_session_ids(self, field) -> None:
        if not field.data:
            raise ValidationError("Choose at least one session.")


def _zone(activity):
    return zone(activity.time_zone)


class RosterAddForm(Form):
    email = EmailField("Email of the person's account", validators=[DataRequired(), EmailAddress(ascii_local=False)],
                       filters=[strip])
