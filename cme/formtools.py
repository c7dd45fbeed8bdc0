"""Small helpers shared by the WTForms forms of every capability."""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import fields, widgets
from wtforms.fields.choices import SelectChoice


def select_choices(pairs: Iterable[tuple[str, str]], optgroup: str | None = None) -> list[SelectChoice]:
    """(value, label) pairs as WTForms SelectChoice options (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


@lru_cache(maxsize=4096)
def _option_html(value: str, label: str, selected: bool) -> Markup:
    return Markup(f'<option {"selected " if selected else ""}value="{escape(value)}">{escape(label)}</option>')


class QuickSelect(widgets.Select):
    """WTForms' Select with a remembered, plain-string option renderer: the same HTML at a fraction of the cost
    (a form with state, degree and profession menus renders ~150 options; WTForms builds each through
    `html_params` and escapes it anew on every page)."""

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


def strip(value):
    return value.strip() if isinstance(value, str) else value


def none_if_blank(value):
    value = strip(value)
    return value or None


class ConfirmForm(FlaskForm):
    """A bare CSRF-protected form for action buttons (publish, cancel, delete...)."""
