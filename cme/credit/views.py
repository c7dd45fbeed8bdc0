"""Learners: watch (viewing-time heartbeats), evaluate, post-test, claim credit, the transcript.
Organizers: learners' credit with adjustments, the evaluation's questions, the post-test."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from cme.accounts import identity_service
from cme.accounts.identity_forms import IDENTITY_FIELDS, identity_data, missing_fields_form
from cme.accounts.permissions import organizer_required
from cme.activities.access import managed, public_activity_or_404
from cme.activities.models import Activity
from cme.activities import service as activities
from cme.attendance import service as attendance
from cme.certificates import service as certificates
from cme.certificates.service import AfterClaim
from cme.credit import evaluation as evaluations
from cme.credit import consent, service
from cme.credit.evaluation_models import EvaluationQuestion, PostTestQuestion, QuestionKind
from cme.credit.forms import (
    AdjustForm, CertificateIssueForm, PostTestQuestionForm, PostTestRulesForm, QuestionForm, claim_form, consent_field,
    evaluation_form, post_test_form, permissions_form,
)
from cme.credit.licence_progress import licence_progress
from cme.credit.help import ama_statement_help, credit_types_help
from cme.credit.models import CreditRecord
from cme.credit.transcript import build_transcript_csv, build_transcript_pdf
from cme.csvexport import csv_bytes
from cme.errors import show_error
from cme.extensions import db
from cme.formtools import ConfirmForm
from cme.library.highlights.service import highlight_offered_by
from cme.library.markdown import render_markdown
from cme.timeutil import now_utc
from cme.transactions import unit_of_work

bp = Blueprint("credit", __name__)


# ---------------------------------------------------------------- learners

@bp.get("/activities/<id:activity_id>/watch")
@login_required
def watch(activity_id: int):
    activity = public_activity_or_404(activity_id)
    problem = attendance.watch_problem(current_user, activity)
    offered = highlight_offered_by(activity) if activity.is_on_demand and not problem else None
    return render_template("credit/watch.html", activity=activity, problem=problem,
                           reading=render_markdown(offered.body) if offered else None,
                           minutes=attendance.minutes_watched(current_user, activity),
                           interval=attendance.HEARTBEAT_SECONDS)


@bp.post("/activities/<id:activity_id>/watch/heartbeat")
@login_required
def heartbeat(activity_id: int):
    activity = public_activity_or_404(activity_id)
    done = unit_of_work(lambda: attendance.heartbeat(current_user, activity), show=False)
    if not done.ok:
        return jsonify(error=done.error.message), 409
    return jsonify(seconds=done.value, minutes=done.value // 60)


@bp.route("/activities/<id:activity_id>/evaluation", methods=["GET", "POST"])
@login_required
def evaluation(activity_id: int):
    activity = public_activity_or_404(activity_id)
    if evaluations.evaluation_of(current_user, activity) is not None:
        flash("You have completed this evaluation. Thank you.", "info")
        return redirect(url_for("credit.claim", activity_id=activity.id))
    problem = evaluations.evaluation_problem(current_user, activity)
    questions = evaluations.evaluation_questions(activity)
    form = evaluation_form(questions)
    if not problem and form.validate_on_submit():
        done = unit_of_work(lambda: evaluations.submit_evaluation(
            current_user, activity, {q.key: form[q.key].data or "" for q in questions}), form=form, show=False)
        if done.ok or done.error.code == "duplicate":  # a double submit: the first one counted
            flash("Thank you for your evaluation.", "success")
            target = "credit.post_test" if evaluations.has_post_test(activity) else "credit.claim"
            return redirect(url_for(target, activity_id=activity.id))
        show_error(done.error, form)
    return render_template("credit/evaluation.html", activity=activity, form=form, questions=questions,
                           problem=problem), 200 if request.method == "GET" else 422


@bp.route("/activities/<id:activity_id>/post-test", methods=["GET", "POST"])
@login_required
def post_test(activity_id: int):
    activity = public_activity_or_404(activity_id)
    state = evaluations.post_test_state(current_user, activity)
    if state is None:
        abort(404)
    questions = evaluations.post_test_questions(activity)
    form = post_test_form(questions)
    if form.validate_on_submit():
        done = unit_of_work(lambda: evaluations.submit_post_test(
            current_user, activity, {q.id: form[f"p{q.id}"].data for q in questions}), form=form)
        if done.ok:
            state = evaluations.post_test_state(current_user, activity)
            if done.value.passed:
                flash(f"You passed with {done.value.score}%. Your answers are below; you can now claim your credit.",
                      "success")
            elif state.exhausted:
                flash(f"You scored {done.value.score}%. {state.problem}", "error")
            else:
                left = "" if state.remaining is None else f" ({state.remaining} attempt(s) left)"
                flash(f"You scored {done.value.score}%; {activity.post_test_passing_score}% is needed. See which "
                      f"answers were wrong below, then try again{left}.", "warning")
            return redirect(url_for("credit.post_test", activity_id=activity.id, _anchor="review"))
        if done.error.code in ("passed", "no_attempts"):
            return redirect(url_for("credit.post_test", activity_id=activity.id))
    last = evaluations.last_attempt(current_user, activity)
    review = evaluations.review(last, questions, reveal=state.reveals_answers) if last else []
    return render_template("credit/post_test.html", activity=activity, form=form, questions=questions, state=state,
                           last=last, review=review, claimed=bool(service.claimed([(current_user.id, activity.id)]))), \
        200 if request.method == "GET" else 422


_AFTER_CLAIM = {
    AfterClaim.ISSUED: "Your certificate is issued and on its way to your inbox; it is also under My credit.",
    AfterClaim.REISSUED: "Your certificate was reissued with this credit and mailed to you; the earlier one now "
                         "shows as superseded.",
    AfterClaim.UNCHANGED: "Your certificate already states this credit: it stays as it is.",
    AfterClaim.PENDING: "The organizers issue this activity's certificates: yours will be mailed to you then.",
}


@bp.route("/activities/<id:activity_id>/claim", methods=["GET", "POST"])
@login_required
def claim(activity_id: int):
    activity = public_activity_or_404(activity_id)
    status = service.claim_status(current_user, activity)
    bodies = consent.bodies_for(activity, status.claimable)
    form = claim_form(status.claimable, status.records, asks={body: consent.question(body) for body in bodies},
                      missing=consent.missing_by_body(current_user, bodies),
                      consents=consent.consents_of(current_user, activity), identity={"full_name": current_user.full_name})
    if status.open and form.validate_on_submit():
        amounts = {credit_type: form[credit_type].data for credit_type in status.claimable}

        def claim_with_permissions():
            """The claim, the fields reporting lacked and the permissions to report, in one transaction."""
            identity_service.set_reporting_identity(
                current_user, **{k: v for k, v in identity_data(form).items() if v not in (None, "")})
            outcome = certificates.claim_and_certify(current_user, activity, amounts, attested=form.attest.data)
            claimed = {credit_type for credit_type, amount in amounts.items() if amount}
            reported = {str(body) for body in consent.bodies_for(activity, claimed)}
            consent.record_consents(current_user, activity, {body: granted for body, granted
                                                             in form.consent_answers().items() if body in reported})
            return outcome

        done = unit_of_work(claim_with_permissions, form=form)
        if done.ok:
            saved = "Your corrected claim is saved." if done.value.corrected else "Your credit is recorded."
            flash(f"{saved} {_AFTER_CLAIM[done.value.certificate]}", "success")
            return redirect(url_for("credit.my_credit"))
    return render_template("credit/claim.html", activity=activity, form=form, status=status,
                           certificate=certificates.current_certificate(current_user, activity),
                           consent_fields=[consent_field(body) for body in bodies],
                           identity_fields=[name for name in IDENTITY_FIELDS if name in form]), \
        200 if request.method == "GET" else 422


def _transcript():
    return service.transcript_for(current_user, certificates=certificates.current_certificates_for(current_user))


@bp.get("/my/credit")
@login_required
def my_credit():
    return render_template("credit/my_credit.html", transcript=_transcript(),
                           consents=consent.consents_by_activity(current_user),
                           licences=licence_progress(current_user))


def _claimed_activity_or_404(activity_id: int) -> Activity:
    """An activity the learner claimed credit for (their own record only)."""
    activity = db.get_or_404(Activity, activity_id)
    if not consent.claimed_types(current_user, activity):
        abort(404)
    return activity


@bp.route("/my/credit/<id:activity_id>/reporting", methods=["GET", "POST"])
@login_required
def permissions(activity_id: int):
    """Change the permissions to report a completion given at claim time (issue 16, point 1)."""
    activity = _claimed_activity_or_404(activity_id)
    bodies = consent.reported_bodies(current_user, activity)
    form = permissions_form({body: consent.question(body) for body in bodies},
                            consent.consents_of(current_user, activity))
    if form.validate_on_submit() and unit_of_work(
            lambda: consent.record_consents(current_user, activity, form.consent_answers()), form=form).ok:
        flash("Your answers are saved.", "success")
        return redirect(url_for("credit.my_credit"))
    return render_template("credit/permissions.html", activity=activity, form=form,
                           consent_fields=[consent_field(body) for body in bodies]), \
        200 if request.method == "GET" else 422


@bp.route("/account/reporting/<id:activity_id>", methods=["GET", "POST"])
@login_required
def reporting_details(activity_id: int):
    """Exactly the fields the learner must still give so their completion of one activity can be reported (the
    exports' reminder mail links here): identity.missing_for for each body they allowed."""
    activity = _claimed_activity_or_404(activity_id)
    missing = consent.missing_for_activity(current_user, activity)
    form = missing_fields_form(missing, required=True, data={"full_name": current_user.full_name})
    if missing and form.validate_on_submit() and unit_of_work(
            lambda: identity_service.set_reporting_identity(current_user, **identity_data(form)), form=form).ok:
        flash("Thank you: your completion can now be reported.", "success")
        return redirect(url_for("credit.my_credit"))
    return render_template("credit/reporting_details.html", activity=activity, form=form, missing=missing,
                           identity_fields=[name for name in IDENTITY_FIELDS if name in form]), \
        200 if request.method == "GET" else 422


def _download(body: bytes, mimetype: str, extension: str) -> Response:
    filename = f"cme-transcript-{now_utc():%Y%m%d}.{extension}"
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store",
        **({"Content-Type": "text/csv; charset=utf-8"} if extension == "csv" else {})})


