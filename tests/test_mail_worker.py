"""The delivery worker as a process (issue 13, point 7): real `flask cme send-mail --loop` subprocesses against a
real SMTP server on loopback and the real test database, killed, doubled, and put through database and SMTP
outages. Each test prints its figures (run with -s to see them)."""
from __future__ import annotations

import re
import time
from datetime import timedelta
from collections import Counter

import pytest
from sqlalchemy import func, select

from cme.accounts.models import ThrottleCounter
from cme.accounts.service import request_password_reset
from cme.mail.models import OutboxMessage
from cme.timeutil import now_utc
from tests.helpers import free_port, outbox, wait_until


def queue_resets(db, make_user, count: int, *, first: int = 0) -> list[str]:
    """`count` users, each with a password-reset mail queued (composed by the worker, as in production)."""
    emails = [f"person{n:03d}@example.org" for n in range(first, first + count)]
    for email in emails:
        make_user(email)
        request_password_reset(email)
    db.session.commit()
    return emails


def recipients(handler) -> list[str]:
    return [rcpts[0] for _, rcpts in handler.envelopes]


def all_sent(db, count: int) -> bool:
    db.session.rollback()  # a fresh snapshot
    return db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.status == "sent")) == count


def test_a_worker_killed_mid_batch_is_taken_over_within_seconds_and_at_most_one_message_goes_twice(
        db, make_user, smtp_server, mail_worker):
    handler, port = smtp_server(delay=0.1)
    emails = queue_resets(db, make_user, 40)
    first = mail_worker(port)
    wait_until(lambda: len(handler.messages) >= 15, what="15 messages from the first worker")
    first.kill()  # SIGKILL, mid-batch: it holds claims (a 60 s lease) on the rest of its batch
    time.sleep(0.3)  # the server finishes what it had in hand
    before = len(handler.messages)
    db.session.rollback()
    held = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == "pending", OutboxMessage.claimed_by.is_not(None),
        OutboxMessage.next_attempt_dt > now_utc()))
    second = mail_worker(port)
    wait_until(lambda: len(handler.messages) > before, timeout=60, what="the second worker's first message")
    resumed = handler.arrived[before] - second.started
    wait_until(lambda: set(recipients(handler)) == set(emails), timeout=60, what="every message")
    wait_until(lambda: all_sent(db, 40), what="every row sent")
    assert second.stop() == 0

    sent = Counter(recipients(handler))
    twice = [email for email, n in sent.items() if n > 1]
    assert set(sent) == set(emails) and len(twice) <= 1 and max(sent.values()) <= 2
    ids_by_recipient = {email: {m["Message-ID"] for m in handler.messages if m["To"].addresses[0].addr_spec == email}
                        for email in emails}
    assert all(len(ids) == 1 for ids in ids_by_recipient.values())  # a resend is the same message
    assert ("took back" in second.output()) == (held > 0), second.output()
    assert resumed < 30, f"resumed after {resumed:.1f} s (the lease is 60 s)"  # generous: the old lease was 5 min
    print(f"\n[kill -9] 40 queued; {before} arrived before the restart; the dead worker held {held} claim(s); "
          f"{len(handler.messages)} messages arrived, {len(twice)} twice (same Message-ID); the restarted worker's "
          f"first message {resumed:.2f} s after it was started (process start included)")


def test_two_workers_with_a_slow_smtp_server_send_each_message_once(db, make_user, smtp_server, mail_worker):
    """A batch takes longer than the lease (15 messages of 0.2 s, a 2 s lease): a worker free first takes over the
    other's claims that ran out, and the other, re-checking its claim before each send, leaves those alone."""
    handler, port = smtp_server(delay=0.2)
    emails = queue_resets(db, make_user, 40)
    workers = [mail_worker(port, MAIL_CLAIM_LEASE_SECONDS="2", MAIL_CLAIM_BATCH="15") for _ in range(2)]
    wait_until(lambda: len(handler.messages) >= 40, timeout=60, what="40 messages")
    wait_until(lambda: all_sent(db, 40), what="every row sent")
    assert [worker.stop() for worker in workers] == [0, 0]
    time.sleep(0.3)
    assert sorted(recipients(handler)) == sorted(emails)  # every message, none twice
    taken = [sum(int(n) for n in re.findall(r"taken by another worker (\d+)", w.output())) for w in workers]
    by_worker = Counter(r.claimed_by.rsplit(":", 1)[0] for r in outbox(db))
    print(f"\n[two workers, slow SMTP] 40 queued, {len(handler.messages)} arrived, 0 twice; sent per worker "
          f"{sorted(by_worker.values())}; claims found taken over by the other worker before sending: {taken}")


