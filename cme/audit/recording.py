"""Writing the audit log: a registry of watched models and fields (`WATCHED`, the one list of what is audited),
and flush listeners that turn every watched change into an `AuditEntry` in the same transaction.

Nothing calls this from a service: whatever code path changes a watched field (a form, a CLI command, a new
operation written next year), the flush records it. Per flush:

- `before_flush` settles who is acting (`actor.current_actor`: the request's user, `acting_as`, or the system);
- the mapper events `after_insert`, `after_update` and `after_delete` of each watched model note an entry for a
  row created or removed, and for a row whose watched fields changed (before and after, only those fields);
  a "set" listener with `active_history` on each watched field makes sure the old value is known even when it
  was not loaded before the change;
- `after_flush` writes the noted entries; a rollback forgets them.

One save often flushes several times (an edit runs one operation per kind of change): within a transaction, the
changes to one row make one entry (a row created and then changed is one "created" entry with its final values;
a field changed twice keeps its first before and its last after; a field changed back drops out).

Learners' own actions are not organizer or admin actions: a change to a row that belongs to a learner (their
claim, their certificate, their account) made by that same learner is not recorded (registering and claiming
are the learner's own business; the log would drown in them). The same change made by an organizer, an admin or
a command is.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy import event, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from cme.accounts.models import User
from cme.activities.models import (
    Activity, ActivitySession, CommercialSupport, CreditDesignation, CreditType, Disclosure, Faculty, FacultyRole,
    RelationshipType,
)
from cme.audit.actor import SYSTEM, Actor, current_actor
from cme.audit.models import AuditEntry
from cme.certificates.models import Certificate
from cme.credit.models import CreditRecord
from cme.extensions import db
from cme.timeutil import now_utc

_ACTOR = "cme.audit.actor"
_PENDING = "cme.audit.pending"
_WRITTEN = "cme.audit.written"  # (table, row id) -> the entry this transaction wrote about that row


@dataclass(frozen=True)
class Watch:
    """How one model is audited. `kind` starts its actions ("<kind>.<verb>"); `verbs` name a row created,
    changed and removed (None: not recorded); `activity` and `describe` read the row (with the flush's connection
    for what is not loaded); `person` names the learner the row belongs to (their own changes are not recorded)."""

    kind: str
    label: str
    fields: tuple[str, ...]
    activity: Callable[[Any, Connection], int | None]
    describe: Callable[[Any, Connection], str]
    person: Callable[[Any], int | None] = lambda _obj: None
    verbs: tuple[str | None, str | None, str | None] = ("created", "changed", "removed")


def _value(obj: Any, name: str) -> Any:
    """A column's value as held (never loading: a removed row's may be gone)."""
    return inspect(obj).dict.get(name)


def _column(connection: Connection, table, column: str, row_id: int | None) -> Any:
    if row_id is None:
        return None
    return connection.execute(select(table.c[column]).where(table.c.id == row_id)).scalar()


def _learner_name(obj: Any, connection: Connection) -> str:
    user = _value(obj, "user")
    return user.full_name if user is not None else (
        _column(connection, User.__table__, "full_name", _value(obj, "user_id")) or f"user {_value(obj, 'user_id')}")


def _faculty_of(disclosure: Disclosure, connection: Connection) -> tuple[int | None, str]:
    """(activity id, name) of the person a disclosure belongs to."""
    person = _value(disclosure, "faculty")
    if person is not None:
        return _value(person, "activity_id"), _value(person, "full_name") or ""
    row = connection.execute(select(Faculty.__table__.c.activity_id, Faculty.__table__.c.full_name)
                             .where(Faculty.__table__.c.id == _value(disclosure, "faculty_id"))).first()
    return (row.activity_id, row.full_name) if row else (None, "")


def _label(enum, value: Any) -> str:
    return enum(value).label if value in enum._value2member_map_ else str(value or "")


def _own_activity(obj: Any, _connection: Connection) -> int | None:
    return _value(obj, "activity_id")


# The one list of what is audited: the fields an accreditor, a registrant or a learner relies on.
WATCHED: dict[type, Watch] = {
    Activity: Watch(
        "activity", "Activity",
        ("title", "status", "format", "time_zone", "start_dt", "end_dt", "capacity", "venue_name", "street_address",
         "city", "state", "postal_code", "join_url", "registration_opens_dt", "registration_closes_dt",
         "claim_deadline_dt", "accreditation_kind", "joint_provider", "accreditation_statement", "acpe_uan",
         "post_test_passing_score", "certificates_automatic", "offer_days_before", "offer_hours"),
        activity=lambda obj, _c: _value(obj, "id"),
        describe=lambda obj, _c: _value(obj, "title") or "Activity"),
    ActivitySession: Watch(
        "session", "Agenda session", ("title", "start_dt", "end_dt", "room"),
        activity=_own_activity, describe=lambda obj, _c: f"Session “{_value(obj, 'title')}”"),
    CreditDesignation: Watch(
        "designation", "Credit designation", ("credit_type", "max_amount"),
        activity=_own_activity,
        describe=lambda obj, _c: f"{_label(CreditType, _value(obj, 'credit_type'))} designation"),
    Faculty: Watch(
        "faculty", "Faculty", ("full_name", "degree", "role", "disclosure_received_dt"),
        activity=_own_activity,
        describe=lambda obj, _c: f"{_value(obj, 'full_name')} ({_label(FacultyRole, _value(obj, 'role')).lower()})"),
    Disclosure: Watch(
        "disclosure", "Disclosure", ("company", "relationship_type", "mitigated"),
        activity=lambda obj, c: _faculty_of(obj, c)[0],
        describe=lambda obj, c: f"{_faculty_of(obj, c)[1]}: {_value(obj, 'company')} "
                                f"({_label(RelationshipType, _value(obj, 'relationship_type')).lower()})"),
    CommercialSupport: Watch(
        "support", "Commercial support", ("company", "kind", "amount"),
        activity=_own_activity, describe=lambda obj, _c: f"Support from {_value(obj, 'company')}"),
    CreditRecord: Watch(
        "claim", "Credit claim", ("credit_type", "amount"),
        activity=_own_activity, person=lambda obj: _value(obj, "user_id"),
        describe=lambda obj, c: f"{_learner_name(obj, c)}: {_label(CreditType, _value(obj, 'credit_type'))}",
        verbs=("added", "adjusted", "removed")),
    Certificate: Watch(
        "certificate", "Certificate", ("verification_code", "kind", "superseded_dt"),
        activity=_own_activity, person=lambda obj: _value(obj, "user_id"),
        describe=lambda obj, c: f"Certificate {_value(obj, 'verification_code')} for {_learner_name(obj, c)}",
        verbs=("issued", "superseded", "removed")),
    User: Watch(
        "account", "Account", ("role",),
        activity=lambda _obj, _c: None, person=lambda obj: _value(obj, "id"),
        describe=lambda obj, _c: _value(obj, "full_name") or f"User {_value(obj, 'id')}",
        verbs=(None, "role_changed", None)),
}


def action_choices() -> list[tuple[str, str]]:
    """(action, label) of every action the log can hold, for filters."""
    choices = []
    for watch in WATCHED.values():
        for verb in watch.verbs:
            if verb:
                choices.append((f"{watch.kind}.{verb}", f"{watch.label}: {verb.replace('_', ' ')}"))
    return choices + EXPLICIT_ACTIONS


# Actions written by `service.record` rather than by a flush (what no watched row shows).
EXPLICIT_ACTIONS = [("account.purged", "Account: purged after the retention period")]


def plain(value: Any) -> Any:
    """A field's value as JSON holds it: instants in ISO 8601 (UTC), amounts as exact decimal strings."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 2.00 and 2 are the same amount: "2"
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


