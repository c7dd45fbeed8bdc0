"""Queue mail into the outbox, compose it in the worker, and deliver what is due.

Every mail takes one path. The change that causes it queues a *deferred* row in the same transaction
(`queue_deferred`: recipient, subject and a small JSON payload naming a composer), so it commits or rolls back
with that change and the request never pays for templates, MIME or calendar files. The delivery worker
(`flask cme send-mail`) composes the message with the named composer (and stores it) before the first attempt.
Composers live with their capability and are registered on the app by the app factory
(`cme.register_mail_composers`), never as a side effect of an import. Delivery claims due rows (PostgreSQL:
`FOR UPDATE SKIP LOCKED`, so several workers never take the same row; every backend: a conditional UPDATE that
sets a short lease), sends outside any transaction, then records the outcome with exponential backoff.

A row may wait (`send_after`): the worker claims nothing before its time. A waiting row can carry a key
(`coalesce_key`): until a worker claims it, the change that would queue a second mail about the same thing
updates, moves or drops the waiting one instead (`waiting_messages`, `update_waiting`, `drop_waiting`). A composer
that finds its mail is no longer needed (the registration was cancelled meanwhile) raises `NotNeeded`: the
worker drops the row.
"""
from __future__ import annotations

import json
import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import Parser
from email.headerregistry import Address
from email.utils import make_msgid, parseaddr
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

from flask import Flask, current_app, render_template
from sqlalchemy import Integer, and_, bindparam, delete, or_, select, update

from cme.extensions import db
from cme.mail.models import OutboxMessage, OutboxStatus
from cme.text import single_line
from cme.timeutil import UTCDateTime, now_utc

log = logging.getLogger("cme.mail")

CLAIM_LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=6)


# ---------------------------------------------------------------- composing

