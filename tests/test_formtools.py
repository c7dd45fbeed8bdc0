"""Shared form helpers."""
from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from wtforms import DecimalField, Form, IntegerField, PasswordField, StringField, TextAreaField, URLField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from cme import models  # noqa: F401  (every form's module is imported by the app; every model is known)
from cme.accounts.models import User
from cme.accounts.identity import LicenceRequirement, Missing, ReportingBody, StateLicence
from cme.accounts.identity_forms import missing_fields_form, topic_field
from cme.activities.forms import SessionForm
from cme.activities.models import Activity, ActivitySession, CommercialSupport, CreditDesignation, Disclosure, Faculty
from cme.activities.reporting_data import MocRegistration
from cme.credit.eligibility import claim_limits
from cme.credit.evaluation import Question
from cme.credit.evaluation_models import CreditAdjustment, EvaluationQuestion, PostTestQuestion
from cme.credit.forms import claim_form, evaluation_form, permissions_form, post_test_form
from cme.credit.models import CreditRecord
from cme.alerts.models import ActivityAlert
from cme.library.abstracts.models import Abstract
from cme.library.highlights.models import Highlight
from cme.library.materials.models import Material
from cme.library.news.models import NewsArticle
from cme.content_tags import ContentTag
from cme.formtools import MAX_INTEGER, Form as BaseForm, InRange, SelectField, select_choices, strip
from cme.library.materials.forms import EditMaterialForm, MaterialForm
from cme.registration.forms import RegistrationForm
from cme.registration.models import Registration
from cme.text import single_line


class MenuForm(Form):
    plain = SelectField("Plain", choices=select_choices([("", "Choose…"), ("MD", "MD"), ("a&b", '<b>"x"</b>')]))
    grouped = SelectField("Grouped", choices=select_choices([("America/New_York", "New York")], optgroup="US")
                          + select_choices([("Europe/Paris", "Paris & co")], optgroup="Europe"))
    extra = SelectField("Extra", choices=[SelectChoice("1", "One", render_kw={"disabled": True}), SelectChoice(2, "")])


def test_quick_select_renders_what_wtforms_select_renders():
    form = MenuForm(data={"plain": "a&b", "grouped": "Europe/Paris", "extra": "1"})
    for field in (form.plain, form.grouped, form.extra):
        assert field() == widgets.Select()(field), field.name
    assert '<option selected value="a&amp;b">&lt;b&gt;&#34;x&#34;&lt;/b&gt;</option>' in form.plain()


# ---------------------------------------------------------------- odd input in forms (issue 13, point 6)

class TextForm(BaseForm):
    name = StringField(filters=[strip])
    link = URLField()
    notes = TextAreaField()
    password = PasswordField()


@pytest.mark.parametrize("typed, single, multi", [
    ("Ada\r\nLovelace", "Ada Lovelace", "Ada\r\nLovelace"),
    ("Ada \n\n Lovelace\n", "Ada Lovelace", "Ada \n\n Lovelace\n"),
    ("Ada\tLove\x0blace\x1f", "Ada Love lace", "Ada\tLovelace"),
    ("Ada\u2028Lovelace\x85", "Ada Lovelace", "Ada\u2028Lovelace"),
    ("Ada\x00Lovelace", "AdaLovelace", "AdaLovelace"),
])
def test_single_line_fields_lose_line_breaks_and_control_characters_and_text_areas_keep_line_breaks(
        app, typed, single, multi):
    with app.test_request_context(method="POST", data={"name": typed, "link": typed, "notes": typed,
                                                       "password": f" {typed}"}):
        form = TextForm()
    assert form.name.data == single  # then the field's own filters (strip)
    assert form.link.data == single_line(typed.replace("\x00", ""))
    assert form.notes.data == multi
    assert form.password.data == f" {typed}".replace("\x00", "")  # a password is kept as typed (but NUL)


