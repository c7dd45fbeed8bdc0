"""Calendar exports: one activity's download, the public feed, a provider's personal feed; their versions
(for ETag and Last-Modified, computed without building anything), personal feed tokens, and the
add-to-calendar links.

Nothing is kept in this process: the public feed joins the VEVENTs stored on each activity's row (written by
the transaction that changes the activity, see `cme.calendar.fragments`), and HTTP caching does the rest.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parseaddr
from functools import lru_cache
from typing import Callable
from urllib.parse import quote, urlencode, urlsplit

import icalendar
from flask import current_app
from sqlalchemy import ColumnElement, String, bindparam, case, cast, func, literal, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from cme.accounts.models import User
from cme.activities.models import Activity, ActivitySession
from cme.activities.catalog import CatalogFilters, filtered_activities
from cme.activities.statements import format_amount
from cme.calendar.ics import CalendarMeta, EventData, assemble_calendar, build_calendar, event_bytes
from cme.calendar.invitations import calendar_window, registrant_uid
from cme.extensions import db
from cme.registration.models import Registration
from cme.timeutil import format_local

EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
ALARM_MINUTES = 30


@dataclass(frozen=True)
class Export:
    etag: str
    last_modified: datetime
    filename: str
    build: Callable[[], bytes]


# ---------------------------------------------------------------- events from models

def _base() -> str:
    return current_app.config["CME_BASE_URL"].rstrip("/")


def _organizer() -> tuple[str, str]:
    return _organizer_for(current_app.config["MAIL_DEFAULT_SENDER"], current_app.config["CME_PROVIDER_NAME"])


@lru_cache(maxsize=8)
def _organizer_for(sender: str, provider: str) -> tuple[str, str]:
    return parseaddr(sender)[1] or "cme@example.org", provider


def activity_url(activity: Activity) -> str:
    return f"{_base()}/activities/{activity.id}"


def _description(activity: Activity, url: str, extra: list[str] = ()) -> str:
    credit = "; ".join(f"{format_amount(d.max_amount)} {d.credit_type_label}" for d in activity.designations)
    parts = [*extra, activity.summary, f"Credit: {credit}" if credit else "", f"Details: {url}"]
    return "\n\n".join(p for p in parts if p)


def _location(activity: Activity, url: str, room: str = "") -> str:
    if activity.is_live_meeting:
        return ", ".join(p for p in [room, activity.full_address] if p)
    return f"Online: {url}"


def public_events(activity: Activity) -> list[EventData]:
    """The activity as the public sees it: one VEVENT per agenda session, or one for the whole activity."""
    url = activity_url(activity)
    organizer_email, organizer_name = _organizer()
    cancelled = activity.is_cancelled
    common = dict(sequence=activity.schedule_sequence, url=url, zone_name=activity.time_zone,
                  status="CANCELLED" if cancelled else "CONFIRMED", last_modified=activity.updated_dt,
                  organizer_email=organizer_email, organizer_name=organizer_name,
                  categories=tuple(c for c in (activity.format_label, activity.specialty) if c))
    prefix = "Cancelled: " if cancelled else ""
    description = _description(activity, url)
    if not activity.sessions:
        start, end, summary = calendar_window(activity)
        return [EventData(uid=f"{activity.uuid}@cme", summary=prefix + summary, description=description,
                          location=_location(activity, url), start=start, end=end, **common)]
    return [EventData(uid=f"{s.uuid}@cme", summary=f"{prefix}{activity.title}: {s.title}",
                      description=_description(activity, url, [s.speakers and f"Speakers: {s.speaker_names}"]),
                      location=_location(activity, url, s.room), start=s.start_dt, end=s.end_dt, **common)
            for s in activity.sessions]


def registration_event(registration: Registration) -> EventData:
    """A provider's own registration: confirmed, waitlisted (tentative, marked) or cancelled."""
    activity = registration.activity
    url = activity_url(activity)
    organizer_email, organizer_name = _organizer()
    cancelled = registration.is_cancelled or activity.is_cancelled
    if cancelled:
        status, prefix = "CANCELLED", "Cancelled: "
    elif registration.is_waitlisted:
        status, prefix = "TENTATIVE", f"Waitlisted (#{registration.waitlist_position}): "
    elif registration.is_offered:  # a seat held, not yet taken: tentative until accepted (issue 14, point 16)
        status, prefix = "TENTATIVE", "Seat offered: "
    else:
        status, prefix = "CONFIRMED", ""
    join = activity.join_url if (activity.is_webcast and registration.is_confirmed and not cancelled) else None
    extra = [f"Join the webcast: {join}"] if join else []
    if registration.is_waitlisted and not cancelled:
        extra.append(f"You are number {registration.waitlist_position} on the waitlist: if a seat frees up, we mail "
                     "you (a seat given to you, or offered to you to accept near the start).")
    if registration.is_offered and not cancelled:
        extra.append(f"A seat is held for you until {format_local(registration.offer_deadline, activity.time_zone)}: "
                     f"accept it on My schedule ({_base()}/my/schedule).")
    start, end, summary = calendar_window(activity)
    return EventData(
        uid=registrant_uid(activity.uuid, registration.user_id),
        sequence=max(registration.invite_sequence, activity.schedule_sequence), summary=prefix + summary,
        description=_description(activity, url, extra), location=_location(activity, url), url=join or url,
        start=start, end=end, zone_name=activity.time_zone, status=status,
        last_modified=max(registration.updated_dt, activity.updated_dt), organizer_email=organizer_email,
        organizer_name=organizer_name, categories=(activity.format_label,), conference_url=join,
        alarm_minutes=None if activity.is_on_demand else ALARM_MINUTES)


