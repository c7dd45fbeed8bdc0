"""The organizer's pages: dashboard, activity create/edit, agenda, faculty and disclosures, credit, lifecycle."""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from cme.accounts.permissions import organizer_required
from cme.activities import service
from cme.activities.access import managed
from cme.activities.forms import (
    AcpeUanForm, ActivityForm, CommercialSupportForm, DesignationForm, DisclosureForm, DuplicateForm, FacultyForm,
    SessionForm,
)
from cme.activities.models import Activity, ActivitySession, CommercialSupport, CreditDesignation, Disclosure, Faculty
from cme.activities.statements import activity_statements
from cme.credit import service as credit
from cme.extensions import db
from cme.formtools import ConfirmForm, page_arg
from cme.registration import lifecycle
from cme.registration.counts import registration_counts
from cme.reporting.deadlines import reporting_due
from cme.timeutil import now_utc
from cme.transactions import unit_of_work

bp = Blueprint("organize", __name__, url_prefix="/organize")


def child_of(model, child_id: int, activity: Activity, attribute: str = "activity_id"):
    child = db.get_or_404(model, child_id)
    owner_id = child.faculty.activity_id if model is Disclosure else getattr(child, attribute)
    if owner_id != activity.id:
        abort(404)
    return child


def to_manage(activity: Activity, anchor: str | None = None):
    return redirect(url_for("organize.manage", activity_id=activity.id, _anchor=anchor))


def _manage_page(activity: Activity, status: int = 200, *, disclosure_form: DisclosureForm | None = None,
                 disclosure_for: int | None = None, **forms):
    """The manage page; a form that failed validation is passed in so it re-renders with its errors and input."""
    forms.setdefault("session_form", SessionForm(zone_name=activity.time_zone, faculty=activity.faculty, formdata=None))
    forms.setdefault("faculty_form", FacultyForm(formdata=None))
    forms.setdefault("designation_form", DesignationForm(formdata=None))
    forms.setdefault("support_form", CommercialSupportForm(formdata=None))
    forms.setdefault("uan_form", AcpeUanForm(formdata=None, acpe_uan=activity.acpe_uan))
    forms["disclosure_forms"] = {p.id: DisclosureForm(prefix=f"d{p.id}", formdata=None) for p in activity.faculty}
    if disclosure_form is not None:
        forms["disclosure_forms"][disclosure_for] = disclosure_form
    counts = registration_counts([activity.id])[activity.id]
    return render_template("activities/organize/manage.html", activity=activity,
                           audience=lifecycle.notice_audience(activity),
                           problems=service.publication_problems(activity),
                           accreditation=activity_statements(activity, provider=current_app.config["CME_PROVIDER_NAME"]),
                           now=now_utc(),
                           counts=counts, hours=service.scheduled_hours(activity), confirm_form=ConfirmForm(),
                           **forms), status


@bp.get("/")
@organizer_required
def dashboard():
    page = db.paginate(service.organizer_activities_query(current_user), page=page_arg(), per_page=50,
                       error_out=False)
    counts = registration_counts([a.id for a in page.items])
    now = now_utc()
    return render_template("activities/organize/dashboard.html", page=page, counts=counts, now=now,
                           next_dates=service.next_dates(page.items, now=now),
                           reporting_due=reporting_due(current_user, now=now))


@bp.route("/activities/new", methods=["GET", "POST"])
@organizer_required
def create():
    form = ActivityForm()
    if form.validate_on_submit():
        done = unit_of_work(lambda: service.create_activity(current_user, form.activity_fields()), form=form)
        if done.ok:
            flash("Draft created. Add the agenda, faculty with disclosures and credit, then publish.", "success")
            return to_manage(done.value)
    return render_template("activities/organize/activity_form.html", form=form, activity=None), 200 if request.method == "GET" else 422


@bp.get("/activities/<id:activity_id>")
@organizer_required
def manage(activity_id: int):
    return _manage_page(managed(activity_id))


