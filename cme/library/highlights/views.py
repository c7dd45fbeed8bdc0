"""Conference highlights: the public list (`/library/highlights`, newest first) and one page per highlight; the
organizer's pages under `/organize/activities/<id>/highlights` (list, write, edit, delete, offer as enduring
material). An activity another organizer runs is a 404 here, as is a highlight of another activity."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from cme.accounts.permissions import organizer_required
from cme.activities.models import Activity
from cme.activities.service import can_manage
from cme.extensions import db
from cme.formtools import ConfirmForm, page_arg
from cme.library.abstracts.service import activity_abstracts
from cme.library.highlights import service
from cme.library.highlights.forms import EnduringForm, HighlightForm
from cme.library.highlights.models import Highlight
from cme.library.markdown import render_markdown
from cme.library.materials.service import materials_of
from cme.timeutil import now_utc, utc_to_local
from cme.transactions import unit_of_work

bp = Blueprint("highlights", __name__)

PER_PAGE = 10


# ---------------------------------------------------------------- public

@bp.get("/library/highlights")
def index():
    page = db.paginate(service.public_highlights(today=service.library_today()), page=page_arg(), per_page=PER_PAGE,
                       error_out=False)
    return render_template("library/highlights/index.html", page=page)


@bp.get("/library/highlights/<id:highlight_id>")
@bp.get("/library/highlights/<id:highlight_id>-<slug>")
def detail(highlight_id: int, slug: str | None = None):
    today = service.library_today()
    highlight = service.public_highlight(highlight_id, today=today)
    preview = False
    if highlight is None and current_user.is_authenticated and current_user.is_organizer:
        highlight = db.session.get(Highlight, highlight_id)  # its organizers read it before it is public
        preview = highlight is not None and can_manage(current_user, highlight.activity)
    if highlight is None or (not preview and not highlight.is_public_on(today)):
        abort(404)
    enduring = highlight.enduring_activity
    return render_template("library/highlights/detail.html", highlight=highlight, body=render_markdown(highlight.body),
                           state=highlight.state_on(today), preview=preview,
                           key_slides=service.key_slide_cards(highlight, current_user),
                           can_edit=current_user.is_authenticated and can_manage(current_user, highlight.activity),
                           enduring=enduring if enduring is not None and enduring.is_published else None)


# ---------------------------------------------------------------- the organizer's pages

def _managed(activity_id: int) -> Activity:
    """The activity, if the current user organizes it (or is an admin): 404 otherwise, even its existence."""
    activity = db.get_or_404(Activity, activity_id)
    if not can_manage(current_user, activity):
        abort(404)
    return activity


def _highlight_of(activity: Activity, highlight_id: int) -> Highlight:
    highlight = db.get_or_404(Highlight, highlight_id)
    if highlight.activity_id != activity.id:
        abort(404)
    return highlight


def _to_list(activity: Activity, anchor: str | None = None):
    return redirect(url_for("highlights.manage", activity_id=activity.id, _anchor=anchor))


@bp.get("/organize/activities/<id:activity_id>/highlights")
@organizer_required
def manage(activity_id: int):
    activity = _managed(activity_id)
    return render_template("library/highlights/manage.html", activity=activity, ended=activity.has_ended(),
                           highlights=service.activity_highlights(activity), today=service.library_today(),
                           confirm_form=ConfirmForm())


def _form_page(activity: Activity, form: HighlightForm, highlight: Highlight | None, save):
    """The form (new or edit): "Preview" shows the text as it will read, saving nothing; "Save" calls `save()` in
    the request's one unit of work and goes back to the list."""
    preview = None
    if request.method == "POST" and form.preview.data:
        form.validate()
        if "csrf_token" not in form.errors:
            preview = render_markdown(form.body.data)
    elif form.validate_on_submit():
        done = unit_of_work(save, form=form)
        if done.ok:
            flash(f"Saved “{done.value.title}”.", "success")
            return _to_list(activity, f"highlight-{done.value.id}")
    status = 200 if request.method == "GET" or preview is not None else 422
    return render_template("library/highlights/form.html", form=form, activity=activity, highlight=highlight,
                           preview=preview, ended=activity.has_ended()), status


@bp.route("/organize/activities/<id:activity_id>/highlights/new", methods=["GET", "POST"])
@organizer_required
def create(activity_id: int):
    activity = _managed(activity_id)
    form = HighlightForm(abstracts=activity_abstracts(activity), materials=materials_of(activity))
    if request.method == "GET":
        form.publication_date.data = form.reviewed_on.data = service.library_today()
    return _form_page(activity, form, None, lambda: service.create_highlight(activity, form.highlight_data()))


@bp.route("/organize/activities/<id:activity_id>/highlights/<id:highlight_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit(activity_id: int, highlight_id: int):
    activity = _managed(activity_id)
    highlight = _highlight_of(activity, highlight_id)
    choices = {"abstracts": activity_abstracts(activity), "materials": materials_of(activity)}
    form = (HighlightForm(data=service.highlight_data(highlight), **choices) if request.method == "GET"
            else HighlightForm(**choices))
    return _form_page(activity, form, highlight, lambda: service.update_highlight(highlight, form.highlight_data()))


@bp.post("/organize/activities/<id:activity_id>/highlights/<id:highlight_id>/delete")
@organizer_required
def delete(activity_id: int, highlight_id: int):
    activity = _managed(activity_id)
    highlight = _highlight_of(activity, highlight_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    title = highlight.title
    if unit_of_work(lambda: service.delete_highlight(highlight)).ok:
        flash(f"Deleted “{title}”.", "success")
    return _to_list(activity)


@bp.route("/organize/activities/<id:activity_id>/highlights/<id:highlight_id>/enduring", methods=["GET", "POST"])
@organizer_required
def enduring(activity_id: int, highlight_id: int):
    """Offer the highlight as enduring material with credit: a draft on-demand activity its organizers then
    complete (faculty and disclosures, designations, evaluation, post-test) and publish as any other."""
    activity = _managed(activity_id)
    highlight = _highlight_of(activity, highlight_id)
    if highlight.enduring_activity is not None:
        return redirect(url_for("organize.manage", activity_id=highlight.enduring_activity.id))
    form = EnduringForm()
    if request.method == "GET":
        form.release_on.data = utc_to_local(now_utc(), activity.time_zone).date()  # as the service counts days
        form.available_until.data = form.release_on.data + timedelta(days=365)
    elif form.validate_on_submit():
        done = unit_of_work(lambda: service.offer_as_enduring(
            highlight, current_user, release_on=form.release_on.data, available_until=form.available_until.data,
            now=now_utc()), form=form)
        if done.ok:
            flash("Draft enduring material created from the highlights. Add the people who control its content with "
                  "their disclosures and its credit designations, then publish.", "success")
            return redirect(url_for("organize.manage", activity_id=done.value.id))
    return render_template("library/highlights/enduring.html", form=form, activity=activity, highlight=highlight), \
        200 if request.method == "GET" else 422
