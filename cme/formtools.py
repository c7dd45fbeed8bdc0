"""Small helpers shared by the WTForms forms of every capability."""
from __future__ import annotations

from typing import Iterable

from markupsafe import Markup, escape
from wtforms import fields, widgets
from wtforms.fields.choices import SelectChoice


def select_choices(pairs: Iterable[tuple[str, str]], optgroup: str | None = None) -> list[SelectChoice]:
    """(value, label) pairs as WTForms SelectChoice options (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


class QuickSelect(widgets.Select):
    """WTForms' Select with a plain-string option renderer: the same HTML, a tenth of the cost (a form with a
    state, degree and profession menu renders ~150 options; WTForms builds each through `html_params`)."""

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw:
            return super().render_option(choice, **kwargs)
        value = str(choice.value)
        label = choice.label if choice.label is not None and choice.label != "" else value
        selected = "selected " if choice.selected else ""
        return Markup(f'<option {selected}value="{escape(value)}">{escape(label)}</option>')


class SelectField(fields.SelectField):
    """SelectField rendered by `QuickSelect`; use it instead of wtforms.SelectField."""

    widget = QuickSelect()


def strip(value):
    return value.strip() if isinstance(value, str) else value


def none_if_blank(value):
    value = strip(value)
    return value or None
