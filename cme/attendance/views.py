"""The organizer's check-in desk: find a registrant (scanned or typed code, or by name), check them in to the
meeting or to a session, take back a check-in made by mistake. (Webcast viewing time is reported from the
watch page, credit.views.)"""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from cme.accounts import throttle
from cme.accounts.permissions import organizer_required
from cme.accounts.responses import client_address, form_answer
from cme.activities.access import managed
from cme.activities.models import Activity, ActivitySession
from cme.attendance import service, walk_in
from cme.attendance.forms import CheckinCodeForm, WalkInForm
from cme.credit import participation
from cme.errors import show_error
from cme.extensions import db
from cme.registration import service as registration_service
from cme.registration.models import Registration
from cme.formtools import ConfirmForm, search_arg
from cme.transactions import unit_of_work

bp = Blueprint("attendance", __name__)


@bp.route("/organize/activities/<id:activity_id>/checkin", methods=["GET", "POST"])
@organizer_required
def checkin(activity_id: int):
    activity = managed(activity_id)
    form = CheckinCodeForm()
    refused = None
    if form.validate_on_submit():
        code = form.code.data.rsplit("/", 1)[-1]  # a scanner may type the whole URL
        try:
            registration = _find_registration(activity, code)
        except throttle.Throttled as error:
            show_error(error, form)
            refused = error
        else:
            if registration is not None:
                return redirect(url_for("attendance.checkin_scan", activity_id=activity.id,
                                        code=registration.checkin_code))
            form.code.errors.append("No registration of this activity has this code.")
    page = _render_desk(activity, form, WalkInForm(formdata=None))
    return form_answer(page, refused) if refused or form.errors else page


def _render_desk(activity: Activity, code_form: CheckinCodeForm, walk_in_form: WalkInForm) -> str:
    query = search_arg()
    registrations = registration_service.roster(activity, query) if query else []
    registrations = [r for r in registrations if not r.is_cancelled]
    arrived, expected = service.checkin_counts(activity)
    return render_template("attendance/checkin.html", activity=activity, form=code_form, walk_in_form=walk_in_form,
                           query=query, registrations=registrations, confirm_form=ConfirmForm(),
                           checked_in=service.checked_in(registrations),
                           undo_problems=participation.check_in_undo_problems(registrations),
                           arrived=arrived, expected=expected, closed=service.checkin_window_problem(activity),
                           walk_in_closed=walk_in.walk_in_problem(activity, check_in_now=False))


@bp.post("/organize/activities/<id:activity_id>/checkin/walk-in")
@organizer_required
def checkin_walk_in(activity_id: int):
    """Register (and check in) someone who did not register: cme.attendance.walk_in."""
    activity = managed(activity_id)
    form = WalkInForm()
    if form.validate_on_submit():
        person = walk_in.WalkIn(full_name=form.full_name.data, email=form.email.data, degree=form.degree.data,
                                profession=form.profession.data)
        done = unit_of_work(lambda: _walk_in_flashes(walk_in.register_walk_in(
            activity.id, person, by=current_user, check_in_now=form.check_in_now.data,
            over_capacity=form.over_capacity.data)), form=form)
        if done.ok:
            for message in done.value:
                flash(*message)
            return redirect(url_for("attendance.checkin", activity_id=activity.id))
    return _render_desk(managed(activity_id), CheckinCodeForm(formdata=None), form), 422


def _walk_in_flashes(outcome: walk_in.WalkInOutcome) -> list[tuple[str, str]]:
    """What the desk says after a walk-in, worded before the commit expires the objects. Seating over capacity
    is said in its own warning: the record of that choice."""
    r = outcome.registration
    name = f"{r.full_name}, {r.degree}" if r.degree else r.full_name
    checked = " and checked in" if outcome.checked_in else ""
    if outcome.already_registered:
        state = ("now checked in" if outcome.checked_in else
                 "checked in already" if r.id in service.checked_in([r]) else "not checked in")
        said = f"{name} was already registered ({r.status_label.lower()}, {state}): nobody was registered twice."
    elif outcome.new_account:
        said = (f"{name} is registered{checked}. A new account was created for {r.user.email}, and a mail with a "
                "link to choose a password is on its way.")
    else:
        said = f"{name} is registered{checked}, with the existing account of {r.user.email}."
    messages = [(said, "success")]
    if outcome.over_capacity:
        messages.append((f"{r.full_name} was seated over capacity: the capacity of “{r.activity.title}” is now "
                         f"{r.activity.capacity}.", "warning"))
    return messages


