"""The account mails, composed by the `send-mail` worker from the rows the account service queues: the password
reset (`request_password_reset`), the welcome or the "someone tried your address" mail of a sign-up
(`sign_up`), and the "choose your password" mail of an account created at a meeting's desk
(`create_invited_account`).

Registered by the app factory (`cme.register_mail_composers`), like every composer.
"""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Any

from flask import current_app

from cme.accounts.models import User
from cme.accounts.service import SET_PASSWORD, make_reset_token
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


def compose_account_welcome(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    """A new account is ready: log in with the password chosen at sign-up."""
    user = _user(payload)
    return compose_mail(message.recipient, message.subject, "account_welcome", recipient_name=user.full_name,
                        user=user, login_url=absolute_url("accounts.login"))


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


COMPOSERS: dict[str, Composer] = {"password_reset": compose_password_reset, "account_welcome": compose_account_welcome,
                                  "signup_taken": compose_signup_taken, "account_invited": compose_account_invited}
