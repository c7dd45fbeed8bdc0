"""The export pages' operations (issue 16, points 3 and 4): what each export holds in a scope, the activity's CE
Broker tracking number, and the mail that asks learners for what is missing."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator

from flask import current_app
from cme.accounts.models import User
from cme.activities.models import Activity
from cme.extensions import db
from cme.mail.service import keys_ever_queued, queue_deferred
from cme.reporting import formats
from cme.reporting.batches import Counts, Entry, batch_lines, plan
from cme.reporting.models import ReportBatch, ReportKind
from cme.reporting.records import Scope
from cme.timeutil import now_utc

# What each kind's download is: (format name, file suffix, media type).
DOWNLOADS = {
    ReportKind.PARS: [("tab", "txt", "text/tab-separated-values; charset=utf-8"),
                      ("json", "json", "application/json")],
    ReportKind.CPE_MONITOR: [("csv", "csv", "text/csv; charset=utf-8")],
    ReportKind.CE_BROKER: [("xlsx", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")],
}


def provider_name() -> str:
    return current_app.config["CME_PROVIDER_NAME"]


@dataclass
class KindSummary:
    kind: ReportKind
    counts: Counts = field(default_factory=Counts)
    blocked: list[Entry] = field(default_factory=list)


def summaries(scope: Scope) -> list[KindSummary]:
    """Per kind: how many adds, deletes, blocked and already-reported records, and every blocked record."""
    result = []
    for kind in ReportKind:
        summary = KindSummary(kind)
        for entry in plan(kind, scope, provider=provider_name()):
            summary.counts.count(entry)
            if entry.status == "blocked":
                summary.blocked.append(entry)
        result.append(summary)
    return result


def export_lines(kind: ReportKind, scope: Scope) -> Iterator[tuple[str, dict]]:
    for entry in plan(kind, scope, provider=provider_name()):
        if entry.is_line:
            yield entry.status, entry.fields


def render(kind: ReportKind, fmt: str, lines, *, created: datetime | None = None):
    """The file of `lines` in `fmt`: an iterator of bytes (text formats) or a rewound binary file (xlsx)."""
    if fmt == "tab":
        return formats.encoded(formats.pars_tab(lines))
    if fmt == "json":
        return formats.encoded(formats.pars_json(lines, created=created or now_utc()))
    if fmt == "csv":
        return formats.encoded(formats.cpe_monitor_csv(lines))
    if fmt == "xlsx":
        return formats.ce_broker_xlsx(lines)
    raise ValueError(fmt)


def render_batch(batch: ReportBatch, fmt: str):
    return render(ReportKind(batch.kind), fmt, batch_lines(batch), created=batch.created_dt)


def set_tracking_number(activity: Activity, value: str | None) -> None:
    activity.ce_broker_tracking_number = (value or "").strip() or None
    db.session.flush()


def account_reporting_url(activity_id: int) -> str:
    """The learner's page of what each body needs for this activity (cme/accounts, issue 16 point 1)."""
    return current_app.config["CME_BASE_URL"].rstrip("/") + f"/account/reporting/{activity_id}"


def remind_learners(scope: Scope, *, now: datetime | None = None) -> int:
    """Mail every learner with a blocked record they can fix (a missing or malformed profile field, a
    permission never given) a link to the exact fields, at most once a day per learner and activity. A
    permission the learner withheld is never asked again. Returns how many mails were queued."""
    now = now or now_utc()
    wanted: dict[tuple[int, int], dict[str, str]] = {}
    for kind in ReportKind:
        for entry in plan(kind, scope, provider=provider_name()):
            if entry.status != "blocked":
                continue
            fixable = {r.field: r.message for r in entry.refusals if r.learner_can_fix}
            if fixable:
                wanted.setdefault((entry.user_id, entry.activity_id), {}).update(fixable)
    day = now.date().isoformat()
    keys = {pair: f"reporting-missing:{pair[0]}:{pair[1]}:{day}" for pair in wanted}
    already = keys_ever_queued(list(keys.values()))
    queued = 0
    for (user_id, activity_id), fields in wanted.items():
        if keys[(user_id, activity_id)] in already:
            continue
        user = db.session.get(User, user_id)
        activity = db.session.get(Activity, activity_id)
        queue_deferred(user.email, f"Your credit for {activity.title}: details to complete for reporting",
                       kind="reporting_missing_fields", composer="reporting_missing_fields",
                       key=keys[(user_id, activity_id)], user_id=user_id, activity_id=activity_id,
                       fields=sorted(fields.items()))
        queued += 1
    return queued
