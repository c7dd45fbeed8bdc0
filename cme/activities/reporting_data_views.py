"""The organizer's "Reporting data" page of an activity (issue 16, point 2): ACCME IDs, outcome measures, content
tags and MOC registrations per board, beside what is edited elsewhere (providership, commercial support, the ACPE
UAN), shown here with a link to where it changes."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from cme.accounts.permissions import organizer_required
from cme.activities import reporting_data_service as reporting_data
from cme.activities.access import managed
from cme.activities.models import Activity, CreditType
from cme.activities.reporting_data import MocRegistration, moc_credit_types
from cme.activities.reporting_data_forms import MocRegistrationForm, ReportingDataForm
from cme.activities.service import moc_registrations
from cme.credit import moc_registrations as moc
from cme.extensions import db
from cme.formtools import ConfirmForm
from cme.accounts.identity import Board
from cme.transactions import unit_of_work

bp = Blueprint("reporting_data", __name__, url_prefix="/organize/activities/<id:activity_id>/reporting-data")


def _page_url(activity: Activity, anchor: str | None = None) -> str:
    return url_for("reporting_data.page", activity_id=activity.id, _anchor=anchor)


def _registration_of(activity: Activity, moc_id: int) -> MocRegistration:
    registration = db.get_or_404(MocRegistration, moc_id)
    if registration.activity_id != activity.id:
        abort(404)
    return registration


def _data_form(activity: Activity) -> ReportingDataForm:
    form = ReportingDataForm(formdata=None, obj=activity)
    if not form.accme_provider_id.data:
        form.accme_provider_id.data = current_app.config.get("CME_ACCME_PROVIDER_ID") or None
    form.outcome_measures.data = reporting_data.outcome_measures(activity)
    form.content_tags.data = reporting_data.content_tags(activity)
    return form


def _render(activity: Activity, status: int = 200, *, data_form: ReportingDataForm | None = None,
            moc_form: MocRegistrationForm | None = None):
    registrations = moc_registrations(activity)
    return render_template(
        "activities/organize/reporting_data.html", activity=activity,
        data_form=data_form or _data_form(activity), moc_form=moc_form or MocRegistrationForm(formdata=None),
        registrations=registrations, deadlines={r.id: reporting_data.claim_deadline_date(r, activity.time_zone)
                                                for r in registrations},
        acpe_topic=reporting_data.acpe_topic(activity), confirm_form=ConfirmForm(),
        credit_types={board.value: moc_credit_types(board) for board in Board},
        ama=next((d.max_amount for d in activity.credit_designations if d.credit_type == CreditType.AMA_PRA_1), None),
    ), status


@bp.route("", methods=["GET", "POST"])
@organizer_required
def page(activity_id: int):
    activity = managed(activity_id)
    if request.method == "GET":
        return _render(activity)
    form = ReportingDataForm()
    if form.validate_on_submit() and unit_of_work(lambda: reporting_data.set_reporting_fields(
            activity, accme_activity_id=form.accme_activity_id.data, accme_provider_id=form.accme_provider_id.data,
            measures=form.outcome_measures.data or [], tags=form.content_tags.data or []), form=form).ok:
        flash("Reporting data saved.", "success")
        return redirect(_page_url(activity))
    return _render(activity, 422, data_form=form)


@bp.route("/moc", methods=["GET", "POST"])
@organizer_required
def add_moc(activity_id: int):
    activity = managed(activity_id)
    if request.method == "GET":
        return redirect(_page_url(activity, "moc"))
    form = MocRegistrationForm()
    if form.validate_on_submit() and unit_of_work(lambda: moc.change_moc_registration(
            activity, None, **form.registration_fields()), form=form).ok:
        flash(f"MOC registration with {Board(form.board.data).acronym} saved.", "success")
        return redirect(_page_url(activity, "moc"))
    return _render(activity, 422, moc_form=form)


@bp.route("/moc/<id:moc_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit_moc(activity_id: int, moc_id: int):
    activity = managed(activity_id)
    registration = _registration_of(activity, moc_id)
    form = MocRegistrationForm(obj=registration)
    if request.method == "GET":
        form.practice_areas.data = "\n".join(registration.practice_areas or [])
        form.claim_deadline.data = reporting_data.claim_deadline_date(registration, activity.time_zone)
    else:
        form.board.data = registration.board  # a registration's board stays
        if form.validate_on_submit() and unit_of_work(lambda: moc.change_moc_registration(
                activity, registration, **form.registration_fields()), form=form).ok:
            flash(f"MOC registration with {registration.board_label} saved.", "success")
            return redirect(_page_url(activity, "moc"))
    return render_template("activities/organize/reporting_data_moc.html", activity=activity, form=form,
                           registration=registration), 200 if request.method == "GET" else 422


@bp.post("/moc/<id:moc_id>/delete")
@organizer_required
def delete_moc(activity_id: int, moc_id: int):
    activity = managed(activity_id)
    registration = _registration_of(activity, moc_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    label = registration.board_label
    if unit_of_work(lambda: moc.remove_moc_registration(registration)).ok:
        flash(f"MOC registration with {label} removed.", "success")
    return redirect(_page_url(activity, "moc"))