# ---------------------------------------------------------------- stored per-activity fragments

# Raise when public_events or event_bytes write different bytes for the same data: every stored fragment then
# fails its version check and is built afresh until its activity is next written.
FRAGMENT_FORMAT = 1


def fragment_config() -> str:
    """What a stored fragment depends on besides its activity's rows: the configuration and the code."""
    parts = (FRAGMENT_FORMAT, icalendar.__version__, _base(), *_organizer())
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]


def _fragment_version(config: ColumnElement[str]) -> ColumnElement[str]:
    """The version a fragment is stored under, computed by the database from the row itself: the configuration
    and the activity's `updated_dt` as the database writes it as text (PostgreSQL writes it in the session's
    TimeZone: a worker with another one finds no fragment current and builds in memory, right but slower).
    So a write that bypasses the session (a bulk UPDATE bumps `updated_dt` too) is caught as well, and
    checking 5,000 rows costs the feed nothing."""
    return config + ":" + cast(Activity.__table__.c.updated_dt, String)


def fragment_is_current() -> ColumnElement[bool]:
    return Activity.__table__.c.ics_fragment_version == _fragment_version(literal(fragment_config()))


def public_fragment(activity: Activity) -> bytes:
    """The activity's public VEVENTs, serialised."""
    return b"".join(event_bytes(data) for data in public_events(activity))


def store_public_fragments(activities: list[Activity]) -> None:
    """Write each activity's public VEVENTs and their version on its row, in the caller's transaction, leaving
    `updated_dt` as it is (storing the serialised form is not a change of the activity). Called by
    `cme.calendar.fragments` after every flush that changes what an activity's VEVENTs show."""
    if not activities:
        return
    config = fragment_config()
    rows = [{"b_id": a.id, "b_fragment": public_fragment(a).decode("utf-8"), "b_config": config} for a in activities]
    table = Activity.__table__
    db.session.connection().execute(
        table.update().where(table.c.id == bindparam("b_id"))
        .values(ics_fragment=bindparam("b_fragment"), ics_fragment_version=_fragment_version(bindparam("b_config")),
                updated_dt=table.c.updated_dt), rows)
    for activity, row in zip(activities, rows):
        set_committed_value(activity, "ics_fragment", row["b_fragment"])
    for activity in activities:  # its version is the database's text
        db.session.expire(activity, ["ics_fragment_version"])


