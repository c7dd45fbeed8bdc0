"""Sign-up, log-in, log-out, profile, passwords; and the admin's user list."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from cme.accounts import service
from cme.accounts.forms import (
    LoginForm, PasswordChangeForm, PasswordResetForm, PasswordResetRequestForm, ProfileForm, RoleForm, SignUpForm,
)
from cme.accounts.models import User
from cme.accounts.permissions import admin_required
from cme.accounts.responses import client_address, form_answer
from cme.errors import show_error
from cme.extensions import db
from cme.formtools import page_arg, search_arg
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


def _profile_data(form) -> dict:
    return {name: getattr(form, name).data for name in service.PROFILE_FIELDS}


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
                                                    **_profile_data(form)), form=form)
        if done.ok:
            flash("Thank you. A message to that address is on its way: check your inbox. "
                  "If the account is new, it is ready: log in with your email and the password you chose.", "success")
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
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit() and unit_of_work(
            lambda: service.update_profile(current_user, email=form.email.data, **_profile_data(form)), form=form).ok:
        flash("Your profile is saved.", "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit() and unit_of_work(
            lambda: service.change_password(current_user, form.current_password.data, form.password.data), form=form).ok:
        # The change ended every session (issue 13, point 1); this one goes on under the new session version.
        remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
        login_user(current_user._get_current_object(), remember=remember)
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