def test_sigterm_lets_the_message_in_hand_finish_then_the_worker_exits(db, make_user, smtp_server, mail_worker):
    handler, port = smtp_server(delay=1.0)
    queue_resets(db, make_user, 5)
    worker = mail_worker(port)
    wait_until(lambda: handler.messages, what="the first message")
    assert worker.stop() == 0  # SIGTERM while the server has not answered yet
    time.sleep(0.3)
    db.session.rollback()
    rows = outbox(db)
    [sent] = [r for r in rows if r.status == "sent"]
    assert sent.recipient == recipients(handler)[0] and len(handler.messages) == 1
    # The rest of the batch went back at once, unattempted, for any worker to take.
    assert {(r.status, r.attempts, r.claimed_by) for r in rows if r is not sent} == {("pending", 0, None)}


@pytest.mark.postgresql
def test_the_worker_outlives_a_database_outage_and_logs_it_once(db, make_user, smtp_server, mail_worker,
                                                               postgres_proxy):
    handler, port = smtp_server()
    queue_resets(db, make_user, 3)
    worker = mail_worker(port, via=postgres_proxy.url)
    wait_until(lambda: len(handler.messages) == 3, what="the first three messages")
    postgres_proxy.cut()  # every connection dropped, new ones refused
    cut = time.monotonic()
    worker.wait_for("database unavailable")
    queue_resets(db, make_user, 3, first=3)  # queued during the outage (the app's own connection still works)
    time.sleep(max(0.0, 3 - (time.monotonic() - cut)))
    assert worker.process.poll() is None
    postgres_proxy.restore()
    restored = time.monotonic()
    wait_until(lambda: len(handler.messages) == 6, what="the messages queued during the outage")
    caught_up = time.monotonic() - restored
    assert worker.process.poll() is None
    assert worker.stop() == 0
    output = worker.output()
    assert output.count("database unavailable") == 1 and output.count("database available again") == 1, output
    assert sorted(Counter(recipients(handler)).values()) == [1] * 6
    print(f"\n[database outage] {restored - cut:.1f} s cut; the worker kept running, logged it once and once "
          f"more when it ended; the 3 messages queued meanwhile arrived {caught_up:.1f} s after the restore")


def test_the_worker_outlives_an_smtp_outage_without_spending_attempts(db, make_user, smtp_server, mail_worker):
    port = free_port()  # nothing listens there yet
    worker = mail_worker(port, MAIL_MAX_ATTEMPTS="2")
    emails = queue_resets(db, make_user, 4)
    worker.wait_for("mail server unavailable")
    time.sleep(2)  # a few more tries, each refused
    db.session.rollback()
    assert {(r.status, r.attempts) for r in outbox(db)} == {("pending", 0)}
    handler, _ = smtp_server(port=port)
    started = time.monotonic()
    wait_until(lambda: len(handler.messages) == 4, timeout=40, what="the four messages")
    caught_up = time.monotonic() - started
    wait_until(lambda: all_sent(db, 4), what="every row sent")
    assert worker.stop() == 0
    assert sorted(recipients(handler)) == emails
    assert {(r.status, r.attempts) for r in outbox(db)} == {("sent", 1)}
    output = worker.output()
    assert output.count("mail server unavailable") == 1 and output.count("mail server available again") == 1, output
    print(f"\n[SMTP outage] messages waited unattempted (MAIL_MAX_ATTEMPTS=2 never reached); delivered "
          f"{caught_up:.1f} s after the server came back; logged once, and once when it ended")


def test_the_running_worker_purges_expired_throttle_counters(db, smtp_server, mail_worker):
    """Issue 13, point 3: `send-mail --loop` is the throttles' housekeeping: expired counters go, live ones stay."""
    past, future = now_utc() - timedelta(minutes=1), now_utc() + timedelta(hours=1)
    db.session.add_all([ThrottleCounter(scope="login_client", key_hash="a" * 64, hits=3, expires_dt=past),
                        ThrottleCounter(scope="login_client", key_hash="b" * 64, hits=1, expires_dt=future)])
    db.session.commit()
    _, port = smtp_server()
    worker = mail_worker(port)

    def hashes() -> set[str]:
        db.session.rollback()
        return set(db.session.scalars(select(ThrottleCounter.key_hash)))

    wait_until(lambda: hashes() == {"b" * 64}, what="the expired counter purged")
    assert worker.stop() == 0
