"""Certificate PDFs for their owners, public verification, and issuing for an activity's learners."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from cme.accounts import throttle
from cme.accounts.permissions import organizer_required
from cme.accounts.responses import client_address
from cme.activities.access import managed
from cme.certificates import service
from cme.certificates.forms import VerifyForm
from cme.certificates.models import Certificate
from cme.certificates.render import build_certificate_pdf
from cme.extensions import db
from cme.formtools import ConfirmForm
from cme.transactions import unit_of_work
from cme.urls import absolute_url

bp = Blueprint("certificates", __name__)


@bp.get("/verify")
def verify_form():
    """The code box (issue 14, point 14): a code as printed, typed any way, or a pasted verification address, goes
    to its certificate's page (/verify/<code>); an unknown one comes back with the field's error (404), counted
    like /verify/<code>'s misses (429 with Retry-After past the limit). A GET form: it changes nothing."""
    form = VerifyForm(request.args)
    if "code" not in request.args:
        return render_template("certificates/verify_form.html", form=form)
    if not form.validate():
        return render_template("certificates/verify_form.html", form=form), 422
    try:
        certificate = throttle.lookup(throttle.VERIFY_CLIENT, client_address(),
                                      lambda: service.find_by_code(form.code.data))
    except throttle.Throttled as error:
        form.code.errors.append(error.message)
        return (render_template("certificates/verify_form.html", form=form), 429,
                {"Retry-After": str(error.retry_after)})
    if certificate is not None:
        return redirect(url_for("certificates.verify", code=certificate.verification_code))
    form.code.errors.append(UNKNOWN_CODE)
    return render_template("certificates/verify_form.html", form=form), 404


UNKNOWN_CODE = ("No certificate has this code. Check it against the 20 letters and digits under the QR code on the "
                "certificate.")


@bp.get("/verify/<code>")
def verify(code: str):
    """Public verification. Codes that match no certificate count per client address (the one write of this GET,
    into the throttle's counters); past the limit every lookup is refused with 429 until the window ends (issue
    13, point 3), so codes cannot be guessed at speed."""
    certificate = throttle.lookup(throttle.VERIFY_CLIENT, client_address(), lambda: service.find_by_code(code))
    if certificate is None:
        form = VerifyForm(data={"code": code})
        return render_template("certificates/not_found.html", code=code, form=form), 404
    replacement = db.session.get(Certificate, certificate.superseded_by_id) if certificate.superseded_by_id else None
    return render_template("certificates/verify.html", certificate=certificate, snapshot=certificate.snapshot,
                           replacement=replacement)


@bp.get("/my/certificates/<id:certificate_id>.pdf")
@login_required
def pdf(certificate_id: int):
    certificate = db.get_or_404(Certificate, certificate_id)
    if certificate.user_id != current_user.id and not current_user.is_admin:
        abort(404)
    note = None
    if not certificate.is_valid:
        replacement = db.session.get(Certificate, certificate.superseded_by_id) if certificate.superseded_by_id else None
        note = f"SUPERSEDED on {certificate.superseded_dt:%b %-d, %Y}" + (
            f": the current certificate is {replacement.verification_code}" if replacement else "")
    body = build_certificate_pdf(certificate.snapshot, absolute_url("certificates.verify", code=certificate.verification_code),
                                 superseded_note=note)
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="certificate-{certificate.verification_code}.pdf"',
        "Cache-Control": "private, no-store"})


@bp.post("/my/certificates/<id:certificate_id>/resend")
@login_required
def resend(certificate_id: int):
    """The learner has their certificate mailed again (at most once a minute)."""
    certificate = db.get_or_404(Certificate, certificate_id)
    if certificate.user_id != current_user.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if unit_of_work(lambda: service.resend(certificate)).ok:
        flash(f"Your certificate for {certificate.activity.title} is on its way to {certificate.user.email}.",
              "success")
    return redirect(url_for("credit.my_credit"))


@bp.post("/organize/activities/<id:activity_id>/certificates/<id:certificate_id>/resend")
@organizer_required
def organizer_resend(activity_id: int, certificate_id: int):
    """An organizer has a learner's certificate mailed again (at most once a minute)."""
    activity = managed(activity_id)
    certificate = db.get_or_404(Certificate, certificate_id)
    if certificate.activity_id != activity.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if unit_of_work(lambda: service.resend(certificate)).ok:
        flash(f"{certificate.user.display_name}'s certificate is on its way to them.", "success")
    back = "registration.roster" if request.form.get("back") == "roster" else "credit.organize"
    return redirect(url_for(back, activity_id=activity.id))


@bp.post("/organize/activities/<id:activity_id>/certificates")
@organizer_required
def issue(activity_id: int):
    activity = managed(activity_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    done = unit_of_work(lambda: service.issue_for_activity(activity))  # a refusal (cancelled) is flashed
    if done.ok and done.value:
        flash(f"{len(done.value)} certificate(s) issued and mailed.", "success")
    elif done.ok and service.claimants(activity):
        flash("No new certificates: everyone with claimed credit already has a current one.", "info")
    elif done.ok:
        flash("Nobody has claimed credit for this activity yet, so there is nothing to issue.", "info")
    return redirect(url_for("organize.manage", activity_id=activity.id))