@bp.get("/my/credit.csv")
@login_required
def transcript_csv():
    return _download(build_transcript_csv(_transcript()), "text/csv", "csv")


@bp.get("/my/credit/transcript.pdf")
@login_required
def transcript_pdf():
    return _download(build_transcript_pdf(_transcript()), "application/pdf", "pdf")


@bp.get("/help", endpoint="help")
def help_page():
    """How credit works, each credit type with who may claim it (read from the rule: cme.credit.help), the AMA
    statement, and whom to write to. Public, linked from every page's footer."""
    provider = current_app.config["CME_PROVIDER_NAME"]
    return render_template("credit/help.html", credit_types=credit_types_help(), ama=ama_statement_help(provider),
                           contact_email=current_app.config["CME_CONTACT_EMAIL"])


# ---------------------------------------------------------------- organizers

def _organizer_page(activity: Activity, status: int = 200, **forms):
    forms.setdefault("adjust_form", AdjustForm(formdata=None))
    forms.setdefault("question_form", QuestionForm(formdata=None))
    forms.setdefault("post_test_form", PostTestQuestionForm(formdata=None))
    forms.setdefault("score_form", PostTestRulesForm(formdata=None, passing_score=activity.post_test_passing_score,
                                                     max_attempts=activity.post_test_max_attempts))
    forms.setdefault("issue_form", CertificateIssueForm(
        formdata=None, issue="automatic" if activity.certificates_automatic else "organizer"))
    return render_template("credit/organize.html", activity=activity, records=service.activity_records(activity),
                           certificates=certificates.current_certificates_for_activity(activity),
                           adjustments=service.adjustments_for(activity), confirm_form=ConfirmForm(),
                           questions=evaluations.evaluation_questions(activity),
                           customised=evaluations.evaluation_questions_customised(activity),
                           post_questions=evaluations.post_test_questions(activity),
                           kind_labels=dict(QuestionKind.choices()), **forms), status


