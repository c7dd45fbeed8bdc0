"""Queue mail into the outbox, compose it in the worker, and deliver what is due.

Every mail takes one path. The change that causes it queues a *deferred* row in the same transaction
(`queue_deferred`: recipient, subject and a small JSON payload naming a composer), so it commits or rolls back
with that change and the request never pays for templates, MIME or calendar files. The delivery worker
(`flask cme send-mail`) composes the message with the named composer (and stores it) before the first attempt.
Composers live with their capability and are registered on the app by the app factory
(`cme.register_mail_composers`), never as a side effect of an import. Delivery (issue 13, point 7) claims a small
batch of due rows for this worker (PostgreSQL: `FOR UPDATE SKIP LOCKED`; every backend: a conditional UPDATE that
writes the worker's identity and a short lease), and right before sending each one extends the claim only if the
row still names this worker (committed); PostgreSQL also holds the row's lock while it is sent. The outcome is
recorded with exponential backoff; `cme.mail.worker` is the process that runs this in a loop through outages.

A row may wait (`send_after`): the worker claims nothing before its time. A waiting row can carry a key
(`coalesce_key`): until a worker claims it, the change that would queue a second mail about the same thing
updates, moves or drops the waiting one instead (`waiting_messages`, `update_waiting`, `drop_waiting`). A composer
that finds its mail is no longer needed (the registration was cancelled meanwhile) raises `NotNeeded`: the
worker drops the row.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import smtplib
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import Parser
from email.headerregistry import Address
from email.utils import make_msgid, parseaddr
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol

from flask import Flask, current_app, render_template
from sqlalchemy import Integer, and_, bindparam, delete, or_, select, update

from cme.extensions import db
from cme.mail.models import OutboxMessage, OutboxStatus
from cme.text import single_line
from cme.timeutil import UTCDateTime, now_utc

log = logging.getLogger("cme.mail")

# A domain no mail is ever sent to (RFC 2606 reserves it): a closed account's address becomes one there
# (cme.privacy), and a mail queued to it later (a notice about an activity it took part in) is dropped unsent.
UNDELIVERABLE_DOMAIN = "invalid.example"
# Reading a stored message back to send it: its header lines are sent as they were composed, never folded again.
STORED = policy.SMTP.clone(refold_source="none")
MAX_BACKOFF = timedelta(hours=6)


# ---------------------------------------------------------------- composing

def sender_address() -> str:
    """The address mail comes from: MAIL_DEFAULT_SENDER's (a display name written there is not used)."""
    return parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1] or "cme@example.org"


def from_address() -> Address:
    """Who mail comes from: the provider by name (CME_PROVIDER_NAME), at `sender_address()`."""
    local, _, domain = sender_address().partition("@")
    return Address(display_name=current_app.config["CME_PROVIDER_NAME"], username=local, domain=domain)


