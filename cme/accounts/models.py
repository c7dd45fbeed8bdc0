"""Users: who they are professionally, and what they may do here."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Optional

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column, validates
from werkzeug.security import check_password_hash, generate_password_hash

from cme.enums import LabeledEnum, check_in
from cme.extensions import db
from cme.timeutil import UTCDateTime, now_utc


class Role(LabeledEnum):
    PROVIDER = "provider", "Provider"
    ORGANIZER = "organizer", "Organizer"
    ADMIN = "admin", "Administrator"


class Profession(LabeledEnum):
    PHYSICIAN = "physician", "Physician"
    PHYSICIAN_ASSISTANT = "physician_assistant", "Physician assistant"
    NURSE_PRACTITIONER = "nurse_practitioner", "Nurse practitioner"
    NURSE = "nurse", "Nurse"
    PHARMACIST = "pharmacist", "Pharmacist"
    PHARMACY_TECHNICIAN = "pharmacy_technician", "Pharmacy technician"
    OTHER = "other", "Other healthcare professional"


def profession_label(value: str | None) -> str:
    """How a profession is spelled everywhere (profile, roster, CSV, check-in): "" when none was given."""
    return Profession(value).label if value in Profession._value2member_map_ else ""


DEGREES = ["MD", "DO", "MBBS", "PhD", "PA-C", "NP", "APRN", "DNP", "RN", "BSN", "MSN", "LPN",
           "PharmD", "RPh", "CPhT", "MPH", "Other"]

# Medical degrees that make their holder a physician (AMA: "MD, DO and equivalent degrees from other countries").
PHYSICIAN_DEGREES = ("MD", "DO", "MBBS")

# An ABIM ID (the board's number for a diplomate or candidate) is six digits.
ABIM_ID_PATTERN = r"[0-9]{6}"

US_STATES = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
    "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
    "AS", "GU", "MP", "PR", "VI",
]


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(check_in("role", Role), name="role"),
        CheckConstraint(check_in("profession", Profession), name="profession"),
        # Emails are stored lower-cased, so the unique constraint is case-insensitive.
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("npi IS NULL OR length(npi) = 10", name="npi_length"),
        CheckConstraint("abim_id IS NULL OR length(abim_id) = 6", name="abim_id_length"),  # issue 12, point 2
        # Issue 16, point 1: a birthday is a month and a day, both or neither; never the year.
        CheckConstraint("(birth_month IS NULL) = (birth_day IS NULL)", name="birth_month_with_day"),
        CheckConstraint("birth_month IS NULL OR (birth_month BETWEEN 1 AND 12 AND birth_day BETWEEN 1 AND 31)",
                        name="birth_month_day_range"),
        # Issue 13, point 2: a pending email change is an address and the moment it was asked for, or neither.
        CheckConstraint("(pending_email IS NULL) = (pending_email_dt IS NULL)", name="pending_email_with_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(200))
    degree: Mapped[str] = mapped_column(String(40), default="")
    profession: Mapped[str] = mapped_column(String(40), default=Profession.PHYSICIAN.value)
    specialty: Mapped[str] = mapped_column(String(120), default="")
    npi: Mapped[Optional[str]] = mapped_column(String(10))
    time_zone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    role: Mapped[str] = mapped_column(String(20), default=Role.PROVIDER.value)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    password_changed_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # Personal calendar feed: the URL token is HMAC(SECRET_KEY, nonce); only the nonce and the token's
    # SHA-256 are stored, so neither the database alone nor a leaked nonce reveals a working URL.
    feed_token_nonce: Mapped[Optional[str]] = mapped_column(String(64))
    feed_token_hash: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    # Issue 12, point 2 (who may claim what): the ABIM ID, which ABIM MOC points need.
    abim_id: Mapped[Optional[str]] = mapped_column(String(6))
    # Issue 16, point 1 (cme/accounts/identity.py holds the rest: licences and the other boards' IDs).
    nabp_eprofile_id: Mapped[Optional[str]] = mapped_column(String(7))
    birth_month: Mapped[Optional[int]]
    birth_day: Mapped[Optional[int]]
    # Issue 13, point 1 (sessions the server can revoke): every session and remember cookie names the version it
    # was issued under; raising it (log-out, log out everywhere, a password change or reset) ends them all.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Issue 13, point 2 (email changes and verification): when the owner of `email` proved it by following a link
    # mailed there (NULL: not yet; sign-up starts so). A change of address asked for and not yet confirmed through
    # the link mailed to the new address: that address and when it was asked for (the link names both).
    email_verified_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    pending_email: Mapped[Optional[str]] = mapped_column(String(254))
    pending_email_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Issue 13, point 8: when the learner closed the account (cme.privacy: what it keeps, and for how long).
    closed_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    @validates("email")
    def _normalise_email(self, _key: str, value: str) -> str:
        return normalise_email(value)

    def set_password(self, password: str, *, method: str = "scrypt") -> None:
        """A new password ends every session and any pending email change (its link names the old password)."""
        self.password_hash = generate_password_hash(password, method=method)
        self.password_changed_dt = now_utc()
        self.end_sessions()
        self.drop_pending_email()

    def drop_pending_email(self) -> None:
        self.pending_email = None
        self.pending_email_dt = None

    def end_sessions(self) -> None:
        """Every session and remember cookie issued so far stops working (issue 13, point 1)."""
        self.session_version = (self.session_version or 0) + 1

    def session_id(self) -> str:
        """What a log-in stores in the session and the remember cookie (Flask-Login's `id_attribute`): the user,
        the session version, and a random part so the remember cookie differs at every log-in."""
        return f"{self.id}:{self.session_version or 0}:{secrets.token_urlsafe(12)}"

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    @property
    def is_email_verified(self) -> bool:
        return self.email_verified_dt is not None

    @property
    def is_organizer(self) -> bool:
        return self.role in (Role.ORGANIZER, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_physician(self) -> bool:
        """A physician for AMA PRA credit: the profession says so, or (for "Other healthcare professional") the
        degree does (MD, DO or an equivalent medical degree)."""
        return self.profession == Profession.PHYSICIAN or (
            self.profession == Profession.OTHER and self.degree in PHYSICIAN_DEGREES)

    @property
    def display_name(self) -> str:
        return f"{self.full_name}, {self.degree}" if self.degree else self.full_name

    @property
    def profession_label(self) -> str:
        return profession_label(self.profession)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


def normalise_email(value: str) -> str:
    return (value or "").strip().lower()


class ThrottleCounter(db.Model):
    """How often one thing (a scope: log-in failures per account, reset requests per client address, ...) was
    done by one key in the current window, which ends at `expires_dt` (cme/accounts/throttle.py). The key is an
    HMAC of the address or email, never the value itself. Counters are not domain data: every worker and host
    bumps them in its own short transaction, GET requests included."""

    __tablename__ = "throttle_counters"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    hits: Mapped[int] = mapped_column()
    expires_dt: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
