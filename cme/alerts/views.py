"""Alerts: the learner's list, the form (from the catalog's filters), turning off and on, deleting; and the
unsubscribe page of a digest's link, which needs no log-in (its signed token is the authority)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from cme.activities.catalog import parse_filters
from cme.alerts import service
from cme.alerts.forms import AlertForm
from cme.alerts.models import ActivityAlert
from cme.extensions import csrf
from cme.formtools import ConfirmForm
from cme.transactions import unit_of_work

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


def _own_alert_or_404(alert_id: int) -> ActivityAlert:
    """The signed-in learner's alert; another's answers 404, as a missing one does."""
    alert = service.alert_of(current_user, alert_id)
    if alert is None:
        abort(404)
    return alert


def _answer(body: str):
    return body, 200 if request.method == "GET" else 422


@bp.get("/")
@login_required
def index():
    alerts = service.alerts_of(current_user)
    return render_template("alerts/index.html", alerts=alerts, describe=service.describe,
                           filters_of=service.filters_of, max_alerts=service.MAX_ALERTS)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """GET: the form filled with the catalog's filters from the query string (the catalog's button passes them), or
    with the learner's specialty when there are none."""
    if request.method == "GET":
        _, filters = parse_filters(request.args)
        suggested = service.suggested_filters(current_user, filters)
        form = AlertForm(data={"q": suggested.q, "format": suggested.format, "specialty": suggested.specialty,
                               "credit_type": suggested.credit_type})
        form.name.render_kw = {"placeholder": service.default_name(suggested)}
    else:
        form = AlertForm()
        if form.validate_on_submit():
            done = unit_of_work(lambda: service.create_alert(current_user, form.alert_filters()), form=form)
            if done.ok:
                flash(f"Alert saved: “{done.value.name}”. Each week we email you what is new for it, in one message "
                      "with your other alerts.", "success")
                return redirect(url_for("alerts.index"))
    return _answer(render_template("alerts/form.html", form=form, alert=None))


@bp.route("/<id:alert_id>/edit", methods=["GET", "POST"])
@login_required
def edit(alert_id: int):
    alert = _own_alert_or_404(alert_id)
    form = AlertForm(obj=alert)
    if form.validate_on_submit():
        done = unit_of_work(lambda: service.update_alert(alert, form.alert_filters()), form=form)
        if done.ok:
            flash(f"Alert saved: “{alert.name}”.", "success")
            return redirect(url_for("alerts.index"))
    return _answer(render_template("alerts/form.html", form=form, alert=alert))


def _confirmed(alert_id: int, act, message: str):
    """Stop, resume or delete one of the user's alerts after the confirm button (`message` names it: {name})."""
    alert = _own_alert_or_404(alert_id)
    if ConfirmForm().validate_on_submit():
        name = alert.name
        unit_of_work(lambda: act(alert))
        flash(message.format(name=name), "success")
    return redirect(url_for("alerts.index"))


@bp.post("/<id:alert_id>/stop")
@login_required
def stop(alert_id: int):
    return _confirmed(alert_id, service.stop_alert,
                      "“{name}” is off: no more digests for it. Turn it back on here at any time.")


@bp.post("/<id:alert_id>/resume")
@login_required
def resume(alert_id: int):
    return _confirmed(alert_id, service.resume_alert,
                      "“{name}” is on again: your next digest tells of what is published from now on.")


@bp.post("/<id:alert_id>/delete")
@login_required
def delete(alert_id: int):
    return _confirmed(alert_id, service.delete_alert, "Alert deleted: “{name}”.")


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" with no CSRF token; the token is the authority
def unsubscribe(token: str):
    """GET shows what the link turns off and a button (it never writes: a mail scanner that follows links turns
    nothing off); POST turns the alerts off, from that button or from the mail client's one-click request. No log-in:
    the signed token names the learner and the alerts. Never stored by a cache."""
    if request.method == "POST":
        done = unit_of_work(lambda: service.unsubscribe(token), show=False)
        alerts, error = done.value or [], done.error
    else:
        try:
            alerts, error = service.alerts_for_token(token), None
        except service.AlertError as refused:
            alerts, error = [], refused
    status = 200 if error is None else 410 if error.code == "expired" else 404
    response = make_response(render_template(
        "alerts/unsubscribe.html", token=token, error=error, alerts=alerts, done=request.method == "POST",
        describe=service.describe), status)
    response.headers["Cache-Control"] = "private, no-store"
    return response
