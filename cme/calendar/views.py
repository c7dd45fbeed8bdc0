"""ICS downloads and feeds over HTTP (see `cme.calendar.responses`), and the personal feed's token reset."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from cme.activities.access import public_activity_or_404
from cme.activities.catalog import CatalogFilters
from cme.activities.forms import CatalogFilterForm
from cme.calendar import service
from cme.calendar.responses import ics_response
from cme.formtools import ConfirmForm
from cme.transactions import unit_of_work

bp = Blueprint("calendar", __name__)


@bp.get("/activities/<id:activity_id>.ics")
def activity_ics(activity_id: int):
    activity = public_activity_or_404(activity_id)
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
    unit_of_work(lambda: service.reset_feed_token(current_user))
    flash("Your calendar feed has a new address. Calendars subscribed to the old one stop updating: "
          "subscribe again with the new address.", "success")
    target = request.form.get("next", "")
    return redirect(target if target in ("/my/schedule", "/account/profile") else url_for("registration.my_schedule"))
