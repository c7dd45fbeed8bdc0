"""Registration rules: who may register, seat allocation with a waitlist, cancellation and promotion, seat offers
near the start (accepted, declined or lapsing to the next person), organizer roster actions, who may join a
webcast, and the mails (with calendar invitations) each change sends.
Check-in and viewing time are attendance's (cme.attendance), which sits above registration.

Allocation runs in one transaction holding a lock on the activity row (PostgreSQL `SELECT ... FOR UPDATE`;
SQLite: a no-op UPDATE of the row, which takes the database's write lock at once, like BEGIN IMMEDIATE),
so concurrent registrations never overbook. Views run these inside `unit_of_work`, which retries a lock timeout.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from cme.accounts.identity import licences_of
from cme.accounts.identity_service import note_licence
from cme.accounts.models import User
from cme.accounts.service import find_user_by_email
from cme.activities.models import Activity, ActivitySession, ActivityStatus
from cme.errors import DomainError
from cme.extensions import db
from cme.registration.mail import queue_registrant_mail
from cme.registration.counts import counts_for
from cme.registration.models import (
    IN_LINE, JOIN_LINK_LEAD, OfferOutcome, Registration, RegistrationStatus, normalize_checkin_code,
)
from cme.registration.notices import drop_waiting_mail_of
from cme.registration.reminders import queue_reminder
from cme.timeutil import format_local, now_utc


class RegistrationError(DomainError):
    """A refused registration operation."""


@dataclass
class Answers:
    """What the registration form collects (identity snapshot and needs)."""

    full_name: str
    degree: str = ""
    profession: str = ""
    npi: str | None = None
    licence_state: str | None = None
    licence_number: str | None = None
    dietary_needs: str = ""
    accessibility_needs: str = ""
    session_ids: list[int] = field(default_factory=list)
    attested_professional: bool = False

    @classmethod
    def from_profile(cls, user: User, **overrides) -> "Answers":
        """The profile's answers; the licence is the learner's first one (cme.accounts.identity)."""
        licence = next(iter(licences_of(user)), None)
        return cls(**{"full_name": user.full_name, "degree": user.degree, "profession": user.profession,
                      "npi": user.npi, "licence_state": licence.state if licence else None,
                      "licence_number": licence.number if licence else None, **overrides})


# ---------------------------------------------------------------- locking and counting

def lock_activity(activity_id: int) -> Activity:
    """Lock the activity row for the rest of the transaction and return it, freshly loaded."""
    if db.session.get_bind().dialect.name == "sqlite":
        activity = db.session.scalars(
            update(Activity).where(Activity.id == activity_id)
            .values(schedule_sequence=Activity.schedule_sequence, updated_dt=Activity.updated_dt).returning(Activity),
            execution_options={"synchronize_session": False, "populate_existing": True}).one_or_none()
        if activity is None:
            raise RegistrationError("This activity does not exist.", code="not_found")
        return activity
    activity = db.session.scalars(select(Activity).where(Activity.id == activity_id).with_for_update()
                                  .execution_options(populate_existing=True)).one_or_none()
    if activity is None:
        raise RegistrationError("This activity does not exist.", code="not_found")
    return activity


def active_registration(user: User, activity_id: int) -> Registration | None:
    return db.session.scalar(select(Registration).where(
        Registration.user_id == user.id, Registration.activity_id == activity_id,
        Registration.status != RegistrationStatus.CANCELLED))


def active_registrations_of(user: User, activity_ids: list[int]) -> dict[int, Registration]:
    """The user's active registration per activity, for a page of activities (one query)."""
    if not activity_ids or not getattr(user, "is_authenticated", False):
        return {}
    return {r.activity_id: r for r in db.session.scalars(select(Registration).where(
        Registration.user_id == user.id, Registration.activity_id.in_(activity_ids),
        Registration.status != RegistrationStatus.CANCELLED))}


# ---------------------------------------------------------------- registering

