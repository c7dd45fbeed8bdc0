"""The organizer's forms: a highlight (its abstracts chosen among the activity's), and offering it as enduring
material (its release and last day). Lengths and kinds of values are checked here; the rules are the service's,
whose refusals come back beside their fields."""
from __future__ import annotations

from wtforms import BooleanField, DateField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from cme.formtools import Form, MultiCheckboxField, select_choices, strip
from cme.library.highlights.models import BODY_MAX, TITLE_MAX
from cme.library.highlights.service import HighlightData

MARKDOWN_HELP = ("Markdown: a blank line between paragraphs, **bold**, *italic*, [a link](https://...), lists with "
                 "\"- \", tables with \"|\", and \"## Heading\" for a section. Scripts, styles and images are removed.")


class HighlightForm(Form):
    """A highlight of an activity: the view gives the activity's abstracts."""

    title = StringField("Title", filters=[strip], validators=[InputRequired("Enter the title."),
                                                              Length(max=TITLE_MAX)])
    body = TextAreaField("Highlights", filters=[strip], validators=[InputRequired("Enter the highlights."),
                                                                    Length(max=BODY_MAX)],
                         description=MARKDOWN_HELP, render_kw={"rows": 16})
    abstract_ids = MultiCheckboxField("Linked abstracts",
                                      description="Abstracts of this activity the highlights discuss: listed under "
                                                  "them (the published ones).")
    material_ids = MultiCheckboxField("Key slides",
                                      description="Slides of this activity shown as thumbnails on the highlights "
                                                  "page, to those their release rule lets open them.")
    publication_date = DateField("Publication date", validators=[InputRequired("Enter the publication date.")],
                                 description="A later date schedules the highlights: they become public that day.")
    reviewed_on = DateField("Last reviewed", validators=[InputRequired("Enter the date of the last review.")],
                            description="Shown on the page as \"Last reviewed\".")
    is_published = BooleanField("Published", description="Unticked, the highlights are a draft only organizers see.")
    save = SubmitField("Save")
    preview = SubmitField("Preview")

    def __init__(self, *args, abstracts=(), materials=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.material_ids.choices = select_choices(
            [(str(m.id), m.title + (f" ({m.speaker_name})" if m.speaker_name else "")) for m in materials])
        self.abstract_ids.choices = select_choices(
            [(str(a.id), a.title + ("" if a.is_published else " (not published)")) for a in abstracts])

    def highlight_data(self) -> HighlightData:
        return HighlightData(title=self.title.data, body=self.body.data, publication_date=self.publication_date.data,
                             reviewed_on=self.reviewed_on.data, is_published=self.is_published.data,
                             abstract_ids=tuple(int(i) for i in self.abstract_ids.data or () if i.isdigit()),
                             material_ids=tuple(int(i) for i in self.material_ids.data or () if i.isdigit()))


class EnduringForm(Form):
    """Offer a highlight as enduring material: when learners may take it, and until when."""

    release_on = DateField("Release date", validators=[InputRequired("Enter the release date.")],
                           description="The first day learners may take it for credit.")
    available_until = DateField("Last day", validators=[InputRequired("Enter the last day.")],
                                description="At most three years after the release: enduring material is reviewed by "
                                            "then.")
