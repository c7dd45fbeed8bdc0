"""Abstract forms: the organizer's abstract (authors typed one per line), the CSV import, and the public list's
filters."""
from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from cme.activities.models import SPECIALTIES
from cme.formtools import Form, SelectField, select_choices, strip, without_nul
from cme.library.abstracts.models import KEYWORDS_MAX, SECTION_MAX, SECTIONS, TITLE_MAX, PresentationType
from cme.library.abstracts.service import (
    AbstractFields, AuthorEntry, authors_text, parse_authors, parse_keywords,
)
from cme.timeutil import utc_to_local

AUTHORS_HELP = ("One author per line, in byline order: Name (Affiliation). Put * before the presenting author, "
                "as in *Maria Lopez (University of Washington, Seattle).")
TOPIC_CHOICES = select_choices([("", "No topic")] + [(s, s) for s in SPECIALTIES])


def session_label(session, zone_name: str) -> str:
    return f"{utc_to_local(session.start_dt, zone_name):%a %b %-d, %-I:%M %p} · {session.title}"


class AbstractForm(Form):
    """An abstract of an activity: the view gives the activity's agenda (`sessions`) and time zone."""

    title = StringField("Title", validators=[DataRequired("Enter the title."), Length(max=TITLE_MAX)],
                        filters=[strip])
    authors = TextAreaField("Authors", validators=[DataRequired("Enter at least one author."), Length(max=20_000)],
                            description=AUTHORS_HELP, render_kw={"rows": 5})
    presentation_type = SelectField("Presented as", choices=select_choices(PresentationType.choices()),
                                    default=PresentationType.ORAL.value)
    session = SelectField("Agenda session", default="", validators=[Optional()],
                          description="Where it was presented. Without one, the book of abstracts groups it by topic.")
    topic = SelectField("Topic", choices=TOPIC_CHOICES, default="", validators=[Optional()])
    background = TextAreaField("Background", filters=[strip], render_kw={"rows": 4},
                               validators=[DataRequired("Enter the background."), Length(max=SECTION_MAX)])
    methods = TextAreaField("Methods", filters=[strip], render_kw={"rows": 4},
                            validators=[DataRequired("Enter the methods."), Length(max=SECTION_MAX)])
    results = TextAreaField("Results", filters=[strip], render_kw={"rows": 5},
                            validators=[DataRequired("Enter the results."), Length(max=SECTION_MAX)])
    conclusions = TextAreaField("Conclusions", filters=[strip], render_kw={"rows": 3},
                                validators=[DataRequired("Enter the conclusions."), Length(max=SECTION_MAX)])
    keywords = StringField("Keywords", validators=[Optional(), Length(max=KEYWORDS_MAX)], filters=[strip],
                           description="Separated by commas, at most 12.")
    is_published = BooleanField("Published: shown in the library (once the activity is published)")

    def __init__(self, *args, sessions=(), zone_name: str = "UTC", **kwargs):
        super().__init__(*args, **kwargs)
        self.session.choices = select_choices(
            [("", "None")] + [(str(s.id), session_label(s, zone_name)) for s in sessions])
        self.parsed_authors: list[AuthorEntry] = []
        self.parsed_keywords: list[str] = []

    def validate_authors(self, field) -> None:
        try:
            self.parsed_authors = parse_authors(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from None

    def validate_keywords(self, field) -> None:
        try:
            self.parsed_keywords = parse_keywords(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from None

    def fill_from(self, abstract) -> None:
        """A GET of the edit page: the abstract as the form shows it."""
        self.authors.data = authors_text(abstract.authors)
        self.keywords.data = abstract.keywords
        self.session.data = str(abstract.session_id or "")

    def abstract_fields(self) -> AbstractFields:
        return AbstractFields(
            title=self.title.data, authors=self.parsed_authors,
            **{name: getattr(self, name).data for name, _ in SECTIONS},
            presentation_type=self.presentation_type.data, keywords=self.parsed_keywords,
            session_id=int(self.session.data) if self.session.data else None, topic=self.topic.data or "",
            is_published=self.is_published.data)


class AbstractImportForm(Form):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file.")])
    publish = BooleanField("Publish the imported abstracts",
                           description="Otherwise new ones wait unpublished, and updated ones keep their state.")


class AbstractFilterForm(Form):
    """GET filters of the public list; the view gives the activities that have abstracts."""

    class Meta:
        csrf = False

    activity = SelectField("Activity", default="", validators=[Optional()])
    topic = SelectField("Topic", choices=select_choices([("", "Any topic")] + [(s, s) for s in SPECIALTIES]),
                        default="", validators=[Optional()], filters=[without_nul])
    type = SelectField("Presented as", default="", validators=[Optional()],
                       choices=select_choices([("", "Oral or poster")] + PresentationType.choices()))

    def __init__(self, *args, activities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.activity.choices = select_choices(
            [("", "Any activity")] + [(str(a.id), f"{a.title} ({utc_to_local(a.start_dt, a.time_zone):%b %Y})") for a in activities])
