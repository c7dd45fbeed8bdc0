"""The provider's credit. Claims, evaluations and transcripts grow here."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from cme.credit import service

bp = Blueprint("credit", __name__)


@bp.get("/my/credit")
@login_required
def my_credit():
    records = service.credit_records_for(current_user)
    return render_template("credit/my_credit.html", records=records, totals=service.totals_by_type(records),
                           certificates=service.current_certificates_for(current_user))
