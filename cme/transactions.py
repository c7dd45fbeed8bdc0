"""Run a unit of work and commit it, retrying when the database says "try again".

Seat allocation locks the activity; under load a waiting transaction may time out (SQLite: "database is
locked" or a stale snapshot; PostgreSQL: lock timeout, deadlock, serialization failure). Those are retried
from the start, so users never see them.
"""
from __future__ import annotations

import logging
import random
import time
from typing import Callable, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

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


def commit_with_retry(operation: Callable[[], T], *, attempts: int = 8) -> T:
    """Call `operation()` and commit; on a retryable database error roll back and run it again."""
    for attempt in range(1, attempts + 1):
        try:
            result = operation()
            db.session.commit()
            return result
        except DBAPIError as error:
            db.session.rollback()
            if attempt == attempts or not is_retryable(error):
                raise
            log.info("retrying after %s (attempt %d)", type(error.orig).__name__, attempt)
            time.sleep(random.uniform(0.005, 0.02) * attempt)
    raise AssertionError("unreachable")
