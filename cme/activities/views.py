"""The public catalog and the organizer's dashboard."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from cme.accounts.permissions import organizer_required
from cme.activities import service
from cme.activities.models import ActivityFormat
from cme.extensions import db

bp = Blueprint("activities", __name__)
organize_bp = Blueprint("organize", __name__, url_prefix="/organize")

FORMAT_FILTERS = {
    "": "All formats",
    ActivityFormat.LIVE_MEETING.value: "Live meetings",
    "webcast": "Webcasts",
    ActivityFormat.LIVE_WEBCAST.value: "Live webcasts",
    ActivityFormat.ON_DEMAND_WEBCAST.value: "On-demand webcasts",
}


@bp.get("/")
@bp.get("/activities/")
def catalog():
    fmt = request.args.get("format", "")
    if fmt not in FORMAT_FILTERS:
        fmt = ""
    page = db.paginate(service.upcoming_catalog_query(fmt=fmt or None), per_page=20, error_out=False)
    seats_taken = service.confirmed_counts([a.id for a in page.items])
    return render_template("activities/catalog.html", page=page, fmt=fmt, format_filters=FORMAT_FILTERS,
                           seats_taken=seats_taken)


@bp.get("/activities/<int:activity_id>")
@bp.get("/activities/<int:activity_id>-<slug>")
def detail(activity_id: int, slug: str | None = None):
    activity = service.public_activity(activity_id)
    if activity is None:
        abort(404)
    seats_taken = service.confirmed_counts([activity.id]).get(activity.id, 0)
    viewer_zone = current_user.time_zone if current_user.is_authenticated else None
    return render_template("activities/detail.html", activity=activity, seats_taken=seats_taken, viewer_zone=viewer_zone)


@organize_bp.get("/")
@organizer_required
def dashboard():
    page = db.paginate(service.organizer_activities_query(current_user), per_page=50, error_out=False)
    counts = service.registration_counts([a.id for a in page.items])
    return render_template("organize/dashboard.html", page=page, counts=counts)
