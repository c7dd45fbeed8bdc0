"""The provider's credit: the transcript on screen, as CSV and as PDF."""
from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask_login import current_user, login_required

from cme.credit import service
from cme.credit.transcript import build_transcript_csv, build_transcript_pdf
from cme.timeutil import now_utc

bp = Blueprint("credit", __name__)


@bp.get("/my/credit")
@login_required
def my_credit():
    return render_template("credit/my_credit.html", transcript=service.transcript_for(current_user))


def _download(body: bytes, mimetype: str, extension: str) -> Response:
    filename = f"cme-transcript-{now_utc():%Y%m%d}.{extension}"
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store",
        **({"Content-Type": "text/csv; charset=utf-8"} if extension == "csv" else {})})


@bp.get("/my/credit.csv")
@login_required
def transcript_csv():
    return _download(build_transcript_csv(service.transcript_for(current_user)), "text/csv", "csv")


@bp.get("/my/credit/transcript.pdf")
@login_required
def transcript_pdf():
    return _download(build_transcript_pdf(service.transcript_for(current_user)), "application/pdf", "pdf")
