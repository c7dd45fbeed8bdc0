"""Keeps what the calendar stores on other capabilities' rows in step, inside the transaction that writes them:

- each activity's public VEVENTs (`Activity.ics_fragment`), rewritten after any flush that changes the
  activity, one of its agenda sessions or one of its credit designations, so the public feed only reads them;
- each new user's personal feed token, given at insert, so showing the feed address never writes.

`register()` is called once by the app factory.
"""
from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from cme.accounts.models import User
from cme.activities.models import Activity, ActivitySession, CreditDesignation
from cme.calendar import service
from cme.extensions import db

_CHANGED = "cme.calendar.changed_activity_ids"


def register() -> None:
    for target, name, listener in ((db.session, "after_flush", _note_changed_activities),
                                   (db.session, "after_flush_postexec", _store_fragments),
                                   (db.session, "after_rollback", _forget_changes),
                                   (User, "before_insert", _give_feed_token)):
        if not event.contains(target, name, listener):
            event.listen(target, name, listener)


def _note_changed_activities(session: Session, _context) -> None:
    """The ids of activities whose public VEVENTs this flush may have changed (read before the flush's state
    is reset: new, changed and deleted objects, and their attribute history)."""
    changed: set[int] = session.info.setdefault(_CHANGED, set())
    dirty = [obj for obj in session.dirty if session.is_modified(obj, include_collections=False)]
    for obj in (*session.new, *dirty):
        if isinstance(obj, Activity):
            changed.add(obj.id)
    for obj in (*session.new, *dirty, *session.deleted):
        if isinstance(obj, (ActivitySession, CreditDesignation)):
            # A child moved or removed from its activity's collection still names its former activity here.
            changed.update(i for i in (obj.activity_id, *inspect(obj).attrs.activity_id.history.deleted) if i)


def _store_fragments(session: Session, _context) -> None:
    changed = session.info.pop(_CHANGED, None)
    if not changed:
        return
    activities = []
    for activity_id in sorted(changed):
        activity = session.get(Activity, activity_id)
        if activity is None or inspect(activity).deleted or inspect(activity).was_deleted:
            continue
        # Reload the agenda and designations: a loaded collection can still hold a child deleted by
        # `session.delete`, or be out of start order after an edit.
        session.expire(activity, ["sessions", "credit_designations"])
        activities.append(activity)
    service.store_public_fragments(activities)


def _forget_changes(session: Session) -> None:
    """A flush that failed never reached `_store_fragments`; its rollback undid what it noted."""
    session.info.pop(_CHANGED, None)


def _give_feed_token(_mapper, _connection, user: User) -> None:
    if not user.feed_token_nonce:
        service.give_feed_token(user)
