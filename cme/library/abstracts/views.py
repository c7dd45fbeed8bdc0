"""Abstracts: the public library (`/library/abstracts`: the list, one abstract, an activity's book of abstracts)
and the organizer's pages under `/organize/activities/<id>/abstracts` (list, add, edit, publish, delete, CSV import,
the book as a proof). An activity another organizer runs is a 404 here, as is an abstract of another activity."""
from __future__ import annotations

import hashlib

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from cme.accounts.permissions import organizer_required
from cme.activities.models import SPECIALTIES, Activity
from cme.activities.service import can_manage
from cme.extensions import db
from cme.formtools import ConfirmForm, page_arg
from cme.library.abstracts import book, imports, service
from cme.library.abstracts.forms import AbstractFilterForm, AbstractForm, AbstractImportForm
from cme.library.abstracts.models import Abstract
from cme.timeutil import now_utc, utc_to_local
from cme.transactions import unit_of_work

bp = Blueprint("abstracts", __name__)

# ---------------------------------------------------------------- the public library

def _filters() -> tuple[AbstractFilterForm, service.AbstractFilters]:
    form = AbstractFilterForm(request.args, activities=service.activities_with_public_abstracts())
    form.validate()
    valid = lambda f: f.data if not f.errors else None  # noqa: E731  (bad values are ignored, and shown as errors)
    activity = valid(form.activity)
    return form, service.AbstractFilters(activity_id=int(activity) if activity else None,
                                         topic=valid(form.topic) or "", presentation_type=valid(form.type) or "")


@bp.get("/library/abstracts")
def index():
    form, filters = _filters()
    return render_template("library/abstracts/index.html", form=form, filters=filters,
                           page=service.public_page(filters, page=page_arg()))


@bp.get("/library/abstracts/<id:abstract_id>")
@bp.get("/library/abstracts/<id:abstract_id>-<slug>")
def detail(abstract_id: int, slug: str | None = None):
    abstract = service.public_abstract(abstract_id)
    preview = False
    if abstract is None and current_user.is_authenticated and current_user.is_organizer:
        abstract = db.session.get(Abstract, abstract_id)  # its organizers may look at it before it is public
        preview = abstract is not None and can_manage(current_user, abstract.activity)
    if abstract is None or (not preview and not abstract.is_public):
        abort(404)
    return render_template("library/abstracts/detail.html", abstract=abstract, preview=preview,
                           book_available=service.public_count(abstract.activity) > 0)


@bp.get("/library/abstracts/activities/<id:activity_id>/book.pdf")
def public_book(activity_id: int):
    """The book of an activity's published abstracts (404 when it has none the public may read), answered with an
    ETag of what it is built from, so a second download of an unchanged book costs a query."""
    activity = db.get_or_404(Activity, activity_id)
    if not service.public_count(activity):
        abort(404)
    provider = current_app.config["CME_PROVIDER_NAME"]
    tag = _etag(service.book_version(activity, published_only=True), provider)
    if tag in request.if_none_match:
        return Response(status=304, headers={"ETag": f'"{tag}"', "Cache-Control": "public, max-age=0, must-revalidate"})
    body = _book(activity, published_only=True)
    response = Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="book-of-abstracts-{activity.id}.pdf"',
        "Cache-Control": "public, max-age=0, must-revalidate"})
    response.set_etag(tag)
    return response


def _etag(version: tuple, provider: str) -> str:
    return hashlib.sha256(repr((version, provider)).encode()).hexdigest()[:32]


def _book(activity: Activity, *, published_only: bool) -> bytes:
    abstracts = service.activity_abstracts(activity, published_only=published_only)
    today = utc_to_local(now_utc(), activity.time_zone).date()
    return book.build_book(book.book_for(activity, abstracts, provider=current_app.config["CME_PROVIDER_NAME"],
                                         today=today, proof=not published_only))


# ---------------------------------------------------------------- the organizer's pages

def _managed(activity_id: int) -> Activity:
    """The activity, if the current user organizes it (or is an admin): 404 otherwise, even its existence."""
    activity = db.get_or_404(Activity, activity_id)
    if not can_manage(current_user, activity):
        abort(404)
    return activity


def _abstract_of(activity: Activity, abstract_id: int) -> Abstract:
    abstract = db.get_or_404(Abstract, abstract_id)
    if abstract.activity_id != activity.id:
        abort(404)
    return abstract


def _to_list(activity: Activity, anchor: str | None = None):
    return redirect(url_for("abstracts.manage", activity_id=activity.id, _anchor=anchor))