def compose(recipient: str, subject: str, text: str, html: str | None = None, *, sender: str | None = None,
            recipient_name: str | None = None, date: datetime | None = None) -> EmailMessage:
    """A multipart/alternative message (text, and html when given), dated `date` (default: now). The subject and
    the recipient's name are put on one line (`header_text`): a title or a name with a line break, however it got
    into the database, cannot break the headers."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender or from_address()
    msg["To"] = Address(display_name=header_text(recipient_name or ""), addr_spec=recipient)
    msg["Subject"] = header_text(subject)
    msg["Message-ID"] = make_msgid(domain=parseaddr(str(msg["From"]))[1].partition("@")[2] or "cme.local")
    msg["Date"] = (date or now_utc()).strftime("%a, %d %b %Y %H:%M:%S +0000")
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


class UnfoldedHeader(str):
    """A header value written out as it is, on one line: never folded, never made an RFC 2047 encoded-word. For
    ASCII values that must reach the mail client intact however long they are, such as the angle-bracketed URL of
    `List-Unsubscribe` (RFC 2369, RFC 8058), which a folder would otherwise cut into encoded-words no client reads
    as a link. Set it with `set_unfolded_header`."""

    name: str

    def fold(self, *, policy) -> str:  # the email package's header interface
        return f"{self.name}: {self}{policy.linesep}"


def set_unfolded_header(msg: EmailMessage, name: str, value: str) -> None:
    """Add header `name` with `value` on one line (at most 998 characters, RFC 5322; ASCII, no line break)."""
    value = single_line(value).strip()
    if not value.isascii() or len(name) + 2 + len(value) > 998:
        raise ValueError(f"{name} must be ASCII and fit on one line of 998 characters")
    header = UnfoldedHeader(value)
    header.name = name
    msg[name] = header


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
    if message.recipient.rpartition("@")[2] == UNDELIVERABLE_DOMAIN:
        raise NotNeeded("the address is a closed account's")
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


class TransportUnavailable(Exception):
    """The mail server cannot be reached, or refuses the connection or the log-in: no message's fault. The batch
    stops and its claims are let go without counting an attempt against any message."""


class SMTPTransport:
    """Delivers over one SMTP connection, opened on first use."""

    def __init__(self, config: dict[str, Any]):
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        cls = smtplib.SMTP_SSL if c.get("MAIL_USE_SSL") else smtplib.SMTP
        try:
            conn = cls(c["MAIL_SERVER"], c.get("MAIL_PORT", 25), timeout=c.get("MAIL_TIMEOUT", 30))
        except (smtplib.SMTPException, OSError) as error:
            raise TransportUnavailable(f"{type(error).__name__}: {error}") from error
        try:
            if c.get("MAIL_USE_TLS"):
                conn.starttls()
            if c.get("MAIL_USERNAME"):
                conn.login(c["MAIL_USERNAME"], c.get("MAIL_PASSWORD") or "")
        except (smtplib.SMTPException, OSError) as error:
            conn.close()
            raise TransportUnavailable(f"{type(error).__name__}: {error}") from error
        return conn

    def send(self, message: OutboxMessage) -> None:
        if self.connection is None:
            self.connection = self._connect()
        # As stored: composing folded what needs folding, and a header written unfolded on purpose stays so.
        parsed = Parser(policy=STORED).parsestr(message.raw_message)
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


_IDENTITIES_OF_THIS_PROCESS: set[str] = set()


def _host() -> str:
    return socket.gethostname()[:150]  # claimed_by holds 200 characters


def worker_identity() -> str:
    """A new worker's identity, "<host>:<pid>:<random>", written on the rows it claims. The random part tells a
    restarted worker that reuses a pid (pid 1 in a container) from the one that wrote the claim."""
    identity = f"{_host()}:{os.getpid()}:{secrets.token_hex(4)}"
    _IDENTITIES_OF_THIS_PROCESS.add(identity)
    return identity


@dataclass
class Worker:
    """A delivery worker: its identity on claimed rows, and the messages it sent whose outcome it could not
    record yet (the database went away right after the SMTP server took them; recorded on the next pass, so they
    are not sent again)."""

    identity: str = field(default_factory=worker_identity)
    unrecorded: set[int] = field(default_factory=set)


def is_gone(identity: str) -> bool:
    """Whether the worker that wrote `identity` is known to have stopped: it ran on this host and its process is
    gone (or it had this process's pid and is not this process). A worker on another host is never known gone:
    its claims are left to run out."""
    host, _, rest = identity.partition(":")
    pid, _, _ = rest.partition(":")
    if host != _host() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return identity not in _IDENTITIES_OF_THIS_PROCESS
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process
        return False
    return False


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)  # no longer needed (NotNeeded), deleted unsent
    skipped: list[int] = field(default_factory=list)  # another worker holds it now
    unreachable: str | None = None  # the mail server could not be reached: the batch stopped, claims let go
    stopped: bool = False  # asked to stop: the rest of the batch was let go

    def __str__(self) -> str:
        text = f"sent {len(self.sent)}, will retry {len(self.retrying)}, given up {len(self.failed)}"
        text += f", no longer needed {len(self.dropped)}" if self.dropped else ""
        text += f", taken by another worker {len(self.skipped)}" if self.skipped else ""
        return text + (f"; mail server unreachable ({self.unreachable})" if self.unreachable else "")


def backoff(attempts: int, base_seconds: int) -> timedelta:
    """60 s, 2 min, 4 min, ... capped at six hours (for a base of 60 s)."""
    return min(timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["MAIL_CLAIM_LEASE_SECONDS"])


def claim_due(*, now: datetime, limit: int, worker: str) -> list[int]:
    """Claim up to `limit` due messages (their send-after time come, no live claim on them but `worker`'s own)
    for `worker` and commit the claim: its identity on the row, `next_attempt_dt` its lease."""
    due = or_(OutboxMessage.send_after_dt.is_(None), OutboxMessage.send_after_dt <= now)
    free = or_(OutboxMessage.next_attempt_dt <= now, OutboxMessage.claimed_by == worker)
    candidates = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, free, due)
        .order_by(OutboxMessage.next_attempt_dt, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    claimed = []
    for message_id in candidates:
        result = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING, free, due)
            .values(next_attempt_dt=now + _lease(), claimed_by=worker)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append(message_id)
    db.session.commit()
    return claimed


def _extend_claim(message_id: int, worker: str, *, now: datetime) -> bool:
    """Right before a send: a fresh lease on the message if it is still pending and still `worker`'s (not taken
    over by another worker after a lease ran out). Not committed here."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == worker,
               OutboxMessage.status == OutboxStatus.PENDING)
        .values(next_attempt_dt=now + _lease())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _hold_while_sending(message_id: int, worker: str) -> bool:
    """PostgreSQL: lock the row for the send (until the outcome is committed), so no other worker claims it
    however long the SMTP server takes, and the lock vanishes with the connection if this worker dies. SQLite has
    no row locks: the lease just extended is the guard there."""
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    held = db.session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.id == message_id, OutboxMessage.claimed_by == worker,
        OutboxMessage.status == OutboxStatus.PENDING).with_for_update())
    return held is not None


