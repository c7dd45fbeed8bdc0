"""The provider's schedule. Registration forms, the roster and check-in grow here."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from cme.registration import service

bp = Blueprint("registration", __name__)


@bp.get("/my/schedule")
@login_required
def my_schedule():
    upcoming, past = service.schedule_for(current_user)
    return render_template("registration/my_schedule.html", upcoming=upcoming, past=past)
