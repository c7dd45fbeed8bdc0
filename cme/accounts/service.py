"""Account operations: sign-up, authentication, profile, passwords, password reset, and the email address:
verifying it, and changing it through a link mailed to the new one."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from cme.accounts import throttle
from cme.accounts.identity import OTHER_BOARD_FIELDS
from cme.accounts.identity_service import note_licence, set_reporting_identity
from cme.accounts.models import Role, User, normalise_email
from cme.errors import DomainError
from cme.extensions import db
from cme.mail.service import queue_deferred
from cme.timeutil import now_utc

PROFILE_FIELDS = ("full_name", "degree", "profession", "specialty", "npi", "time_zone", "abim_id")
# The profile's reporting identity (issue 16, point 1: cme.accounts.identity_service.set_reporting_identity).
REPORTING_FIELDS = ("birth_month", "birth_day", "nabp_eprofile_id", *OTHER_BOARD_FIELDS)
# Sign-up also asks for one licence, which becomes one of the learner's licences (identity_service.note_licence).
LICENCE_FIELDS = ("licence_state", "licence_number")


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


def create_user(email: str, password: str, *, role: Role | str = Role.PROVIDER, verified: bool = True,
                now: datetime | None = None, **profile: Any) -> User:
    """An account. Its address counts as verified unless `verified=False`: accounts made by an administrator, the
    CLI or the demo are vouched for by whoever made them; `sign_up`, where anyone types any address, passes
    False and the welcome mail carries the link that verifies it."""
    if find_user_by_email(email) is not None:
        raise AccountError("An account with this email already exists. Log in, or reset your password.", code="email_taken",
                           field="email")
    unknown = set(profile) - set(PROFILE_FIELDS) - set(LICENCE_FIELDS)
    if unknown:
        raise TypeError(f"unknown profile fields: {sorted(unknown)}")
    state, number = profile.pop("licence_state", None), profile.pop("licence_number", None)
    user = User(email=email, role=Role(role).value, full_name=profile.pop("full_name", "") or email,
                email_verified_dt=(now or now_utc()) if verified else None, **profile)
    _set_password(user, password)
    db.session.add(user)
    db.session.flush()
    if state and number:
        note_licence(user, state, number)
    return user


def sign_up(email: str, password: str, *, client: str | None = None, now: datetime | None = None,
            **profile: Any) -> User | None:
    """Sign-up that tells nobody whether the address has an account (issue 13, point 4).

    A new address gets its account and a welcome mail; a taken one leaves its account untouched and mails its
    owner that someone tried to sign up with it. Both paths hash the password once and queue one deferred mail,
    so they answer alike and take alike; the caller shows the same page either way and logs nobody in. Returns
    the new user, or None for a taken address (for the caller's bookkeeping, never for the page).

    Every sign-up counts against the `client` address (issue 13, point 3), taken address or not; over the limit
    it is refused (throttle.Throttled) before anything is looked up.

    The new account's address is not verified yet (issue 13, point 2): the welcome mail carries the link that
    verifies it, which registering for activities needs."""
    unknown = set(profile) - set(PROFILE_FIELDS) - set(LICENCE_FIELDS)
    if unknown:
        raise TypeError(f"unknown profile fields: {sorted(unknown)}")
    throttle.reserve((throttle.SIGNUP_CLIENT, client))
    now = now or now_utc()
    owner = find_user_by_email(email)
    if owner is None:
        try:
            user = create_user(email, password, verified=False, now=now, **profile)
        except AccountError as error:  # created meanwhile (a double submit): the same answer as taken
            if error.code != "email_taken":
                raise
            owner = find_user_by_email(email)
    if owner is not None:
        generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])  # the same work
        queue_deferred(owner.email, "Someone tried to sign up with your address", kind="signup_taken",
                       composer="signup_taken", user_id=owner.id)
        return None
    queue_deferred(user.email, "Your account is ready: confirm your email address", kind="account_welcome",
                   composer="account_welcome", user_id=user.id, email=user.email, requested=now.isoformat())
    return user


def authenticate(email: str, password: str) -> User | None:
    user = find_user_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return None
    if not user.check_password(password) or not user.is_active:
        return None
    return user


def log_in(email: str, password: str, *, client: str, now: datetime | None = None) -> User:
    """The user whose email and password these are, throttled (issue 13, point 3). Each attempt counts against
    the client address and the account (known or not: the answers are alike) before the password is checked; over
    either limit it is refused (throttle.Throttled) even with the right password, until the window ends. A
    success hands back the client's hit and clears the account's failures."""
    email = normalise_email(email)
    throttle.reserve((throttle.LOGIN_CLIENT, client), (throttle.LOGIN_ACCOUNT, email), now=now)
    user = authenticate(email, password)
    if user is None:
        raise AccountError("The email or password is not correct.", code="wrong_credentials", field="password")
    throttle.release((throttle.LOGIN_CLIENT, client))
    throttle.clear((throttle.LOGIN_ACCOUNT, email))
    return user


def update_profile(user: User, **profile: Any) -> User:
    """Who the user is professionally. Not the email address: that changes only through a link mailed to the new
    one (`request_email_change`). With it, what reporting credit needs (REPORTING_FIELDS: birthday, NABP
    e-Profile ID, the other boards' IDs)."""
    unknown = set(profile) - set(PROFILE_FIELDS) - set(REPORTING_FIELDS)
    if unknown:
        raise TypeError(f"unknown profile fields: {sorted(unknown)}")
    for name in PROFILE_FIELDS:
        if name in profile:
            setattr(user, name, profile[name])
    set_reporting_identity(user, **{name: profile[name] for name in REPORTING_FIELDS if name in profile})
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


# ---------------------------------------------------------------- password links (reset, first password)

@dataclass(frozen=True)
class PasswordLink:
    """A kind of link that sets a password: its own salt (a link of one kind is worthless as the other), its
    lifetime (a config key, in seconds), and what a dead link says. Every kind works once: it names the
    password it may replace, so it dies when the password changes."""

    salt: str
    max_age_setting: str
    code: str
    expired: str
    invalid: str
    used: str


RESET = PasswordLink("cme.password-reset", "PASSWORD_RESET_MAX_AGE", "reset",
                     "This reset link has expired. Ask for a new one below.",
                     "This reset link is not valid. Ask for a new one below.",
                     "This reset link has already been used. Ask for a new one below.")
# The first password of an account someone else created: a walk-in registered at a meeting's desk (issue 14,
# point 13). The person may read the mail days later, so it lasts longer than a reset link.
SET_PASSWORD = PasswordLink("cme.password-set", "SET_PASSWORD_MAX_AGE", "set_password",
                            "This link to choose your password has expired. Ask for a reset link below: it sets "
                            "your password just the same.",
                            "This link to choose your password is not valid. Ask for a reset link below.",
                            "Your password has already been chosen with this link. Log in, or ask for a reset "
                            "link below.")


class _SignedAt(TimestampSigner):
    """Signs with a given moment instead of now, so a link composed later expires counted from the request."""

    def __init__(self, *args: Any, signed_at: int | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.signed_at = signed_at

    def get_timestamp(self) -> int:
        return super().get_timestamp() if self.signed_at is None else self.signed_at


def _serializer(salt: str, signed_at: int | None = None) -> URLSafeTimedSerializer:
    """Signs a link's data with SECRET_KEY; each kind of link has its own salt, so one never passes for another."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt, signer=_SignedAt,
                                  signer_kwargs={"signed_at": signed_at})


def _password_fingerprint(user: User) -> str:
    """Changes whenever the password does, which makes a used link worthless (single use)."""
    return _password_fingerprint_of(user.password_hash)


def _password_fingerprint_of(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def make_reset_token(user: User, *, fingerprint: str | None = None, requested_dt: datetime | None = None,
                     link: PasswordLink = RESET) -> str:
    """The link's token: signed with SECRET_KEY, it names the user and the password it may replace (its
    fingerprint, by default the current one) and carries the moment it was asked for (default: now), from
    which it expires."""
    signed_at = None if requested_dt is None else int(requested_dt.timestamp())
    return _serializer(link.salt, signed_at).dumps({"uid": user.id, "pw": fingerprint or _password_fingerprint(user)})


def request_password_reset(email: str, *, client: str | None = None, now: datetime | None = None) -> bool:
    """Queue a reset mail if the account exists. Callers show the same message either way.

    Every request counts against the `client` address and the email address, known or not (issue 13, point 3):
    over either limit it is refused (throttle.Throttled) before the account is looked up.

    The row holds no usable secret: the user, the password's fingerprint (a link names it anyway) and the time
    of the request. The `send-mail` worker signs the token from them (cme.accounts.mail), so the link is the one
    this request would have made: it expires counted from now and dies when the password changes."""
    throttle.reserve((throttle.RESET_CLIENT, client), (throttle.RESET_EMAIL, normalise_email(email)), now=now)
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        _password_fingerprint_of(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]))  # the same work
        return False
    queue_deferred(user.email, "Reset your password", kind="password_reset", composer="password_reset",
                   user_id=user.id, fingerprint=_password_fingerprint(user),
                   requested=(now or now_utc()).isoformat())
    return True


def create_invited_account(email: str, *, invited_to: str, now: datetime | None = None, **profile: Any) -> User:
    """An account created for someone else (a walk-in registered at a meeting's desk, issue 14 point 13): an
    unguessable password nobody knows, and a mail with a link to choose one (SET_PASSWORD: single use, valid
    SET_PASSWORD_MAX_AGE). `invited_to` names what it was created for, in the mail. The person has not shown
    that they read this mailbox; choosing the password through the link is what shows it."""
    user = create_user(email, secrets.token_urlsafe(32), verified=False, **profile)
    queue_deferred(user.email, f"Choose a password for your account: {invited_to}", kind="account_invited",
                   composer="account_invited", user_id=user.id, fingerprint=_password_fingerprint(user),
                   requested=(now or now_utc()).isoformat(), invited_to=invited_to)
    return user


def user_for_reset_token(token: str, *, link: PasswordLink = RESET, lock: bool = False) -> User:
    """The user a link belongs to, or AccountError if it is expired, used or forged. `lock=True` locks the user's
    row for the rest of the transaction before comparing the password's fingerprint."""
    try:
        data = _serializer(link.salt).loads(token, max_age=current_app.config[link.max_age_setting])
    except SignatureExpired:
        raise AccountError(link.expired, code=f"{link.code}_expired") from None
    except BadSignature:
        raise AccountError(link.invalid, code=f"{link.code}_invalid") from None
    user_id = data.get("uid") if isinstance(data, dict) else None
    user = None
    if isinstance(user_id, int):
        user = _locked_user(user_id) if lock else db.session.get(User, user_id)
    if user is None or data.get("pw") != _password_fingerprint(user):
        raise AccountError(link.used, code=f"{link.code}_used")
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


def reset_password(token: str, new_password: str, *, link: PasswordLink = RESET, now: datetime | None = None) -> User:
    """Set the new password from a link (a reset, or a walk-in's first password), once per link even when several
    requests use it at once: the user's row is locked before the link's fingerprint is compared, so the requests
    that waited see the changed password and are told the link was used. The link came to the account's address
    (it cannot have changed since: a change confirmed in between verifies the new one), so following it proves
    that address too. The account's log-in failures are forgotten as well (before this request writes: the
    counter has its own transaction)."""
    user = user_for_reset_token(token, link=link)
    throttle.clear((throttle.LOGIN_ACCOUNT, user.email))  # its own transaction, before this one takes a write lock
    user = user_for_reset_token(token, link=link, lock=True)
    _set_password(user, new_password)
    if user.email_verified_dt is None:
        user.email_verified_dt = now or now_utc()
    db.session.flush()
    return user


# ---------------------------------------------------------------- the email address (issue 13, point 2)
#
# Two signed links, in the style of the reset link: the worker signs them from what the request froze (who, which
# addresses, when), so a link composed late expires counted from the request. Neither row in the outbox holds a
# usable link.
#
# - Verification: {"uid", "em": the address it verifies}. It verifies `em` while that is still the account's
#   address; once verified, following it again only says so.
# - Email change: {"uid", "old", "new", "req": when it was asked for (to the microsecond, as stored), "pw": the
#   password's fingerprint}. It works while the account still has `old`, the pending change is that one (`new`,
#   asked for at `req`: a newer request, a cancellation or a completed change ends it) and the password is
#   unchanged (a new password ends it). The page behind it needs the account logged in, too.

VERIFICATION_SALT = "cme.email-verification"
EMAIL_CHANGE_SALT = "cme.email-change"


def _token_data(salt: str, token: str, max_age: int, *, link: str, again: str) -> dict:
    """The data of a link, or AccountError when it is expired or not one we signed (`again`: how to get a new one)."""
    try:
        data = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise AccountError(f"This {link} has expired. {again}", code="link_expired") from None
    except BadSignature:
        raise AccountError(f"This {link} is not valid. {again}", code="link_invalid") from None
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        raise AccountError(f"This {link} is not valid. {again}", code="link_invalid")
    return data


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def make_verification_token(user: User, *, email: str | None = None, requested_dt: datetime | None = None) -> str:
    """The link that verifies `email` (default: the account's address), expiring counted from `requested_dt`."""
    signed_at = None if requested_dt is None else _seconds(requested_dt)
    return _serializer(VERIFICATION_SALT, signed_at).dumps({"uid": user.id, "em": email or user.email})


def resend_verification(user: User, *, now: datetime | None = None) -> None:
    """Queue one more mail with a verification link, as the welcome mail has (the old links keep working until
    they expire). The row freezes who, which address and when; the worker signs the link from them."""
    if user.is_email_verified:
        raise AccountError("Your email address is already confirmed.", code="already_verified")
    queue_deferred(user.email, "Confirm your email address", kind="email_verification", composer="email_verification",
                   user_id=user.id, email=user.email, requested=(now or now_utc()).isoformat())


def user_for_verification_token(token: str) -> User:
    """The user a verification link is for, or AccountError if it is expired, forged, or for an address the
    account no longer has. An account already verified is returned as it is: the caller says so."""
    again = "Your profile can send a new one."
    data = _token_data(VERIFICATION_SALT, token, current_app.config["EMAIL_VERIFICATION_MAX_AGE"],
                       link="confirmation link", again=again)
    user = db.session.get(User, data["uid"])
    if user is None:
        raise AccountError(f"This confirmation link is not valid. {again}", code="link_invalid")
    if data.get("em") != user.email:
        raise AccountError("This confirmation link is for an address your account no longer has.", code="link_used")
    return user


def verify_email(token: str, *, now: datetime | None = None) -> User:
    """Mark the address the link was sent to as verified (once; following it again changes nothing)."""
    user = user_for_verification_token(token)
    if user.email_verified_dt is None:
        user.email_verified_dt = now or now_utc()
        db.session.flush()
    return user


class PendingEmail(NamedTuple):
    email: str
    expires_dt: datetime


def pending_email_change(user: User, *, now: datetime | None = None) -> PendingEmail | None:
    """The change of address waiting for its link to be followed, while that link still works."""
    if user.pending_email is None or user.pending_email_dt is None:
        return None
    expires = user.pending_email_dt + timedelta(seconds=current_app.config["EMAIL_CHANGE_MAX_AGE"])
    return PendingEmail(user.pending_email, expires) if (now or now_utc()) < expires else None


def make_email_change_token(user: User, *, old_email: str, new_email: str, requested_dt: datetime,
                            fingerprint: str | None = None) -> str:
    """The link, sent to `new_email`, that confirms the change asked for at `requested_dt`."""
    return _serializer(EMAIL_CHANGE_SALT, _seconds(requested_dt)).dumps(
        {"uid": user.id, "old": old_email, "new": new_email, "req": requested_dt.isoformat(),
         "pw": fingerprint or _password_fingerprint(user)})


def request_email_change(user: User, new_email: str, current_password: str, *, now: datetime | None = None) -> str:
    """Ask to use `new_email`: nothing changes until the link mailed there is followed (`confirm_email_change`);
    the current address is told. Needs the current password, so a session alone (a cookie left on a shared
    computer, or stolen) cannot move the account to another mailbox. Whether another account has the new
    address is not said here (the answer would tell whoever asks): the link's page says it, to the person who
    holds that mailbox. Returns the new address."""
    if not user.check_password(current_password):
        raise AccountError("Your current password is not correct.", code="wrong_password", field="current_password")
    new_email = normalise_email(new_email)
    if new_email == user.email:
        raise AccountError("This is already your email address.", code="same_email", field="email")
    now = now or now_utc()
    user.pending_email, user.pending_email_dt = new_email, now
    queue_deferred(new_email, "Confirm your new email address", kind="email_change_confirm",
                   composer="email_change_confirm", user_id=user.id, old_email=user.email, new_email=new_email,
                   fingerprint=_password_fingerprint(user), requested=now.isoformat())
    queue_deferred(user.email, "A change of your email address was asked for", kind="email_change_requested",
                   composer="email_change_requested", user_id=user.id, old_email=user.email, new_email=new_email,
                   requested=now.isoformat())
    db.session.flush()
    return new_email


def email_change_for_token(user: User, token: str) -> str:
    """The new address a change link confirms for `user` (who is logged in), or AccountError when the link is
    expired, forged, for another account, or no longer the pending change (used, replaced by a newer request,
    cancelled, or the password changed)."""
    data = _token_data(EMAIL_CHANGE_SALT, token, current_app.config["EMAIL_CHANGE_MAX_AGE"],
                       link="link to confirm a new address", again="Ask for the change again below.")
    if data["uid"] != user.id:
        raise AccountError("This link was sent for another account. Log out, log in to the account that asked for "
                           "the change, and follow the link again.", code="link_other_account")
    pending = user.pending_email_dt
    if (data.get("old") != user.email or data.get("new") != user.pending_email or pending is None
            or data.get("req") != pending.isoformat() or data.get("pw") != _password_fingerprint(user)):
        raise AccountError("This link no longer works: it was used already, or the change was cancelled, replaced "
                           "by a newer one or ended by a new password. Ask for the change again below if you still "
                           "want it.", code="link_used")
    return data["new"]


def _address_taken(new_email: str) -> AccountError:
    return AccountError(f"{new_email} is already the address of another account, so your address was not changed. "
                        "Log in to that account, or choose another address.", code="email_taken")


def confirm_email_change(user: User, token: str, *, now: datetime | None = None) -> str:
    """Follow the change link: the account takes the new address (verified: the link went there), every other
    session ends (`User.end_sessions`; the caller keeps its own), and the old address is told. Returns the old
    address. Refused when another account has the new address by now."""
    new_email = email_change_for_token(user, token)
    if find_user_by_email(new_email) is not None:
        raise _address_taken(new_email)
    now = now or now_utc()
    old_email = user.email
    user.email = new_email
    user.email_verified_dt = now
    user.drop_pending_email()
    user.end_sessions()
    try:
        db.session.flush()
    except IntegrityError:  # another account took the address after the check (the unique constraint says so)
        raise _address_taken(new_email) from None
    queue_deferred(old_email, "Your email address was changed", kind="email_changed", composer="email_changed",
                   user_id=user.id, old_email=old_email, new_email=new_email, changed=now.isoformat())
    return old_email


def cancel_email_change(user: User) -> None:
    """Drop the pending change: its link stops working."""
    user.drop_pending_email()
    db.session.flush()
