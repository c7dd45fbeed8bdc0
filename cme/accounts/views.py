"""Sign-up, log-in, log-out, profile, passwords, the email address (verifying it, changing it); and the admin's
user list."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from cme.accounts import identity_service, service
from cme.accounts.identity import OTHER_BOARD_FIELDS, StateLicence, licences_of
from cme.accounts.identity_forms import LicenceForm, topic_field
from cme.accounts.forms import (
    EmailChangeForm, LoginForm, PasswordChangeForm, PasswordResetForm, PasswordResetRequestForm, ProfileForm, RoleForm,
    SignUpForm,
)
from cme.accounts.models import User
from cme.accounts.permissions import admin_required
from cme.content_tags import ContentTag
from cme.accounts.responses import client_address, form_answer
from cme.errors import show_error
from cme.extensions import db
from cme.formtools import ConfirmForm, page_arg, search_arg
from cme.transactions import unit_of_work

bp = Blueprint("accounts", __name__, url_prefix="/account")
admin_bp = Blueprint("admin", __name__, url_prefix="/admin")


def safe_next(target: str | None, default: str = "activities.catalog") -> str:
    """Only same-site paths are followed after log-in (no open redirects, no control characters: a line break
    cannot go into the Location header)."""
    if target and not any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//") \
                and "\\" not in target:
            return target
    return url_for(default)


def _profile_data(form, *extra: str) -> dict:
    return {name: getattr(form, name).data for name in (*service.PROFILE_FIELDS, *extra)}


def _keep_this_session() -> None:
    """After a change that ended every session (a new password, a new address), this one goes on under the new
    session version, keeping "keep me logged in" if it was asked for."""
    remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    login_user(current_user._get_current_object(), remember=remember)


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = SignUpForm()
    done = None
    if form.validate_on_submit():
        # The same answer whether or not the address has an account, and nobody logged in (issue 13, point 4):
        # the new account's owner logs in with the password just chosen; a taken address's owner gets a mail.
        done = unit_of_work(lambda: service.sign_up(form.email.data, form.password.data, client=client_address(),
                                                    **_profile_data(form, *service.LICENCE_FIELDS)), form=form)
        if done.ok:
            flash("Thank you. A message to that address is on its way: check your inbox. If the account is new, it "
                  "is ready: log in with your email and the password you chose, and confirm your address with the "
                  "link in the message before registering for activities.", "success")
            next_url = request.args.get("next")
            return redirect(url_for("accounts.login", next=safe_next(next_url) if next_url else None))
    return form_answer(render_template("accounts/signup.html", form=form), done and done.error)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    done = None
    if form.validate_on_submit():
        # Throttled per account and per client address (issue 13, point 3): a 429 that keeps the typed email.
        done = unit_of_work(lambda: service.log_in(form.email.data, form.password.data, client=client_address()),
                            form=form)
        if done.ok:
            user = done.value
            login_user(user, remember=form.remember.data)
            flash("You are logged in.", "success")
            home = "organize.dashboard" if user.is_organizer else "activities.catalog"  # organizers: their activities
            return redirect(safe_next(request.args.get("next"), default=home))
    return form_answer(render_template("accounts/login.html", form=form), done and done.error)


@bp.post("/logout")
@login_required
def logout():
    """Ends this session so that a copy of its cookies is useless too: that raises the session version, which
    also ends the user's sessions elsewhere (cme/accounts/sessions.py)."""
    unit_of_work(lambda: service.end_sessions(current_user))
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("activities.catalog"))


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere():
    unit_of_work(lambda: service.end_sessions(current_user))
    logout_user()
    flash("You are logged out on every device and browser.", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user, **identity_service.board_ids_of(current_user))
    if form.validate_on_submit() and unit_of_work(lambda: service.update_profile(
            current_user, **_profile_data(form, *service.REPORTING_FIELDS)), form=form).ok:
        flash("Your profile is saved.", "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=form, pending=service.pending_email_change(current_user),
                           licences=licences_of(current_user), board_fields=OTHER_BOARD_FIELDS), \
        200 if request.method == "GET" else 422


def _own_licence_or_404(licence_id: int) -> StateLicence:
    licence = db.get_or_404(StateLicence, licence_id)
    if licence.user_id != current_user.id:
        abort(404)
    return licence


@bp.route("/licences/new", methods=["GET", "POST"], defaults={"licence_id": None})
@bp.route("/licences/<id:licence_id>", methods=["GET", "POST"])
@login_required
def licence(licence_id: int | None):
    """Add one of the learner's state licences, or change one: its renewal and the hours it requires (issue 16,
    points 1 and 7)."""
    licence = _own_licence_or_404(licence_id) if licence_id is not None else None
    form = LicenceForm(licence=licence) if licence is not None else LicenceForm(profession=current_user.profession)
    if form.validate_on_submit() and unit_of_work(lambda: identity_service.save_licence(
            current_user, licence, state=form.state.data, number=form.number.data, profession=form.profession.data,
            expires_on=form.expires_on.data, required_hours=form.required_hours.data,
            cycle_months=form.cycle_months.data, topic_hours=form.topic_hours()), form=form).ok:
        flash("Your license is saved.", "success")
        return redirect(url_for("accounts.profile", _anchor="licences"))
    return render_template("accounts/licence.html", form=form, licence=licence,
                           topics=[form[topic_field(tag)] for tag in ContentTag]), \
        200 if request.method == "GET" else 422


@bp.post("/licences/<id:licence_id>/remove")
@login_required
def remove_licence(licence_id: int):
    licence = _own_licence_or_404(licence_id)
    form = ConfirmForm()
    if form.validate_on_submit() and unit_of_work(lambda: identity_service.remove_licence(current_user, licence)).ok:
        flash("The license is removed.", "info")
    return redirect(url_for("accounts.profile", _anchor="licences"))


