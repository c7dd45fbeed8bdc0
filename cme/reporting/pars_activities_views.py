"""The PARS activity-data page and downloads (issue 16, point 3): an organizer's activities of a year (an admin's:
everyone's), as ACCME's yearly report takes them."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user

from cme.accounts.permissions import organizer_required
from cme.reporting import pars_activities as pars
from cme.timeutil import now_utc

bp = Blueprint("pars_activities", __name__, url_prefix="/organize/reports/pars-activities")


@bp.get("")
@organizer_required
def page():
    year = pars.parse_year(request.args.get("year"))
    activities = pars.activities_of_year(year, current_user)
    rows = list(pars.pars_activity_rows(activities, default_provider_id=current_app.config.get("CME_ACCME_PROVIDER_ID")))
    this_year = now_utc().year
    return render_template("reporting/pars_activities.html", year=year, rows=rows, columns=pars.COLUMNS,
                           activities=activities, years=range(this_year + 1, pars.FIRST_YEAR - 1, -1),
                           formats=pars.FORMATS)


@bp.get("/download")
@organizer_required
def download():
    fmt = request.args.get("format", "tab")
    if fmt not in pars.FORMATS:
        abort(404)
    year = pars.parse_year(request.args.get("year"))
    body = pars.export(year, fmt, user=current_user,
                       default_provider_id=current_app.config.get("CME_ACCME_PROVIDER_ID"))
    mimetype, extension = pars.FORMATS[fmt]
    return Response(body, headers={"Content-Type": mimetype, "Cache-Control": "private, no-store",
                                   "Content-Disposition": f'attachment; filename="pars-activities-{year}.{extension}"'})
