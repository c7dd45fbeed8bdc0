"""Outcomes and analytics pages (issue 16, point 6): one activity's, for its organizers; a year's, for an organizer's
own activities (an admin's: all). Read-only GET pages: the charts are SVG drawn here from analytics' plain data."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user
from markupsafe import Markup

from cme.activities.access import managed
from cme.activities.models import Activity
from cme.accounts.permissions import organizer_required
from cme.activities.statements import format_amount
from cme.reporting import analytics
from cme.reporting.charts import Bar, bar_chart, line_chart, percent
from cme.timeutil import now_utc

bp = Blueprint("analytics", __name__, url_prefix="/organize")

FIRST_YEAR, LAST_YEAR = 2000, 2100


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


@bp.get("/activities/<id:activity_id>/analytics")
@organizer_required
def activity(activity_id: int):
    activity = managed(activity_id)
    registrations = analytics.registrations_by_day(activity)
    attendance = analytics.attendance_by_session(activity)
    evaluation = analytics.evaluation_results(activity)
    credit = analytics.credit_claimed(activity)
    return render_template("reporting/analytics/activity.html", activity=activity, registrations=registrations,
                           attendance=attendance, evaluation=evaluation, credit=credit,
                           charts=_activity_charts(activity, registrations, attendance, evaluation, credit),
                           percent=percent)


def _activity_charts(activity: Activity, registrations, attendance, evaluation, credit) -> dict[str, Markup]:
    charts = {}
    first, last = (registrations[0], registrations[-1]) if registrations else (None, None)
    charts["registrations"] = line_chart(
        "chart-registrations", title="Registrations over time",
        desc=f"People registered, cumulative by day ({activity.time_zone}): {first.total} on {first.day:%b %-d, %Y}, "
             f"{last.total} on {last.day:%b %-d, %Y}." if registrations else "",
        points=[(f"{d.day:%b %-d}", d.total) for d in registrations], empty_message="No registrations yet.")
    what = {"sessions": "checked in per agenda session", "meeting": "checked in to the meeting",
            "viewers": "with recorded viewing time"}[attendance.kind]
    charts["attendance"] = bar_chart(
        "chart-attendance", title=f"Attendance: people {what}",
        desc="; ".join(f"{c.label}: {c.count}" for c in attendance.counts) + ".",
        bars=[Bar(c.label, c.count, str(c.count)) for c in attendance.counts])
    for question in evaluation.questions:
        if question.counts:
            charts[f"q-{question.key}"] = bar_chart(
                f"chart-q-{question.key}", title=question.prompt,
                desc=f"{_plural(question.answered, 'answer')}: "
                     + "; ".join(f"{c.label}: {c.count}" for c in question.counts) + ".",
                bars=[Bar(c.label, c.count, f"{c.count} ({percent(c.count, question.answered)})")
                      for c in question.counts] if question.answered else [],
                empty_message="No answers yet.")
    change = evaluation.practice_change
    if change is not None:
        charts["practice"] = bar_chart(
            "chart-practice", title="Intending to change their practice",
            desc=f"{change.intending} of {change.answered} learners who answered "
                 f"({percent(change.intending, change.answered)}) intend to change their practice.",
            bars=[Bar(c.label, c.count, f"{c.count} ({percent(c.count, change.answered)})")
                  for c in change.counts] if change.answered else [],
            empty_message="No answers yet.")
    charts["credit-type"] = bar_chart(
        "chart-credit-type", title="Credit claimed by credit type",
        desc="; ".join(f"{t.label}: {format_amount(t.amount)} claimed by {_plural(t.learners, 'learner')}"
                       for t in credit.by_type) + ".",
        bars=[Bar(t.label, t.amount, f"{format_amount(t.amount)} · {_plural(t.learners, 'learner')}")
              for t in credit.by_type], empty_message="Nobody has claimed credit yet.")
    charts["credit-profession"] = bar_chart(
        "chart-credit-profession", title="Learners credited by profession",
        desc="; ".join(f"{p.label}: {_plural(p.learners, 'learner')}" for p in credit.by_profession) + ".",
        bars=[Bar(p.label, p.learners, str(p.learners)) for p in credit.by_profession],
        empty_message="Nobody has claimed credit yet.")
    return charts


def _year_arg() -> int:
    """The year asked for (?year=YYYY), or this year: anything else (text, out of range) is this year."""
    text = request.args.get("year", "").strip()
    if text.isascii() and text.isdigit() and len(text) == 4 and FIRST_YEAR <= int(text) <= LAST_YEAR:
        return int(text)
    return now_utc().year


@bp.get("/analytics")
@organizer_required
def yearly():
    year = _year_arg()
    summary = analytics.yearly_summary(year, user=current_user)
    formats = bar_chart(
        "chart-formats", title=f"Activities in {year} by format",
        desc="; ".join(f"{f.label}: {f.activities}" for f in summary.by_format) + ".",
        bars=[Bar(f.label, f.activities, str(f.activities)) for f in summary.by_format] if summary.rows else [],
        empty_message=f"No activities ended in {year}.")
    learners = bar_chart(
        "chart-learners", title=f"Learners credited in {year}",
        desc=f"Physicians: {summary.physicians}; other learners: {summary.others}.",
        bars=[Bar("Physicians", summary.physicians, str(summary.physicians)),
              Bar("Other learners", summary.others, str(summary.others))] if summary.rows else [],
        empty_message=f"No activities ended in {year}.")
    return render_template("reporting/analytics/yearly.html", summary=summary, year=year,
                           years=(year - 1 if year > FIRST_YEAR else None, year + 1 if year < LAST_YEAR else None),
                           formats_chart=formats, learners_chart=learners)
