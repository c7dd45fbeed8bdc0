"""The audit log for admins (every entry, filtered) and an activity's history for its organizers."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from cme.accounts.permissions import admin_required, organizer_required
from cme.activities.access import managed
from cme.audit import service
from cme.audit.forms import AuditFilterForm
from cme.extensions import db
from cme.formtools import page_arg

bp = Blueprint("audit", __name__)

PER_PAGE = 50
MAX_ACTIVITY_ID = 2**31 - 1


@bp.get("/admin/audit")
@admin_required
def log():
    form = AuditFilterForm(request.args)
    form.validate()
    valid = lambda f: f.data if not f.errors else ""  # noqa: E731  (bad values are ignored, and shown as errors)
    activity = valid(form.activity) or ""
    by_id = activity.isascii() and activity.isdigit() and int(activity) <= MAX_ACTIVITY_ID
    page = db.paginate(service.entries_query(activity_id=int(activity) if by_id else None,
                                             activity_title="" if by_id else activity, actor=valid(form.actor) or "",
                                             action=valid(form.action) or ""),
                       page=page_arg(), per_page=PER_PAGE, error_out=False)
    filters = {f.name: f.data for f in (form.activity, form.actor, form.action) if f.data and not f.errors}
    return render_template("audit/log.html", form=form, page=page, filters=filters, service=service,
                           zones=service.zones_of(page.items), titles=service.titles_of(page.items))


@bp.get("/organize/activities/<id:activity_id>/history")
@organizer_required
def history(activity_id: int):
    activity = managed(activity_id)
    page = db.paginate(service.entries_query(activity_id=activity.id), page=page_arg(), per_page=PER_PAGE,
                       error_out=False)
    return render_template("audit/history.html", activity=activity, page=page, service=service)
