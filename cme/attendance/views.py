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
from cme.attendance import service
from cme.attendance.forms import CheckinCodeForm
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
    query = search_arg()
    registrations = registration_service.roster(activity, query) if query else []
    registrations = [r for r in registrations if not r.is_cancelled]
    arrived, expected = service.checkin_counts(activity)
    page = render_template("attendance/checkin.html", activity=activity, form=form, query=query,
                           registrations=registrations, confirm_form=ConfirmForm(),
                           checked_in=service.checked_in(registrations),
                           arrived=arrived, expected=expected, closed=service.checkin_window_problem(activity))
    return form_answer(page, refused) if refused or form.errors else page


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
                           done=service.sessions_checked_in(registration), chosen={s.id for s in registration.sessions},
                           closed=service.checkin_window_problem(activity),
                           session_closed={s.id: service.checkin_window_problem(activity, s) for s in activity.sessions})


def _registration(activity: Activity, registration_id: int) -> Registration:
    registration = db.get_or_404(Registration, registration_id)
    if registration.activity_id != activity.id:
        abort(404)
    return registration


def desk_action(activity_id: int, registration_id: int, action: Callable[[Registration], Any],
                outcome: Callable[[Registration, Any], tuple[str, str]], *, back_to_registrant: bool = False):
    """One CSRF-checked check-in action on a registration: run it, commit with retry, flash, and go back to the
    desk (keeping its search) or to the registrant's page."""
    activity = managed(activity_id)
    registration = _registration(activity, registration_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    done = unit_of_work(lambda: action(registration))
    if done.ok:
        flash(*outcome(registration, done.value))
    if back_to_registrant:
        return redirect(url_for("attendance.checkin_scan", activity_id=activity.id, code=registration.checkin_code))
    return redirect(url_for("attendance.checkin", activity_id=activity.id, q=request.form.get("q") or None))


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
                       back_to_registrant=True)


@bp.post("/organize/activities/<id:activity_id>/checkin/<id:registration_id>/undo")
@organizer_required
def checkin_undo(activity_id: int, registration_id: int):
    """Take back a check-in made by mistake (form field session_id: one session's; none: the whole meeting's)."""
    session_id = None
    if request.form.get("session_id"):
        session_id = request.form.get("session_id", type=int)
        if session_id is None:
            abort(400)

    return desk_action(activity_id, registration_id, lambda r: participation.undo_check_in(r, session_id=session_id),
                       lambda r, undone: (f"{r.full_name}'s check-in is taken back.", "success") if undone
                       else (f"{r.full_name} was not checked in.", "info"), back_to_registrant=True)
