"""The export pages (issue 16, points 3 and 4): per activity (/organize/activities/<id>/reporting) and per date
range of completion (/organize/reporting?start=&end=): what each export holds, every blocked record with its
reasons, downloads (a preview: nothing is marked), "mark as sent", the reminder to learners, past batches."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user
from sqlalchemy import select

from cme.accounts.permissions import organizer_required
from cme.activities.access import managed
from cme.activities.models import Activity
from cme.extensions import db
from cme.formtools import ConfirmForm
from cme.reporting import service
from cme.reporting.batches import batches_of, mark_as_sent
from cme.reporting.deadlines import organized_by
from cme.reporting.forms import MarkForm, RangeForm, TrackingNumberForm
from cme.reporting.models import ReportBatch, ReportedRecord, ReportKind
from cme.reporting.records import Scope, activity_scope, range_scope
from cme.transactions import unit_of_work

bp = Blueprint("reporting", __name__, url_prefix="/organize")


def _download(kind: str, fmt: str, lines_of, filename: str):
    """The file response: streamed text, or the xlsx workbook."""
    formats = {f: (ext, mimetype) for f, ext, mimetype in service.DOWNLOADS.get(kind, [])}
    if fmt not in formats:
        abort(404)
    ext, mimetype = formats[fmt]
    body = lines_of()
    name = f"{filename}.{ext}"
    if fmt == "xlsx":  # a compressed workbook written to a temporary file row by row, then sent
        with body:
            return Response(body.read(), mimetype=mimetype,
                            headers={"Content-Disposition": f'attachment; filename="{name}"',
                                     "Cache-Control": "no-store"})
    return Response(stream_with_context(body), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def _kind_or_404(kind: str) -> ReportKind:
    if kind not in ReportKind._value2member_map_:
        abort(404)
    return ReportKind(kind)


def _page(template: str, scope: Scope, status: int = 200, **context):
    return render_template(template, summaries=service.summaries(scope), downloads=service.DOWNLOADS,
                           confirm_form=ConfirmForm(), **context), status


# ---------------------------------------------------------------- one activity

def _activity_page(activity: Activity, status: int = 200, tracking_form: TrackingNumberForm | None = None):
    tracking_form = tracking_form or TrackingNumberForm(
        formdata=None, ce_broker_tracking_number=activity.ce_broker_tracking_number)
    return _page("reporting/exports_activity.html", activity_scope(activity), status, activity=activity,
                 tracking_form=tracking_form,
                 download=lambda kind, fmt: url_for("reporting.activity_download", activity_id=activity.id, kind=kind,
                                                    fmt=fmt),
                 mark_action=url_for("reporting.activity_mark", activity_id=activity.id),
                 remind_action=url_for("reporting.activity_remind", activity_id=activity.id),
                 batches=batches_of(select(Activity.id).where(Activity.id == activity.id)))


@bp.get("/activities/<id:activity_id>/reporting")
@organizer_required
def activity_page(activity_id: int):
    return _activity_page(managed(activity_id))


@bp.get("/activities/<id:activity_id>/reporting/<kind>/<fmt>")
@organizer_required
def activity_download(activity_id: int, kind: str, fmt: str):
    activity = managed(activity_id)
    report_kind = _kind_or_404(kind)
    return _download(report_kind, fmt, lambda: service.render(
        report_kind, fmt, service.export_lines(report_kind, activity_scope(activity))),
        f"{report_kind.value}-activity-{activity.id}")


@bp.post("/activities/<id:activity_id>/reporting/mark")
@organizer_required
def activity_mark(activity_id: int):
    activity = managed(activity_id)
    form = MarkForm()
    if not form.validate_on_submit():
        flash("That export could not be marked: reload the page and try again.", "error")
        return redirect(url_for("reporting.activity_page", activity_id=activity.id))
    kind = ReportKind(form.kind.data)
    outcome = unit_of_work(lambda: mark_as_sent(kind, activity_scope(activity), provider=service.provider_name(),
                                                by_id=current_user.id))
    if outcome.ok:
        flash(f"Batch {outcome.value.id} marked as sent: {outcome.value.adds} add(s), "
              f"{outcome.value.deletes} delete(s).", "success")
    return redirect(url_for("reporting.activity_page", activity_id=activity.id, _anchor="batches"))


@bp.post("/activities/<id:activity_id>/reporting/remind")
@organizer_required
def activity_remind(activity_id: int):
    activity = managed(activity_id)
    if ConfirmForm().validate_on_submit():
        outcome = unit_of_work(lambda: service.remind_learners(activity_scope(activity)))
        if outcome.ok:
            flash(f"{outcome.value} learner(s) asked for the missing details.", "success")
    return redirect(url_for("reporting.activity_page", activity_id=activity.id))


@bp.post("/activities/<id:activity_id>/reporting/tracking-number")
@organizer_required
def tracking_number(activity_id: int):
    activity = managed(activity_id)
    form = TrackingNumberForm()
    if form.validate_on_submit() and unit_of_work(
            lambda: service.set_tracking_number(activity, form.ce_broker_tracking_number.data), form=form).ok:
        flash("CE Broker course tracking number saved.", "success")
        return redirect(url_for("reporting.activity_page", activity_id=activity.id, _anchor="ce_broker"))
    return _activity_page(activity, 422, tracking_form=form)


# ---------------------------------------------------------------- a date range

def _mine():
    return select(Activity.id) if current_user.is_admin else organized_by(current_user)


def _range() -> tuple[RangeForm, Scope | None]:
    form = RangeForm(request.args)
    if not request.args or not form.validate():
        return form, None
    return form, range_scope(_mine(), form.start.data, form.end.data)


@bp.get("/reporting")
@organizer_required
def range_page():
    form, scope = _range()
    if scope is None:
        if not request.args:
            today = date.today()
            form = RangeForm(formdata=None, start=today.replace(day=1), end=today)
        return render_template("reporting/exports_range.html", form=form, summaries=None,
                               batches=batches_of(_mine())), 200 if not form.errors else 422
    args = {"start": form.start.data.isoformat(), "end": form.end.data.isoformat()}
    return _page("reporting/exports_range.html", scope, form=form, batches=batches_of(_mine()),
                 download=lambda kind, fmt: url_for("reporting.range_download", kind=kind, fmt=fmt, **args),
                 mark_action=url_for("reporting.range_mark", **args),
                 remind_action=url_for("reporting.range_remind", **args))


@bp.get("/reporting/<kind>/<fmt>")
@organizer_required
def range_download(kind: str, fmt: str):
    report_kind = _kind_or_404(kind)
    form, scope = _range()
    if scope is None:
        abort(404)
    return _download(report_kind, fmt, lambda: service.render(report_kind, fmt, service.export_lines(report_kind, scope)),
                     f"{report_kind.value}-{form.start.data.isoformat()}-{form.end.data.isoformat()}")


@bp.post("/reporting/mark")
@organizer_required
def range_mark():
    form, scope = _range()
    mark = MarkForm()
    if scope is None or not mark.validate_on_submit():
        flash("That export could not be marked: reload the page and try again.", "error")
        return redirect(url_for("reporting.range_page", **request.args))
    kind = ReportKind(mark.kind.data)
    outcome = unit_of_work(lambda: mark_as_sent(kind, scope, provider=service.provider_name(), by_id=current_user.id))
    if outcome.ok:
        flash(f"Batch {outcome.value.id} marked as sent: {outcome.value.adds} add(s), "
              f"{outcome.value.deletes} delete(s).", "success")
    return redirect(url_for("reporting.range_page", **request.args))


@bp.post("/reporting/remind")
@organizer_required
def range_remind():
    form, scope = _range()
    if scope is not None and ConfirmForm().validate_on_submit():
        outcome = unit_of_work(lambda: service.remind_learners(scope))
        if outcome.ok:
            flash(f"{outcome.value} learner(s) asked for the missing details.", "success")
    return redirect(url_for("reporting.range_page", **request.args))


# ---------------------------------------------------------------- past batches

@bp.get("/reporting/batches/<id:batch_id>/<fmt>")
@organizer_required
def batch_download(batch_id: int, fmt: str):
    """A batch as it was sent. An organizer may download it when they manage every activity in it."""
    batch = db.get_or_404(ReportBatch, batch_id)
    if not current_user.is_admin:
        foreign = db.session.scalar(select(ReportedRecord.id).where(
            ReportedRecord.batch_id == batch.id, ReportedRecord.activity_id.not_in(organized_by(current_user)))
            .limit(1))
        if foreign is not None:
            abort(403)
    return _download(ReportKind(batch.kind), fmt, lambda: service.render_batch(batch, fmt),
                     f"{batch.kind}-batch-{batch.id}")
