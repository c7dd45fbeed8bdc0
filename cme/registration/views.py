"""Provider registration (form, My schedule, cancel, check-in QR) and the organizer's roster. (The check-in desk
is attendance's: cme.attendance.views.)"""
from __future__ import annotations

import io
from typing import Any, Callable

import segno

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from cme.accounts.permissions import organizer_required
from cme.activities.access import managed, public_activity_or_404
from cme.activities.models import Activity
from cme.attendance import service as attendance
from cme.calendar import service as calendar_service
from cme.calendar.responses import ics_response
from cme.certificates import service as certificates
from cme.credit import participation, progress
from cme.extensions import db
from cme.formtools import ConfirmForm, search_arg
from cme.registration import printouts, service
from cme.registration.forms import RegistrationForm, RosterAddForm
from cme.registration.overlaps import overlapping_registrations
from cme.registration.models import JOIN_LINK_LEAD_MINUTES, Registration, display_checkin_code
from cme.registration.roster import build_roster_csv
from cme.registration.counts import counts_for, seats_left
from cme.timeutil import format_local, now_utc
from cme.transactions import unit_of_work
from cme.urls import absolute_url

bp = Blueprint("registration", __name__)
bp.app_template_filter("checkin_code")(display_checkin_code)
bp.app_template_global("waitlist_promise")(service.waitlist_promise)  # pages and mails say it alike


def own_registration(registration_id: int) -> Registration:
    """The current user's registration; anyone else's is a 404 (not even its existence leaks)."""
    registration = db.get_or_404(Registration, registration_id)
    if registration.user_id != current_user.id:
        abort(404)
    return registration


@bp.route("/activities/<id:activity_id>/register", methods=["GET", "POST"])
@login_required
def register(activity_id: int):
    activity = public_activity_or_404(activity_id, for_page=False)
    if request.method == "GET" and service.active_registration(current_user, activity.id) is not None:
        flash("You are already registered for this activity.", "info")
        return redirect(url_for("registration.my_schedule"))
    problem = service.registration_problem(activity) or service.registrant_problem(current_user)
    if problem:  # the activity's page says why, with what to do (the button that sends the link again)
        flash(problem, "error")
        return redirect(url_for("activities.detail", activity_id=activity.id))
    profile = service.Answers.from_profile(current_user)
    form = RegistrationForm(activity=activity, obj=current_user, licence_state=profile.licence_state,
                            licence_number=profile.licence_number)
    if request.method == "GET" and "session_ids" in form:
        form.session_ids.data = [s.id for s in activity.sessions]
    if request.method == "GET" and "dietary_needs" in form:
        form.dietary_needs.data, form.accessibility_needs.data = service.last_needs(current_user)
    if form.validate_on_submit():
        answers = service.Answers(
            full_name=form.full_name.data, degree=form.degree.data, profession=form.profession.data,
            npi=form.npi.data, licence_state=form.licence_state.data, licence_number=form.licence_number.data,
            dietary_needs=form.dietary_needs.data if "dietary_needs" in form else "",
            accessibility_needs=form.accessibility_needs.data if "accessibility_needs" in form else "",
            session_ids=form.session_ids.data if "session_ids" in form else [],
            attested_professional=form.attest.data)
        def register_and_note():
            """Register, and note what the next page says before the commit expires the objects."""
            registration = service.register(current_user, activity.id, answers)
            return (registration.id, registration.is_confirmed, registration.waitlist_position, activity.title,
                    service.waitlist_promise(activity))

        done = unit_of_work(register_and_note)
        if not done.ok and done.error.code == "duplicate":
            return redirect(url_for("registration.my_schedule"))
        if not done.ok and done.error.code in ("closed", "unverified"):
            return redirect(url_for("activities.detail", activity_id=activity.id))
        if done.ok:
            registration_id, confirmed, position, title, promise = done.value
            if confirmed:
                flash(f"You are registered for {title}. A confirmation with a calendar invitation is on its way.", "success")
            else:
                flash(f"{title} is full: you are number {position} on the waitlist. {promise}", "warning")
            return redirect(url_for("registration.my_schedule", _anchor=f"registration-{registration_id}"))
    return render_template("registration/register.html", form=form, activity=activity,
                           seats_left=seats_left(activity), overlaps=overlapping_registrations(current_user, activity),
                           ), 200 if request.method == "GET" else 422


@bp.get("/my/schedule")
@login_required
def my_schedule():
    now = now_utc()
    schedule = progress.my_schedule(current_user, certificates=certificates.current_certificates_for(current_user),
                                    now=now)
    token = calendar_service.feed_token(current_user)
    feed = calendar_service.subscribe_links(absolute_url("calendar.personal_feed", token=token))
    return render_template("registration/my_schedule.html", schedule=schedule, Step=progress.Step,
                           join_lead_minutes=JOIN_LINK_LEAD_MINUTES, now=now, feed=feed, reset_form=ConfirmForm())


