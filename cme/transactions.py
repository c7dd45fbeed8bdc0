"""The request's one commit point: `unit_of_work(operation, form=...)` runs the service call(s), commits once,
turns a refusal (`DomainError`) into a field error or a flash after rolling back, and retries from the start
when the database says "try again". Views never call `db.session.commit()` themselves.

Seat allocation locks the activity; under load a waiting transaction may time out (SQLite: "database is
locked" or a stale snapshot; PostgreSQL: lock timeout, deadlock, serialization failure). Those are retried
from the start, so users never see them.

A double submit (two tabs, a double click, a retrying proxy) can make two transactions insert the same unique
row: each checked first and found nothing, and the second to commit breaks the unique constraint. That second one
is rolled back and run once more: its service now sees the committed row and answers as it does for any repeat
(a refusal such as "already completed", or the same result), instead of a guessed message. Should it break a
unique constraint again, that is no race: the error is raised.
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Callable, Generic, Optional, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from cme.errors import DomainError, show_error
from cme.extensions import db

log = logging.getLogger("cme.transactions")
T = TypeVar("T")

RETRYABLE_PG_CODES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


def is_retryable(error: DBAPIError) -> bool:
    code = getattr(getattr(error, "orig", None), "sqlstate", None)
    if code in RETRYABLE_PG_CODES:
        return True
    message = str(getattr(error, "orig", error)).lower()
    return isinstance(error, OperationalError) and ("database is locked" in message or "busy" in message)


class CommitUnconfirmed(Exception):
    """The connection to the database was lost while committing: the change may or may not have been kept (the
    error page says so rather than "nothing was saved"). The DBAPIError is its __cause__."""
def is_unique_violation(error: DBAPIError) -> bool:
    """A unique constraint (or unique index) broken: PostgreSQL's SQLSTATE 23505, SQLite's "UNIQUE constraint
    failed" (a primary key too)."""
    if not isinstance(error, IntegrityError):
        return False
    if getattr(error.orig, "sqlstate", None) == "23505":
        return True
    return str(error.orig).startswith("UNIQUE constraint failed")


def commit_with_retry(operation: Callable[[], T], *, attempts: int = 8) -> T:
    """Call `operation()` and commit; on a retryable database error roll back and run it again; after a unique
    violation (a double submit that lost the race) run it once more."""
    unique_retried = False
    for attempt in range(1, attempts + 1):
        committing = False
        try:
            result = operation()
            committing = True
            db.session.commit()
            return result
        except DBAPIError as error:
            db.session.rollback()
            if committing and error.connection_invalidated:
                raise CommitUnconfirmed(str(error.orig)) from error
            if is_unique_violation(error) and not unique_retried and attempt < attempts:
                unique_retried = True
                log.info("running again after a unique violation (a concurrent duplicate): %s", error.orig)
                continue
            if attempt == attempts or not is_retryable(error):
                raise
            log.info("retrying after %s (attempt %d)", type(error.orig).__name__, attempt)
            time.sleep(random.uniform(0.005, 0.02) * attempt)
    raise AssertionError("unreachable")


@dataclass
class Outcome(Generic[T]):
    """What a unit of work gave: its value, or the refusal that was shown (and rolled back)."""

    value: Optional[T] = None
    error: Optional[DomainError] = None

    @property
    def ok(self) -> bool:
        return self.error is None


def unit_of_work(operation: Callable[[], T], *, form=None, show: bool = True) -> Outcome[T]:
    """Run `operation()` and commit it; on a DomainError roll back and show it (beside the form's field, or as a
    flash; `show=False` leaves that to the caller, e.g. a JSON answer). The one place a request commits."""
    try:
        return Outcome(value=commit_with_retry(operation))
    except DomainError as error:
        db.session.rollback()
        if show:
            show_error(error, form)
        return Outcome(error=error)