def _find_registration(activity: Activity, code: str) -> Registration | None:
    """The registration a check-in code names; codes that match nobody are counted per client address, and past
    the limit every lookup is refused (throttle.Throttled) until the window ends (issue 13, point 3)."""
    return throttle.lookup(throttle.CHECKIN_CLIENT, client_address(),
                           lambda: registration_service.find_by_checkin_code(activity, code))


@bp.get("/organize/activities/<id:activity_id>/checkin/<code>")
@organizer_required
def checkin_scan(activity_id: int, code: str):
    """Where a scanned QR code lands: the registrant, and a button to check them in."""
    activity = managed(activity_id)
    registration = _find_registration(activity, code)  # a 429 page when throttled (cme/__init__.py)
    if registration is None:
        abort(404)
    return render_template("attendance/checkin_scan.html", activity=activity, registration=registration,
                           already=registration.id in service.checked_in([registration]), confirm_form=ConfirmForm(),
                           undo_problem=participation.check_in_undo_problems([registration]).get(registration.id),
                           done=service.sessions_checked_in(registration), chosen={s.id for s in registration.sessions},
                           closed=service.checkin_window_problem(activity),
                           session_closed={s.id: service.checkin_window_problem(activity, s) for s in activity.sessions})


def _registration(activity: Activity, registration_id: int) -> Registration:
    registration = db.get_or_404(Registration, registration_id)
    if registration.activity_id != activity.id:
        abort(404)
    return registration


def desk_action(activity_id: int, registration_id: int, action: Callable[[Registration], Any],
                outcome: Callable[[Registration, Any], tuple[str, str]], *, back: str = "desk"):
    """One CSRF-checked check-in action on a registration: run it, commit with retry, flash, and go back to the
    desk (keeping its search), to the registrant's page or to the roster (`back`: "desk", "registrant", "roster")."""
    activity = managed(activity_id)
    registration = _registration(activity, registration_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    done = unit_of_work(lambda: action(registration))
    if done.ok:
        flash(*outcome(registration, done.value))
    query = request.form.get("q") or None
    if back == "registrant":
        return redirect(url_for("attendance.checkin_scan", activity_id=activity.id, code=registration.checkin_code))
    if back == "roster":
        return redirect(url_for("registration.roster", activity_id=activity.id, q=query))
    return redirect(url_for("attendance.checkin", activity_id=activity.id, q=query))


@bp.post("/organize/activities/<id:activity_id>/checkin/<id:registration_id>")
@organizer_required
def checkin_record(activity_id: int, registration_id: int):
    return desk_action(activity_id, registration_id, lambda r: service.check_in(r, by=current_user),
                       lambda r, recorded: (f"{r.full_name} is checked in.", "success") if recorded
                       else (f"{r.full_name} was already checked in.", "info"))


@bp.post("/organize/activities/<id:activity_id>/checkin/<id:registration_id>/sessions/<id:session_id>")
@organizer_required
def checkin_session(activity_id: int, registration_id: int, session_id: int):
    session = db.get_or_404(ActivitySession, session_id)
    if session.activity_id != activity_id:
        abort(404)
    return desk_action(activity_id, registration_id, lambda r: service.check_in(r, session, by=current_user),
                       lambda r, recorded: (f"{r.full_name} is checked in to “{session.title}”.", "success")
                       if recorded else (f"{r.full_name} was already checked in to “{session.title}”.", "info"),
                       back="registrant")


@bp.post("/organize/activities/<id:activity_id>/checkin/<id:registration_id>/undo")
@organizer_required
def checkin_undo(activity_id: int, registration_id: int):
    """Take back a check-in made by mistake (form field session_id: one session's; none: the whole meeting's),
    from the registrant's page, the desk's search results or the roster (form field back)."""
    session_id = None
    if request.form.get("session_id"):
        session_id = request.form.get("session_id", type=int)
        if session_id is None:
            abort(400)
    back = request.form.get("back")
    return desk_action(activity_id, registration_id, lambda r: participation.undo_check_in(r, session_id=session_id),
                       lambda r, undone: (f"{r.full_name}'s check-in is taken back.", "success") if undone
                       else (f"{r.full_name} was not checked in.", "info"),
                       back=back if back in ("desk", "roster") else "registrant")
