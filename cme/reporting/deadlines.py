"""Reporting deadlines (issue 16, point 5): completions are reported within 30 days to PARS and 60 days to CPE
Monitor. Per activity, how many completions are not reported yet and the days left for the oldest, oldest first,
in one query; and the weekly mail that tells each organizer what is due (`send_deadline_mails`, run by
`flask cme report send-deadline-mail` and by the mail worker's housekeeping; never twice in one ISO week)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Select, exists, func, literal, select, union_all

from cme.accounts.models import User
from cme.activities.models import Activity, CreditType, activity_organizers
from cme.credit.models import CreditRecord
from cme.extensions import db
from cme.mail.service import keys_ever_queued, queue_deferred
from cme.reporting.models import RecordAction, ReportedRecord, ReportKind
from cme.timeutil import now_utc

log = logging.getLogger("cme.reporting")

DEADLINE_DAYS = {ReportKind.PARS: 30, ReportKind.CPE_MONITOR: 60}
DEADLINE_CREDIT_TYPES = {ReportKind.PARS: (CreditType.AMA_PRA_1, CreditType.ABIM_MOC),
                         ReportKind.CPE_MONITOR: (CreditType.ACPE,)}
DEADLINES_EVERY = 900  # seconds between two looks by the mail worker (a mail goes at most once a week)


@dataclass(frozen=True)
class DueRow:
    activity_id: int
    title: str
    kind: ReportKind
    count: int
    oldest_dt: datetime
    days_left: int

    @property
    def kind_label(self) -> str:
        return "PARS" if self.kind == ReportKind.PARS else "CPE Monitor"


def _unreported(kind: ReportKind, activity_ids: Select | None = None) -> Select:
    """Per activity (of `activity_ids` when given), the completions of `kind` not reported yet."""
    reported = exists().where(ReportedRecord.kind == kind, ReportedRecord.user_id == CreditRecord.user_id,
                              ReportedRecord.activity_id == CreditRecord.activity_id,
                              ReportedRecord.action == RecordAction.ADD)
    stmt = (select(CreditRecord.activity_id.label("activity_id"), literal(kind.value).label("kind"),
                   func.count(func.distinct(CreditRecord.user_id)).label("count"),
                   func.min(CreditRecord.completed_dt).label("oldest"))
            .where(CreditRecord.credit_type.in_(DEADLINE_CREDIT_TYPES[kind]), ~reported)
            .group_by(CreditRecord.activity_id))
    return stmt if activity_ids is None else stmt.where(CreditRecord.activity_id.in_(activity_ids))


def due(activity_ids: Select, *, now: datetime | None = None) -> list[DueRow]:
    """Unreported completions per activity (of `activity_ids`, a select) and kind, oldest first: one query.

    Each branch of the union picks the activities' records before grouping them: a filter on the union's result is
    not pushed into it, and every branch then read the whole credit_records table (issue 17, point 3)."""
    now = now or now_utc()
    both = union_all(*(_unreported(kind, activity_ids) for kind in DEADLINE_DAYS)).subquery()
    rows = db.session.execute(select(both.c.activity_id, Activity.title, both.c.kind, both.c.count, both.c.oldest)
                              .join(Activity, Activity.id == both.c.activity_id)
                              .order_by(both.c.oldest, both.c.activity_id, both.c.kind))
    result = []
    for activity_id, title, kind, count, oldest in rows:
        kind = ReportKind(kind)
        oldest = _aware(oldest)
        days_left = DEADLINE_DAYS[kind] - (now - oldest).days
        result.append(DueRow(activity_id, title, kind, count, oldest, days_left))
    return result


def _aware(value) -> datetime:
    """The union's MIN comes back as the column's type on PostgreSQL, as text or naive on SQLite."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


def organized_by(user: User) -> Select:
    return select(activity_organizers.c.activity_id).where(activity_organizers.c.user_id == user.id)


def due_for_organizer(user: User, *, now: datetime | None = None) -> list[DueRow]:
    """What the activities `user` organizes have to report (the weekly mail)."""
    return due(organized_by(user), now=now)


def reporting_due(user: User, *, now: datetime | None = None, limit: int = 50) -> list[DueRow]:
    """The organizer dashboard's list: the activities they organize (all, for an admin), oldest first."""
    activity_ids = select(Activity.id) if user.is_admin else organized_by(user)
    return due(activity_ids, now=now)[:limit]


def week_key(user_id: int, now: datetime) -> str:
    year, week, _ = now.isocalendar()
    return f"reporting-deadlines:{user_id}:{year}-W{week:02d}"


def send_deadline_mails(*, now: datetime | None = None) -> int:
    """Queue this week's deadline mail to each organizer with completions to report; idempotent within an ISO
    week (the outbox row's key names the week). Returns how many were queued."""
    now = now or now_utc()
    organizers = db.session.scalars(
        select(User).join(activity_organizers, activity_organizers.c.user_id == User.id)
        .where(activity_organizers.c.activity_id.in_(_due_activity_ids()), User.closed_dt.is_(None))
        .distinct().order_by(User.id)).all()
    keys = {user.id: week_key(user.id, now) for user in organizers}
    already = keys_ever_queued(list(keys.values()))
    queued = 0
    for user in organizers:
        if keys[user.id] in already:
            continue
        queue_deferred(user.email, "Completions to report", kind="reporting_deadlines",
                       composer="reporting_deadlines", key=keys[user.id], user_id=user.id, now=now.isoformat())
        queued += 1
    return queued


def _due_activity_ids() -> Select:
    both = union_all(*(_unreported(kind) for kind in DEADLINE_DAYS)).subquery()
    return select(both.c.activity_id)