@bp.get("/organize/activities/<id:activity_id>/credit")
@organizer_required
def organize(activity_id: int):
    return _organizer_page(managed(activity_id))


@bp.post("/organize/activities/<id:activity_id>/credit/certificate-issue")
@organizer_required
def certificate_issue(activity_id: int):
    activity = managed(activity_id)
    form = CertificateIssueForm()
    if form.validate_on_submit() and unit_of_work(lambda: activities.set_certificate_issue(
            activity, automatic=form.issue.data == "automatic"), form=form).ok:
        flash("Certificates will be issued as soon as learners claim credit." if activity.certificates_automatic
              else "Certificates will be issued when you press “Issue certificates”.", "success")
        return redirect(url_for("credit.organize", activity_id=activity.id))
    return _organizer_page(activity, 422, issue_form=form)


@bp.get("/organize/activities/<id:activity_id>/evaluations")
@organizer_required
def evaluation_results(activity_id: int):
    """What learners said, question by question (anonymous)."""
    activity = managed(activity_id)
    responses, summaries = evaluations.evaluation_summary(activity)
    return render_template("credit/evaluation_results.html", activity=activity, responses=responses,
                           summaries=summaries, claimants=len({r.user_id for r in service.activity_records(activity)}))


@bp.get("/organize/activities/<id:activity_id>/evaluations.csv")
@organizer_required
def evaluation_results_csv(activity_id: int):
    activity = managed(activity_id)
    header, rows = evaluations.evaluation_rows(activity)
    return Response(csv_bytes(header, rows), headers={
        "Content-Type": "text/csv; charset=utf-8", "Cache-Control": "private, no-store",
        "Content-Disposition": f'attachment; filename="evaluations-{activity.id}.csv"'})


