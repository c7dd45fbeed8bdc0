"""Account operations: sign-up, authentication, profile, passwords, password reset."""
from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import Select, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from cme.accounts.models import Role, User, normalise_email
from cme.errors import DomainError
from cme.extensions import db
from cme.mail.service import queue_deferred
from cme.timeutil import now_utc

PROFILE_FIELDS = ("full_name", "degree", "profession", "specialty", "npi", "licence_state", "licence_number", "time_zone",
                  "abim_id")


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    """Checked when the email is unknown, so a login takes as long whether or not the account exists."""
    return generate_password_hash("not-a-real-password", method=method)


def _set_password(user: User, password: str) -> None:
    user.set_password(password, method=current_app.config["PASSWORD_HASH_METHOD"])


class AccountError(DomainError):
    """A refused account operation."""


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(email: str, password: str, *, role: Role | str = Role.PROVIDER, **profile: Any) -> User:
    if find_user_by_email(email) is not None:
        raise AccountError("An account with this email already exists. Log in, or reset your password.", code="email_taken",
                           field="email")
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"unknown profile fields: {sorted(unknown)}")
    user = User(email=email, role=Role(role).value, full_name=profile.pop("full_name", "") or email, **profile)
    _set_password(user, password)
    db.session.add(user)
    db.session.flush()
    return user


def sign_up(email: str, password: str, **profile: Any) -> User | None:
    """Sign-up that tells nobody whether the address has an account (issue 13, point 4).

    A new address gets its account and a welcome mail; a taken one leaves its account untouched and mails its
    owner that someone tried to sign up with it. Both paths hash the password once and queue one deferred mail,
    so they answer alike and take alike; the caller shows the same page either way and logs nobody in. Returns
    the new user, or None for a taken address (for the caller's bookkeeping, never for the page)."""
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"unknown profile fields: {sorted(unknown)}")
    owner = find_user_by_email(email)
    if owner is None:
        try:
            user = create_user(email, password, **profile)
        except AccountError as error:  # created meanwhile (a double submit): the same answer as taken
            if error.code != "email_taken":
                raise
            owner = find_user_by_email(email)
    if owner is not None:
        generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])  # the same work
        queue_deferred(owner.email, "Someone tried to sign up with your address", kind="signup_taken",
                       composer="signup_taken", user_id=owner.id)
        return None
    queue_deferred(user.email, "Your account is ready", kind="account_welcome", composer="account_welcome",
                   user_id=user.id)
    return user


def authenticate(email: str, password: str) -> User | None:
    user = find_user_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return None
    if not user.check_password(password) or not user.is_active:
        return None
    return user


def update_profile(user: User, *, email: str, **profile: Any) -> User:
    email = normalise_email(email)
    if email != user.email:
        other = find_user_by_email(email)
        if other is not None and other.id != user.id:
            raise AccountError("Another account already uses this email.", code="email_taken", field="email")
        user.email = email
    for name in PROFILE_FIELDS:
        if name in profile:
            setattr(user, name, profile[name])
    db.session.flush()
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not user.check_password(current_password):
        raise AccountError("Your current password is not correct.", code="wrong_password", field="current_password")
    _set_password(user, new_password)
    db.session.flush()


def users_matching(query: str = "") -> Select:
    """Everyone by name, or those whose name or email contains `query` (the admin's user list)."""
    stmt = select(User).order_by(User.full_name, User.id)
    if query:
        pattern = f"%{query.lower()}%"
        stmt = stmt.where(func.lower(User.full_name).like(pattern) | User.email.like(pattern))
    return stmt


def set_role(user: User, role: Role | str, *, by: User) -> None:
    """An administrator gives someone a role; nobody changes their own (another administrator must)."""
    if user.id == by.id and Role(role).value != user.role:
        raise AccountError("You cannot change your own role; ask another administrator.", code="own_role")
    user.role = Role(role).value
    db.session.flush()


