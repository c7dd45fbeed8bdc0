"""The audit log's filters (a GET form)."""
from __future__ import annotations

from wtforms import StringField
from wtforms.validators import Length, Optional

from cme.audit.recording import action_choices
from cme.formtools import Form, SelectField, select_choices, strip, without_nul


class AuditFilterForm(Form):
    class Meta:
        csrf = False

    activity = StringField("Activity (title or number)", filters=[without_nul, strip],
                           validators=[Optional(), Length(max=200)])
    actor = StringField("Who (name, or “system”)", filters=[without_nul, strip], validators=[Optional(), Length(max=200)])
    action = SelectField("What", choices=select_choices([("", "Every action"), *action_choices()]), default="",
                         validators=[Optional()])