# ---------------------------------------------------------------- listeners

def register() -> None:
    """Attach the listeners (once; the app factory calls this)."""
    listeners: list[tuple[Any, str, Callable, dict]] = [
        (db.session, "before_flush", _settle_actor, {}),
        (db.session, "after_flush", _write_entries, {}),
        (db.session, "after_rollback", _forget, {}),
        (db.session, "after_soft_rollback", _forget_soft, {}),
        (db.session, "after_commit", _end_transaction, {}),
    ]
    for model, watch in WATCHED.items():
        listeners += [(model, "after_insert", _inserted, {}), (model, "after_update", _updated, {}),
                      (model, "after_delete", _deleted, {})]
        listeners += [(getattr(model, name), "set", _keep_old_value, {"active_history": True})
                      for name in watch.fields]
    for target, name, listener, options in listeners:
        if not event.contains(target, name, listener):
            event.listen(target, name, listener, **options)


def _keep_old_value(_target, value, _old, _initiator):
    """Registered with `active_history`: the old value is loaded before a change, so `before` is always known."""
    return value


def _settle_actor(session: Session, _context, _instances) -> None:
    session.info[_ACTOR] = current_actor()
    session.info[_PENDING] = []


def _note(obj: Any, connection: Connection, verb_index: int, before: dict | None, after: dict | None) -> None:
    watch = WATCHED[type(obj)]
    verb = watch.verbs[verb_index]
    session = inspect(obj).session
    if verb is None or session is None:
        return
    actor: Actor = session.info.get(_ACTOR) or SYSTEM
    person = watch.person(obj)
    if person is not None and actor.user_id == person:
        return  # the learner's own action on their own record: self-service, not audited
    session.info.setdefault(_PENDING, []).append({
        "verb": verb_index, "actor_id": actor.user_id, "actor_label": actor.label[:200], "action": f"{watch.kind}.{verb}",
        "activity_id": watch.activity(obj, connection), "user_id": person, "subject_table": type(obj).__tablename__,
        "subject_id": _value(obj, "id"), "summary": watch.describe(obj, connection)[:500],
        "before": before, "after": after})


