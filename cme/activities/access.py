"""Loading an activity for a request: one a provider may see (404 otherwise), or one the current user manages
(404 if unknown, 403 if not theirs)."""
from __future__ import annotations

from flask import abort
from flask_login import current_user
from cme.activities.catalog import public_activity
from cme.activities.models import Activity
from cme.activities.service import can_manage
from cme.extensions import db


def public_activity_or_404(activity_id: int, *, for_page: bool = True) -> Activity:
    """An activity the public may see (`Activity.is_public`): drafts are 404 to everyone outside /organize.
    `for_page`: with what its public page shows loaded (catalog.public_activity)."""
    activity = public_activity(activity_id, for_page=for_page)
    if activity is None:
        abort(404)
    return activity


def managed(activity_id: int) -> Activity:
    """The activity, if the current user organizes it (or is an admin): 404 if unknown, 403 if not theirs."""
    activity = db.get_or_404(Activity, activity_id)
    if not can_manage(current_user, activity):
        abort(403)
    return activity