def last_needs(user: User) -> tuple[str, str]:
    """The dietary and accessibility needs the user gave last time (a form that remembers them)."""
    row = db.session.execute(select(Registration.dietary_needs, Registration.accessibility_needs).where(
        Registration.user_id == user.id,
        or_(Registration.dietary_needs != "", Registration.accessibility_needs != ""))
        .order_by(Registration.registered_dt.desc(), Registration.id.desc()).limit(1)).first()
    return (row.dietary_needs, row.accessibility_needs) if row else ("", "")


def registration_problem(activity: Activity, *, now: datetime | None = None) -> str | None:
    """Why nobody can register for this activity now, or None."""
    now = now or now_utc()
    if activity.status == ActivityStatus.CANCELLED:
        return "This activity has been cancelled."
    if activity.status != ActivityStatus.PUBLISHED:
        return "This activity is not open for registration."
    if activity.has_ended(now):
        return "This activity has ended." if not activity.is_on_demand else "This webcast is no longer available."
    if activity.registration_opens_dt and now < activity.registration_opens_dt:
        return "Registration has not opened yet."
    if activity.registration_closes_dt and now >= activity.registration_closes_dt:
        return "Registration is closed."
    return None


def registrant_problem(user: User, *, by_organizer: bool = False, in_person: bool = False) -> str | None:
    """Why this person may not register for activities (yet), or None (issue 13, point 2). Only someone whose
    address is verified: every registration mail (invitations, changes, reminders, certificates) goes there, and
    an address anybody typed at sign-up is not yet known to be theirs. The one home of the rule: `register`, the
    activity page and the registration form ask it. The one exception: a walk-in registered by an organizer at
    the meeting's desk (`in_person`), who stands there and is vouched for; their account's address is verified
    when they choose their password through the link mailed there (issue 14, point 13)."""
    if user.is_email_verified or (in_person and by_organizer):
        return None
    if by_organizer:
        return (f"{user.full_name} has not confirmed their email address yet: ask them to follow the link in their "
                "welcome mail (their profile can send a new one), then add them.")
    return (f"Confirm your email address before registering: follow the link we sent to {user.email}. "
            "No message? We can send the link again.")


def register(user: User, activity_id: int, answers: Answers, *, now: datetime | None = None,
             by_organizer: bool = False, in_person: bool = False) -> Registration:
    """Give the user a seat, or a waitlist place when the activity is full, and queue the matching mail."""
    activity = lock_activity(activity_id)
    now = now or now_utc()
    problem = registration_problem(activity, now=now)
    if problem and not (by_organizer and activity.status == ActivityStatus.PUBLISHED):
        raise RegistrationError(problem, code="closed")
    if unverified := registrant_problem(user, by_organizer=by_organizer, in_person=in_person):
        raise RegistrationError(unverified, code="unverified")
    earlier = db.session.scalars(select(Registration).where(
        Registration.user_id == user.id, Registration.activity_id == activity.id)).all()
    existing = next((r for r in earlier if not r.is_cancelled), None)
    if existing is not None:
        message = (f"{existing.full_name} is already registered ({existing.status_label.lower()})." if by_organizer
                   else "You are already registered for this activity (see My schedule).")
        raise RegistrationError(message, code="duplicate")
    if not by_organizer and not answers.attested_professional:
        raise RegistrationError("Please confirm that you are a healthcare professional.", code="attestation")
    sessions = []
    if answers.session_ids:
        sessions = list(db.session.scalars(select(ActivitySession).where(
            ActivitySession.activity_id == activity.id, ActivitySession.id.in_(answers.session_ids))))
    counts = counts_for(activity.id)
    has_seat = activity.capacity is None or counts.taken < activity.capacity
    previous_sequence = max((r.invite_sequence for r in earlier), default=0)  # one calendar event per person
    registration = Registration(
        user=user, activity=activity, registered_dt=now, invite_sequence=previous_sequence,
        status=RegistrationStatus.CONFIRMED.value if has_seat else RegistrationStatus.WAITLISTED.value,
        waitlist_position=None if has_seat else counts.last_position + 1,
        confirmed_dt=now if has_seat else None, sessions=sessions,
        full_name=answers.full_name, degree=answers.degree or "", profession=answers.profession or "",
        npi=answers.npi, licence_state=answers.licence_state, licence_number=answers.licence_number,
        dietary_needs=answers.dietary_needs or "", accessibility_needs=answers.accessibility_needs or "",
        attested_professional=answers.attested_professional)
    db.session.add(registration)
    if answers.licence_state and answers.licence_number:
        # The registration keeps its snapshot; the licence also becomes one of the learner's (issue 16, point 1).
        note_licence(user, answers.licence_state, answers.licence_number,
                     profession=answers.profession or user.profession)
    queue_registration_mail(registration, "confirmed" if has_seat else "waitlisted", now=now)
    queue_reminder(registration, now=now)
    return registration