SAMPLE_ACTIVITY = SimpleNamespace(time_zone="America/New_York", sessions=[], faculty=[])
# The forms built per activity, for a sample activity; the others take no arguments.
BUILDERS = {
    "EvaluationForm": lambda: evaluation_form([Question("q1", "text", "Anything?", (), False),
                                               Question("q2", "choice", "Which?", ("A", "B"), True)]),
    "PostTestForm": lambda: post_test_form([SimpleNamespace(id=1, prompt="Which?", choices=["A", "B"])]),
    "ClaimForm": lambda: claim_form(claim_limits({"ama_pra_1": Decimal(3)}, Decimal(3)), {}),
    # Issue 16, point 1: every field a report may lack; the permissions changed after a claim.
    "MissingFieldsForm": lambda: missing_fields_form(
        [Missing(name, "") for name in ("full_name", "birth_month", "nabp_eprofile_id", "abim_id", "board_abs",
                                        "licences")], required=True),
    "PermissionsForm": lambda: permissions_form({ReportingBody.ACCME: "Report it?"}, {}),
    "RegistrationForm": lambda: RegistrationForm(activity=SimpleNamespace(is_live_meeting=True, sessions=[])),
    "SessionForm": lambda: SessionForm(zone_name="America/New_York"),
    "MaterialForm": lambda: MaterialForm(activity=SAMPLE_ACTIVITY, max_bytes=1_000_000),
    "EditMaterialForm": lambda: EditMaterialForm(activity=SAMPLE_ACTIVITY, max_bytes=1_000_000),
}


def form_classes() -> dict[str, type]:
    """Every form class of the app (cme.formtools.Form's subclasses in cme), by name."""
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)
    return {cls.__name__: cls for cls in subclasses(BaseForm) if cls.__module__.startswith("cme.")}


def every_form() -> dict[str, BaseForm]:
    """A new instance of every form (inside a request context)."""
    return {**{name: cls() for name, cls in form_classes().items() if name not in BUILDERS},
            **{name: build() for name, build in BUILDERS.items()}}


# The model each form's fields are saved to (a field goes to the column of its name); None: the form saves no text.
SAVED_TO = {
    "SignUpForm": User, "ProfileForm": User, "RoleForm": User, "RegistrationForm": Registration,
    "ActivityForm": Activity, "AcpeUanForm": Activity, "SessionForm": ActivitySession, "FacultyForm": Faculty,
    "DisclosureForm": Disclosure, "DesignationForm": CreditDesignation, "CommercialSupportForm": CommercialSupport,
    "QuestionForm": EvaluationQuestion, "PostTestQuestionForm": PostTestQuestion, "AdjustForm": CreditAdjustment,
    # Lookups, passwords (hashed), filters of a GET page, answers kept as JSON, numbers only:
    "LoginForm": None, "PasswordResetRequestForm": None, "RosterAddForm": None, "CheckinCodeForm": None,
    "PasswordChangeForm": None, "PasswordResetForm": None, "CatalogFilterForm": None, "ConfirmForm": None,
    "CertificateIssueForm": None, "EvaluationForm": None, "PostTestForm": None, "ClaimForm": None,
    "PostTestRulesForm": None, "AuditFilterForm": None, "DuplicateForm": None, "ExportForm": None,
    "CloseAccountForm": None, "AbstractImportForm": None, "AbstractFilterForm": None,
    # An abstract's authors go to abstract_authors (parsed and checked by the service), the rest to its columns:
    "AbstractForm": Abstract,
    # A new address is kept as the pending change (users.pending_email, String(254)) until confirmed:
    "EmailChangeForm": User,
    # A walk-in's name, email, degree and profession make their account (and registration):
    "WalkInForm": User,
    # The library (issue 15) and the alerts (issue 14): each form's text goes to its item's columns; a highlight's
    # abstracts and an enduring offer's dates are choices and dates; the code box and the search look things up.
    "AlertForm": ActivityAlert, "ArticleForm": NewsArticle, "HighlightForm": Highlight, "MaterialForm": Material,
    "EditMaterialForm": Material, "EnduringForm": None, "VerifyForm": None,
    # Issue 16's exports: the CE Broker tracking number is the activity's; the range is a GET form; the mark a kind.
    "TrackingNumberForm": Activity, "RangeForm": None, "MarkForm": None,
    "SearchForm": None,
    # Issue 16, point 2: an activity's reporting data (its ACCME IDs; measures and tags are choices) and a MOC
    # registration (practice areas are kept as a JSON list, each checked by the service).
    "ReportingDataForm": Activity, "MocRegistrationForm": MocRegistration,
    # Issue 16: a licence goes to state_licences (its topics' hours to licence_requirements); the fields a report
    # lacks go to the user row (a board's ID to board_identifiers, a licence to state_licences); answers yes/no.
    "LicenceForm": StateLicence, "MissingFieldsForm": User, "PermissionsForm": None,
}
# Where every number field goes: the column whose range it must stay within.
NUMBER_COLUMNS = {
    ("ActivityForm", "capacity"): Activity.capacity, ("ActivityForm", "offer_days_before"): Activity.offer_days_before,
    ("ActivityForm", "offer_hours"): Activity.offer_hours, ("PostTestRulesForm", "passing_score"):
    Activity.post_test_passing_score, ("PostTestRulesForm", "max_attempts"): Activity.post_test_max_attempts, ("PostTestQuestionForm", "correct"): PostTestQuestion.correct_index,
    ("AdjustForm", "record_id"): CreditRecord.id, ("AdjustForm", "amount"): CreditRecord.amount,
    ("ClaimForm", "ama_pra_1"): CreditRecord.amount, ("DesignationForm", "max_amount"): CreditDesignation.max_amount,
    ("CommercialSupportForm", "amount"): CommercialSupport.amount,
    ("ArticleForm", "citation_year"): NewsArticle.citation_year,
    ("MocRegistrationForm", "points"): MocRegistration.points,
    ("LicenceForm", "cycle_months"): StateLicence.cycle_months, ("LicenceForm", "required_hours"):
    StateLicence.required_hours,
    **{("LicenceForm", topic_field(tag)): LicenceRequirement.hours for tag in ContentTag},
}
# Fields that take a little more than their column because the service stores a normalised value checked to fit:
# a DOI or PubMed ID may be pasted as a link or with its "doi:" prefix, and is kept bare (cme/library/news/service.py
# checks the bare form's pattern and length).
NORMALISED = {("ArticleForm", "doi"), ("ArticleForm", "pmid")}