def end_sessions(user: User) -> None:
    """Every session and remember cookie of `user` stops working (log-out, log out everywhere)."""
    user.end_sessions()
    db.session.flush()


# ---------------------------------------------------------------- password reset

class _SignedAt(TimestampSigner):
    """Signs with a given moment instead of now, so a link composed later expires counted from the request."""

    def __init__(self, *args: Any, signed_at: int | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.signed_at = signed_at

    def get_timestamp(self) -> int:
        return super().get_timestamp() if self.signed_at is None else self.signed_at


def _reset_serializer(signed_at: int | None = None) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="cme.password-reset", signer=_SignedAt,
                                  signer_kwargs={"signed_at": signed_at})


def _password_fingerprint(user: User) -> str:
    """Changes whenever the password does, which makes a used link worthless (single use)."""
    return _password_fingerprint_of(user.password_hash)


def _password_fingerprint_of(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def make_reset_token(user: User, *, fingerprint: str | None = None, requested_dt: datetime | None = None) -> str:
    """The reset link's token: signed with SECRET_KEY, it names the user and the password it may replace (its
    fingerprint, by default the current one) and carries the moment it was asked for (default: now), from
    which it expires."""
    signed_at = None if requested_dt is None else int(requested_dt.timestamp())
    return _reset_serializer(signed_at).dumps({"uid": user.id, "pw": fingerprint or _password_fingerprint(user)})


def request_password_reset(email: str, *, now: datetime | None = None) -> bool:
    """Queue a reset mail if the account exists. Callers show the same message either way.

    The row holds no usable secret: the user, the password's fingerprint (a link names it anyway) and the time
    of the request. The `send-mail` worker signs the token from them (cme.accounts.mail), so the link is the one
    this request would have made: it expires counted from now and dies when the password changes."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        _password_fingerprint_of(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]))  # the same work
        return False
    queue_deferred(user.email, "Reset your password", kind="password_reset", composer="password_reset",
                   user_id=user.id, fingerprint=_password_fingerprint(user),
                   requested=(now or now_utc()).isoformat())
    return True


def user_for_reset_token(token: str, *, lock: bool = False) -> User:
    """The user a reset link belongs to, or AccountError if it is expired, used or forged. `lock=True` locks the
    user's row for the rest of the transaction before comparing the password's fingerprint."""
    try:
        data = _reset_serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except SignatureExpired:
        raise AccountError("This reset link has expired. Ask for a new one below.", code="reset_expired") from None
    except BadSignature:
        raise AccountError("This reset link is not valid. Ask for a new one below.", code="reset_invalid") from None
    user_id = data.get("uid") if isinstance(data, dict) else None
    user = None
    if isinstance(user_id, int):
        user = _locked_user(user_id) if lock else db.session.get(User, user_id)
    if user is None or data.get("pw") != _password_fingerprint(user):
        raise AccountError("This reset link has already been used. Ask for a new one below.", code="reset_used")
    return user


def _locked_user(user_id: int) -> User | None:
    """The user's row locked for the rest of the transaction and freshly loaded (PostgreSQL: SELECT ... FOR
    UPDATE; SQLite: a no-op UPDATE takes the database's write lock), as registration's `lock_activity` does."""
    if db.session.get_bind().dialect.name == "sqlite":
        return db.session.scalars(
            update(User).where(User.id == user_id).values(session_version=User.session_version).returning(User),
            execution_options={"synchronize_session": False, "populate_existing": True}).one_or_none()
    return db.session.scalars(select(User).where(User.id == user_id).with_for_update()
                              .execution_options(populate_existing=True)).one_or_none()


def reset_password(token: str, new_password: str) -> User:
    """Set the new password, once per link even when several requests use it at once: the user's row is locked
    before the link's fingerprint is compared, so the requests that waited see the changed password and are told
    the link was used."""
    user = user_for_reset_token(token, lock=True)
    _set_password(user, new_password)
    db.session.flush()
    return user