def store_stale_public_fragments() -> int:
    """Store anew every fragment that is missing or not current (all of them after a change of CME_BASE_URL,
    of the mail sender or of FRAGMENT_FORMAT; until then the feed builds those in memory on every request).
    Returns how many; the caller commits."""
    stale = db.session.scalars(select(Activity.id).where(
        or_(Activity.ics_fragment_version.is_(None), ~fragment_is_current())).order_by(Activity.id)).all()
    for start in range(0, len(stale), 500):
        store_public_fragments(list(db.session.scalars(select(Activity).where(Activity.id.in_(stale[start:start + 500]))
                                                       .options(selectinload(Activity.sessions)
                                                                .selectinload(ActivitySession.speakers),
                                                                selectinload(Activity.credit_designations)))))
    return len(stale)


def _stored_or_built(rows) -> list[bytes]:
    """The fragments of the feed's rows (id, the stored fragment if current, else None): the stored ones, and
    the others built in memory for this response (nothing is written)."""
    fragments = {activity_id: fragment.encode("utf-8") for activity_id, fragment in rows if fragment is not None}
    missing = [activity_id for activity_id, fragment in rows if fragment is None]
    for start in range(0, len(missing), 500):
        for activity in db.session.scalars(select(Activity).where(Activity.id.in_(missing[start:start + 500])).options(
                selectinload(Activity.sessions).selectinload(ActivitySession.speakers),
                selectinload(Activity.credit_designations))):
            fragments[activity.id] = public_fragment(activity)
    return [fragments[activity_id] for activity_id, _ in rows]


# ---------------------------------------------------------------- exports with cheap versions

def _etag(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]


def activity_export(activity: Activity) -> Export:
    etag = _etag("activity", activity.id, activity.updated_dt.isoformat(), activity.schedule_sequence, _base())

    def build() -> bytes:
        meta = CalendarMeta(name=activity.title, description=f"{activity.format_label}: {activity.title}",
                            zone_name=activity.time_zone, refresh=None)
        return build_calendar(meta, public_events(activity))

    return Export(etag, activity.updated_dt, f"activity-{activity.id}.ics", build)


def public_feed_export(filters: CatalogFilters) -> Export:
    """The public feed: upcoming published activities (and cancelled ones until they end)."""
    matching = filtered_activities(filters).order_by(None)
    count, last, id_sum = db.session.execute(
        matching.with_only_columns(func.count(), func.max(Activity.updated_dt), func.sum(Activity.id),
                                   maintain_column_froms=True)).one()
    last_modified = last or EPOCH
    etag = _etag("public", sorted(filters.args().items()), count, last_modified.isoformat(), id_sum, _base())

    def build() -> bytes:
        meta = CalendarMeta(name=f"{current_app.config['CME_PROVIDER_NAME']}: CME activities",
                            description="Upcoming live meetings and webcasts with CME credit.",
                            zone_name="America/New_York")
        matching = filtered_activities(filters)
        rows = db.session.execute(matching.with_only_columns(
            Activity.id, case((fragment_is_current(), Activity.ics_fragment)), maintain_column_froms=True)).all()
        spans = db.session.execute(matching.order_by(None).group_by(Activity.time_zone).with_only_columns(
            Activity.time_zone, func.min(Activity.start_dt), func.max(Activity.end_dt),
            maintain_column_froms=True)).all()
        return assemble_calendar(meta, _stored_or_built(rows), spans)

    return Export(etag, last_modified, "cme-activities.ics", build)


def registration_export(registration: Registration) -> Export:
    """One registration as its registrant's own event: the UID of their invitations and personal feed, so a
    download, a mailed invitation and the subscription never show the same activity twice; waitlisted places
    are tentative and say so."""
    activity = registration.activity
    last_modified = max(registration.updated_dt, activity.updated_dt)
    etag = _etag("registration", registration.id, registration.status, registration.waitlist_position,
                 last_modified.isoformat(), activity.schedule_sequence, _base())

    def build() -> bytes:
        meta = CalendarMeta(name=activity.title, description=f"{activity.format_label}: {activity.title}",
                            zone_name=activity.time_zone, refresh=None)
        return build_calendar(meta, [registration_event(registration)])

    return Export(etag, last_modified, f"registration-{registration.id}.ics", build)