def cancel_problem(registration: Registration, *, took_part: bool, now: datetime | None = None,
                   by_organizer: bool = False) -> tuple[str, str] | None:
    """(message, code) when the registration cannot be cancelled, else None: not once it is cancelled, once the
    activity is cancelled or over (registrations stay as the record of who took part), nor once the registrant
    took part (attendance or claimed credit: the caller asks credit.service.took_part, above registration)."""
    now = now or now_utc()
    activity = registration.activity
    if registration.is_cancelled:
        return "This registration is already cancelled.", "already_cancelled"
    if activity.is_cancelled:
        return "This activity is cancelled: its registrants have been told.", "activity_cancelled"
    if activity.has_ended(now):
        return "This activity has ended: its registrations stay as the record of who took part.", "ended"
    if took_part:
        who = f"{registration.full_name} has" if by_organizer else "You have"
        return (f"{who} attendance recorded for this activity (a check-in or viewing time), so the registration "
                "cannot be cancelled.", "attended")
    return None


def cancellable(registrations: list[Registration], *, took_part: set[int], now: datetime | None = None) -> set[int]:
    """The ids of the registrations that can be cancelled (cancel_problem), for pages; `took_part` holds the ids
    of those whose registrant took part."""
    now = now or now_utc()
    return {r.id for r in registrations if cancel_problem(r, took_part=r.id in took_part, now=now) is None}


def cancel_registration(registration: Registration, *, took_part: bool, now: datetime | None = None,
                        by_organizer: bool = False) -> list[Registration]:
    """Cancel; a freed seat (a confirmed one, or one held with an offer) goes to the waitlist in order
    (fill_free_seats). Returns the registrations offered a seat or promoted. `took_part`: whether the registrant
    has attendance or claimed credit (credit.service.took_part answers it)."""
    activity = lock_activity(registration.activity_id)
    db.session.refresh(registration)
    now = now or now_utc()
    problem = cancel_problem(registration, took_part=took_part, now=now, by_organizer=by_organizer)
    if problem:
        raise RegistrationError(problem[0], code=problem[1])
    held_seat = registration.holds_seat
    if registration.is_offered and not by_organizer:
        registration.offer_outcome = OfferOutcome.DECLINED.value  # leaving the waitlist with an offer in hand
    _end(registration, now)
    queue_registration_mail(registration, "cancelled", now=now, by_organizer=by_organizer)
    drop_waiting_mail_of(registration)
    return fill_free_seats(activity, now=now) if held_seat else []


def _end(registration: Registration, now: datetime) -> None:
    """Cancel the registration and close the gap it leaves in the waitlist."""
    old_position = registration.waitlist_position
    registration.status = RegistrationStatus.CANCELLED.value
    registration.waitlist_position = None
    registration.cancelled_dt = now
    db.session.flush()
    if old_position is not None:
        _close_gap(registration.activity_id, old_position)


def _close_gap(activity_id: int, position: int) -> None:
    db.session.execute(update(Registration).where(
        Registration.activity_id == activity_id, Registration.status.in_(IN_LINE),
        Registration.waitlist_position > position).values(waitlist_position=Registration.waitlist_position - 1)
        .execution_options(synchronize_session=False))
    db.session.expire_all()


