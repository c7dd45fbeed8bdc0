"""The account mails, composed by the `send-mail` worker from the rows the account service queues: the password
reset (`request_password_reset`); the welcome (with the link that verifies the address) or the "someone tried
your address" mail of a sign-up (`sign_up`) and the verification link sent again (`resend_verification`); and the
three mails of a change of address (`request_email_change`, `confirm_email_change`): the link to the new address,
and the notices to the old one that a change was asked for and that it was made;
and the "choose your password" mail of an account created at a meeting's desk (`create_invited_account`).

Registered by the app factory (`cme.register_mail_composers`), like every composer.
"""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Any

from flask import current_app

from cme.accounts.models import User
from cme.accounts.service import SET_PASSWORD, make_email_change_token, make_reset_token, make_verification_token
from cme.extensions import db
from cme.mail.models import OutboxMessage
from cme.mail.service import Composer, compose_mail
from cme.urls import absolute_url


def compose_password_reset(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    """The reset link signed now from what the request froze (user, password fingerprint, time of the request):
    the same link the request would have made, expiring counted from the request, dead once the password
    changed."""
    user = db.session.get(User, payload["user_id"])
    if user is None:
        raise LookupError(f"user {payload['user_id']} no longer exists")
    requested = datetime.fromisoformat(payload["requested"])
    token = make_reset_token(user, fingerprint=payload["fingerprint"], requested_dt=requested)
    return compose_mail(message.recipient, message.subject, "password_reset", recipient_name=user.full_name,
                        date=requested, user=user, minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60,
                        reset_url=absolute_url("accounts.reset_password", token=token))


def _user(payload: dict[str, Any]) -> User:
    user = db.session.get(User, payload["user_id"])
    if user is None:
        raise LookupError(f"user {payload['user_id']} no longer exists")
    return user


def _hours(seconds: int) -> str:
    hours = seconds // 3600
    if hours % 24 == 0 and hours >= 48:
        return f"{hours // 24} days"
    return f"{hours} hours" if hours != 1 else "1 hour"


def _verification_context(user: User, payload: dict[str, Any]) -> dict[str, Any]:
    """The link that verifies the address the row was queued for, signed as of the request; none (None) once the
    account is verified (a welcome queued before the migration that verified every existing account, or a
    verification sent again after the first link was followed)."""
    requested = datetime.fromisoformat(payload["requested"]) if "requested" in payload else None
    verify_url = None
    if not user.is_email_verified:
        token = make_verification_token(user, email=payload.get("email", user.email), requested_dt=requested)
        verify_url = absolute_url("accounts.verify_email", token=token)
    return {"date": requested, "verify_url": verify_url,
            "valid_for": _hours(current_app.config["EMAIL_VERIFICATION_MAX_AGE"])}


def compose_account_welcome(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    """A new account is ready: log in with the password chosen at sign-up, and confirm the address."""
    user = _user(payload)
    return compose_mail(message.recipient, message.subject, "account_welcome", recipient_name=user.full_name,
                        user=user, login_url=absolute_url("accounts.login"), **_verification_context(user, payload))


def compose_email_verification(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    """The verification link again, asked for by the account's owner."""
    user = _user(payload)
    return compose_mail(message.recipient, message.subject, "email_verification", recipient_name=user.full_name,
                        user=user, profile_url=absolute_url("accounts.profile"),
                        **_verification_context(user, payload))


def compose_email_change_confirm(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    """To the new address: the link that makes the change. It names no person and not the old address: until the
    link is followed, nobody has shown that this mailbox belongs to the account's owner (a mistyped address)."""
    user = _user(payload)
    requested = datetime.fromisoformat(payload["requested"])
    token = make_email_change_token(user, old_email=payload["old_email"], new_email=payload["new_email"],
                                    requested_dt=requested, fingerprint=payload["fingerprint"])
    return compose_mail(message.recipient, message.subject, "email_change_confirm", date=requested,
                        new_email=payload["new_email"], confirm_url=absolute_url("accounts.confirm_email_change",
                                                                                 token=token),
                        valid_for=_hours(current_app.config["EMAIL_CHANGE_MAX_AGE"]))


def compose_email_change_requested(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    """To the old address: a change was asked for; what to do if it was not the owner."""
    user = _user(payload)
    requested = datetime.fromisoformat(payload["requested"])
    return compose_mail(message.recipient, message.subject, "email_change_requested", recipient_name=user.full_name,
                        date=requested, asked=requested, user=user, old_email=payload["old_email"],
                        new_email=payload["new_email"], valid_for=_hours(current_app.config["EMAIL_CHANGE_MAX_AGE"]),
                        password_url=absolute_url("accounts.change_password"),
                        profile_url=absolute_url("accounts.profile"), reset_url=absolute_url("accounts.request_reset"))


def compose_email_changed(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    """To the old address: the change was made."""
    user = _user(payload)
    changed = datetime.fromisoformat(payload["changed"])
    return compose_mail(message.recipient, message.subject, "email_changed", recipient_name=user.full_name,
                        date=changed, changed=changed, user=user, old_email=payload["old_email"],
                        new_email=payload["new_email"])


def compose_signup_taken(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    """Someone signed up with an address that has an account: tell its owner, who logs in or resets."""
    user = _user(payload)
    return compose_mail(message.recipient, message.subject, "signup_taken", recipient_name=user.full_name,
                        user=user, login_url=absolute_url("accounts.login"),
                        reset_url=absolute_url("accounts.request_reset"))


def compose_account_invited(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    """An account was created for the person (registered at a meeting's desk): the link to choose a password,
    signed now from what was frozen when the account was made, like a reset link but living longer."""
    user = _user(payload)
    requested = datetime.fromisoformat(payload["requested"])
    token = make_reset_token(user, fingerprint=payload["fingerprint"], requested_dt=requested, link=SET_PASSWORD)
    return compose_mail(message.recipient, message.subject, "account_invited", recipient_name=user.full_name,
                        user=user, invited_to=payload["invited_to"],
                        days=current_app.config["SET_PASSWORD_MAX_AGE"] // (24 * 3600),
                        set_password_url=absolute_url("accounts.set_password", token=token),
                        reset_url=absolute_url("accounts.request_reset"))


COMPOSERS: dict[str, Composer] = {
    "password_reset": compose_password_reset, "account_welcome": compose_account_welcome,
    "signup_taken": compose_signup_taken, "email_verification": compose_email_verification,
    "email_change_confirm": compose_email_change_confirm, "email_change_requested": compose_email_change_requested,
    "email_changed": compose_email_changed, "account_invited": compose_account_invited,
}