@bp.post("/organize/activities/<id:activity_id>/credit/adjust")
@organizer_required
def adjust(activity_id: int):
    activity = managed(activity_id)
    form = AdjustForm()
    if form.validate_on_submit():
        record = db.session.get(CreditRecord, form.record_id.data)
        if record is None or record.activity_id != activity.id:
            abort(404)
        def adjust_and_reissue() -> None:
            service.adjust_credit(record, Decimal(form.amount.data), reason=form.reason.data, by=current_user)
            certificates.reissue_if_certified(record.user, activity)

        if unit_of_work(adjust_and_reissue, form=form).ok:
            flash(f"{record.user.full_name}'s credit is now {record.amount.normalize():f}. The change is in the audit "
                  "trail, and a current certificate was reissued.", "success")
            return redirect(url_for("credit.organize", activity_id=activity.id))
    return _organizer_page(activity, 422, adjust_form=form)


@bp.post("/organize/activities/<id:activity_id>/evaluation/questions")
@organizer_required
def add_question(activity_id: int):
    activity = managed(activity_id)
    form = QuestionForm()
    if form.validate_on_submit() and unit_of_work(lambda: evaluations.add_evaluation_question(
            activity, kind=form.kind.data, prompt=form.prompt.data, required=form.required.data,
            choices=[c.strip() for c in (form.choices.data or "").splitlines() if c.strip()]), form=form).ok:
        flash("Question added to the evaluation.", "success")
        return redirect(url_for("credit.organize", activity_id=activity.id, _anchor="evaluation"))
    return _organizer_page(activity, 422, question_form=form)


