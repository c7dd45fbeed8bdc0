"""The check-in desk's forms: find a registration by its code, and register a walk-in."""
from __future__ import annotations

from wtforms import BooleanField, EmailField, StringField
from wtforms.validators import DataRequired, Length

from cme.accounts.models import DEGREES, Profession
from cme.formtools import EmailAddress, Form, SelectField, select_choices, strip, without_nul


class CheckinCodeForm(Form):
    code = StringField("Check-in code", validators=[DataRequired(), Length(max=500)], filters=[without_nul, strip],
                       description="Scan the QR code on the registrant's phone, or type the code under it.")


class WalkInForm(Form):
    """Someone who did not register, at the desk (cme.attendance.walk_in)."""

    full_name = StringField("Full name", validators=[DataRequired(), Length(max=200)], filters=[strip],
                            description="As it should appear on the badge and the certificate.")
    email = EmailField("Email", validators=[DataRequired(), EmailAddress(), Length(max=254)], filters=[strip],
                       description="A new address gets an account and a mail with a link to choose a password.")
    degree = SelectField("Degree / credentials", choices=select_choices([("", "Not given")] + [(d, d) for d in DEGREES]),
                         default="")
    profession = SelectField("Profession", choices=select_choices([("", "Not given")] + Profession.choices()),
                             default="", description="Decides which credit they may claim.")
    check_in_now = BooleanField("Check in now", default=True)
    over_capacity = BooleanField("Seat over capacity", description="Only when the meeting is full: its capacity grows "
                                 "by one seat for this person, and the page says so.")
