"""The one base of refused operations, and the one helper that shows a refusal to the person who asked.

Services raise a `DomainError` subclass (`ActivityError`, `RegistrationError`, ...) with a stable `code` that
tests and views can rely on, the form `field` the message belongs to when there is one, and `problems`: a
list of details (for example everything that stops an activity from being published).
"""
from __future__ import annotations

from typing import Iterable

from flask import flash


class DomainError(Exception):
    """A refused operation: `message` is for people, `code` for code."""

    def __init__(self, message: str, *, code: str, field: str | None = None, problems: Iterable[str] = ()):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.problems = list(problems)


def show_error(error: DomainError, form=None) -> None:
    """Put the message beside its field when the form has that field, otherwise flash it (with its problems)."""
    field = getattr(form, error.field, None) if (form is not None and error.field) else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")
    for problem in error.problems:
        flash(problem, "warning")