def compose(recipient: str, subject: str, text: str, html: str | None = None, *, sender: str | None = None,
            recipient_name: str | None = None, date: datetime | None = None) -> EmailMessage:
    """A multipart/alternative message (text, and html when given), dated `date` (default: now). The subject and
    the recipient's name are put on one line (`header_text`): a title or a name with a line break, however it got
    into the database, cannot break the headers."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender or current_app.config["MAIL_DEFAULT_SENDER"]
    msg["To"] = Address(display_name=header_text(recipient_name or ""), addr_spec=recipient)
    msg["Subject"] = header_text(subject)
    msg["Message-ID"] = make_msgid(domain=parseaddr(msg["From"])[1].partition("@")[2] or "cme.local")
    msg["Date"] = (date or now_utc()).strftime("%a, %d %b %Y %H:%M:%S +0000")
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def header_text(text: str, limit: int | None = None) -> str:
    """Text for a header: on one line, trimmed, at most `limit` characters."""
    text = single_line(text).strip()
    return text[:limit] if limit else text


def attach_calendar(msg: EmailMessage, ics: bytes, method: str) -> EmailMessage:
    """Make an invitation that mail clients show with their calendar buttons.

    multipart/mixed [ multipart/alternative [text/plain, text/html, text/calendar; method=...],
    invite.ics ] -- the calendar part's `method` matches the METHOD inside the file.
    """
    text = ics.decode("utf-8")
    msg.add_alternative(text, subtype="calendar", charset="utf-8", params={"method": method})
    msg.add_attachment(ics, maintype="text", subtype="calendar", filename="invite.ics", params={"method": method})
    return msg


def render_mail(template: str, **context: Any) -> tuple[str, str]:
    """Render templates/mail/<template>.txt and .html with the same context."""
    context.setdefault("base_url", current_app.config["CME_BASE_URL"].rstrip("/"))
    return (render_template(f"mail/{template}.txt", **context), render_template(f"mail/{template}.html", **context))


def compose_mail(recipient: str, subject: str, template: str, *, recipient_name: str | None = None,
                 calendar: tuple[bytes, str] | None = None, date: datetime | None = None,
                 **context: Any) -> EmailMessage:
    """Render mail/<template>.txt/.html into a message; `calendar=(ics, method)` makes it an invitation."""
    text, html = render_mail(template, subject=subject, **context)
    msg = compose(recipient, subject, text, html, recipient_name=recipient_name, date=date)
    if calendar is not None:
        attach_calendar(msg, *calendar)
    return msg


# ---------------------------------------------------------------- queueing, and the composers' registry

# A composer builds the message from its outbox row (recipient and subject, fixed when queued) and the payload.
Composer = Callable[[OutboxMessage, dict[str, Any]], EmailMessage]
_REGISTRY = "cme.mail.composers"


def register_composers(app: Flask, composers: Mapping[str, Composer]) -> None:
    """Make `composers` (name -> function) known to `app`; the app factory calls this for each capability."""
    registry = composers_of(app)
    twice = sorted(set(registry) & set(composers))
    if twice:
        raise ValueError(f"mail composers registered twice: {twice}")
    registry.update(composers)


def composers_of(app: Flask | None = None) -> dict[str, Composer]:
    """The composers registered on `app` (default: the current app), by name."""
    return (app or current_app).extensions.setdefault(_REGISTRY, {})


def queue_deferred(recipient: str, subject: str, *, kind: str, composer: str, send_after: datetime | None = None,
                   key: str | None = None, **payload: Any) -> OutboxMessage:
    """Queue a message in the current transaction that the delivery worker composes with `composer`, not before
    `send_after` (default: at once); `key` names what it is about, for a later change to find it while it waits.

    The payload holds what must be frozen now (ids, the invitation's SEQUENCE, the waitlist position, the time);
    the rest is read when composing, so a mail sent late describes the activity as it is then."""
    if composer not in composers_of():
        raise KeyError(f"no mail composer named {composer!r}")
    row = OutboxMessage(recipient=recipient, subject=header_text(subject, 300), kind=kind, send_after_dt=send_after,
                        coalesce_key=key, payload=dump_payload({"composer": composer, **payload}))
    if send_after is not None:
        row.next_attempt_dt = send_after
    db.session.add(row)
    return row


def dump_payload(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


def _is_waiting():
    """A row no worker has claimed yet: pending, never tried, and (claiming moves next_attempt_dt past
    send_after_dt for the lease) still due at its send-after time."""
    return and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.raw_message.is_(None),
                OutboxMessage.attempts == 0, OutboxMessage.send_after_dt.is_not(None),
                OutboxMessage.next_attempt_dt <= OutboxMessage.send_after_dt)


def waiting_messages(keys: list[str]) -> dict[str, OutboxMessage]:
    """The waiting rows with these keys (the newest per key), locked for the rest of the transaction on
    PostgreSQL (a worker's `SKIP LOCKED` claim passes them by)."""
    if not keys:
        return {}
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.coalesce_key.in_(keys), _is_waiting())
                              .order_by(OutboxMessage.id).with_for_update())
    return {row.coalesce_key: row for row in rows}


def update_waiting(updates: list[dict[str, Any]]) -> set[int]:
    """Move waiting rows to new send-after times and give them a new payload, subject or kind, in one statement
    (executemany). Each dict holds the row's `id`, its `send_after` and any of `payload`, `subject`, `kind` (the
    same keys in each). Returns the ids updated: a row a worker claimed meanwhile is not (the caller then queues
    a new one if need be); with the rows locked by `waiting_messages` (PostgreSQL) or the database's write lock
    held (SQLite), none is."""
    if not updates:
        return set()
    table = OutboxMessage.__table__
    extra = sorted(set(updates[0]) - {"id", "send_after"})
    send_after = bindparam("u_send_after", type_=UTCDateTime())
    values: dict[str, Any] = {"send_after_dt": send_after, "next_attempt_dt": send_after}
    values.update({name: bindparam(f"u_{name}", type_=table.c[name].type) for name in extra})
    db.session.execute(update(table).where(table.c.id == bindparam("u_id", type_=Integer()), _is_waiting())
                       .values(values),
                       [{"u_id": u["id"], "u_send_after": u["send_after"],
                         **{f"u_{name}": dump_payload(u[name]) if name == "payload" else header_text(u[name], 300)
                            if name == "subject" else u[name] for name in extra}} for u in updates])
    wanted = {u["id"]: u["send_after"] for u in updates}
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(wanted))
                              .execution_options(populate_existing=True))  # the session's copies, refreshed
    return {m.id for m in rows if m.status == OutboxStatus.PENDING and m.raw_message is None
            and m.send_after_dt == wanted[m.id] and m.next_attempt_dt <= m.send_after_dt}


