"""Reading the audit log (the admin's page, an activity's history, a learner's data export), how an entry's
values read to people, and `record` for what no watched row shows (an account purged)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import Select, func, select

from cme.accounts.models import Role
from cme.activities.models import (
    AccreditationKind, Activity, ActivityFormat, ActivityStatus, CreditType, FacultyRole, RelationshipType,
    SupportKind,
)
from cme.audit.actor import SYSTEM, Actor, current_actor
from cme.audit.models import AuditEntry
from cme.audit.recording import WATCHED, action_choices, plain
from cme.certificates.models import CertificateKind
from cme.extensions import db
from cme.timeutil import format_local, now_utc


def record(action: str, *, summary: str, subject_table: str, subject_id: int | None = None,
           activity_id: int | None = None, user_id: int | None = None, before: dict | None = None,
           after: dict | None = None, actor: Actor | None = None, now: datetime | None = None) -> AuditEntry:
    """Write an entry for what the flush listeners cannot see (a row deleted with SQL, an account purged)."""
    actor = actor or current_actor()
    entry = AuditEntry(created_dt=now or now_utc(), actor_id=actor.user_id, actor_label=actor.label[:200],
                       action=action, activity_id=activity_id, user_id=user_id, subject_table=subject_table,
                       subject_id=subject_id, summary=summary[:500],
                       before={k: plain(v) for k, v in before.items()} if before else None,
                       after={k: plain(v) for k, v in after.items()} if after else None)
    db.session.add(entry)
    db.session.flush()
    return entry


# ---------------------------------------------------------------- queries

def entries_query(*, activity_id: int | None = None, activity_title: str = "", actor: str = "",
                  action: str = "") -> Select:
    """Entries newest first, narrowed to an activity (by id, or by words of its title), an actor (words of their
    name; "system" for commands) and an action."""
    stmt = select(AuditEntry).order_by(AuditEntry.created_dt.desc(), AuditEntry.id.desc())
    if activity_id is not None:
        stmt = stmt.where(AuditEntry.activity_id == activity_id)
    if activity_title:
        stmt = stmt.where(AuditEntry.activity_id.in_(select(Activity.id).where(
            func.lower(Activity.title).like(f"%{activity_title.lower()}%"))))
    if actor:
        stmt = stmt.where(func.lower(AuditEntry.actor_label).like(f"%{actor.lower()}%"))
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return stmt


def entries_about(user_id: int) -> list[AuditEntry]:
    """Entries about a learner's own records (their claims, certificates, account), oldest first."""
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.user_id == user_id)
                                   .order_by(AuditEntry.created_dt, AuditEntry.id)))


def zones_of(entries: Iterable[AuditEntry]) -> dict[int, str]:
    """{activity id: its time zone} for the entries' activities (one query): their times read in that zone."""
    ids = {e.activity_id for e in entries if e.activity_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(Activity.id, Activity.time_zone).where(Activity.id.in_(ids))).all())


def titles_of(entries: Iterable[AuditEntry]) -> dict[int, str]:
    ids = {e.activity_id for e in entries if e.activity_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(Activity.id, Activity.title).where(Activity.id.in_(ids))).all())


ACTIONS = dict(action_choices())


def action_label(action: str) -> str:
    return ACTIONS.get(action, action)


# ---------------------------------------------------------------- how values read

FIELD_LABELS = {
    "start_dt": "Start", "end_dt": "End", "time_zone": "Time zone", "registration_opens_dt": "Registration opens",
    "registration_closes_dt": "Registration closes", "claim_deadline_dt": "Claim deadline",
    "disclosure_received_dt": "Disclosure received", "superseded_dt": "Superseded", "max_amount": "Maximum",
    "acpe_uan": "ACPE UAN", "join_url": "Join link", "post_test_passing_score": "Post-test passing score",
    "certificates_automatic": "Certificates issued automatically", "verification_code": "Verification code",
    "relationship_type": "Relationship", "mitigated": "Mitigated", "full_name": "Name",
    "offer_days_before": "Seats offered within (days of the start)", "offer_hours": "Offers stay open (hours)",
}
ENUMS = {"status": ActivityStatus, "format": ActivityFormat, "credit_type": CreditType,
         "relationship_type": RelationshipType, "accreditation_kind": AccreditationKind}
ENUMS_BY_KIND = {("faculty", "role"): FacultyRole, ("account", "role"): Role, ("support", "kind"): SupportKind,
                 ("certificate", "kind"): CertificateKind}


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name) or name.removesuffix("_dt").replace("_", " ").capitalize()


def readable(kind: str, name: str, value: Any, zone_name: str) -> str:
    """A stored value as people read it: instants in the activity's zone, labels for codes, Yes/No."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if name.endswith("_dt") and isinstance(value, str):
        try:
            return format_local(datetime.fromisoformat(value), zone_name)
        except ValueError:
            return value
    enum = ENUMS_BY_KIND.get((kind, name)) or ENUMS.get(name)
    if enum is not None and value in enum._value2member_map_:
        return enum(value).label
    return str(value)


def changes(entry: AuditEntry, zone_name: str = "UTC") -> list[Change]:
    """The entry's fields, before and after, as people read them (in the watched order)."""
    before, after = entry.before or {}, entry.after or {}
    watch = next((w for w in WATCHED.values() if w.kind == entry.kind), None)
    order = list(watch.fields) if watch else []
    names = [n for n in order if n in before or n in after] + sorted(
        n for n in {*before, *after} if n not in order)
    return [Change(field_label(n), readable(entry.kind, n, before.get(n), zone_name) if entry.before is not None else "",
                   readable(entry.kind, n, after.get(n), zone_name) if entry.after is not None else "")
            for n in names]


def actor_name(entry: AuditEntry) -> str:
    return entry.actor_label or SYSTEM.label