def _delete_question(activity_id: int, model, question_id: int, message: str, anchor: str):
    activity = managed(activity_id)
    question = db.get_or_404(model, question_id)
    if question.activity_id != activity.id or not ConfirmForm().validate_on_submit():
        abort(404)
    if unit_of_work(lambda: evaluations.remove_question(question)).ok:
        flash(message, "success")
    return redirect(url_for("credit.organize", activity_id=activity.id, _anchor=anchor))


@bp.post("/organize/activities/<id:activity_id>/evaluation/questions/<id:question_id>/delete")
@organizer_required
def delete_question(activity_id: int, question_id: int):
    return _delete_question(activity_id, EvaluationQuestion, question_id, "Question removed.", "evaluation")


@bp.post("/organize/activities/<id:activity_id>/post-test/questions")
@organizer_required
def add_post_test_question(activity_id: int):
    activity = managed(activity_id)
    form = PostTestQuestionForm()
    if form.validate_on_submit() and unit_of_work(lambda: evaluations.add_post_test_question(
            activity, prompt=form.prompt.data, correct_index=form.correct.data - 1, choices=form.choice_list(),
            explanation=form.explanation.data or ""), form=form).ok:
        flash("Post-test question added.", "success")
        return redirect(url_for("credit.organize", activity_id=activity.id, _anchor="post-test"))
    return _organizer_page(activity, 422, post_test_form=form)


def _post_test_question(activity: Activity, question_id: int) -> PostTestQuestion:
    question = db.get_or_404(PostTestQuestion, question_id)
    if question.activity_id != activity.id:
        abort(404)
    return question


@bp.route("/organize/activities/<id:activity_id>/post-test/questions/<id:question_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit_post_test_question(activity_id: int, question_id: int):
    activity = managed(activity_id)
    question = _post_test_question(activity, question_id)
    form = PostTestQuestionForm(data=None if request.method == "POST" else {
        "prompt": question.prompt, "choices": "\n".join(question.choices), "correct": question.correct_index + 1,
        "explanation": question.explanation})
    if form.validate_on_submit() and unit_of_work(lambda: evaluations.update_post_test_question(
            question, prompt=form.prompt.data, correct_index=form.correct.data - 1, choices=form.choice_list(),
            explanation=form.explanation.data or ""), form=form).ok:
        flash("Post-test question saved.", "success")
        return redirect(url_for("credit.organize", activity_id=activity.id, _anchor="post-test"))
    return render_template("credit/post_test_question.html", activity=activity, question=question, form=form), \
        200 if request.method == "GET" else 422


@bp.post("/organize/activities/<id:activity_id>/post-test/questions/<id:question_id>/delete")
@organizer_required
def delete_post_test_question(activity_id: int, question_id: int):
    return _delete_question(activity_id, PostTestQuestion, question_id, "Post-test question removed.", "post-test")


@bp.post("/organize/activities/<id:activity_id>/post-test/score")
@organizer_required
def set_passing_score(activity_id: int):
    """The post-test's rules: the passing score and the attempts allowed."""
    activity = managed(activity_id)
    form = PostTestRulesForm()
    if form.validate_on_submit() and unit_of_work(lambda: evaluations.set_post_test_rules(
            activity, passing_score=form.passing_score.data, max_attempts=form.max_attempts.data), form=form).ok:
        limit = activity.post_test_max_attempts
        flash(f"Post-test saved: {activity.post_test_passing_score}% to pass, "
              + (f"{limit} attempt(s) allowed." if limit else "unlimited attempts."), "success")
        return redirect(url_for("credit.organize", activity_id=activity.id, _anchor="post-test"))
    return _organizer_page(activity, 422, score_form=form)