def personal_feed_export(user: User) -> Export:
    """A provider's registrations, the latest one per activity (a re-registration replaces a cancelled one)."""
    versions = db.session.execute(
        select(func.count(), func.max(Registration.updated_dt), func.max(Activity.updated_dt), func.sum(Registration.id))
        .select_from(Registration).join(Registration.activity).where(Registration.user_id == user.id)).one()
    count, registrations_changed, activities_changed, id_sum = versions
    last_modified = max(d for d in (registrations_changed, activities_changed, EPOCH) if d is not None)
    etag = _etag("personal", user.id, count, last_modified.isoformat(), id_sum, _base())

    def build() -> bytes:
        registrations = db.session.scalars(
            select(Registration).where(Registration.user_id == user.id)
            .options(selectinload(Registration.activity).selectinload(Activity.credit_designations))
            .order_by(Registration.id)).all()
        latest = {r.activity_id: r for r in registrations}  # ordered by id: the last one wins
        meta = CalendarMeta(name=f"My CME schedule ({current_app.config['CME_PROVIDER_NAME']})",
                            description=f"Activities {user.full_name} registered for.", zone_name=user.time_zone)
        return build_calendar(meta, (registration_event(r) for r in latest.values()))

    return Export(etag, last_modified, "my-cme-schedule.ics", build)


# ---------------------------------------------------------------- personal feed tokens

def _token_from_nonce(nonce: str) -> str:
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")  # 192 bits


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_token(user: User) -> str:
    """The user's feed token. Every user has one from creation on (`give_feed_token`), so showing it writes
    nothing."""
    if not user.feed_token_nonce:
        raise LookupError(f"user {user.id} has no calendar feed token")
    return _token_from_nonce(user.feed_token_nonce)


def give_feed_token(user: User) -> str:
    """Set a new token on the user (not flushed) and return it."""
    user.feed_token_nonce = secrets.token_hex(16)
    token = _token_from_nonce(user.feed_token_nonce)
    user.feed_token_hash = _hash(token)
    return token


def reset_feed_token(user: User) -> str:
    """A new token; the old URL stops working at once."""
    token = give_feed_token(user)
    db.session.flush()
    return token


def user_for_feed_token(token: str) -> User | None:
    if not token or len(token) > 64:
        return None
    user = db.session.scalar(select(User).where(User.feed_token_hash == _hash(token)))
    if user is None or not user.is_active or not hmac.compare_digest(_token_from_nonce(user.feed_token_nonce), token):
        return None
    return user


# ---------------------------------------------------------------- links

def _utc(instant: datetime, fmt: str) -> str:
    return instant.astimezone(timezone.utc).strftime(fmt)


def google_add_url(activity: Activity) -> str:
    url = activity_url(activity)
    start, end, summary = calendar_window(activity)
    return "https://calendar.google.com/calendar/render?" + urlencode({
        "action": "TEMPLATE", "text": summary,
        "dates": f"{_utc(start, '%Y%m%dT%H%M%SZ')}/{_utc(end, '%Y%m%dT%H%M%SZ')}",
        "details": _description(activity, url), "location": _location(activity, url), "ctz": activity.time_zone})


def outlook_add_url(activity: Activity) -> str:
    url = activity_url(activity)
    start, end, summary = calendar_window(activity)
    return "https://outlook.live.com/calendar/0/deeplink/compose?" + urlencode({
        "path": "/calendar/action/compose", "rru": "addevent", "subject": summary,
        "startdt": _utc(start, "%Y-%m-%dT%H:%M:%SZ"), "enddt": _utc(end, "%Y-%m-%dT%H:%M:%SZ"),
        "body": _description(activity, url), "location": _location(activity, url)})


@dataclass(frozen=True)
class SubscribeLinks:
    https: str
    webcal: str
    google: str


def subscribe_links(https_url: str) -> SubscribeLinks:
    parts = urlsplit(https_url)
    webcal = "webcal://" + parts.netloc + parts.path + (f"?{parts.query}" if parts.query else "")
    return SubscribeLinks(https=https_url, webcal=webcal,
                          google="https://calendar.google.com/calendar/r?cid=" + quote(webcal, safe=""))


