"""Forms of the data-rights pages: both ask for the password again."""
from __future__ import annotations

from wtforms import BooleanField, PasswordField, SubmitField
from wtforms.validators import DataRequired

from cme.formtools import Form


class ExportForm(Form):
    current_password = PasswordField("Your password", validators=[DataRequired("Enter your password.")])
    submit = SubmitField("Download my data")


class CloseAccountForm(Form):
    current_password = PasswordField("Your password", validators=[DataRequired("Enter your password.")])
    understood = BooleanField("I understand: my account closes for good, my upcoming registrations are cancelled, "
                              "and only what accreditation requires is kept, for six years.",
                              validators=[DataRequired("Tick this box to confirm that you want to close your account.")])
    submit = SubmitField("Close my account")
