"""Who may manage an activity: its organizers, and admins."""
from __future__ import annotations

from flask import abort
from flask_login import current_user

from cme.activities.models import Activity
from cme.activities.service import can_manage
from cme.extensions import db


def managed(activity_id: int) -> Activity:
    """The activity, if the current user organizes it (or is an admin): 404 if unknown, 403 if not theirs."""
    activity = db.get_or_404(Activity, activity_id)
    if not can_manage(current_user, activity):
        abort(403)
    return activity