@bp.route("/email", methods=["GET", "POST"])
@login_required
def change_email():
    """Ask for a new address (with the current password): a link goes to it, a notice to the current one."""
    form = EmailChangeForm()
    if form.validate_on_submit():
        done = unit_of_work(lambda: service.request_email_change(current_user, form.email.data,
                                                                 form.current_password.data), form=form)
        if done.ok:
            flash(f"We sent a link to {done.value}: your address changes when you follow it. Until then it stays "
                  f"{current_user.email}, which we told about the change.", "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/email.html", form=form, pending=service.pending_email_change(current_user)), \
        200 if request.method == "GET" else 422


@bp.post("/email/cancel")
@login_required
def cancel_email_change():
    if unit_of_work(lambda: service.cancel_email_change(current_user)).ok:
        flash("The change of your email address is cancelled: its link no longer works.", "info")
    return redirect(url_for("accounts.profile"))


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
@login_required
def confirm_email_change(token: str):
    """The link mailed to the new address: the page asks to confirm, the POST makes the change."""
    try:
        new_email = service.email_change_for_token(current_user, token)
    except service.AccountError as error:
        show_error(error)
        return redirect(url_for("accounts.change_email"))
    form = ConfirmForm()
    if form.validate_on_submit():
        done = unit_of_work(lambda: service.confirm_email_change(current_user, token))
        if not done.ok:
            return redirect(url_for("accounts.profile"))
        _keep_this_session()  # the change ended every other session
        flash(f"Your email address is now {new_email}: log in with it from now on. Other devices were logged out.",
              "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/email_confirm.html", form=form, new_email=new_email)


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify_email(token: str):
    """The link in the welcome mail: the page asks to confirm, the POST verifies (whoever follows it holds the
    mailbox, logged in or not)."""
    home = url_for("accounts.profile" if current_user.is_authenticated else "accounts.login")
    try:
        user = service.user_for_verification_token(token)
    except service.AccountError as error:
        show_error(error)
        return redirect(home)
    if user.is_email_verified:
        flash("Your email address is already confirmed.", "info")
        return redirect(home)
    form = ConfirmForm()
    if form.validate_on_submit():
        if unit_of_work(lambda: service.verify_email(token)).ok:
            flash("Thank you: your email address is confirmed. You can register for activities.", "success")
            return redirect(url_for("activities.catalog") if current_user.is_authenticated else home)
        return redirect(home)
    return render_template("accounts/verify_email.html", form=form, email=user.email)


@bp.post("/verify/resend")
@login_required
def resend_verification():
    if unit_of_work(lambda: service.resend_verification(current_user)).ok:
        flash(f"A new link is on its way to {current_user.email}. It may take a minute; check the spam folder too.",
              "info")
    return redirect(safe_next(request.form.get("next"), default="accounts.profile"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit() and unit_of_work(
            lambda: service.change_password(current_user, form.current_password.data, form.password.data), form=form).ok:
        _keep_this_session()  # the change ended every session (issue 13, point 1)
        flash("Your password is changed.", "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/password.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/reset", methods=["GET", "POST"])
def request_reset():
    form = PasswordResetRequestForm()
    done = None
    if form.validate_on_submit():
        done = unit_of_work(lambda: service.request_password_reset(form.email.data, client=client_address()),
                            form=form)
        if done.ok:
            flash("If an account uses that email, a reset link is on its way. It works once, for a limited time.",
                  "info")
            return redirect(url_for("accounts.login"))
    return form_answer(render_template("accounts/reset_request.html", form=form), done and done.error)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        service.user_for_reset_token(token)
    except service.AccountError as error:
        show_error(error)
        return redirect(url_for("accounts.request_reset"))
    form = PasswordResetForm()
    if form.validate_on_submit():
        done = unit_of_work(lambda: service.reset_password(token, form.password.data))
        if not done.ok:
            return redirect(url_for("accounts.request_reset"))
        login_user(done.value)
        flash("Your new password is set and you are logged in.", "success")
        return redirect(url_for("activities.catalog"))
    return render_template("accounts/reset_password.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/welcome/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """The first password of an account created at a meeting's desk (the link in the "account_invited" mail)."""
    try:
        user = service.user_for_reset_token(token, link=service.SET_PASSWORD)
    except service.AccountError as error:
        show_error(error)
        return redirect(url_for("accounts.request_reset"))
    form = PasswordResetForm()
    if form.validate_on_submit():
        done = unit_of_work(lambda: service.reset_password(token, form.password.data, link=service.SET_PASSWORD))
        if not done.ok:
            return redirect(url_for("accounts.request_reset"))
        login_user(done.value)
        flash("Your password is set and you are logged in.", "success")
        return redirect(url_for("registration.my_schedule"))
    return render_template("accounts/set_password.html", form=form, user=user), 200 if request.method == "GET" else 422


@admin_bp.get("/users")
@admin_required
def users():
    query = search_arg(limit=200)
    page = db.paginate(service.users_matching(query), page=page_arg(), per_page=50, error_out=False)
    return render_template("accounts/admin/users.html", page=page, query=query, role_form=RoleForm())


@admin_bp.post("/users/<id:user_id>/role")
@admin_required
def change_role(user_id: int):
    user = db.get_or_404(User, user_id)
    form = RoleForm()
    if form.validate_on_submit():
        if unit_of_work(lambda: service.set_role(user, form.role.data, by=current_user)).ok:
            flash(f"{user.full_name} is now {user.role}.", "success")
    else:
        flash("Choose a valid role.", "error")
    return redirect(url_for("admin.users"))
