"""What an export holds, and marking it as sent (issue 16, point 4).

An export holds what is new or changed since the batches of its kind: a ready record never reported (or last
reported as deleted) is an add; a ready record whose fields differ from those last added (a corrected claim) is
a delete of what was sent (the stored fields, repeated exactly) and then an add of the new; a record last added
that no longer exists (a claim withdrawn, credit removed) is a delete. Records with a refusal never leave; a
record reported before and refused now stays as it was reported.

Downloading previews (`plan`, no write); `mark_as_sent` writes the batch. Two concurrent marks of the same
records cannot both land: each reported record carries its key's sequence number, unique per key, so the second
breaks the constraint, is run again by the request's retry (cme.transactions) and finds nothing new."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

from sqlalchemy import func, select

from cme.activities.models import Activity
from cme.errors import DomainError
from cme.extensions import db
from cme.reporting.models import RecordAction, ReportBatch, ReportedRecord, ReportKind
from cme.reporting.records import LearnerChecks, Record, Scope, _dates, activities_in, activity_records
from cme.reporting.validation import ABP_REPEATED, Refusal
from cme.timeutil import now_utc


INSERT_ROWS = 1000


class ReportingError(DomainError):
    """A refused export operation."""


@dataclass
class Entry:
    """One line of the plan: `status` is "add", "delete" (each is a line of the file), "blocked" (refused: the
    page lists it) or "reported" (sent before, unchanged)."""
    status: str
    kind: ReportKind
    user_id: int
    activity_id: int
    subject: str
    completed_dt: datetime
    fields: dict[str, Any]
    fingerprint: str
    record: Record | None = None
    previous: ReportedRecord | None = None

    @property
    def refusals(self) -> list[Refusal]:
        return self.record.refusals if self.record is not None else []

    @property
    def is_line(self) -> bool:
        return self.status in (RecordAction.ADD, RecordAction.DELETE)


def last_reported(kind: ReportKind, activity_id: int, scope: Scope) -> dict[tuple[int, str], ReportedRecord]:
    """The last reported row of each key of the activity (in the scope's dates), by (user, subject)."""
    rows = db.session.scalars(select(ReportedRecord).where(
        ReportedRecord.kind == kind, ReportedRecord.activity_id == activity_id,
        *_dates(scope, ReportedRecord.completed_dt)).order_by(ReportedRecord.id))
    return {(row.user_id, row.subject): row for row in rows}


def plan(kind: ReportKind, scope: Scope, *, provider: str) -> Iterator[Entry]:
    """Every entry of the scope, activity by activity: what a download holds (the adds and deletes) and what is
    blocked or already reported. Streams: one activity's records and history at a time."""
    learners = LearnerChecks()
    for activity_id in activities_in(scope, kind) + _withdrawn_only(kind, scope):
        activity = db.session.get(Activity, activity_id)
        reported = last_reported(kind, activity.id, scope)
        for record in activity_records(kind, activity, scope, provider=provider, learners=learners):
            previous = reported.pop((record.user_id, record.subject), None)
            yield from _entries(record, previous)
        for previous in reported.values():  # reported, and no longer a record: withdrawn
            if previous.action == RecordAction.ADD:
                yield Entry(RecordAction.DELETE, kind, previous.user_id, previous.activity_id, previous.subject,
                            previous.completed_dt, previous.fields, previous.fingerprint, previous=previous)


def _withdrawn_only(kind: ReportKind, scope: Scope) -> list[int]:
    """Activities of the scope with reported records but no credit left of the kind's types (all withdrawn)."""
    with_credit = set(activities_in(scope, kind))
    ids = db.session.scalars(select(ReportedRecord.activity_id).where(
        ReportedRecord.kind == kind, ReportedRecord.activity_id.in_(scope.activities),
        *_dates(scope, ReportedRecord.completed_dt)).distinct())
    return sorted(set(ids) - with_credit)


def _entries(record: Record, previous: ReportedRecord | None) -> Iterator[Entry]:
    def entry(status: str) -> Entry:
        return Entry(status, record.kind, record.user_id, record.activity_id, record.subject, record.completed_dt,
                     record.fields, record.fingerprint, record=record, previous=previous)

    sent = previous is not None and previous.action == RecordAction.ADD
    if sent and previous.fingerprint == record.fingerprint:
        yield entry("reported")
        return
    if record.ready and previous is not None and record.subject == "abp":
        record.refusals.append(ABP_REPEATED)  # ABP's rule: never a second add for the same learner and activity
    if not record.ready:
        yield entry("blocked")
        return
    if sent:
        yield Entry(RecordAction.DELETE, record.kind, previous.user_id, previous.activity_id, previous.subject,
                    previous.completed_dt, previous.fields, previous.fingerprint, previous=previous)
    yield entry(RecordAction.ADD)


@dataclass
class Counts:
    adds: int = 0
    deletes: int = 0
    blocked: int = 0
    reported: int = 0

    def count(self, entry: Entry) -> None:
        name = {"add": "adds", "delete": "deletes"}.get(entry.status, entry.status)
        setattr(self, name, getattr(self, name) + 1)

    @property
    def lines(self) -> int:
        return self.adds + self.deletes


def mark_as_sent(kind: ReportKind, scope: Scope, *, provider: str, by_id: int | None,
                 now: datetime | None = None) -> ReportBatch:
    """Record the scope's adds and deletes as one batch (flushes; the request commits), inserted a thousand rows
    at a time as the plan streams. Nothing new: refused (the caller rolls back the empty batch)."""
    batch = ReportBatch(kind=kind.value, created_dt=now or now_utc(), created_by_id=by_id, scope=scope.label,
                        adds=0, deletes=0)
    db.session.add(batch)
    db.session.flush()
    rows: list[dict[str, Any]] = []
    last_key, last_sequence = None, -1
    for entry in plan(kind, scope, provider=provider):
        if not entry.is_line:
            continue
        key = (entry.user_id, entry.activity_id, entry.subject)
        # A key's delete and add come one after the other: the add takes the sequence after its delete's.
        sequence = last_sequence + 1 if key == last_key else (
            entry.previous.sequence + 1 if entry.previous is not None else 0)
        last_key, last_sequence = key, sequence
        rows.append(dict(batch_id=batch.id, kind=kind.value, user_id=entry.user_id, activity_id=entry.activity_id,
                         subject=entry.subject, sequence=sequence, action=entry.status, fingerprint=entry.fingerprint,
                         fields=entry.fields, completed_dt=entry.completed_dt))
        if entry.status == RecordAction.ADD:
            batch.adds += 1
        else:
            batch.deletes += 1
        if len(rows) >= INSERT_ROWS:
            db.session.execute(ReportedRecord.__table__.insert(), rows)
            rows = []
    if rows:
        db.session.execute(ReportedRecord.__table__.insert(), rows)
    if not batch.adds and not batch.deletes:
        raise ReportingError("Nothing new to report: every ready record has been sent.", code="nothing_new")
    db.session.flush()
    return batch


def batch_lines(batch: ReportBatch) -> Iterator[tuple[str, dict[str, Any]]]:
    """(action, fields) of a batch as it was sent, in order (downloads repeat it exactly)."""
    rows = db.session.execute(select(ReportedRecord.action, ReportedRecord.fields)
                              .where(ReportedRecord.batch_id == batch.id).order_by(ReportedRecord.id)
                              .execution_options(yield_per=1000))
    for action, fields in rows:
        yield action, fields


def batches_of(kind_activity_ids, limit: int = 50) -> list[ReportBatch]:
    """The batches holding records of these activities (a select of ids), newest first."""
    ids = select(ReportedRecord.batch_id).where(ReportedRecord.activity_id.in_(kind_activity_ids)).distinct()
    return list(db.session.scalars(select(ReportBatch).where(ReportBatch.id.in_(ids))
                                   .order_by(ReportBatch.id.desc()).limit(limit)))


def reported_count(kind: ReportKind, activity_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(ReportedRecord).where(
        ReportedRecord.kind == kind, ReportedRecord.activity_id == activity_id)) or 0
