"""When the database goes away (issue 13, point 7), registered once by the app factory.

- Pooled connections are pinged before use (`pool_pre_ping`, config.py): one the server dropped while it sat in
  the pool (a restart, an idle timeout, `pg_terminate_backend`) is replaced, unseen.
- A GET or HEAD whose view fails because the connection dropped under it is rolled back and run once more on a
  fresh connection: reads are idempotent. Never a POST: it might have done half its work.
- While the database cannot be reached, every request gets 503 with Retry-After and the site's own error page,
  rendered without touching the database (the header then shows no account links: showing them needs the user,
  loaded from the database). A POST is told that nothing was saved; one whose commit lost its connection is told
  that we could not confirm it was saved.
"""
from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from flask import Flask, current_app, request
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from cme.extensions import db
from cme.transactions import CommitUnconfirmed

log = logging.getLogger("cme.outages")

RETRY_AFTER_SECONDS = 30
SAFE_METHODS = frozenset({"GET", "HEAD"})


def is_outage(error: BaseException) -> bool:
    """A database error that says "not now" (the server is unreachable, dropped the connection, or timed out),
    rather than refusing the statement itself."""
    return isinstance(error, DBAPIError) and (error.connection_invalidated or isinstance(error, OperationalError))


def first_line(error: BaseException) -> str:
    """The error's type and the first line of what the database driver said, for a one-line log."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def rollback_quietly() -> None:
    """Roll back the request's session; on a dead connection there may be nothing left to roll back."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        pass


def retrying_reads_once(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run a GET or HEAD view once more, on a fresh connection, when the database dropped the connection."""

    @functools.wraps(view)
    def view_retried(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except DBAPIError as error:
            if request.method not in SAFE_METHODS or not is_outage(error):
                raise
            rollback_quietly()
            log.warning("%s %s: retrying once after %s", request.method, request.path, first_line(error))
            return view(*args, **kwargs)

    return view_retried


def render_without_database(template: str, **context: Any) -> str:
    """Render with `database_down` set and no context processor: Flask-Login's loads the logged-in user from the
    database for every render_template (base.html then shows no account links)."""
    return current_app.jinja_env.get_template(template).render(
        database_down=True, provider_name=current_app.config["CME_PROVIDER_NAME"], **context)


def unavailable_page(text: str):
    """503 with Retry-After and the site's error page, rendered without the database."""
    html = render_without_database("errors/error.html", code=503, title="Temporarily unavailable", text=text)
    return html, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def register(app: Flask) -> None:
    """Wrap every view registered so far (call after the blueprints) and answer outages with 503."""
    for endpoint, view in app.view_functions.items():
        app.view_functions[endpoint] = retrying_reads_once(view)

    @app.errorhandler(DBAPIError)
    def database_unavailable(error: DBAPIError):
        if not is_outage(error):
            raise error  # a refused statement is a bug: the 500 page, logged with its traceback
        rollback_quietly()
        log.warning("%s %s: database unavailable: %s", request.method, request.path, first_line(error))
        if request.method in SAFE_METHODS:
            return unavailable_page("We cannot reach our database for a moment. Please try again in a minute.")
        return unavailable_page("We cannot reach our database for a moment, so nothing was saved. "
                                "Please try again in a minute.")

    @app.errorhandler(CommitUnconfirmed)
    def commit_unconfirmed(error: CommitUnconfirmed):
        rollback_quietly()
        log.warning("%s %s: connection lost while committing: %s", request.method, request.path, error)
        return unavailable_page("We lost our connection to the database while saving, so we cannot confirm that "
                                "your change was saved. Please check in a minute before trying again.")
