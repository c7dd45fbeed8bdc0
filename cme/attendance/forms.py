"""The check-in desk's form."""
from __future__ import annotations

from wtforms import StringField
from wtforms.validators import DataRequired, Length

from cme.formtools import Form, strip, without_nul


class CheckinCodeForm(Form):
    code = StringField("Check-in code", validators=[DataRequired(), Length(max=500)], filters=[without_nul, strip],
                       description="Scan the QR code on the registrant's phone, or type the code under it.")