@bp.route("/my/registrations/<id:registration_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(registration_id: int):
    registration = own_registration(registration_id)
    form = ConfirmForm()
    if registration.is_cancelled:
        flash("This registration is already cancelled.", "info")
        return redirect(url_for("registration.my_schedule"))
    if registration.is_offered:  # leaving with a seat held for you is declining it
        return redirect(url_for("registration.decline_offer", registration_id=registration.id))
    if form.validate_on_submit():
        if unit_of_work(lambda: participation.cancel_registration(registration)).ok:
            flash(f"Your registration for {registration.activity.title} is cancelled.", "success")
        return redirect(url_for("registration.my_schedule"))
    return render_template("registration/cancel.html", registration=registration, form=form)


@bp.route("/my/registrations/<id:registration_id>/accept", methods=["GET", "POST"])
@login_required
def accept_offer(registration_id: int):
    """A seat held for the registrant (issue 14, point 16): GET shows the offer and its deadline, POST takes it."""
    registration = own_registration(registration_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        done = unit_of_work(lambda: service.accept_offer(registration), show=False)
        if done.ok:
            flash(f"The seat is yours: you are registered for {registration.activity.title}. A confirmation with a "
                  "calendar invitation is on its way.", "success")
            return redirect(url_for("registration.my_schedule", _anchor=f"registration-{registration.id}"))
        return _offer_page(own_registration(registration_id), form, "accept", done.error.message, 409)
    return _offer_page(registration, form, "accept")


@bp.route("/my/registrations/<id:registration_id>/decline", methods=["GET", "POST"])
@login_required
def decline_offer(registration_id: int):
    """GET asks whether to turn the held seat down, POST does: the seat passes to the next person."""
    registration = own_registration(registration_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        done = unit_of_work(lambda: service.decline_offer(registration), show=False)
        if done.ok:
            flash(f"You declined the seat at {registration.activity.title}: it goes to the next person on the "
                  "waitlist.", "success")
            return redirect(url_for("registration.my_schedule"))
        return _offer_page(own_registration(registration_id), form, "decline", done.error.message, 409)
    return _offer_page(registration, form, "decline")


def _offer_page(registration: Registration, form: ConfirmForm, answer: str, refusal: str | None = None,
                status: int = 200):
    problem = service.offer_problem(registration)
    return render_template("registration/offer.html", registration=registration, activity=registration.activity,
                           form=form, answer=answer, problem=refusal or (problem and problem[0]),
                           problem_code=problem and problem[1],
                           may_register_again=registration.is_cancelled
                           and service.registration_problem(registration.activity) is None), status


@bp.get("/my/registrations/<id:registration_id>.ics")
@login_required
def registration_ics(registration_id: int):
    """The registrant's own event (waitlisted: tentative), for "Add to calendar" on My schedule."""
    registration = own_registration(registration_id)
    return ics_response(calendar_service.registration_export(registration), cache="private, no-store",
                        disposition="attachment")


@bp.get("/my/registrations/<id:registration_id>/checkin.svg")
@login_required
def checkin_qr(registration_id: int):
    registration = own_registration(registration_id)
    return _qr_svg(absolute_url("attendance.checkin_scan", activity_id=registration.activity_id,
                                code=registration.checkin_code))


def _qr_svg(data: str) -> Response:
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="svg", scale=6, border=2, xmldecl=False, svgns=True, title="Check-in code")
    response = Response(buffer.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------- organizer: roster

@bp.get("/organize/activities/<id:activity_id>/roster")
@organizer_required
def roster(activity_id: int):
    return _render_roster(managed(activity_id), RosterAddForm())


def _render_roster(activity: Activity, add_form: RosterAddForm, status: int = 200):
    query = search_arg()
    registrations = service.roster(activity, query)
    counts = counts_for(activity.id)
    now = now_utc()
    return render_template("registration/roster.html", activity=activity, registrations=registrations, query=query,
                           add_form=add_form, confirm_form=ConfirmForm(), counts=counts, now=now,
                           checked_in=attendance.checked_in(registrations),
                           undo_problems=participation.check_in_undo_problems(registrations),
                           cancellable=participation.cancellable(registrations, now=now),
                           promotable=service.promotable(registrations, now=now),
                           certificates=certificates.current_certificates_for_activity(activity)), status


@bp.get("/organize/activities/<id:activity_id>/roster.csv")
@organizer_required
def roster_csv(activity_id: int):
    activity = managed(activity_id)
    registrations = service.roster(activity)
    body = build_roster_csv(registrations, attendance.checked_in(registrations))
    filename = f"roster-{activity.id}-{now_utc():%Y%m%d}.csv"
    return Response(body, mimetype="text/csv", headers={
        "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store"})


@bp.get("/organize/activities/<id:activity_id>/roster/sign-in-sheet.pdf")
@organizer_required
def sign_in_sheet(activity_id: int):
    """The confirmed registrants by last name, with a signature box each (cme.registration.printouts)."""
    activity = _live_meeting(managed(activity_id))
    return _pdf(printouts.build_sign_in_sheet_pdf(*_printed(activity)), f"sign-in-sheet-{activity.id}.pdf")


@bp.get("/organize/activities/<id:activity_id>/roster/badges.pdf")
@organizer_required
def badges(activity_id: int):
    """Name badges for the confirmed registrants, six to a Letter sheet (Avery 5392)."""
    activity = _live_meeting(managed(activity_id))
    return _pdf(printouts.build_badges_pdf(*_printed(activity)), f"badges-{activity.id}.pdf")


def _live_meeting(activity: Activity) -> Activity:
    if not activity.is_live_meeting:
        abort(404)  # nobody signs in or wears a badge at a webcast
    return activity


def _printed(activity: Activity) -> tuple[printouts.PrintedMeeting, list[printouts.Attendee]]:
    return (printouts.printed_meeting(activity, provider=current_app.config["CME_PROVIDER_NAME"]),
            printouts.attendees(service.roster(activity)))


def _pdf(body: bytes, filename: str) -> Response:
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})


@bp.post("/organize/activities/<id:activity_id>/roster/add")
@organizer_required
def roster_add(activity_id: int):
    activity = managed(activity_id)
    form = RosterAddForm()
    if not form.validate_on_submit():
        return _render_roster(activity, form, 422)
    done = unit_of_work(lambda: service.add_by_organizer(activity, form.email.data), show=False)
    if not done.ok:
        form.email.errors.append(done.error.message)  # next to what was typed, which stays in the field
        return _render_roster(managed(activity_id), form, 422)
    registration = done.value
    where = f"waitlisted, number {registration.waitlist_position}" if registration.is_waitlisted else "confirmed"
    flash(f"{registration.full_name} added ({where}).", "success")
    return redirect(url_for("registration.roster", activity_id=activity.id))


def _roster_registration(activity, registration_id: int) -> Registration:
    registration = db.get_or_404(Registration, registration_id)
    if registration.activity_id != activity.id:
        abort(404)
    return registration


def roster_action(activity_id: int, registration_id: int, action: Callable[[Registration], Any],
                  outcome: Callable[[Registration, Any], tuple[str, str]], back: str):
    """One CSRF-checked organizer action on a registration: run it in a unit of work, flash, go back."""
    activity = managed(activity_id)
    registration = _roster_registration(activity, registration_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    done = unit_of_work(lambda: action(registration))
    if done.ok:
        flash(*outcome(registration, done.value))
    return redirect(url_for(back, activity_id=activity.id, q=request.form.get("q") or None))


def _cancelled(registration: Registration, moved: list[Registration]) -> tuple[str, str]:
    return f"{registration.full_name}'s registration is cancelled.{_seat_went_to(moved)}", "success"


def _seat_went_to(moved: list[Registration]) -> str:
    """Who the freed seats went to: offered (with the deadline) or promoted."""
    offered = ", ".join(r.full_name for r in moved if r.is_offered)
    promoted = ", ".join(r.full_name for r in moved if r.is_confirmed)
    activity = moved[0].activity if moved else None
    return ((f" Promoted from the waitlist: {promoted}." if promoted else "")
            + (f" Offered a seat until {format_local(moved[0].offer_deadline, activity.time_zone)}: {offered}."
               if offered else ""))


@bp.post("/organize/activities/<id:activity_id>/roster/<id:registration_id>/cancel")
@organizer_required
def roster_cancel(activity_id: int, registration_id: int):
    return roster_action(activity_id, registration_id,
                         lambda r: participation.cancel_registration(r, by_organizer=True), _cancelled, "registration.roster")


@bp.post("/organize/activities/<id:activity_id>/roster/<id:registration_id>/promote")
@organizer_required
def roster_promote(activity_id: int, registration_id: int):
    return roster_action(activity_id, registration_id, service.promote, _promoted, "registration.roster")


def _promoted(registration: Registration, _result: None) -> tuple[str, str]:
    capacity = registration.activity.capacity
    return (f"{registration.full_name} is confirmed"
            + (f" (capacity is now {capacity})." if capacity is not None else "."), "success")
