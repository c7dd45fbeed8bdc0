"""`flask cme ...` commands."""
from __future__ import annotations

import logging
import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from cme.accounts.models import Role
from cme.errors import DomainError
from cme.extensions import db

PURGE_THROTTLE_EVERY = 60  # seconds between two purges of expired throttle counters by `send-mail --loop`
EXPIRE_OFFERS_EVERY = 30  # seconds between two passes over lapsed seat offers by `send-mail --loop`


@click.group("cme")
def cme_cli() -> None:
    """CME administration commands."""


@cme_cli.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.PROVIDER.value, show_default=True)
@click.option("--name", "full_name", default=None, help="Full name (defaults to the email).")
@click.option("--degree", default="", help="Degree / credentials, e.g. MD.")
@click.option("--password", default=None, help="Password; prompted for when omitted.")
@with_appcontext
def create_user_command(email: str, role: str, full_name: str | None, degree: str, password: str | None) -> None:
    """Create an account from the shell."""
    from cme.accounts.forms import MIN_PASSWORD_LENGTH
    from cme.accounts.service import AccountError, create_user

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    try:
        user = create_user(email, password, role=role, full_name=full_name or email, degree=degree)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


@cme_cli.command("send-mail")
@click.option("--loop", is_flag=True, help="Keep running, polling the outbox (through database and SMTP outages).")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between polls with --loop.")
@click.option("--limit", default=100, show_default=True, help="Messages sent at most per pass.")
@with_appcontext
def send_mail_command(loop: bool, interval: float, limit: int) -> None:
    """Deliver due messages from the outbox (SMTP, or .eml files when MAIL_SERVER is unset). With --loop it also
    deletes expired throttle counters once a minute (the throttles' housekeeping: cme/accounts/throttle.py) and
    ends lapsed seat offers every half minute, passing each seat to the next person (`expire_offers`), and queues the
    weekly alert digests that are due (cme/alerts/digest.py) and the weekly reporting-deadline mails to organizers
    (cme/reporting/deadlines.py) every quarter of an hour."""
    from cme.accounts.throttle import purge_expired
    from cme.alerts.digest import DIGESTS_EVERY, send_digests
    from cme.mail import worker
    from cme.mail.service import Worker, deliver_pending, release_claims_of_gone_workers
    from cme.reporting.deadlines import DEADLINES_EVERY, send_deadline_mails

    target = current_app.config["MAIL_SERVER"] or current_app.config["MAIL_OUTBOX_DIR"]
    if not loop:
        release_claims_of_gone_workers()
        report = deliver_pending(limit=limit, worker=Worker())
        click.echo(f"Mail to {target}: {report}.")
        if report.unreachable:
            raise click.ClickException("The mail server could not be reached; the messages stay queued.")
        return

    cme_log = logging.getLogger("cme")
    if not cme_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        cme_log.addHandler(handler)
    stop = threading.Event()

    def stop_after_this_message(signum, _frame) -> None:
        stop.set()
        for sig in (signal.SIGTERM, signal.SIGINT):  # a second signal stops at once
            signal.signal(sig, signal.SIG_DFL)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop_after_this_message)

    def echo(report) -> None:
        if report.sent or report.retrying or report.failed:
            click.echo(f"Mail to {target}: {report}.")

    worker.run(interval=interval, limit=limit, stop=stop, on_report=echo,
               housekeeping=[(PURGE_THROTTLE_EVERY, purge_expired), (EXPIRE_OFFERS_EVERY, expire_offers),
                             (DIGESTS_EVERY, send_digests), (DEADLINES_EVERY, send_deadline_mails)])


