"""Your data: download everything held about you, close your account."""
from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user

from cme.privacy import service
from cme.privacy.forms import CloseAccountForm, ExportForm
from cme.transactions import unit_of_work

bp = Blueprint("privacy", __name__, url_prefix="/account")


@bp.route("/data", methods=["GET", "POST"])
@login_required
def export():
    """The page explains what the download holds; the download (asking for the password) writes nothing."""
    form = ExportForm()
    if form.validate_on_submit():
        done = unit_of_work(lambda: service.personal_data(current_user, form.current_password.data), form=form)
        if done.ok:
            body = json.dumps(done.value, indent=2, ensure_ascii=False)
            day = done.value["generated"][:10]
            return Response(body, mimetype="application/json", headers={
                "Content-Disposition": f'attachment; filename="my-cme-data-{day}.json"',
                "Cache-Control": "private, no-store"})
    return render_template("privacy/export.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/close", methods=["GET", "POST"])
@login_required
def close():
    form = CloseAccountForm()
    if form.validate_on_submit():
        done = unit_of_work(lambda: service.close_account(current_user, form.current_password.data), form=form)
        if done.ok:
            logout_user()
            flash("Your account is closed. What accreditation requires is kept for six years; the rest is erased. "
                  "Your certificates can still be verified with their codes.", "info")
            return redirect(url_for("activities.catalog"))
    return render_template("privacy/close.html", form=form, kept=service.KEPT,
                           years=service.RETENTION_YEARS), 200 if request.method == "GET" else 422