@bp.route("/activities/<id:activity_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit(activity_id: int):
    activity = managed(activity_id)
    form = ActivityForm(obj=activity)
    if request.method == "GET":
        for name in ("start", "end", "registration_opens", "registration_closes", "claim_deadline"):
            getattr(form, f"{name}_local").data = service.shift_to_local(getattr(activity, f"{name}_dt"), activity.time_zone)
    elif form.validate_on_submit():
        done = unit_of_work(lambda: _save_activity(activity, form.activity_fields(), form.notice_message.data,
                                                   move_sessions=form.move_sessions.data), form=form)
        if done.ok:
            told, moved = done.value
            flash("Saved." + (f" {moved_text(moved)}" if moved else "") + (f" {told_text(told)}" if told else ""),
                  "success")
            return to_manage(activity)
    return render_template("activities/organize/activity_form.html", form=form, activity=activity,
                           audience=lifecycle.notice_audience(activity)), 200 if request.method == "GET" else 422


def moved_text(count: int) -> str:
    return f"The agenda moved with the start ({count} session{'s' if count != 1 else ''})."


def told_text(count: int) -> str:
    return f"{count} registrant{'s' if count != 1 else ''} will be told of the change in a few minutes."


def _save_activity(activity: Activity, values: dict[str, Any], message: str = "", *,
                   move_sessions: bool = False) -> tuple[int, int]:
    """The edit form's changes, each through the operation that holds its rule; registrants are told once of
    what changed that matters to them (with the organizer's message). Returns how many will be told, and how many
    agenda sessions moved with the start."""
    sessions_before = {session: session.start_dt for session in activity.sessions}
    with lifecycle.telling_registrants(activity, message=message) as told:
        service.update_details(activity, **{name: values[name] for name in (
            "title", "summary", "description", "learning_objectives", "target_audience", "specialty", "topics")})
        service.set_accreditation(activity, **{name: values[name] for name in service.ACCREDITATION_FIELDS})
        service.reschedule(activity, format=values["format"], time_zone=values["time_zone"],
                           start_dt=values["start_dt"], end_dt=values["end_dt"], move_sessions=move_sessions)
        service.change_place(activity, **{name: values[name] for name in service.PLACE_FIELDS})
        service.set_deadlines(activity, registration_opens_dt=values["registration_opens_dt"],
                              registration_closes_dt=values["registration_closes_dt"],
                              claim_deadline_dt=values["claim_deadline_dt"])
        service.set_reminders(activity, remind_day_before=values["remind_day_before"],
                              remind_hour_before=values["remind_hour_before"])
        service.set_waitlist_offers(activity, offer_days_before=values["offer_days_before"],
                                    offer_hours=values["offer_hours"])
    lifecycle.change_capacity(activity, values["capacity"])
    return told.count, sum(1 for session, start in sessions_before.items() if session.start_dt != start)


def act(activity: Activity, action: Callable[[], Any], message: str | Callable[[Any], str], anchor: str | None = None):
    """Run one service action behind a CSRF-checked button, then flash and go back to the manage page."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    done = unit_of_work(action)
    if done.ok:
        flash(message(done.value) if callable(message) else message, "success")
    return to_manage(activity, anchor)


@bp.post("/activities/<id:activity_id>/publish")
@organizer_required
def publish(activity_id: int):
    activity = managed(activity_id)
    return act(activity, lambda: service.publish(activity), "Published: the activity is in the catalog.")


@bp.post("/activities/<id:activity_id>/unpublish")
@organizer_required
def unpublish(activity_id: int):
    activity = managed(activity_id)
    return act(activity, lambda: lifecycle.unpublish(activity), "Unpublished: the activity is a draft again.")


@bp.post("/activities/<id:activity_id>/cancel")
@organizer_required
def cancel(activity_id: int):
    activity = managed(activity_id)
    return act(activity, lambda: lifecycle.cancel_activity(activity), lambda told: f"Cancelled. {told} registrant(s) are being told.")


@bp.route("/activities/<id:activity_id>/duplicate", methods=["GET", "POST"])
@organizer_required
def duplicate(activity_id: int):
    """Ask for the copy's first day, then make the copy with every time moved to it (issue 14, point 3)."""
    activity = managed(activity_id)
    form = DuplicateForm()
    if request.method == "GET":
        form.first_day.data = service.suggested_first_day(activity)
    elif form.validate_on_submit():
        done = unit_of_work(lambda: service.duplicate(activity, current_user, first_day=form.first_day.data),
                            form=form)
        if done.ok:
            flash("This is a draft copy with every time moved to its new dates. Check its title, deadlines and "
                  "agenda, then publish it.", "success")
            return to_manage(done.value)
    return render_template("activities/organize/duplicate.html", form=form, activity=activity), \
        200 if request.method == "GET" else 422


# ---------------------------------------------------------------- agenda

@bp.route("/activities/<id:activity_id>/sessions", methods=["GET", "POST"])
@organizer_required
def add_session(activity_id: int):
    activity = managed(activity_id)
    if request.method == "GET":
        return to_manage(activity, "agenda")
    form = SessionForm(zone_name=activity.time_zone, faculty=activity.faculty)
    if form.validate_on_submit():
        done = unit_of_work(lambda: lifecycle.add_session(activity, form.session_fields(),
                                                          message=form.notice_message.data), form=form)
        if done.ok:
            flash("Session added.", "success")
            return to_manage(activity, "agenda")
    return _manage_page(activity, 422, session_form=form)


@bp.route("/activities/<id:activity_id>/sessions/<id:session_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit_session(activity_id: int, session_id: int):
    activity = managed(activity_id)
    session = child_of(ActivitySession, session_id, activity)
    form = SessionForm(obj=session, zone_name=activity.time_zone, faculty=activity.faculty)
    if request.method == "GET":
        form.start_local.data = service.shift_to_local(session.start_dt, activity.time_zone)
        form.end_local.data = service.shift_to_local(session.end_dt, activity.time_zone)
        form.speakers.data = [person.id for person in session.speakers]
    elif form.validate_on_submit():
        done = unit_of_work(lambda: lifecycle.update_session(session, form.session_fields(),
                                                             message=form.notice_message.data), form=form)
        if done.ok:
            flash("Session saved." + (f" {told_text(done.value)}" if done.value else ""), "success")
            return to_manage(activity, "agenda")
    return render_template("activities/organize/session_form.html", form=form, activity=activity, session=session,
                           audience=lifecycle.notice_audience(activity)), 200 if request.method == "GET" else 422


@bp.post("/activities/<id:activity_id>/sessions/<id:session_id>/delete")
@organizer_required
def delete_session(activity_id: int, session_id: int):
    activity = managed(activity_id)
    session = child_of(ActivitySession, session_id, activity)
    return act(activity, lambda: lifecycle.delete_session(session), "Session removed.", "agenda")


# ---------------------------------------------------------------- faculty and disclosures

def _faculty_fields(form: FacultyForm) -> dict:
    return {"full_name": form.full_name.data, "degree": form.degree.data, "affiliation": form.affiliation.data,
            "role": form.role.data, "disclosure_received": form.disclosure_received.data}


@bp.route("/activities/<id:activity_id>/faculty", methods=["GET", "POST"])
@organizer_required
def add_faculty(activity_id: int):
    activity = managed(activity_id)
    if request.method == "GET":
        return to_manage(activity, "faculty")
    form = FacultyForm()
    if form.validate_on_submit() and unit_of_work(lambda: service.add_faculty(activity, **_faculty_fields(form)),
                                                  form=form).ok:
        flash(f"{form.full_name.data} added.", "success")
        return to_manage(activity, "faculty")
    return _manage_page(activity, 422, faculty_form=form)


@bp.route("/activities/<id:activity_id>/faculty/<id:faculty_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit_faculty(activity_id: int, faculty_id: int):
    activity = managed(activity_id)
    person = child_of(Faculty, faculty_id, activity)
    form = FacultyForm(obj=person)
    if request.method == "GET":
        form.disclosure_received.data = person.has_disclosure_on_file
    elif form.validate_on_submit() and unit_of_work(lambda: service.update_faculty(person, **_faculty_fields(form)),
                                                    form=form).ok:
        flash(f"{person.full_name} saved.", "success")
        return to_manage(activity, "faculty")
    return render_template("activities/organize/faculty_form.html", form=form, activity=activity, person=person), \
        200 if request.method == "GET" else 422


@bp.post("/activities/<id:activity_id>/faculty/<id:faculty_id>/delete")
@organizer_required
def delete_faculty(activity_id: int, faculty_id: int):
    activity = managed(activity_id)
    person = child_of(Faculty, faculty_id, activity)
    return act(activity, lambda: service.delete_faculty(person), f"{person.full_name} removed.", "faculty")


@bp.post("/activities/<id:activity_id>/faculty/<id:faculty_id>/disclosures")
@organizer_required
def add_disclosure(activity_id: int, faculty_id: int):
    activity = managed(activity_id)
    person = child_of(Faculty, faculty_id, activity)
    form = DisclosureForm(prefix=f"d{person.id}")
    if form.validate_on_submit() and unit_of_work(lambda: service.add_disclosure(
            person, company=form.company.data, relationship_type=form.relationship_type.data,
            mitigated=form.mitigated.data), form=form).ok:
        flash(f"Relationship recorded for {person.full_name}.", "success")
        return to_manage(activity, f"faculty-{person.id}")
    return _manage_page(activity, 422, disclosure_form=form, disclosure_for=person.id)


@bp.post("/activities/<id:activity_id>/disclosures/<id:disclosure_id>/mitigated")
@organizer_required
def toggle_mitigated(activity_id: int, disclosure_id: int):
    activity = managed(activity_id)
    disclosure = child_of(Disclosure, disclosure_id, activity)
    mitigated = request.form.get("mitigated") == "1"
    return act(activity, lambda: service.set_mitigated(disclosure, mitigated),
               "Marked as mitigated." if mitigated else "Marked as not mitigated.", "faculty")


@bp.post("/activities/<id:activity_id>/disclosures/<id:disclosure_id>/delete")
@organizer_required
def delete_disclosure(activity_id: int, disclosure_id: int):
    activity = managed(activity_id)
    disclosure = child_of(Disclosure, disclosure_id, activity)
    return act(activity, lambda: service.delete_disclosure(disclosure), "Relationship removed.", "faculty")


# ---------------------------------------------------------------- credit

@bp.route("/activities/<id:activity_id>/designations", methods=["GET", "POST"])
@organizer_required
def set_designation(activity_id: int):
    activity = managed(activity_id)
    if request.method == "GET":
        return to_manage(activity, "credit")
    form = DesignationForm()
    if form.validate_on_submit() and unit_of_work(
            lambda: credit.change_designation(activity, form.credit_type.data, form.max_amount.data), form=form).ok:
        flash("Credit designation saved.", "success")
        return to_manage(activity, "credit")
    return _manage_page(activity, 422, designation_form=form)


@bp.post("/activities/<id:activity_id>/designations/<id:designation_id>/delete")
@organizer_required
def delete_designation(activity_id: int, designation_id: int):
    activity = managed(activity_id)
    designation = child_of(CreditDesignation, designation_id, activity)
    return act(activity, lambda: credit.remove_designation(designation), "Designation removed.", "credit")


# ---------------------------------------------------------------- commercial support

@bp.route("/activities/<id:activity_id>/supports", methods=["GET", "POST"])
@organizer_required
def add_support(activity_id: int):
    activity = managed(activity_id)
    if request.method == "GET":
        return to_manage(activity, "support")
    form = CommercialSupportForm()
    if form.validate_on_submit() and unit_of_work(lambda: service.add_commercial_support(
            activity, company=form.company.data, kind=form.kind.data, amount=form.amount.data), form=form).ok:
        flash(f"Support from {form.company.data} recorded.", "success")
        return to_manage(activity, "support")
    return _manage_page(activity, 422, support_form=form)


@bp.post("/activities/<id:activity_id>/supports/<id:support_id>/delete")
@organizer_required
def delete_support(activity_id: int, support_id: int):
    activity = managed(activity_id)
    support = child_of(CommercialSupport, support_id, activity)
    return act(activity, lambda: service.delete_commercial_support(support), "Support removed.", "support")


@bp.post("/activities/<id:activity_id>/acpe-uan")
@organizer_required
def set_acpe_uan(activity_id: int):
    activity = managed(activity_id)
    form = AcpeUanForm()
    if form.validate_on_submit() and unit_of_work(
            lambda: credit.change_acpe_uan(activity, form.acpe_uan.data), form=form).ok:
        flash("ACPE Universal Activity Number saved." if form.acpe_uan.data else "ACPE Universal Activity Number removed.",
              "success")
        return to_manage(activity, "credit")
    return _manage_page(activity, 422, uan_form=form)
