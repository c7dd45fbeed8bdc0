"""The delivery worker process (`flask cme send-mail --loop`): batch after batch, through outages.

Issue 13, point 7. The worker never exits on a database or mail-server outage. A database error (the server is
down, restarting, or dropped the connection) rolls back, throws away the pooled connections and waits; an
unreachable mail server stops the batch and lets its claims go without counting an attempt against any message
(`deliver_pending`). Either way the pause before the next try doubles while the outage lasts (1 s, 2 s, 4 s, ...
at most OUTAGE_MAX_PAUSE), and each outage is logged twice: once when it starts, once when it ends.

A worker that starts, and every pass after that, takes back at once the claims of workers on its host whose
process is gone (`release_claims_of_gone_workers`), so a worker restarted after a crash resumes within seconds;
at most the one message in flight at the crash is sent again, and it is the same message (same Message-ID),
stored before its first try. SIGTERM or SIGINT lets the current message finish, lets the rest of the batch go and
exits; a second signal stops at once.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Sequence

from sqlalchemy.exc import DBAPIError

from cme.extensions import db
from cme.mail.service import DeliveryReport, Worker, deliver_pending, release_claims_of_gone_workers
from cme.outages import first_line, rollback_quietly

log = logging.getLogger("cme.mail")

OUTAGE_FIRST_PAUSE = 1.0
OUTAGE_MAX_PAUSE = 30.0


class Outage:
    """One kind of outage (the database, the mail server): logged when it starts and when it ends, with a pause
    before the next try that doubles while it lasts."""

    def __init__(self, what: str):
        self.what = what
        self.failures = 0
        self.since = 0.0

    def failed(self, error: str) -> float:
        """Note a failed try; returns how long to wait before the next."""
        self.failures += 1
        if self.failures == 1:
            self.since = time.monotonic()
            log.warning("%s unavailable, will keep trying: %s", self.what, error)
        return min(OUTAGE_FIRST_PAUSE * 2 ** (self.failures - 1), OUTAGE_MAX_PAUSE)

    def over(self) -> None:
        if self.failures:
            log.warning("%s available again after %.1f s (%d failed tries)", self.what,
                        time.monotonic() - self.since, self.failures)
            self.failures = 0


def _forget_connections() -> None:
    """After a database error: roll back what can be, and drop the pool (its connections may all be dead)."""
    rollback_quietly()
    db.session.remove()
    db.engine.dispose()


def run(*, interval: float, limit: int, stop: threading.Event,
        on_report: Callable[[DeliveryReport], None] = lambda report: None,
        housekeeping: Sequence[tuple[float, Callable[[], object]]] = ()) -> None:
    """Deliver until `stop` is set: a pass every `interval` seconds, longer pauses while an outage lasts.
    `housekeeping` names other chores as (every so many seconds, function), run after a pass when due (e.g. the
    throttles' purge, which mail cannot import: the caller passes it); a database error in one is an outage too."""
    worker = Worker()
    last_done = [float("-inf")] * len(housekeeping)
    database, mail_server = Outage("database"), Outage("mail server")
    log.info("mail worker %s started", worker.identity)
    while not stop.is_set():
        pause = interval
        try:
            release_claims_of_gone_workers()
            report = deliver_pending(limit=limit, worker=worker, stop=stop.is_set)
            for index, (every, chore) in enumerate(housekeeping):
                if time.monotonic() - last_done[index] >= every:
                    chore()
                    db.session.commit()
                    last_done[index] = time.monotonic()
        except DBAPIError as error:
            _forget_connections()
            pause = database.failed(first_line(error))
        else:
            database.over()
            if report.unreachable:
                pause = mail_server.failed(report.unreachable)
            elif report.sent or report.retrying or report.failed:
                mail_server.over()
            on_report(report)
            db.session.remove()
        stop.wait(pause)
    log.info("mail worker %s stopped", worker.identity)