def release_claims(workers: Iterable[str], *, now: datetime, ids: Iterable[int] | None = None) -> int:
    """Let go of the pending rows these workers claim (only `ids` among them, when given): due again at once,
    no attempt counted. Not committed here. Returns how many."""
    condition = [OutboxMessage.claimed_by.in_(list(workers)), OutboxMessage.status == OutboxStatus.PENDING]
    if ids is not None:
        condition.append(OutboxMessage.id.in_(list(ids)))
    result = db.session.execute(update(OutboxMessage).where(*condition)
                                .values(claimed_by=None, next_attempt_dt=now)
                                .execution_options(synchronize_session=False))
    return result.rowcount


def release_claims_of_gone_workers(*, now: datetime | None = None) -> int:
    """Take back at once what workers that stopped on this host (a crash, a kill) still held, instead of waiting
    for their leases to run out; committed. Returns how many rows."""
    now = now or now_utc()
    holders = set(db.session.scalars(select(OutboxMessage.claimed_by).distinct().where(
        OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.claimed_by.is_not(None),
        OutboxMessage.next_attempt_dt > now)))
    gone = sorted(h for h in holders if is_gone(h))
    count = release_claims(gone, now=now) if gone else 0
    db.session.commit()
    if count:
        log.warning("took back %d message(s) held by stopped worker(s) %s", count, ", ".join(gone))
    return count


def _record_sent(ids: Iterable[int], *, now: datetime) -> None:
    """Messages the SMTP server took whose outcome was not recorded (the database was away): sent, once."""
    db.session.execute(update(OutboxMessage)
                       .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.status == OutboxStatus.PENDING)
                       .values(status=OutboxStatus.SENT, sent_dt=now, attempts=OutboxMessage.attempts + 1,
                               last_error=None)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def deliver_pending(*, now: datetime | None = None, limit: int = 100, transport: Transport | None = None,
                    worker: Worker | None = None, stop: Callable[[], bool] | None = None) -> DeliveryReport:
    """Send up to `limit` due messages, claiming MAIL_CLAIM_BATCH at a time; failures are rescheduled with
    backoff, or given up after MAIL_MAX_ATTEMPTS. An unreachable mail server stops the batch and lets the claims
    go (no attempt counted); `stop()` turning true lets the current message finish, then does the same.

    `now` fixes the clock (tests); by default each step reads it, so a lease extended before a message starts
    then. Database errors propagate (the worker loop waits them out); a message sent meanwhile is remembered in
    `worker` and recorded as sent on the next call."""
    config = current_app.config
    worker = worker or Worker()
    clock: Callable[[], datetime] = (lambda: now) if now is not None else now_utc
    transport = transport or transport_from_config(config)
    report = DeliveryReport()
    if worker.unrecorded:
        _record_sent(worker.unrecorded, now=clock())
        worker.unrecorded.clear()
    try:
        handled = 0
        while handled < limit and not (stop is not None and stop()):
            claimed = claim_due(now=clock(), limit=min(config["MAIL_CLAIM_BATCH"], limit - handled),
                                worker=worker.identity)
            if not claimed:
                break
            handled += len(claimed)
            for index, message_id in enumerate(claimed):
                if stop is not None and stop():
                    report.stopped = True
                elif _deliver_one(message_id, worker, transport, clock, report):
                    continue
                # Asked to stop, or the mail server is unreachable: the rest of the batch goes back at once.
                release_claims([worker.identity], now=clock(), ids=claimed[index:])
                db.session.commit()
                return report
    finally:
        transport.close()
    return report