def fill_free_seats(activity: Activity, *, now: datetime | None = None) -> list[Registration]:
    """Give the free seats to the waitlist, first come first served. Within the activity's offer window
    (`Activity.offers_seats`: the last `offer_days_before` days before the start) each goes to the next person as
    an offer, held for them until they accept, decline or let it lapse (`offer_seat`); otherwise the next person is
    promoted at once. Caller holds the lock. Nobody gets a seat once the activity has ended (its waitlist stays as
    it was: promote_problem) or while it is not published. Returns the registrations offered a seat or promoted."""
    now = now or now_utc()
    if activity.has_ended(now) or not activity.is_published:
        return []
    free = None if activity.capacity is None else activity.capacity - counts_for(activity.id).taken
    waiting = select(Registration).where(Registration.activity_id == activity.id,
                                         Registration.status == RegistrationStatus.WAITLISTED
                                         ).order_by(Registration.waitlist_position)
    if free is not None:
        if free <= 0:
            return []
        waiting = waiting.limit(free)
    chosen = list(db.session.scalars(waiting))
    if not chosen:
        return []
    offering = activity.offers_seats(now)
    for registration in chosen:
        if offering:
            offer_seat(registration, now)
        else:
            _confirm(registration, now)
    db.session.flush()
    if not offering:
        _renumber_waitlist(activity.id)
    for registration in chosen:
        queue_registration_mail(registration, "offered" if offering else "promoted", now=now)
    return chosen


def _confirm(registration: Registration, now: datetime) -> None:
    registration.status = RegistrationStatus.CONFIRMED.value
    registration.waitlist_position = None
    registration.confirmed_dt = now


def _renumber_waitlist(activity_id: int) -> None:
    waiting = db.session.scalars(select(Registration).where(
        Registration.activity_id == activity_id, Registration.status.in_(IN_LINE)
    ).order_by(Registration.waitlist_position)).all()
    for position, registration in enumerate(waiting, start=1):
        registration.waitlist_position = position
    db.session.flush()


def promote_problem(registration: Registration, *, now: datetime | None = None) -> tuple[str, str] | None:
    """(message, code) when the organizer cannot promote this registrant, else None: only a waitlisted registrant
    (or one holding a seat offer: the organizer confirms it for them), and only before the activity ends."""
    now = now or now_utc()
    if not (registration.is_waitlisted or registration.is_offered):
        return "Only a waitlisted registrant can be promoted.", "not_waitlisted"
    if registration.activity.has_ended(now):
        return "This activity has ended: its waitlist stays as it was.", "ended"
    return None


def promotable(registrations: list[Registration], *, now: datetime | None = None) -> set[int]:
    """The ids of the registrations an organizer can promote (promote_problem), for pages."""
    now = now or now_utc()
    return {r.id for r in registrations if promote_problem(r, now=now) is None}


def make_room_for_one(activity: Activity) -> None:
    """An organizer seats someone out of turn (a promotion, a walk-in seated over capacity at the desk): a full
    activity's capacity grows by one seat for them, so it never drops below the confirmed count. The caller holds
    the lock (lock_activity)."""
    if activity.capacity is not None:
        activity.capacity = max(activity.capacity, counts_for(activity.id).taken + 1)
        db.session.flush()


def promote(registration: Registration, *, now: datetime | None = None) -> None:
    """An organizer moves someone off the waitlist out of turn: the capacity grows by one seat for them (someone
    holding an offer has their seat already: it is confirmed for them)."""
    activity = lock_activity(registration.activity_id)
    db.session.refresh(registration)
    now = now or now_utc()
    problem = promote_problem(registration, now=now)
    if problem:
        raise RegistrationError(problem[0], code=problem[1])
    if registration.is_waitlisted:
        make_room_for_one(activity)
    _confirm(registration, now)
    db.session.flush()
    _renumber_waitlist(activity.id)
    queue_registration_mail(registration, "promoted", now=now)


def add_by_organizer(activity: Activity, email: str, *, now: datetime | None = None) -> Registration:
    """Register an existing account from the roster (outside the registration window, within capacity)."""
    user = find_user_by_email(email)
    if user is None:
        raise RegistrationError("No account uses this email. Ask the person to sign up first.", code="unknown_user")
    return register(user, activity.id, Answers.from_profile(user), now=now, by_organizer=True)


