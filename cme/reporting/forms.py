"""The export pages' forms: the date range (a GET form), the CE Broker course tracking number, the actions."""
from __future__ import annotations

import re

from wtforms import DateField, HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from cme.formtools import Form, strip
from cme.reporting.models import ReportKind

TRACKING_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{0,39}")
MAX_RANGE_DAYS = 366


class RangeForm(Form):
    class Meta:
        csrf = False

    start = DateField("From (completion date)", validators=[DataRequired("Give the first day.")])
    end = DateField("To (inclusive)", validators=[DataRequired("Give the last day.")])

    def validate_end(self, field) -> None:
        if self.start.data and field.data:
            if field.data < self.start.data:
                raise ValidationError("The last day comes after the first.")
            if (field.data - self.start.data).days > MAX_RANGE_DAYS:
                raise ValidationError(f"Export at most {MAX_RANGE_DAYS} days at a time.")


class TrackingNumberForm(Form):
    ce_broker_tracking_number = StringField(
        "CE Broker course tracking number", filters=[strip], validators=[Optional(), Length(max=40)],
        description="As CE Broker assigned it when the course was registered (e.g. 20-123456); blank clears it.")

    def validate_ce_broker_tracking_number(self, field) -> None:
        if field.data and not TRACKING_NUMBER.fullmatch(field.data):
            raise ValidationError("A tracking number is letters, digits and hyphens, as CE Broker shows it.")


class MarkForm(Form):
    """Mark the export of one kind as sent (the scope comes from the URL)."""
    kind = HiddenField(validators=[DataRequired()])

    def validate_kind(self, field) -> None:
        if field.data not in ReportKind._value2member_map_:
            raise ValidationError("Unknown export.")
