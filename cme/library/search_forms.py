"""The library search's GET form: the words, and the filters (type, topic, activity, speaker, year)."""
from __future__ import annotations

from wtforms import StringField
from wtforms.validators import Length, Optional

from cme.formtools import Form, SelectField, select_choices, strip
from cme.library import topics as topic_list
from cme.library.search import MAX_QUERY_CHARS, SPEAKER_MAX, SearchKind


class SearchForm(Form):
    """Bad filter values are shown as errors and ignored; the view gives the activities and years that have
    entries."""

    class Meta:
        csrf = False

    q = StringField("Search the library", filters=[strip], validators=[Optional()])
    type = SelectField("Type", default="", validators=[Optional()],
                       choices=select_choices([("", "Everything")] + SearchKind.choices()))
    topic = SelectField("Topic", default="", validators=[Optional()],
                        choices=select_choices([("", "Any topic")] + topic_list.CHOICES))
    activity = SelectField("Activity", default="", validators=[Optional()],
                           description="The most recent ones; choose a year to list that year's.")
    speaker = StringField("Speaker or source", filters=[strip], validators=[Optional(), Length(max=SPEAKER_MAX)])
    year = SelectField("Year", default="", validators=[Optional()])

    def __init__(self, *args, activities=(), years=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.activity.choices = select_choices([("", "Any activity")] + [(str(i), label) for i, label in activities])
        self.year.choices = select_choices([("", "Any year")] + [(str(y), str(y)) for y in years])
        self.q.render_kw = {"maxlength": MAX_QUERY_CHARS}
