"""Registrations: who holds a seat (or a waitlist place) at an activity."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Optional

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme.accounts.models import profession_label
from cme.enums import LabeledEnum, check_in
from cme.extensions import db
from cme.timeutil import UTCDateTime, now_utc

if TYPE_CHECKING:
    from cme.accounts.models import User
    from cme.activities.models import Activity, ActivitySession


class RegistrationStatus(LabeledEnum):
    CONFIRMED = "confirmed", "Confirmed"
    WAITLISTED = "waitlisted", "Waitlisted"
    # Issue 14, point 16: a seat held for this person (it counts as taken) until they accept it, decline it, or
    # `offer_expires_dt` passes; they keep their waitlist position meanwhile.
    OFFERED = "offered", "Offered a seat"
    CANCELLED = "cancelled", "Cancelled"


# The statuses of people in the waitlist's order (with a `waitlist_position`): waiting, or holding an offer.
IN_LINE = (RegistrationStatus.WAITLISTED.value, RegistrationStatus.OFFERED.value)


class OfferOutcome(LabeledEnum):
    """How a seat offer ended (None while it is open, or when the organizers seated the person themselves)."""

    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    LAPSED = "lapsed", "Lapsed"


registration_sessions = Table(
    "registration_sessions",
    db.metadata,
    Column("registration_id", ForeignKey("registrations.id", ondelete="CASCADE"), primary_key=True),
    Column("session_id", ForeignKey("activity_sessions.id", ondelete="CASCADE"), primary_key=True, index=True),
)


# A confirmed registrant of a live webcast sees its join link this long before the start (see
# registration.service.join_problem); pages and mails that say so read the minutes from here.
JOIN_LINK_LEAD = timedelta(minutes=30)
JOIN_LINK_LEAD_MINUTES = int(JOIN_LINK_LEAD.total_seconds() // 60)

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O or U to misread
CODE_LENGTH = 20  # 100 random bits; looked up only by the activity's organizers, within that activity


def new_checkin_code() -> str:
    """An unguessable code identifying a registration at the door, easy to read out and type."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_checkin_code(typed: str) -> str:
    """What someone typed, as stored: case, spaces and dashes ignored, look-alikes (I, L → 1; O → 0) mended."""
    cleaned = "".join(ch for ch in typed.upper() if ch.isalnum())
    return cleaned.translate(str.maketrans({"I": "1", "L": "1", "O": "0"}))


def display_checkin_code(code: str) -> str:
    """Groups of five for people to read (older codes, from before this alphabet, are shown as they are)."""
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return code
    return "-".join(code[i:i + 5] for i in range(0, len(code), 5))


class Registration(db.Model):
    __tablename__ = "registrations"
    __table_args__ = (
        CheckConstraint(check_in("status", RegistrationStatus), name="status"),
        CheckConstraint(
            "(status IN ('waitlisted', 'offered') AND waitlist_position IS NOT NULL AND waitlist_position > 0) "
            "OR (status NOT IN ('waitlisted', 'offered') AND waitlist_position IS NULL)",
            name="waitlist_position",
        ),
        CheckConstraint("status <> 'offered' OR offer_expires_dt IS NOT NULL", name="offer_has_deadline"),
        CheckConstraint(f"offer_outcome IS NULL OR {check_in('offer_outcome', OfferOutcome)}", name="offer_outcome"),
        # At most one active (non-cancelled) registration per user and activity.
        Index(
            "uq_registrations_active_user_activity",
            "user_id",
            "activity_id",
            unique=True,
            sqlite_where=text("status <> 'cancelled'"),
            postgresql_where=text("status <> 'cancelled'"),
        ),
        Index("ix_registrations_activity_status", "activity_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    waitlist_position: Mapped[Optional[int]]
    checkin_code: Mapped[str] = mapped_column(String(32), unique=True, default=new_checkin_code)
    # What the registrant told us (snapshot of identity at registration time, plus needs).
    full_name: Mapped[str] = mapped_column(String(200), default="")
    degree: Mapped[str] = mapped_column(String(40), default="")
    profession: Mapped[str] = mapped_column(String(40), default="")
    npi: Mapped[Optional[str]] = mapped_column(String(10))
    licence_state: Mapped[Optional[str]] = mapped_column(String(2))
    licence_number: Mapped[Optional[str]] = mapped_column(String(40))
    dietary_needs: Mapped[str] = mapped_column(Text, default="")
    accessibility_needs: Mapped[str] = mapped_column(Text, default="")
    attested_professional: Mapped[bool] = mapped_column(default=False)
    # SEQUENCE of the last calendar invitation (REQUEST or CANCEL) mailed for this registrant and activity.
    invite_sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    registered_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    confirmed_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    cancelled_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # The last seat offer made to this registrant: when it was made, until when it stands, and how it ended.
    offered_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    offer_expires_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    offer_outcome: Mapped[Optional[str]] = mapped_column(String(20))
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    user: Mapped[User] = relationship()
    activity: Mapped[Activity] = relationship()
    sessions: Mapped[list[ActivitySession]] = relationship(secondary=registration_sessions)

    @property
    def status_label(self) -> str:
        return RegistrationStatus(self.status).label

    @property
    def profession_label(self) -> str:
        return profession_label(self.profession)

    @property
    def is_confirmed(self) -> bool:
        return self.status == RegistrationStatus.CONFIRMED

    @property
    def is_waitlisted(self) -> bool:
        return self.status == RegistrationStatus.WAITLISTED

    @property
    def is_offered(self) -> bool:
        return self.status == RegistrationStatus.OFFERED

    @property
    def is_cancelled(self) -> bool:
        return self.status == RegistrationStatus.CANCELLED

    @property
    def holds_seat(self) -> bool:
        """Confirmed, or holding an offer: a seat counted as taken."""
        return self.status in (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED)

    @property
    def offer_deadline(self) -> datetime | None:
        """When the last offer made to this registrant stops (stopped) standing: its expiry, or the activity's
        start if that comes first (an activity moved earlier)."""
        if self.offer_expires_dt is None:
            return None
        return min(self.offer_expires_dt, self.activity.start_dt)

    def offer_stands(self, now: datetime | None = None) -> bool:
        """A seat is held for this registrant now, theirs to accept or decline: offered, before the offer's
        deadline, in an activity that is not cancelled (registration.service.offer_problem says why not)."""
        return (self.is_offered and not self.activity.is_cancelled
                and (now or now_utc()) < self.offer_deadline)
