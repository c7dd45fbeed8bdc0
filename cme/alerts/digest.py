"""Running the weekly digests: `flask cme send-digests`, and every DIGESTS_EVERY seconds from the mail worker
(`flask cme send-mail --loop`). A batch job, like the mail worker: each learner's digest is its own transaction
(`commit_with_retry`, the one commit helper), so a run that stops half-way has sent what it committed and the next
run picks up the rest; running it twice sends nothing twice (`service.digest_for_user`)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import DBAPIError

from cme.alerts.service import digest_for_user, users_due
from cme.extensions import db
from cme.timeutil import now_utc
from cme.transactions import commit_with_retry

log = logging.getLogger("cme.alerts")

# The mail worker looks for due digests this often (seconds); each learner's comes once a week.
DIGESTS_EVERY = 900


@dataclass
class DigestRun:
    due: int = 0  # learners whose digest was due
    queued: list[int] = field(default_factory=list)  # the outbox rows queued (one per learner with news)
    failed: list[int] = field(default_factory=list)  # learners whose digest failed (logged; tried again next run)

    def __str__(self) -> str:
        text = f"{self.due} digest(s) due, {len(self.queued)} mail(s) queued"
        return text + (f", {len(self.failed)} failed" if self.failed else "")


def send_digests(*, now: datetime | None = None) -> DigestRun:
    """Queue every due digest (the worker then delivers them). Database outages propagate (the worker waits them
    out); any other failure is logged and leaves that learner for the next run."""
    now = now or now_utc()
    run = DigestRun()
    due = users_due(now=now)
    db.session.commit()  # end the read: each learner gets a transaction of their own
    run.due = len(due)
    for user_id in due:
        try:
            message = commit_with_retry(lambda: digest_for_user(user_id, now=now))
        except DBAPIError:
            raise
        except Exception:  # noqa: BLE001  (one learner's failure must not stop the others, nor the worker)
            db.session.rollback()
            log.exception("the alert digest of user %s failed; it is tried again at the next run", user_id)
            run.failed.append(user_id)
            continue
        if message is not None:
            run.queued.append(message.id)
    return run