def drop_waiting(keys: list[str]) -> int:
    """Delete the waiting rows with these keys (what they were about no longer holds). Returns how many."""
    if not keys:
        return 0
    result = db.session.execute(delete(OutboxMessage).where(OutboxMessage.coalesce_key.in_(keys), _is_waiting())
                                .execution_options(synchronize_session=False))
    return result.rowcount


def keys_ever_queued(keys: list[str]) -> set[str]:
    """Which of these keys any row carries, waiting, sent or failed."""
    if not keys:
        return set()
    return set(db.session.scalars(select(OutboxMessage.coalesce_key).where(OutboxMessage.coalesce_key.in_(keys))))


class UncomposableMessage(Exception):
    """The payload names no known composer, or what it describes no longer exists: no retry can help."""


class NotNeeded(Exception):
    """Raised by a composer: what the mail was for no longer holds (e.g. the registration or the activity was
    cancelled after a reminder was queued). The worker drops the row; nothing is sent."""


def message_text(message: OutboxMessage) -> str:
    """The message's RFC 5322 text, composing (and keeping, in the session) a deferred one first."""
    if message.raw_message is None:
        try:
            payload = json.loads(message.payload or "")
            composer = composers_of()[payload["composer"]]
        except (ValueError, KeyError, TypeError) as error:
            raise UncomposableMessage(f"bad payload: {error}") from error
        try:
            msg = composer(message, payload)
        except NotNeeded:
            raise
        except LookupError as error:  # e.g. the registration was deleted
            raise UncomposableMessage(str(error)) from error
        message.raw_message = msg.as_string(policy=policy.SMTP)
    return message.raw_message


# ---------------------------------------------------------------- delivering

class Transport(Protocol):
    def send(self, message: OutboxMessage) -> None: ...
    def close(self) -> None: ...


class SMTPTransport:
    """Delivers over one SMTP connection, opened on first use."""

    def __init__(self, config: dict[str, Any]):
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        cls = smtplib.SMTP_SSL if c.get("MAIL_USE_SSL") else smtplib.SMTP
        conn = cls(c["MAIL_SERVER"], c.get("MAIL_PORT", 25), timeout=c.get("MAIL_TIMEOUT", 30))
        if c.get("MAIL_USE_TLS"):
            conn.starttls()
        if c.get("MAIL_USERNAME"):
            conn.login(c["MAIL_USERNAME"], c.get("MAIL_PASSWORD") or "")
        return conn

    def send(self, message: OutboxMessage) -> None:
        if self.connection is None:
            self.connection = self._connect()
        parsed = Parser(policy=policy.SMTP).parsestr(message.raw_message)
        sender = parseaddr(str(parsed["From"]))[1]
        try:
            self.connection.send_message(parsed, from_addr=sender, to_addrs=[message.recipient])
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()
            raise

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.connection = None