def expire_offers() -> int:
    """End every seat offer whose deadline has come (or whose activity started or was cancelled), one activity per
    transaction (the activity locked, as registering does), and pass each seat on (issue 14, point 16). Returns
    how many offers ended. A refusal (an activity deleted meanwhile) skips that activity; a database error is
    raised (the worker's loop treats it as an outage)."""
    from cme.registration.service import activities_with_due_offers, expire_offers_of
    from cme.transactions import commit_with_retry

    ended = 0
    for activity_id in activities_with_due_offers():
        db.session.rollback()  # each activity in its own transaction
        try:
            ended += commit_with_retry(lambda: expire_offers_of(activity_id))
        except DomainError as error:
            db.session.rollback()
            logging.getLogger("cme").warning("offers of activity %s not ended: %s", activity_id, error.message)
    return ended


@cme_cli.command("send-digests")
@with_appcontext
def send_digests_command() -> None:
    """Queue the weekly alert digests that are due (`send-mail` delivers them; `send-mail --loop` runs this every
    quarter of an hour). Safe to run at any time and as often as you like: each learner gets one a week."""
    from cme.alerts.digest import send_digests

    run = send_digests()
    click.echo(f"Alert digests: {run}.")
    if run.failed:
        raise click.ClickException(f"{len(run.failed)} digest(s) failed (see the log); they are tried again next run.")


@cme_cli.command("purge-throttle")
@with_appcontext
def purge_throttle_command() -> None:
    """Delete expired throttle counters (`send-mail --loop` does it once a minute)."""
    from cme.accounts.throttle import purge_expired

    click.echo(f"Deleted {purge_expired()} expired throttle counter(s).")


@cme_cli.command("expire-offers")
@with_appcontext
def expire_offers_command() -> None:
    """End lapsed seat offers and pass each seat to the next person on the waitlist (`send-mail --loop` does it
    every half minute; run this from cron where no worker loops)."""
    click.echo(f"Ended {expire_offers()} lapsed seat offer(s).")


@cme_cli.command("issue-certificates")
@click.argument("activity_id", type=int)
@with_appcontext
def issue_certificates_command(activity_id: int) -> None:
    """Issue certificates to every learner with claimed credit for ACTIVITY_ID (and mail them)."""
    from cme.activities.models import Activity
    from cme.certificates.service import issue_for_activity

    activity = db.session.get(Activity, activity_id)
    if activity is None:
        raise click.ClickException(f"No activity has id {activity_id}.")
    try:
        issued = issue_for_activity(activity)
    except DomainError as error:  # a cancelled activity has no certificates
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Issued {len(issued)} certificate(s) for {activity.title!r}.")


@cme_cli.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Create the demo catalog and demo accounts (idempotent)."""
    from cme.demo import seed_demo

    summary = seed_demo()
    db.session.commit()
    click.echo(summary)


@cme_cli.command("store-calendar-fragments")
@with_appcontext
def store_calendar_fragments_command() -> None:
    """Store anew the public calendar feed's per-activity VEVENTs that are missing or out of date (run after a
    deploy that changes them, or a change of CME_BASE_URL or MAIL_DEFAULT_SENDER)."""
    from cme.calendar.service import store_stale_public_fragments

    count = store_stale_public_fragments()
    db.session.commit()
    click.echo(f"Stored the calendar events of {count} activit{'y' if count == 1 else 'ies'}.")


@cme_cli.command("reindex-library")
@with_appcontext
def reindex_library_command() -> None:
    """Rebuild the library's search index from its items (run after a deploy that changes what it holds)."""
    from cme.library.search import reindex_all

    counts = reindex_all()
    db.session.commit()
    click.echo("Indexed " + ", ".join(f"{n} {kind}" for kind, n in counts.items()) + ".")


@cme_cli.command("purge-closed-accounts")
@with_appcontext
def purge_closed_accounts_command() -> None:
    """Delete closed accounts whose records' six-year retention has ended (run it daily, e.g. from cron)."""
    from cme.privacy.service import closed_accounts_kept, purge_closed_accounts

    purged = purge_closed_accounts()
    db.session.commit()
    click.echo(f"Deleted {len(purged)} closed account(s) past their retention period; "
               f"{closed_accounts_kept()} closed account(s) kept.")


from cme.reporting.cli import report_cli  # noqa: E402  (issue 16)
cme_cli.add_command(report_cli)
