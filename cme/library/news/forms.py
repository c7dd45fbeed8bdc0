"""The organizer's article form. Lengths and the kinds of values are checked here; the rules of an article (topics
from the list, dates, the citation's parts going together, DOI and PubMed ID formats) are the service's, whose
refusals come back beside their fields."""
from __future__ import annotations

from wtforms import BooleanField, DateField, IntegerField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from cme.formtools import Form, InRange, MultiCheckboxField, select_choices, strip
from cme.library import topics
from cme.library.news.service import LIMITS, MAX_DOI, ArticleData

MARKDOWN_HELP = ("Markdown: a blank line between paragraphs, **bold**, *italic*, [a link](https://...), lists with "
                 "\"- \", tables with \"|\", and \"## Heading\" for a section. Scripts, styles and images are removed.")


class ArticleForm(Form):
    title = StringField("Title", filters=[strip], validators=[InputRequired("Enter the title."),
                                                              Length(max=LIMITS["title"])])
    source = StringField("Source", filters=[strip], validators=[InputRequired("Enter the source."),
                                                                Length(max=LIMITS["source"])],
                         description="Where the news comes from: the journal (Cancer Cell) or the organization "
                                     "(The Liver Education Foundation).")
    summary = TextAreaField("Summary", filters=[strip], validators=[InputRequired("Enter a summary."),
                                                                    Length(max=LIMITS["summary"])],
                            description="One or two sentences, shown in the list and the feed.")
    body = TextAreaField("Article", filters=[strip], validators=[InputRequired("Enter the text of the article."),
                                                                 Length(max=LIMITS["body"])],
                         description=MARKDOWN_HELP)
    topics = MultiCheckboxField("Topics", choices=select_choices(topics.CHOICES),
                                validators=[DataRequired("Choose at least one topic.")],
                                description="One or more: the article is listed under each.")
    citation_journal = StringField("Journal", filters=[strip], validators=[Length(max=LIMITS["citation_journal"])],
                                   description="As abbreviated in PubMed, e.g. N Engl J Med.")
    citation_year = IntegerField("Year", validators=[Optional(), InRange(1, 9999, "Enter a year such as 2024.")])
    citation_volume = StringField("Volume", filters=[strip], validators=[Length(max=LIMITS["citation_volume"])])
    citation_issue = StringField("Issue", filters=[strip], validators=[Length(max=LIMITS["citation_issue"])])
    citation_pages = StringField("Pages", filters=[strip], validators=[Length(max=LIMITS["citation_pages"])],
                                 description="e.g. 459-469")
    doi = StringField("DOI", filters=[strip], validators=[Length(max=MAX_DOI + 30)],
                      description="e.g. 10.1056/NEJMoa2309000; linked at https://doi.org/.")
    pmid = StringField("PubMed ID", filters=[strip], validators=[Length(max=30)],
                       description="e.g. 38324483; linked at PubMed.")
    publication_date = DateField("Publication date", validators=[InputRequired("Enter the publication date.")],
                                 description="A later date schedules the article: it becomes public that day.")
    is_published = BooleanField("Published", description="Unticked, the article is a draft that only organizers see.")
    reviewed_on = DateField("Last reviewed", validators=[InputRequired("Enter the date of the last review.")],
                            description="Shown on the article as \"Last reviewed\".")
    save = SubmitField("Save")
    preview = SubmitField("Preview")

    def article_data(self) -> ArticleData:
        return ArticleData(
            title=self.title.data, source=self.source.data, summary=self.summary.data, body=self.body.data,
            publication_date=self.publication_date.data, is_published=self.is_published.data,
            reviewed_on=self.reviewed_on.data, topics=tuple(self.topics.data or ()),
            citation_journal=self.citation_journal.data or "", citation_year=self.citation_year.data,
            citation_volume=self.citation_volume.data or "", citation_issue=self.citation_issue.data or "",
            citation_pages=self.citation_pages.data or "", doi=self.doi.data or "", pmid=self.pmid.data or "")
