"""Who is acting, for the audit log: the logged-in user of the request being served, else whoever a command
said it acts as (`acting_as`), else the system (a CLI command, a worker)."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

from flask import has_request_context
from flask_login import current_user

from cme.accounts.models import User


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    label: str


SYSTEM = Actor(None, "System")
VISITOR = Actor(None, "Visitor (not logged in)")

_acting: ContextVar[Actor | None] = ContextVar("cme.audit.acting", default=None)


def actor_for(user: User) -> Actor:
    return Actor(user.id, user.full_name or f"User {user.id}")


@contextmanager
def acting_as(actor: Actor | User) -> Iterator[Actor]:
    """Changes made inside the block are recorded as `actor`'s (a command acting for someone, a test)."""
    actor = actor_for(actor) if isinstance(actor, User) else actor
    token = _acting.set(actor)
    try:
        yield actor
    finally:
        _acting.reset(token)


def current_actor() -> Actor:
    """The actor of the changes being flushed now. Called before a flush (never during one: loading the request's
    user may need a query)."""
    acting = _acting.get()
    if acting is not None:
        return acting
    if has_request_context():
        user = current_user
        return actor_for(user) if user.is_authenticated else VISITOR
    return SYSTEM
