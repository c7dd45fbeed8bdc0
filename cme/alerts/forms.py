"""The alert form: a name and the catalog's own filter fields (the same choices and checks as the catalog's)."""
from __future__ import annotations

from wtforms import StringField, SubmitField
from wtforms.validators import Length, Optional

from cme.activities.forms import CatalogFilterForm
from cme.alerts.service import NAME_LENGTH, AlertFilters
from cme.formtools import Form, strip


class AlertForm(Form):
    # The catalog's fields themselves (free text, format, specialty or topic, credit type): an alert keeps what
    # the catalog filters on, dates and "past" apart.
    q = CatalogFilterForm.q
    format = CatalogFilterForm.format
    specialty = CatalogFilterForm.specialty
    credit_type = CatalogFilterForm.credit_type
    name = StringField("Name of this alert (optional)", filters=[strip],
                       validators=[Optional(), Length(max=NAME_LENGTH)],
                       description="As it appears in your digests. Left blank, the filters name it.")
    submit = SubmitField("Save alert")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.q.label.text = "Words to look for"
        self.q.description = "Every word must appear: in the title, topics, speakers, city or venue."

    def alert_filters(self) -> AlertFilters:
        return AlertFilters(name=self.name.data or "", q=self.q.data or "", format=self.format.data or "",
                            specialty=self.specialty.data or "", credit_type=self.credit_type.data or "")