@bp.get("/organize/activities/<id:activity_id>/abstracts")
@organizer_required
def manage(activity_id: int):
    activity = _managed(activity_id)
    return render_template("library/abstracts/manage.html", activity=activity,
                           abstracts=service.activity_abstracts(activity), confirm_form=ConfirmForm())


def _abstract_form(activity: Activity, **kwargs) -> AbstractForm:
    return AbstractForm(sessions=activity.sessions, zone_name=activity.time_zone, **kwargs)


@bp.route("/organize/activities/<id:activity_id>/abstracts/new", methods=["GET", "POST"])
@organizer_required
def create(activity_id: int):
    activity = _managed(activity_id)
    form = _abstract_form(activity)
    if request.method == "GET" and activity.specialty in SPECIALTIES:
        form.topic.data = activity.specialty
    if form.validate_on_submit():
        done = unit_of_work(lambda: service.create_abstract(activity, form.abstract_fields()), form=form)
        if done.ok:
            flash(f"Abstract added: {done.value.title}", "success")
            return _to_list(activity, f"abstract-{done.value.id}")
    return render_template("library/abstracts/form.html", form=form, activity=activity, abstract=None), \
        200 if request.method == "GET" else 422


@bp.route("/organize/activities/<id:activity_id>/abstracts/<id:abstract_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit(activity_id: int, abstract_id: int):
    activity = _managed(activity_id)
    abstract = _abstract_of(activity, abstract_id)
    form = _abstract_form(activity, obj=abstract if request.method == "GET" else None)  # a post is what it says
    if request.method == "GET":
        form.fill_from(abstract)
    elif form.validate_on_submit():
        done = unit_of_work(lambda: service.update_abstract(abstract, form.abstract_fields()), form=form)
        if done.ok:
            flash(f"Abstract saved: {abstract.title}", "success")
            return _to_list(activity, f"abstract-{abstract.id}")
    return render_template("library/abstracts/form.html", form=form, activity=activity, abstract=abstract), \
        200 if request.method == "GET" else 422


def _act(activity: Activity, action, message: str, anchor: str | None = None):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if unit_of_work(action).ok:
        flash(message, "success")
    return _to_list(activity, anchor)


@bp.post("/organize/activities/<id:activity_id>/abstracts/<id:abstract_id>/published")
@organizer_required
def set_published(activity_id: int, abstract_id: int):
    activity = _managed(activity_id)
    abstract = _abstract_of(activity, abstract_id)
    published = request.form.get("published") == "1"
    return _act(activity, lambda: service.set_published(abstract, published),
                "Published." if published else "Unpublished: only organizers see it.", f"abstract-{abstract.id}")


@bp.post("/organize/activities/<id:activity_id>/abstracts/<id:abstract_id>/delete")
@organizer_required
def delete(activity_id: int, abstract_id: int):
    activity = _managed(activity_id)
    abstract = _abstract_of(activity, abstract_id)
    title = abstract.title
    return _act(activity, lambda: service.delete_abstract(abstract), f"Abstract deleted: {title}")


@bp.route("/organize/activities/<id:activity_id>/abstracts/import", methods=["GET", "POST"])
@organizer_required
def import_csv(activity_id: int):
    activity = _managed(activity_id)
    form = AbstractImportForm()
    limit = current_app.config["CME_ABSTRACTS_CSV_MAX_BYTES"]
    report, status = None, 200 if request.method == "GET" else 422
    if form.validate_on_submit():
        data = form.file.data.stream.read(limit + 1)  # never more than the limit (and a byte to know it is over)
        done = unit_of_work(lambda: imports.import_abstracts(activity, data, publish=form.publish.data,
                                                             max_bytes=limit), form=form)
        if done.ok:
            report, status = done.value, 200
    return render_template("library/abstracts/import.html", form=form, activity=activity, report=report,
                           columns=imports.COLUMNS, required=imports.REQUIRED, limit_text=imports.size_text(limit),
                           max_rows=imports.MAX_ROWS), status


@bp.get("/organize/activities/<id:activity_id>/abstracts/import/template.csv")
@organizer_required
def import_template(activity_id: int):
    _managed(activity_id)
    return Response(imports.template_csv(), headers={
        "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": 'attachment; filename="abstracts.csv"',
        "Cache-Control": "private, no-store"})


@bp.get("/organize/activities/<id:activity_id>/abstracts/book.pdf")
@organizer_required
def proof_book(activity_id: int):
    """The book of every abstract of the activity, published or not (marked so): the organizers' proof."""
    activity = _managed(activity_id)
    return Response(_book(activity, published_only=False), mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="book-of-abstracts-{activity.id}-proof.pdf"',
        "Cache-Control": "private, no-store"})
