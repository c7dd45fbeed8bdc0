"""Throttling that holds across workers and hosts (issue 13, point 3).

A throttle counts hits per (scope, key) in the `throttle_counters` table, the state every gunicorn worker and
host shares (no process keeps counts of its own). A window opens at a key's first hit and lasts the scope's
configured seconds (`THROTTLE_LIMITS` in config.py); a hit after it ends opens a new one. Each hit is one
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` (SQLite and PostgreSQL), so concurrent hits never lose a count
and each learns the count it made.

Two ways of counting:
- `reserve()`: an attempt (a log-in, a reset or sign-up request) counts *before* it is tried; over the limit it is
  refused (`Throttled`) without being tried, and counts nowhere. So however many workers answer at once, exactly
  the limit of attempts is ever tried. A log-in that succeeds hands its hit back (`release`) and clears the
  account's failures (`clear`).
- `lookup()`: a lookup by a guessable code (check-in, certificate verification) is refused once the client has
  missed the limit, and only a miss counts (a GET that finds what it looks for writes nothing).

Counter writes run in their own short transaction on their own connection, committed at once: a refused log-in
must count even though the request's own work rolls back, and nothing else of the request goes with them. Call
them before the request's own writes (SQLite has one writer at a time, and the request's transaction would hold
it). Keys are HMACs keyed with SECRET_KEY: the table holds no address or email (an IPv4 address's plain hash is
found by trying all 2^32). Expired rows are deleted by `purge_expired()`, which `flask cme send-mail --loop` runs
once a minute (and `flask cme purge-throttle` on demand); until then a stale row is reused in place by its key's
next hit, so the table never holds more than one row per key.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from datetime import datetime, timedelta
from typing import Callable, Optional, TypeVar

from flask import current_app
from sqlalchemy import Connection, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cme.accounts.models import ThrottleCounter
from cme.errors import DomainError
from cme.extensions import db
from cme.timeutil import now_utc

T = TypeVar("T")
Counter = tuple[str, Optional[str]]  # (scope, the address or email counted); a None value is not counted

LOGIN_ACCOUNT = "login_account"
LOGIN_CLIENT = "login_client"
RESET_EMAIL = "reset_email"
RESET_CLIENT = "reset_client"
SIGNUP_CLIENT = "signup_client"
CHECKIN_CLIENT = "checkin_client"
VERIFY_CLIENT = "verify_client"

# What a throttled person is told, by scope (the same words whether or not an account exists).
REASONS = {
    LOGIN_ACCOUNT: "Too many log-in attempts.",
    LOGIN_CLIENT: "Too many log-in attempts.",
    RESET_EMAIL: "Too many password reset requests.",
    RESET_CLIENT: "Too many password reset requests.",
    SIGNUP_CLIENT: "Too many sign-ups from your network.",
    CHECKIN_CLIENT: "Too many check-in codes that match no registration.",
    VERIFY_CLIENT: "Too many verification codes that match no certificate.",
}
SCOPES = tuple(REASONS)

_TABLE = ThrottleCounter.__table__


class Throttled(DomainError):
    """Refused until the window ends: `retry_after` seconds (the answer's Retry-After)."""

    def __init__(self, scope: str, retry_after: int):
        super().__init__(f"{REASONS[scope]} For your security, please wait {_duration(retry_after)} and try again.",
                         code="throttled")
        self.scope = scope
        self.retry_after = retry_after


def _duration(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return "a minute" if minutes == 1 else f"{minutes} minutes"


def limit(scope: str) -> tuple[int, timedelta]:
    """(hits allowed, window) of a scope, from config."""
    hits, seconds = current_app.config["THROTTLE_LIMITS"][scope]
    return int(hits), timedelta(seconds=int(seconds))


def key_hash(scope: str, value: str) -> str:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, f"{scope}\0{value}".encode(), hashlib.sha256).hexdigest()


def client_network(address: str | None) -> str:
    """What counts as one client: an IPv4 address, or an IPv6 address's /64 (a host picks any address in its
    network's /64, so counting single IPv6 addresses would count nothing)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def _bump(connection: Connection, scope: str, value: str, now: datetime) -> tuple[int, datetime]:
    """One hit, in one statement: a new row, a hit more in a live window, or a fresh window over an expired one.
    Returns the window's hits (this one included) and its end."""
    insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(_TABLE)
    insert = insert.values(scope=scope, key_hash=key_hash(scope, value), hits=1, expires_dt=now + limit(scope)[1])
    live = _TABLE.c.expires_dt > now
    statement = insert.on_conflict_do_update(
        index_elements=[_TABLE.c.scope, _TABLE.c.key_hash],
        set_={"hits": case((live, _TABLE.c.hits + 1), else_=1),
              "expires_dt": case((live, _TABLE.c.expires_dt), else_=insert.excluded.expires_dt)},
    ).returning(_TABLE.c.hits, _TABLE.c.expires_dt)
    hits, expires = connection.execute(statement).one()
    return hits, expires


def reserve(*counters: Counter, now: datetime | None = None) -> None:
    """Count an attempt against each counter before it is tried. Over a counter's limit the attempt is refused
    (Throttled, with the time until that window ends) and counts on none of them (its transaction rolls back):
    the first counters are the ones that protect the later ones (a client over its limit wears out nobody's
    account)."""
    now = now or now_utc()
    with db.engine.begin() as connection:
        for scope, value in counters:
            if value is None:
                continue
            hits, expires = _bump(connection, scope, value, now)
            if hits > limit(scope)[0]:
                raise Throttled(scope, _seconds_until(expires, now))


def count(scope: str, value: str, *, now: datetime | None = None) -> None:
    """One hit, committed at once."""
    with db.engine.begin() as connection:
        _bump(connection, scope, value, now or now_utc())


def refuse_if_over(scope: str, value: str, *, now: datetime | None = None) -> None:
    """Throttled if the key has used up its window (a read: nothing is counted)."""
    now = now or now_utc()
    row = db.session.execute(select(ThrottleCounter.hits, ThrottleCounter.expires_dt).where(
        ThrottleCounter.scope == scope, ThrottleCounter.key_hash == key_hash(scope, value),
        ThrottleCounter.expires_dt > now)).first()
    if row is not None and row.hits >= limit(scope)[0]:
        raise Throttled(scope, _seconds_until(row.expires_dt, now))


def lookup(scope: str, value: str, find: Callable[[], T | None], *, now: datetime | None = None) -> T | None:
    """What `find()` finds, unless this client has missed too often (Throttled, whether or not the code is right);
    a miss (None) counts."""
    refuse_if_over(scope, value, now=now)
    found = find()
    if found is None:
        count(scope, value, now=now)
    return found


def release(*counters: Counter) -> None:
    """Hand back an attempt's hit: it succeeded, so it was no failure."""
    with db.engine.begin() as connection:
        for scope, value in counters:
            if value is not None:
                connection.execute(update(_TABLE).where(
                    _TABLE.c.scope == scope, _TABLE.c.key_hash == key_hash(scope, value), _TABLE.c.hits > 0,
                ).values(hits=_TABLE.c.hits - 1))


def clear(*counters: Counter) -> None:
    """Forget the counters (a success that ends a run of failures, e.g. an account's after a good log-in)."""
    with db.engine.begin() as connection:
        for scope, value in counters:
            if value is not None:
                connection.execute(delete(_TABLE).where(
                    _TABLE.c.scope == scope, _TABLE.c.key_hash == key_hash(scope, value)))


def purge_expired(*, now: datetime | None = None) -> int:
    """Delete the counters whose window has ended (an indexed range delete); returns how many."""
    with db.engine.begin() as connection:
        return connection.execute(delete(_TABLE).where(_TABLE.c.expires_dt <= (now or now_utc()))).rowcount