def _deliver_one(message_id: int, worker: Worker, transport: Transport, clock: Callable[[], datetime],
                 report: DeliveryReport) -> bool:
    """Compose (once), send and record one claimed message. False when the mail server is unreachable (the
    caller lets the batch go); True otherwise."""
    still_mine = _extend_claim(message_id, worker.identity, now=clock())
    db.session.commit()  # at once: SQLite would otherwise keep its write lock while the message is composed
    if not still_mine:
        report.skipped.append(message_id)
        return True
    message = db.session.get(OutboxMessage, message_id)
    try:
        if message.raw_message is None:
            message_text(message)
            db.session.commit()  # kept before sending: a resend after a crash is the same message
    except NotNeeded as reason:
        db.session.rollback()
        db.session.execute(delete(OutboxMessage).where(OutboxMessage.id == message_id))
        db.session.commit()
        report.dropped.append(message_id)
        log.info("mail %s no longer needed, dropped: %s", message_id, reason)
        return True
    except Exception as error:  # never stop the worker: record it, retry unless hopeless
        db.session.rollback()
        message = db.session.get(OutboxMessage, message_id)
        _record_failure(message, error, permanent=isinstance(error, UncomposableMessage), now=clock(),
                        report=report, what="could not compose")
        db.session.commit()
        return True
    if not _hold_while_sending(message_id, worker.identity):
        db.session.rollback()
        report.skipped.append(message_id)
        return True
    try:
        transport.send(message)
    except TransportUnavailable as error:
        db.session.rollback()
        report.unreachable = str(error)
        return False
    except (smtplib.SMTPException, OSError) as error:
        _record_failure(message, error, permanent=_is_permanent(error), now=clock(), report=report)
    else:
        worker.unrecorded.add(message_id)
        message.attempts += 1
        message.status = OutboxStatus.SENT
        message.sent_dt = now_utc()
        message.last_error = None
        report.sent.append(message_id)
    db.session.commit()
    worker.unrecorded.discard(message_id)
    return True


def _record_failure(message: OutboxMessage, error: Exception, *, permanent: bool, now: datetime,
                    report: DeliveryReport, what: str = "failed") -> None:
    """Give the message up (permanent error, or MAIL_MAX_ATTEMPTS reached) or schedule a retry with backoff (and
    let the claim go, so that the retry waits for its time)."""
    config = current_app.config
    message.attempts += 1
    message.last_error = f"{what}: {type(error).__name__}: {error}"[:2000]
    if permanent or message.attempts >= config["MAIL_MAX_ATTEMPTS"]:
        message.status = OutboxStatus.FAILED
        report.failed.append(message.id)
        log.error("mail %s to %s %s, given up: %s", message.id, message.recipient, what, error)
    else:
        message.next_attempt_dt = now + backoff(message.attempts, config["MAIL_RETRY_BASE_SECONDS"])
        message.claimed_by = None
        report.retrying.append(message.id)
        log.warning("mail %s to %s %s, retry at %s: %s", message.id, message.recipient, what,
                    message.next_attempt_dt, error)


def _is_permanent(error: Exception) -> bool:
    """5xx replies to the recipient mean the address will never work; everything else is worth retrying."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and 550 <= error.smtp_code < 560