def _fields(obj: Any) -> dict[str, Any]:
    return {name: plain(_value(obj, name)) for name in WATCHED[type(obj)].fields}


def _inserted(_mapper, connection: Connection, obj: Any) -> None:
    _note(obj, connection, 0, None, {k: v for k, v in _fields(obj).items() if v not in (None, "")})


def _updated(_mapper, connection: Connection, obj: Any) -> None:
    before, after = {}, {}
    state = inspect(obj)
    for name in WATCHED[type(obj)].fields:
        history = state.attrs[name].history
        if not history.added and not history.deleted:
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old != new:
            before[name], after[name] = plain(old), plain(new)
    if after:
        _note(obj, connection, 1, before, after)


def _deleted(_mapper, connection: Connection, obj: Any) -> None:
    _note(obj, connection, 2, {k: v for k, v in _fields(obj).items() if v not in (None, "")}, None)


def _write_entries(session: Session, _context) -> None:
    rows = session.info.pop(_PENDING, None)
    if not rows:
        return
    connection, table, now = session.connection(), AuditEntry.__table__, now_utc()
    written: dict[tuple[str, int | None], dict] = session.info.setdefault(_WRITTEN, {})
    for row in rows:
        verb = row.pop("verb")
        key = (row["subject_table"], row["subject_id"])
        earlier = written.get(key)
        if verb == 1 and earlier is not None and earlier["verb"] in (0, 1):
            _merge(connection, earlier, row)
            continue
        entry_id = connection.execute(table.insert().values(created_dt=now, **row)).inserted_primary_key[0]
        written[key] = {"id": entry_id, "verb": verb, "before": row["before"], "after": row["after"]}


def _merge(connection: Connection, earlier: dict, row: dict) -> None:
    """Fold a later change of the same row, in the same transaction, into the entry already written about it."""
    table = AuditEntry.__table__
    if earlier["verb"] == 0:  # created in this transaction: its final values
        after = {k: v for k, v in {**earlier["after"], **row["after"]}.items() if v not in (None, "")}
        before = None
    else:
        before = {**row["before"], **earlier["before"]}
        after = {**earlier["after"], **row["after"]}
        for name in [n for n in after if after[n] == before.get(n)]:
            del before[name], after[name]
    if earlier["verb"] == 1 and not after:
        connection.execute(table.delete().where(table.c.id == earlier["id"]))
        earlier.update(verb=None)
        return
    connection.execute(table.update().where(table.c.id == earlier["id"]).values(before=before, after=after))
    earlier.update(before=before, after=after)


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_WRITTEN, None)


def _forget_soft(session: Session, _previous_transaction) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_WRITTEN, None)


def _end_transaction(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
