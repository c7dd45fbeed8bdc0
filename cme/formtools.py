"""Small helpers shared by the WTForms forms of every capability."""
from __future__ import annotations

from typing import Iterable

from wtforms.fields.choices import SelectChoice


def select_choices(pairs: Iterable[tuple[str, str]], optgroup: str | None = None) -> list[SelectChoice]:
    """(value, label) pairs as WTForms SelectChoice options (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


def strip(value):
    return value.strip() if isinstance(value, str) else value


def none_if_blank(value):
    value = strip(value)
    return value or None