# ---------------------------------------------------------------- seat offers (issue 14, point 16)
#
# Within an activity's offer window (its last `offer_days_before` days before the start) a freed seat is not given
# silently: the next person on the waitlist is offered it by mail and has `offer_hours` (never past the start) to
# accept it. The seat is held for them meanwhile (counts.taken) and they keep their waitlist position. Declining,
# or letting the offer lapse, ends their registration and passes the seat on (an offer again while still within the
# window, else a promotion). Every step locks the activity first, as registering does, so an acceptance and the
# lapse of the same offer never both happen. Lapsing needs no request: the mail worker's loop and the command
# `flask cme expire-offers` run `expire_offers_of` for each activity `activities_with_due_offers` names.

def offer_seat(registration: Registration, now: datetime) -> None:
    """Hold a seat for this waitlisted registrant until they answer: `offer_hours` from now, never past the start.
    The caller holds the lock and queues the mail (fill_free_seats)."""
    activity = registration.activity
    registration.status = RegistrationStatus.OFFERED.value
    registration.offered_dt = now
    registration.offer_expires_dt = min(now + timedelta(hours=activity.offer_hours), activity.start_dt)
    registration.offer_outcome = None


def offer_problem(registration: Registration, *, now: datetime | None = None) -> tuple[str, str] | None:
    """(message, code) when the registrant cannot accept or decline a seat offer now, else None: the one rule that
    accepting, declining and the pages ask. An offer stands while the registration holds it and its deadline
    (Registration.offer_deadline: its expiry, or the start if that comes first) has not come, in an activity that
    is not cancelled."""
    now = now or now_utc()
    activity = registration.activity
    if activity.is_cancelled:
        return "This activity has been cancelled.", "activity_cancelled"
    deadline = registration.offer_deadline
    lapsed_on = format_local(deadline, activity.time_zone) if deadline else ""
    if registration.offer_stands(now):
        return None
    if registration.is_offered:
        return f"This offer lapsed on {lapsed_on}: the seat goes to the next person on the waitlist.", "offer_lapsed"
    if registration.offer_outcome == OfferOutcome.ACCEPTED and registration.is_confirmed:
        return "You accepted this seat: you are registered.", "accepted"
    if registration.offer_outcome == OfferOutcome.LAPSED:
        return (f"This offer lapsed on {lapsed_on}: the seat went to the next person on the waitlist.",
                "offer_lapsed")
    if registration.offer_outcome == OfferOutcome.DECLINED:
        return "You declined this seat: your place on the waitlist has ended.", "declined"
    return "There is no seat offer open for this registration.", "no_offer"


def accept_offer(registration: Registration, *, now: datetime | None = None) -> Registration:
    """The registrant takes the seat offered to them: confirmed, with a calendar invitation. Refused once the offer
    lapsed (even before the lapse was processed); a repeat (a double submit) changes nothing."""
    activity = lock_activity(registration.activity_id)
    db.session.refresh(registration)
    now = now or now_utc()
    problem = offer_problem(registration, now=now)
    if problem and problem[1] == "accepted":
        return registration
    if problem:
        raise RegistrationError(problem[0], code=problem[1])
    _confirm(registration, now)
    registration.offer_outcome = OfferOutcome.ACCEPTED.value
    db.session.flush()
    _renumber_waitlist(activity.id)
    queue_registration_mail(registration, "accepted", now=now)
    return registration


def decline_offer(registration: Registration, *, now: datetime | None = None) -> list[Registration]:
    """The registrant turns the seat down: their registration ends and the seat passes to the next person (offered
    again, or given once the window is over). Returns who got it. A repeat changes nothing."""
    activity = lock_activity(registration.activity_id)
    db.session.refresh(registration)
    now = now or now_utc()
    problem = offer_problem(registration, now=now)
    if problem and problem[1] == "declined":
        return []
    if problem:
        raise RegistrationError(problem[0], code=problem[1])
    registration.offer_outcome = OfferOutcome.DECLINED.value
    _end(registration, now)
    queue_registration_mail(registration, "declined", now=now)
    drop_waiting_mail_of(registration)
    return fill_free_seats(activity, now=now)


