"""Certificate forms: the public verification code box (issue 14, point 14)."""
from __future__ import annotations

from wtforms import StringField
from wtforms.validators import DataRequired, Length

from cme.formtools import Form, strip

# Room for a pasted verification address around the code; anything longer is no code of ours.
MAX_TYPED = 300


class VerifyForm(Form):
    """A GET form (it changes nothing; its misses count in the verification throttle, like /verify/<code>'s)."""

    class Meta:
        csrf = False

    code = StringField(
        "Verification code", filters=[strip],
        validators=[DataRequired("Enter the verification code printed on the certificate."),
                    Length(max=MAX_TYPED, message="That is too long for a verification code: it has 20 letters and "
                                                  "digits.")],
        description="The 20 letters and digits under the certificate's QR code. Spaces, dashes and capitals do not "
                    "matter; you can also paste the certificate's verification link.",
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"})
