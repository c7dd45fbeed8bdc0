"""My schedule: one card per activity the learner registered for, in three lists (upcoming, past, cancelled), each
with where the learner stands and the one next step that follows from it (register, attend, watch, evaluate, pass
the post-test, claim, get the certificate).

Every rule is asked where it lives, for all cards at once, so the page costs the same queries for one registration
or a hundred: registration (join link, whether one may register again), attendance (checked in), credit
(claim_statuses: attendance, evaluation, post-test, claims, deadline; participation.cancellable), and the current
certificates, which the caller passes in (certificates.service.current_certificates_for: certificates sit above
credit, as for the transcript).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from cme.accounts.models import User
from cme.activities.models import Activity
from cme.attendance.service import checked_in
from cme.credit.participation import cancellable
from cme.credit.service import ClaimStatus, claim_statuses
from cme.registration.models import Registration
from cme.registration.service import join_link_visible, registration_problem, schedule_for
from cme.timeutil import now_utc

if TYPE_CHECKING:
    from cme.certificates.models import Certificate


class Step(StrEnum):
    """The learner's next step on a card (None: nothing to do yet but attend, or nothing at all)."""

    WATCH = "watch"  # on demand and available, nothing watched yet
    EVALUATE = "evaluate"
    POST_TEST = "post_test"
    NO_ATTEMPTS = "no_attempts"  # the post-test was failed in every attempt allowed
    CLAIM = "claim"
    CERTIFICATE = "certificate"  # credit claimed, the certificate issued
    CERTIFICATE_PENDING = "certificate_pending"  # credit claimed, the organizers issue certificates
    NO_ATTENDANCE = "no_attendance"  # a live activity over, with no attendance recorded
    DEADLINE_PASSED = "deadline_passed"
    REGISTER_AGAIN = "register_again"  # a cancelled registration, and registration is open


@dataclass
class Card:
    registration: Registration
    section: str  # "upcoming", "past" or "cancelled"
    step: Step | None = None
    status: ClaimStatus | None = None  # a seat in an activity that was held (not cancelled)
    certificate: Certificate | None = None
    checked_in: bool = False
    join_visible: bool = False
    cancellable: bool = False

    @property
    def activity(self) -> Activity:
        return self.registration.activity


@dataclass
class Schedule:
    upcoming: list[Card] = field(default_factory=list)  # soonest first
    past: list[Card] = field(default_factory=list)  # latest first
    cancelled: list[Card] = field(default_factory=list)  # latest first


def my_schedule(user: User, *, certificates: Mapping[int, Certificate], now: datetime | None = None) -> Schedule:
    """The learner's cards (`certificates`: {activity_id: their current certificate})."""
    now = now or now_utc()
    registrations = schedule_for(user)
    held = [r for r in registrations if not r.is_cancelled and not r.activity.is_cancelled]
    seated = [r for r in held if r.is_confirmed]
    statuses = claim_statuses(user, [r.activity for r in seated], now=now)
    arrived = checked_in(held)
    may_cancel = cancellable(held, now=now)
    schedule = Schedule()
    for registration in registrations:
        activity = registration.activity
        card = Card(registration, "upcoming", checked_in=registration.id in arrived,
                    cancellable=registration.id in may_cancel, join_visible=join_link_visible(registration, now=now),
                    status=statuses.get(activity.id), certificate=certificates.get(activity.id))
        if registration.is_cancelled or activity.is_cancelled:
            card.section = "cancelled"
            if not activity.is_cancelled and registration_problem(activity, now=now) is None:
                card.step = Step.REGISTER_AGAIN
        else:
            card.step = next_step(card, now=now)
            completed = activity.is_on_demand and card.status is not None and bool(card.status.records)
            card.section = "past" if activity.has_ended(now) or completed else "upcoming"
        getattr(schedule, card.section).append(card)
    schedule.past.reverse()
    schedule.cancelled.reverse()
    return schedule


def next_step(card: Card, *, now: datetime) -> Step | None:
    """The one thing to do next for a seat held in an activity, from its claim status and certificate."""
    status, activity = card.status, card.activity
    if status is None:  # waitlisted: the card says where on the list
        return None
    if status.records:
        return Step.CERTIFICATE if card.certificate is not None else Step.CERTIFICATE_PENDING
    reasons = status.reasons
    if {"no_credit", "not_for_you", "not_ended"} & reasons.keys():
        return None
    if activity.is_on_demand and now < activity.start_dt:
        return None  # not released yet: the card says when
    if "deadline" in reasons:
        return Step.DEADLINE_PASSED
    if "no_attendance" in reasons:
        return Step.WATCH if activity.is_on_demand and not activity.has_ended(now) else Step.NO_ATTENDANCE
    if "evaluation" in reasons:
        return Step.EVALUATE
    if "post_test_exhausted" in reasons:
        return Step.NO_ATTEMPTS
    if "post_test" in reasons:
        return Step.POST_TEST
    return Step.CLAIM if status.open else None
