"""Small helpers shared by the WTForms forms of every capability."""
from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from email_validator import EmailNotValidError, validate_email
from flask import request
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict
from wtforms import fields, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, StopValidation, ValidationError

from cme.text import single_line, without_controls
from cme.urls import MAX_ID


def select_choices(pairs: Iterable[tuple[str, str]], optgroup: str | None = None) -> list[SelectChoice]:
    """(value, label) pairs as WTForms SelectChoice options (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


def _option_html(value: str, label: str, selected: bool) -> Markup:
    return Markup(f'<option {"selected " if selected else ""}value="{escape(value)}">{escape(label)}</option>')


class QuickSelect(widgets.Select):
    """WTForms' Select with a plain-string option renderer: the same HTML at a fraction of the cost (WTForms
    builds each option through `html_params`). Measured on the registration form (80 options): 3.2 ms per
    page instead of 4.1 (CPU, median of 800 renders), a quarter of the page; remembering the options' HTML
    added nothing measurable, so nothing is remembered."""

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw:
            return super().render_option(choice, **kwargs)
        value = str(choice.value)
        label = choice.label if choice.label is not None and choice.label != "" else value
        return _option_html(value, str(label), bool(choice.selected))


class SelectField(fields.SelectField):
    """SelectField rendered by `QuickSelect`; use it instead of wtforms.SelectField."""

    widget = QuickSelect()


class MultiCheckboxField(fields.SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def strip(value):
    return value.strip() if isinstance(value, str) else value


def none_if_blank(value):
    value = strip(value)
    return value or None


class Form(FlaskForm):
    """The base of every form: NUL characters typed or pasted into any field are dropped before validation
    (PostgreSQL refuses them in text, and nobody means one). A single-line text field (a name, a title, an
    address, a link: every StringField but text areas and passwords) has its line breaks and other control
    characters collapsed to a space before its own filters run, so a pasted line break cannot reach a mail
    header or a calendar line; a text area keeps its line breaks and tabs and loses the other control characters
    (cme.text)."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            field_class = unbound_field.field_class
            if issubclass(field_class, fields.StringField) and not issubclass(field_class, fields.PasswordField):
                clean = without_controls if issubclass(field_class, fields.TextAreaField) else single_line
                options = {**options, "filters": (clean, *unbound_field.kwargs.get("filters", ()))}
            return super().bind_field(form, unbound_field, options)

        def wrap_formdata(self, form, formdata):
            data = super().wrap_formdata(form, formdata)
            if data is None:
                return None
            return MultiDict([(key, value.replace("\x00", "") if isinstance(value, str) else value)
                              for key, value in data.items(multi=True)])


    def hidden_tag(self, *fields) -> Markup:
        """The hidden fields (the CSRF token) without an id: a page with several forms would repeat
        id="csrf_token", and nothing points at a hidden field."""
        hidden = (getattr(self, f, None) if isinstance(f, str) else f for f in (fields or self))
        return Markup("\n".join(str(f(id=False)) for f in hidden
                                 if f is not None and isinstance(f.widget, widgets.HiddenInput)))


# ---------------------------------------------------------------- numbers and addresses (issue 13, point 6)

# The largest value an Integer column holds (PostgreSQL's 32-bit integer).
MAX_INTEGER = MAX_ID


class InRange(NumberRange):
    """NumberRange with both bounds required, that also refuses what is not a finite number: WTForms'
    DecimalField takes "NaN", "sNaN" and "Infinity", and NumberRange fails on sNaN with an exception. Every number
    field uses it with bounds its column holds (tests/test_formtools.py walks every form)."""

    def __init__(self, min, max, message: str | None = None):  # noqa: A002  (NumberRange's names)
        super().__init__(min=min, max=max, message=message)

    def __call__(self, form, field) -> None:
        if isinstance(field.data, Decimal) and not field.data.is_finite():
            raise StopValidation(self.message or "Enter a number.")  # no later validator need handle NaN
        super().__call__(form, field)


NON_ASCII_LOCAL_PART = ("Mail to an address with accented or non-Latin letters before the @ cannot be delivered "
                        "reliably. Please use another address (the part after the @ may have them).")


class EmailAddress:
    """An email address, as stored: an internationalised domain in its ASCII (IDNA) form, so "ana@bücher.example"
    becomes "ana@xn--bcher-kva.example" and mail to it is plain SMTP. `ascii_local=True` (sign-up, profile, password
    reset) refuses a non-ASCII part before the @ with a clear message: such mail needs SMTPUTF8, which many
    servers lack, so the account could never get its mail. Lookups (log-in, adding a registrant) take it, to find
    an account made before."""

    def __init__(self, *, ascii_local: bool = True, message: str = "Invalid email address."):
        self.ascii_local = ascii_local
        self.message = message

    def __call__(self, form, field) -> None:
        try:
            address = validate_email(field.data or "", check_deliverability=False, allow_smtputf8=True)
        except EmailNotValidError:
            raise ValidationError(self.message) from None
        if address.ascii_local_part is None and self.ascii_local:
            raise ValidationError(NON_ASCII_LOCAL_PART)
        field.data = f"{address.local_part}@{address.ascii_domain}"


class ConfirmForm(Form):
    """A bare CSRF-protected form for action buttons (publish, cancel, delete...)."""


# ---------------------------------------------------------------- odd input in URLs (issue 13, point 6)

# A page number past this is past every list; clamping keeps OFFSET within what the databases accept.
MAX_PAGE = 10_000


def without_nul(value):
    """The text without NUL characters (PostgreSQL refuses them in a string parameter)."""
    return value.replace("\x00", "") if isinstance(value, str) else value


def search_arg(name: str = "q", limit: int = 100) -> str:
    """A search term from the query string: NULs dropped, trimmed, at most `limit` characters."""
    return without_nul(request.args.get(name, "")).strip()[:limit]


def id_arg(name: str) -> int | None:
    """A positive whole number (an id, a year) from the query string, at most MAX_ID; None for anything else."""
    text = request.args.get(name, "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    return int(text) if 1 <= int(text) <= MAX_ID else None


def page_arg(name: str = "page") -> int:
    """A page number from the query string, 1 to MAX_PAGE (anything else, huge or not a number, is clamped)."""
    text = request.args.get(name, "").strip()
    if not (text.isascii() and text.isdigit()):
        return 1
    return MAX_PAGE if len(text) > len(str(MAX_PAGE)) else min(max(int(text), 1), MAX_PAGE)
