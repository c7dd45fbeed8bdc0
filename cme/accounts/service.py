"""Account operations: sign-up, authentication, profile, passwords, password reset."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from cme.accounts.models import Role, User, normalise_email
from cme.errors import DomainError
from cme.extensions import db
from cme.mail.service import queue_mail
from cme.urls import absolute_url

PROFILE_FIELDS = ("full_name", "degree", "profession", "specialty", "npi", "licence_state", "licence_number", "time_zone")


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


def set_role(user: User, role: Role | str) -> None:
    user.role = Role(role).value
    db.session.flush()


# ---------------------------------------------------------------- password reset

def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="cme.password-reset")


def _password_fingerprint(user: User) -> str:
    """Changes whenever the password does, which makes a used link worthless (single use)."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_reset_token(user: User) -> str:
    return _reset_serializer().dumps({"uid": user.id, "pw": _password_fingerprint(user)})


def request_password_reset(email: str) -> bool:
    """Queue a reset mail if the account exists. Callers show the same message either way."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return False
    token = make_reset_token(user)
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
    queue_mail(user.email, "Reset your password", "password_reset", kind="password_reset",
               recipient_name=user.full_name, user=user, minutes=minutes,
               reset_url=absolute_url("accounts.reset_password", token=token))
    return True


def user_for_reset_token(token: str) -> User:
    """The user a reset link belongs to, or AccountError if it is expired, used or forged."""
    try:
        data = _reset_serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except SignatureExpired:
        raise AccountError("This reset link has expired. Ask for a new one below.", code="reset_expired") from None
    except BadSignature:
        raise AccountError("This reset link is not valid. Ask for a new one below.", code="reset_invalid") from None
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or data.get("pw") != _password_fingerprint(user):
        raise AccountError("This reset link has already been used. Ask for a new one below.", code="reset_used")
    return user


def reset_password(token: str, new_password: str) -> User:
    user = user_for_reset_token(token)
    _set_password(user, new_password)
    db.session.flush()
    return user