def _offers_due(now: datetime):
    """Offers that must end now: past their deadline, in an activity that started, or that is no longer published."""
    return (select(Registration).join(Registration.activity)
            .where(Registration.status == RegistrationStatus.OFFERED,
                   or_(Registration.offer_expires_dt <= now, Activity.start_dt <= now,
                       Activity.status != ActivityStatus.PUBLISHED)))


def activities_with_due_offers(*, now: datetime | None = None) -> list[int]:
    """The ids of the activities holding offers that must end now (expire_offers_of each, one transaction each)."""
    due = _offers_due(now or now_utc()).with_only_columns(Registration.activity_id).distinct()
    return sorted(db.session.scalars(due))


def expire_offers_of(activity_id: int, *, now: datetime | None = None) -> int:
    """End the activity's offers that are due, under its lock: each lapses (the registration ends, the registrant
    is told) and its seat passes to the next person (fill_free_seats). In an activity cancelled meanwhile the offers
    are withdrawn instead (back on the waitlist at their place: the cancellation notice says it all). Returns how
    many offers ended; an offer accepted meanwhile is not among them."""
    activity = lock_activity(activity_id)
    now = now or now_utc()
    due = list(db.session.scalars(_offers_due(now).where(Registration.activity_id == activity.id)
                                  .order_by(Registration.waitlist_position)))
    if not activity.is_published:
        withdraw_offers(due)
        return len(due)
    for registration in due:
        registration.offer_outcome = OfferOutcome.LAPSED.value
        registration.status = RegistrationStatus.CANCELLED.value
        registration.waitlist_position = None
        registration.cancelled_dt = now
    if due:
        db.session.flush()
        _renumber_waitlist(activity.id)
        for registration in due:
            queue_registration_mail(registration, "lapsed", now=now)
            drop_waiting_mail_of(registration)
        fill_free_seats(activity, now=now)
    return len(due)


def withdraw_offers(registrations: list[Registration]) -> None:
    """Offers that no longer stand because the activity is cancelled: back to waiting, at their place."""
    for registration in registrations:
        if registration.is_offered:
            registration.status = RegistrationStatus.WAITLISTED.value
            registration.offer_outcome = None
    db.session.flush()


def open_offers(activity: Activity) -> list[Registration]:
    """The activity's registrations holding an offer."""
    return list(db.session.scalars(select(Registration).where(
        Registration.activity_id == activity.id, Registration.status == RegistrationStatus.OFFERED)))


def waitlist_promise(activity: Activity, *, now: datetime | None = None) -> str:
    """What someone on the waitlist is promised, for pages and mails: a freed seat is given to them automatically,
    or, within the offer window, offered to them to accept within the offer's hours."""
    now = now or now_utc()
    hours = f"{activity.offer_hours} hour{'s' if activity.offer_hours != 1 else ''}"
    if activity.offers_seats(now):
        return (f"If a seat frees up, it is offered to you by mail, in waitlist order, and held for you for {hours} "
                "(until the start at the latest): accept it to take it.")
    given = "If a seat frees up, it is yours automatically, in waitlist order, with a calendar invitation"
    starts = activity.offers_from_dt
    if starts is None or now >= activity.start_dt:
        return given + "."
    return (f"{given}; from {format_local(starts, activity.time_zone, '%b %-d')} ({activity.offer_days_before} "
            f"day{'s' if activity.offer_days_before != 1 else ''} before the start) it is offered to you by mail "
            f"instead, held for you for {hours} to accept.")


# ---------------------------------------------------------------- check-in codes

def find_by_checkin_code(activity: Activity, code: str) -> Registration | None:
    """The activity's registration with this code, as scanned (exact) or typed (see normalize_checkin_code)."""
    candidates = {code.strip(), normalize_checkin_code(code)} - {""}
    if not candidates:
        return None
    return db.session.scalar(select(Registration).where(Registration.activity_id == activity.id,
                                                        Registration.checkin_code.in_(candidates)))


# ---------------------------------------------------------------- queries for pages