def test_every_form_is_mapped_to_where_it_saves(app):
    with app.test_request_context():
        assert set(every_form()) == set(SAVED_TO)


def test_every_text_field_fits_its_column(app):
    """A field saved to a String(n) column takes at most n characters (a Length validator) or offers only choices
    that fit: a longer value is a field error, never a database error (PostgreSQL refuses it)."""
    too_long = []
    with app.test_request_context():
        for name, form in every_form().items():
            model = SAVED_TO[name]
            columns = sa.inspect(model).columns if model is not None else {}
            for field in form:
                column = columns.get(field.short_name)
                if (column is None or not isinstance(column.type, sa.String) or column.type.length is None
                        or (name, field.short_name) in NORMALISED):
                    continue
                limit = column.type.length
                lengths = [v.max for v in field.validators if isinstance(v, Length) and v.max >= 0]
                choices = [str(c[0]) for c in field.iter_choices()] if hasattr(field, "iter_choices") else None
                if not (lengths and min(lengths) <= limit) and not (choices and max(map(len, choices)) <= limit):
                    too_long.append(f"{name}.{field.short_name} (column {model.__tablename__}.{column.name}: {limit})")
    assert too_long == []


def _past_the_column(column) -> list[str]:
    """Numbers just outside what the column holds."""
    if isinstance(column.type, sa.Numeric):
        whole = 10 ** (column.type.precision - column.type.scale)
        return [str(whole), str(-whole)]
    return [str(MAX_INTEGER + 1), str(-MAX_INTEGER - 2)]


def test_every_number_field_refuses_what_its_column_cannot_hold_and_what_is_not_a_finite_number(app):
    refused_nothing = []
    with app.test_request_context():
        numbers = {(name, field.short_name) for name, form in every_form().items() for field in form
                   if isinstance(field, (IntegerField, DecimalField))}
    assert numbers == set(NUMBER_COLUMNS)
    for (name, field_name), column in NUMBER_COLUMNS.items():
        for value in [*_past_the_column(column), "NaN", "sNaN", "Infinity", "-Infinity", "1e999999", "9" * 10_000]:
            with app.test_request_context(method="POST", data={field_name: value}):
                form = every_form()[name]
                form.validate()
                if not form[field_name].errors:
                    refused_nothing.append(f"{name}.{field_name} took {value[:20]!r}")
    assert refused_nothing == []


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-Infinity", "1e999999", "1000", "-1"])
def test_in_range_refuses_what_is_not_a_finite_number_in_range(app, value):
    class AmountForm(BaseForm):
        amount = DecimalField(validators=[InRange(min=0, max=999, message="From 0 to 999.")])

    with app.test_request_context(method="POST", data={"amount": value}):
        form = AmountForm()
        assert not form.validate() and form.amount.errors == ["From 0 to 999."]