class FileTransport:
    """With no SMTP server configured: one .eml file per message, for a local user to open."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def send(self, message: OutboxMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = now_utc().strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{stamp}-{message.id:06d}-{message.kind or 'mail'}.eml"
        path.write_text(message.raw_message, encoding="utf-8")

    def close(self) -> None:
        pass


def transport_from_config(config: dict[str, Any]) -> Transport:
    if config.get("MAIL_SERVER"):
        return SMTPTransport(config)
    return FileTransport(config["MAIL_OUTBOX_DIR"])


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)  # no longer needed (NotNeeded), deleted unsent

    def __str__(self) -> str:
        text = f"sent {len(self.sent)}, will retry {len(self.retrying)}, given up {len(self.failed)}"
        return text + (f", no longer needed {len(self.dropped)}" if self.dropped else "")


def backoff(attempts: int, base_seconds: int) -> timedelta:
    """60 s, 2 min, 4 min, ... capped at six hours (for a base of 60 s)."""
    return min(timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def claim_due(*, now: datetime, limit: int) -> list[int]:
    """Claim up to `limit` due messages (their send-after time come) for this worker and commit the claim."""
    due = or_(OutboxMessage.send_after_dt.is_(None), OutboxMessage.send_after_dt <= now)
    candidates = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_dt <= now, due)
        .order_by(OutboxMessage.next_attempt_dt, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    claimed = []
    for message_id in candidates:
        result = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING,
                   OutboxMessage.next_attempt_dt <= now, due)
            .values(next_attempt_dt=now + CLAIM_LEASE)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append(message_id)
    db.session.commit()
    return claimed


def deliver_pending(*, now: datetime | None = None, limit: int = 100, transport: Transport | None = None) -> DeliveryReport:
    """Send every due message once; failures are rescheduled with backoff, or given up after MAIL_MAX_ATTEMPTS."""
    config = current_app.config
    now = now or now_utc()
    transport = transport or transport_from_config(config)
    report = DeliveryReport()
    try:
        for message_id in claim_due(now=now, limit=limit):
            message = db.session.get(OutboxMessage, message_id)
            if message.raw_message is None:
                try:
                    message_text(message)
                    db.session.commit()  # kept before sending: a resend after a crash is the same message
                except NotNeeded as reason:
                    db.session.rollback()
                    db.session.execute(delete(OutboxMessage).where(OutboxMessage.id == message_id))
                    db.session.commit()
                    report.dropped.append(message_id)
                    log.info("mail %s no longer needed, dropped: %s", message_id, reason)
                    continue
                except Exception as error:  # never stop the worker: record it, retry unless hopeless
                    db.session.rollback()
                    message = db.session.get(OutboxMessage, message_id)
                    _record_failure(message, error, permanent=isinstance(error, UncomposableMessage), now=now,
                                    report=report, what="could not compose")
                    db.session.commit()
                    continue
            try:
                transport.send(message)
            except (smtplib.SMTPException, OSError) as error:
                _record_failure(message, error, permanent=_is_permanent(error), now=now, report=report)
            else:
                message.attempts += 1
                message.status = OutboxStatus.SENT
                message.sent_dt = now_utc()
                message.last_error = None
                report.sent.append(message.id)
            db.session.commit()
    finally:
        transport.close()
    return report


def _record_failure(message: OutboxMessage, error: Exception, *, permanent: bool, now: datetime,
                    report: DeliveryReport, what: str = "failed") -> None:
    """Give the message up (permanent error, or MAIL_MAX_ATTEMPTS reached) or schedule a retry with backoff."""
    config = current_app.config
    message.attempts += 1
    message.last_error = f"{what}: {type(error).__name__}: {error}"[:2000]
    if permanent or message.attempts >= config["MAIL_MAX_ATTEMPTS"]:
        message.status = OutboxStatus.FAILED
        report.failed.append(message.id)
        log.error("mail %s to %s %s, given up: %s", message.id, message.recipient, what, error)
    else:
        message.next_attempt_dt = now + backoff(message.attempts, config["MAIL_RETRY_BASE_SECONDS"])
        report.retrying.append(message.id)
        log.warning("mail %s to %s %s, retry at %s: %s", message.id, message.recipient, what,
                    message.next_attempt_dt, error)


def _is_permanent(error: Exception) -> bool:
    """5xx replies to the recipient mean the address will never work; everything else is worth retrying."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and 550 <= error.smtp_code < 560