def schedule_for(user: User) -> list[Registration]:
    """The user's registrations, one per activity (the active one, else the latest cancelled), soonest activity
    first, with what My schedule shows of them loaded (activity, designations, agenda, chosen sessions): a fixed
    number of queries for any number of registrations."""
    registrations = db.session.scalars(
        select(Registration).join(Registration.activity)
        .options(joinedload(Registration.activity).selectinload(Activity.credit_designations),
                 joinedload(Registration.activity).selectinload(Activity.sessions),
                 selectinload(Registration.sessions))
        .where(Registration.user_id == user.id).order_by(Activity.start_dt, Activity.id, Registration.id)
    ).all()
    latest: dict[int, Registration] = {}
    for registration in registrations:
        kept = latest.get(registration.activity_id)
        if kept is None or kept.is_cancelled:  # an active registration wins; else the newest cancelled one
            latest[registration.activity_id] = registration
    return list(latest.values())


def without_superseded(registrations: list[Registration]) -> list[Registration]:
    """Drop cancelled registrations that the same person replaced with a newer one for the same activity."""
    latest: dict[tuple[int, int], int] = {}
    for r in registrations:
        key = (r.user_id, r.activity_id)
        latest[key] = max(latest.get(key, 0), r.id)
    return [r for r in registrations if not (r.is_cancelled and latest[(r.user_id, r.activity_id)] != r.id)]


def join_problem(registration: Registration | None, activity: Activity, *,
                 now: datetime | None = None) -> str | None:
    """Why this registrant (None: someone not registered) may not join the webcast now, or None. A confirmed
    registrant of a webcast that is not cancelled joins an on-demand one while it is available, a live one from
    JOIN_LINK_LEAD before its start until its end."""
    now = now or now_utc()
    if not activity.is_webcast:
        return "This is not a webcast."
    if activity.is_cancelled:
        return "This activity has been cancelled."
    if registration is None or registration.is_cancelled:
        return "Only registered participants can watch."
    if registration.is_offered:
        return "A seat is held for you: accept it on My schedule first."
    if not registration.is_confirmed:
        return "You are on the waitlist."
    if activity.is_on_demand and not (activity.start_dt <= now <= activity.end_dt):
        return "This webcast is not available now."
    if not activity.is_on_demand and not (activity.start_dt - JOIN_LINK_LEAD <= now <= activity.end_dt):
        return "The webcast is not live now."
    return None


def join_link_visible(registration: Registration, *, now: datetime | None = None) -> bool:
    """Whether My schedule shows the registrant the link to join (or watch) now: see join_problem."""
    return join_problem(registration, registration.activity, now=now) is None


def roster(activity: Activity, query: str = "") -> list[Registration]:
    """Everyone registered: confirmed, then the waitlist in order, then cancellations."""
    stmt = (select(Registration).options(selectinload(Registration.user), selectinload(Registration.sessions))
            .where(Registration.activity_id == activity.id)
            .order_by(case((Registration.status == RegistrationStatus.CONFIRMED, 0),
                           (Registration.status.in_(IN_LINE), 1), else_=2),
                      Registration.waitlist_position, Registration.registered_dt, Registration.id))
    if query:
        pattern = f"%{query.lower()}%"
        stmt = stmt.join(Registration.user).where(or_(func.lower(Registration.full_name).like(pattern),
                                                      User.email.like(pattern), Registration.npi.like(pattern)))
    return without_superseded(list(db.session.scalars(stmt)))


# ---------------------------------------------------------------- mail

def queue_registration_mail(registration: Registration, kind: str, *, now: datetime | None = None,
                            by_organizer: bool = False) -> None:
    """Queue the mail for a registration change ("confirmed", "waitlisted", "promoted", "cancelled", and a seat
    offer's "offered", "accepted", "declined", "lapsed"): a seat comes with a calendar REQUEST; losing one sends a
    CANCEL for the event the registrant already has. An offer is no seat yet: no invitation until it is accepted."""
    method = None
    if kind in ("confirmed", "promoted", "accepted"):
        method = "REQUEST"
    elif kind == "cancelled" and registration.confirmed_dt is not None:
        method = "CANCEL"
    queue_registrant_mail(registration, f"registration_{kind}", method=method, now=now, by_organizer=by_organizer)
