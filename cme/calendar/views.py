"""ICS downloads and feeds over HTTP: ETag and Last-Modified from a cheap version query, 304 without
building, HEAD, and the personal feed's token reset."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from cme.activities.forms import CatalogFilterForm, ConfirmForm
from cme.activities.catalog import CatalogFilters, public_activity
from cme.calendar import service
from cme.extensions import db

bp = Blueprint("calendar", __name__)


def ics_response(export: service.Export, *, cache: str, disposition: str = "inline") -> Response:
    headers = {"ETag": f'"{export.etag}"', "Cache-Control": cache, "Vary": "Accept-Encoding"}
    last_modified = export.last_modified.replace(microsecond=0)
    not_modified = request.if_none_match.contains(export.etag) if request.if_none_match else (
        request.if_modified_since is not None and last_modified <= request.if_modified_since)
    if not_modified:
        response = Response(status=304, headers=headers)
    else:
        body = service.cached_build(export.etag, export.build)
        response = Response(body, headers={
            **headers, "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": f'{disposition}; filename="{export.filename}"'})
    response.last_modified = last_modified
    return response


@bp.get("/activities/<int:activity_id>.ics")
def activity_ics(activity_id: int):
    activity = public_activity(activity_id)
    if activity is None:
        abort(404)
    return ics_response(service.activity_export(activity), cache="public, max-age=300", disposition="attachment")


@bp.get("/calendar/activities.ics")
def public_feed():
    form = CatalogFilterForm(request.args)
    form.validate()
    valid = lambda f: (f.data or "") if not f.errors else ""  # noqa: E731
    filters = CatalogFilters(format=valid(form.format), specialty=valid(form.specialty),
                             credit_type=valid(form.credit_type))
    return ics_response(service.public_feed_export(filters), cache="public, max-age=900")


@bp.get("/calendar/feed/<token>.ics")
def personal_feed(token: str):
    user = service.user_for_feed_token(token)
    if user is None:
        abort(404)
    return ics_response(service.personal_feed_export(user), cache="private, max-age=900")


@bp.post("/calendar/feed/reset")
@login_required
def reset_feed():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    service.reset_feed_token(current_user)
    db.session.commit()
    flash("Your calendar feed has a new address. Calendars subscribed to the old one stop updating: "
          "subscribe again with the new address.", "success")
    target = request.form.get("next", "")
    return redirect(target if target in ("/my/schedule", "/account/profile") else url_for("registration.my_schedule"))
