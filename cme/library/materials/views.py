"""Session materials over HTTP: the organizer's pages (list, upload, edit, delete) under
/organize/activities/<id>/materials, and the downloads under /library/materials (a file, its thumbnail, and the
ZIP of everything the viewer may open). A file the viewer may not open is a 404, as if it did not exist."""
from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from cme.accounts.permissions import organizer_required
from cme.activities.access import managed
from cme.activities.models import Activity
from cme.extensions import db
from cme.formtools import ConfirmForm
from cme.library.materials import bundle, release, service, storage
from cme.library.materials.forms import LOCAL_FORMAT, EditMaterialForm, MaterialForm
from cme.library.materials.models import Material
from cme.timeutil import now_utc, utc_to_local
from cme.transactions import unit_of_work

bp = Blueprint("materials", __name__)


@bp.app_template_filter("filesize")
def filesize(size: int) -> str:
    """1.2 MB, 340 KB."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{max(size / 1000, 1):.0f} KB"


ASCII_PUNCTUATION = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": "",
                                   "\u201d": "", "\u2026": "..."})


def disposition(kind: str, name: str) -> tuple[str, dict[str, str]]:
    """Content-Disposition (RFC 6266): `filename` in ASCII (accents dropped, dashes and quotes made plain) for old
    clients, and `filename*` in UTF-8 when the name needs it."""
    try:
        name.encode("ascii")
        return kind, {"filename": name}
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name.translate(ASCII_PUNCTUATION)).encode("ascii", "ignore").decode()
        simple = " ".join(simple.split()) or "download"
        return kind, {"filename": simple, "filename*": f"UTF-8''{quote(name, safe='!#$&+-.^_`|~')}"}


def _material_of(activity, material_id: int) -> Material:
    material = db.get_or_404(Material, material_id)
    if material.activity_id != activity.id:
        abort(404)
    return material


def _max_bytes() -> int:
    return int(current_app.config["CME_UPLOAD_MAX_BYTES"])


def _upload(form):
    """The uploaded file of a form (a FileStorage), or None."""
    return form.file.data if getattr(form.file.data, "stream", None) is not None else None


# ---------------------------------------------------------------- organizers

def _manage_page(activity, form: MaterialForm, status: int = 200):
    return render_template("library/materials/manage.html", activity=activity, form=form,
                           materials=service.materials_of(activity, with_text=True),
                           summary=release.release_summary, now=now_utc()), status


@bp.route("/organize/activities/<id:activity_id>/materials", methods=["GET", "POST"])
@organizer_required
def manage(activity_id: int):
    activity = managed(activity_id)
    form = MaterialForm(activity=activity, max_bytes=_max_bytes())
    if request.method == "GET":
        return _manage_page(activity, form)
    if form.validate_on_submit():
        upload = _upload(form)
        done = unit_of_work(lambda: service.add_material(activity, form.details(), stream=upload.stream,
                                                         filename=upload.filename, by=current_user), form=form)
        if done.ok:
            flash(f"Uploaded “{done.value.title}”.", "success")
            return redirect(url_for("materials.manage", activity_id=activity.id, _anchor=f"material-{done.value.id}"))
    return _manage_page(activity, form, 422)


@bp.route("/organize/activities/<id:activity_id>/materials/<id:material_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit(activity_id: int, material_id: int):
    activity = managed(activity_id)
    material = _material_of(activity, material_id)
    form = EditMaterialForm(activity=activity, max_bytes=_max_bytes())
    if request.method == "GET":
        form.title.data = material.title
        form.session_id.data = str(material.session_id or "")
        form.speaker_id.data = str(material.speaker_id or "")
        form.release.data = material.release
        if material.embargo_until_dt:
            local = utc_to_local(material.embargo_until_dt, activity.time_zone)
            form.embargo_local.data = local.replace(tzinfo=None, second=0, microsecond=0)
    elif form.validate_on_submit():
        upload = _upload(form)
        done = unit_of_work(lambda: service.update_material(
            material, form.details(), stream=upload.stream if upload else None,
            filename=upload.filename if upload else None), form=form)
        if done.ok:
            flash(f"Saved “{material.title}”.", "success")
            return redirect(url_for("materials.manage", activity_id=activity.id, _anchor=f"material-{material.id}"))
    return render_template("library/materials/edit.html", activity=activity, material=material, form=form,
                           local_format=LOCAL_FORMAT), 200 if request.method == "GET" else 422


@bp.post("/organize/activities/<id:activity_id>/materials/<id:material_id>/delete")
@organizer_required
def delete(activity_id: int, material_id: int):
    activity = managed(activity_id)
    material = _material_of(activity, material_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    title = material.title
    if unit_of_work(lambda: service.delete_material(material)).ok:
        flash(f"Removed “{title}”.", "success")
    return redirect(url_for("materials.manage", activity_id=activity.id))


# ---------------------------------------------------------------- downloads

def _openable_or_404(material_id: int) -> Material:
    material = db.get_or_404(Material, material_id)
    if not release.may_open(current_user, material):
        abort(404)
    return material


def _cache(response: Response, material: Material) -> Response:
    """Revalidated at every use (its ETag is the file's SHA-256): a public file in shared caches too, any other only
    in the viewer's own (who may lose access: the server is asked each time)."""
    response.cache_control.no_cache = True
    if material.release == "public" and material.activity.is_public and material.embargo_until_dt is None:
        response.cache_control.public = True
    else:
        response.cache_control.private = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/library/materials/<id:material_id>")
@bp.get("/library/materials/<id:material_id>-<slug>")
def show(material_id: int, slug: str | None = None):
    """Where the library's search links slides: the file for who may open it, else the activity page's list of
    materials (which says for whom and when it opens) for who may see it listed; a 404 for anyone else."""
    material = db.get_or_404(Material, material_id)
    if release.may_open(current_user, material):
        return redirect(url_for("materials.download", material_id=material.id))
    if not release.is_listed(current_user, material):
        abort(404)
    return redirect(url_for("activities.detail", activity_id=material.activity_id) + "#materials")


@bp.get("/library/materials/<id:material_id>/file")
def download(material_id: int):
    material = _openable_or_404(material_id)
    path = storage.current_store().path_of(material.file_sha256)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=material.content_type, conditional=True, etag=material.file_sha256,
                         last_modified=material.stored_file.created_dt, max_age=None)
    kind, names = disposition("inline" if material.is_pdf else "attachment", material.file_name)
    response.headers.set("Content-Disposition", kind, **names)
    return _cache(response, material)


@bp.get("/library/materials/<id:material_id>/thumbnail.png")
def thumbnail(material_id: int):
    material = _openable_or_404(material_id)
    path = storage.current_store().thumbnail_of(material.file_sha256)
    if not material.has_thumbnail or not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/png", conditional=True, etag=f"{material.file_sha256}-thumbnail",
                         max_age=None)
    return _cache(response, material)


@bp.get("/library/materials/activities/<id:activity_id>.zip")
def all_materials(activity_id: int):
    """Everything the viewer may open of the activity, as one ZIP (404 when that is nothing)."""
    activity = db.get_or_404(Activity, activity_id)
    entries = bundle.zip_entries(service.openable_materials(activity, current_user), storage.current_store().path_of)
    if not entries:
        abort(404)
    # The generator reads only the files named in `entries`: it needs neither the request nor the database.
    response = Response(bundle.stream_zip(entries), mimetype="application/zip")
    kind, names = disposition("attachment", f"{activity.title[:80].strip()} - materials.zip")
    response.headers.set("Content-Disposition", kind, **names)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
