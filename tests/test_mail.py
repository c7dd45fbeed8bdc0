"""The outbox: written with the change that causes it; delivered once over real SMTP, with retries."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from cme.accounts.service import request_password_reset
from cme.extensions import db as _db
from cme.mail.models import OutboxMessage
from cme.mail.service import (SMTPTransport, Worker, backoff, compose, composers_of, deliver_pending,
                              queue_deferred, register_composers)
from cme.timeutil import now_utc
from tests.helpers import free_port, outbox, queue_every_kind_of_mail

MAIL_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "mail"


@pytest.fixture
def plain_composer(app):
    """A composer named "plain" on this app: the payload's text and html, as given."""
    def compose_plain(message, payload):
        return compose(message.recipient, message.subject, payload["text"], payload.get("html"),
                       recipient_name=payload.get("name"))

    register_composers(app, {"plain": compose_plain})


def test_mail_commits_with_the_change_that_caused_it(db, make_user):
    make_user("ada@example.org")
    assert request_password_reset("ada@example.org")
    db.session.commit()
    [row] = outbox(db)
    assert row.status == "pending" and row.recipient == "ada@example.org" and row.kind == "password_reset"


def test_a_rolled_back_change_leaves_no_mail_behind(db, make_user):
    user = make_user("ada@example.org", full_name="Ada")
    user.full_name = "Changed"
    request_password_reset("ada@example.org")
    db.session.rollback()
    assert outbox(db) == []
    db.session.refresh(user)
    assert user.full_name == "Ada"


def test_a_failed_transaction_leaves_no_mail_behind(db, make_user):
    make_user("ada@example.org")
    make_user("bob@example.org")
    request_password_reset("ada@example.org")
    db.session.add(OutboxMessage(recipient="x@example.org", subject="s", raw_message="x", status="bogus"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert outbox(db) == []


def test_send_mail_command_delivers_to_a_real_smtp_server(app, db, make_user, smtp):
    make_user("ada@example.org", full_name="Ada Lovelace")
    make_user("bob@example.org", full_name="Bob Builder")
    request_password_reset("ada@example.org")
    request_password_reset("bob@example.org")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["cme", "send-mail"])
    assert result.exit_code == 0, result.output
    assert "sent 2" in result.output
    assert sorted(m["To"].addresses[0].addr_spec for m in smtp.messages) == ["ada@example.org", "bob@example.org"]
    assert [rcpts for _, rcpts in smtp.envelopes] in ([["ada@example.org"], ["bob@example.org"]],
                                                      [["bob@example.org"], ["ada@example.org"]])
    message = smtp.messages[0]
    assert message.get_content_type() == "multipart/alternative"
    assert {p.get_content_type() for p in message.iter_parts()} == {"text/plain", "text/html"}
    db.session.expire_all()
    assert all(r.status == "sent" and r.sent_dt and r.attempts == 1 for r in outbox(db))
    # Running again sends nothing more: each message is sent once.
    again = app.test_cli_runner().invoke(args=["cme", "send-mail"])
    assert "sent 0" in again.output and len(smtp.messages) == 2


def test_a_refused_first_attempt_is_retried_after_backoff(app, db, make_user, smtp_server):
    handler, port = smtp_server(refuse_first=1)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    make_user("ada@example.org")
    request_password_reset("ada@example.org")
    db.session.commit()
    start = now_utc()

    first = deliver_pending(now=start)
    assert first.retrying and not first.sent and handler.messages == []
    [row] = outbox(db)
    assert row.status == "pending" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_dt == start + timedelta(seconds=60)

    too_soon = deliver_pending(now=start + timedelta(seconds=30))
    assert not too_soon.sent and handler.messages == []

    later = deliver_pending(now=start + timedelta(seconds=61))
    assert later.sent == [row.id] and len(handler.messages) == 1
    db.session.refresh(row)
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None


def test_an_unreachable_server_costs_no_message_an_attempt(app, db, make_user):
    """A mail server that cannot be reached is not the messages' fault: the batch stops, its claims go back at
    once and no attempt is counted, however long the outage lasts (issue 13, point 7)."""
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_MAX_ATTEMPTS=3)
    for email in ("ada@example.org", "bob@example.org"):
        make_user(email)
        request_password_reset(email)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["cme", "send-mail"])
    assert result.exit_code == 1 and "could not be reached" in result.output, result.output
    moment = now_utc()
    for _ in range(5):
        report = deliver_pending(now=moment)
        assert report.unreachable and "refused" in report.unreachable and not report.retrying and not report.failed
        moment += timedelta(hours=7)
    db.session.expire_all()
    assert [(r.status, r.attempts, r.claimed_by) for r in outbox(db)] == [("pending", 0, None)] * 2


def test_backoff_doubles_and_is_capped():
    assert [backoff(n, 60).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff(30, 60) == timedelta(hours=6)


def test_without_an_smtp_server_mail_is_written_as_eml_files(app, db, make_user, tmp_path):
    from email import message_from_bytes, policy

    outbox_dir = tmp_path / "eml"
    app.config.update(MAIL_SERVER=None, MAIL_OUTBOX_DIR=str(outbox_dir))
    make_user("ada@example.org")
    request_password_reset("ada@example.org")
    db.session.commit()
    assert deliver_pending().sent
    [path] = outbox_dir.glob("*.eml")
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["Subject"] == "Reset your password" and "/account/reset/" in message.get_body(("plain",)).get_content()


def test_non_ascii_mail_survives_the_trip(app, db, smtp, plain_composer):
    queue_deferred("zoe@example.org", "Café – résumé ✓", kind="test", composer="plain", text="Grüße, José",
                   html="<p>Grüße, José</p>", name="Zoë Ångström")
    db.session.commit()
    assert deliver_pending().sent
    [message] = smtp.messages
    assert message["Subject"] == "Café – résumé ✓"
    assert message["To"].addresses[0].display_name == "Zoë Ångström"
    assert message.get_body(("plain",)).get_content().strip() == "Grüße, José"


def test_user_text_is_escaped_in_html_mail(app, db, make_user, smtp):
    make_user("ada@example.org", full_name="<script>alert(1)</script>")
    request_password_reset("ada@example.org")
    db.session.commit()
    deliver_pending()
    html = smtp.messages[0].get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_two_workers_never_send_the_same_message(app, db, smtp, backend, plain_composer):
    """Parallel `send-mail` workers split the outbox (FOR UPDATE SKIP LOCKED on PostgreSQL)."""
    for n in range(40):
        queue_deferred("ada@example.org", f"Message {n}", kind="test", composer="plain", text=f"Message {n}")
    db.session.commit()
    reports, errors = [], []

    def worker():
        try:
            with app.app_context():
                while True:
                    report = deliver_pending(limit=5)
                    reports.append(report)
                    if not report.sent:
                        break
                _db.session.remove()
        except Exception as error:  # pragma: no cover - surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    sent_ids = [i for r in reports for i in r.sent]
    assert len(sent_ids) == len(set(sent_ids)) == 40
    assert sorted(m["Subject"] for m in smtp.messages) == sorted(f"Message {n}" for n in range(40))
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")) == 40


@pytest.mark.postgresql
def test_a_worker_skips_a_message_another_worker_holds_and_delivers_the_rest(app, db, smtp, plain_composer):
    """On PostgreSQL a row locked by another worker's transaction is skipped, not waited for nor sent twice."""
    for n in range(3):
        queue_deferred("ada@example.org", f"Message {n}", kind="test", composer="plain", text=f"Message {n}")
    db.session.commit()
    first, held, last = [row.id for row in outbox(db)]
    reports = []

    def worker():
        with app.app_context():
            reports.append(deliver_pending())
            _db.session.remove()

    with db.engine.connect() as other_worker:
        other_worker.execute(select(OutboxMessage.id).where(OutboxMessage.id == held).with_for_update())
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(timeout=15)
        waited = thread.is_alive()
        other_worker.rollback()  # releases the row (and a waiting worker)
    thread.join()
    assert not waited, "the worker waited for the locked row instead of skipping it"
    assert reports[0].sent == [first, last]
    assert sorted(m["Subject"] for m in smtp.messages) == ["Message 0", "Message 2"]
    db.session.expire_all()
    assert db.session.get(OutboxMessage, held).status == "pending"
    assert deliver_pending().sent == [held]
    assert [m["Subject"] for m in smtp.messages].count("Message 1") == 1


@pytest.mark.postgresql
def test_a_claim_that_ran_out_mid_batch_leaves_its_messages_to_the_worker_that_took_them(app, db, smtp,
                                                                                       plain_composer):
    """Issue 13, point 7: while the first message of a batch is being sent, every lease runs out and another worker
    takes and sends the rest; the first worker, re-checking its claim right before each send, skips them. The
    message being sent stays locked however long the server takes (PostgreSQL; on SQLite the renewed lease must
    outlast the send, as tests/test_mail_worker.py's two workers show). Each message arrives once."""
    for n in range(3):
        queue_deferred("ada@example.org", f"Message {n}", kind="test", composer="plain", text=f"Message {n}")
    db.session.commit()
    first, second, third = [row.id for row in outbox(db)]
    start = now_utc()
    later = start + timedelta(seconds=app.config["MAIL_CLAIM_LEASE_SECONDS"] + 1)
    other = []

    def other_worker():
        with app.app_context():
            other.append(deliver_pending(now=later))
            _db.session.remove()

    class SlowServer(SMTPTransport):
        def send(self, message):
            super().send(message)
            if not other:  # the server has not answered yet, and the leases ran out meanwhile
                thread = threading.Thread(target=other_worker)
                thread.start()
                thread.join()

    report = deliver_pending(now=start, transport=SlowServer(app.config))
    assert report.sent == [first] and report.skipped == [second, third]
    assert other[0].sent == [second, third]
    assert sorted(m["Subject"] for m in smtp.messages) == ["Message 0", "Message 1", "Message 2"]


@pytest.mark.postgresql
def test_a_message_the_server_took_while_the_database_went_away_is_recorded_later_not_sent_again(
        app, db, smtp, plain_composer, terminate_backend):
    """Issue 13, point 7: the worker remembers what it sent but could not record, and records it first thing on
    its next pass (the row, still claimed by it, is not sent again)."""
    queue_deferred("ada@example.org", "Hello", kind="test", composer="plain", text="Hello")
    db.session.commit()
    worker = Worker()
    seen = terminate_backend(before="^UPDATE outbox_messages SET .*sent_dt")  # recording the send
    with pytest.raises(sa.exc.OperationalError):
        deliver_pending(worker=worker)
    assert seen.ended and len(smtp.messages) == 1
    db.session.rollback()
    [row] = outbox(db)
    assert row.status == "pending" and row.claimed_by == worker.identity
    assert deliver_pending(worker=worker).sent == [] and len(smtp.messages) == 1
    db.session.expire_all()
    [row] = outbox(db)
    assert row.status == "sent" and row.attempts == 1


# ---------------------------------------------------------------- one path: deferred rows, composers the app registers

CME = Path(__file__).resolve().parent.parent / "cme"


def _calls(name: str) -> list[tuple[str, str, ast.Call]]:
    """Every call of a function named `name` in cme/ (plain or as an attribute): (file, enclosing function, call)."""
    found = []
    for path in sorted(CME.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and name in (getattr(node.func, "id", None),
                                                           getattr(node.func, "attr", None)):
                    found.append((path.relative_to(CME.parent).as_posix(), function.name, node))
    return found


def test_the_app_has_a_composer_for_every_mail_the_code_queues(app):
    queued = set()
    for path, _, call in _calls("queue_deferred"):
        [composer] = [k.value for k in call.keywords if k.arg == "composer"]
        assert isinstance(composer, ast.Constant), f"{path}:{call.lineno} names its composer with a literal"
        queued.add(composer.value)
    assert {"password_reset", "certificate_issued", "registrant"} <= queued
    assert queued == set(composers_of(app))  # each queued mail can be composed; no composer is dead


def test_every_mail_enters_the_outbox_as_a_deferred_row():
    """Nothing composes a message in the caller and writes it: the one outbox row built in cme/ is queue_deferred's."""
    assert [(path, function) for path, function, _ in _calls("OutboxMessage")] == [
        ("cme/mail/service.py", "queue_deferred")]


def test_composers_are_registered_without_importing_any_views(app):
    """The app factory registers them explicitly; a worker needs no views module imported to find them."""
    probe = textwrap.dedent("""
        import json, sys
        from flask import Flask
        from cme import register_mail_composers
        from cme.mail.service import composers_of
        app = Flask("probe")
        register_mail_composers(app)
        views = sorted(m for m in sys.modules if m.startswith("cme.") and m.rsplit(".", 1)[-1].endswith("views"))
        print(json.dumps({"composers": sorted(composers_of(app)), "views": views}))
    """)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                            cwd=CME.parent, check=True)
    seen = json.loads(result.stdout)
    assert seen == {"composers": sorted(composers_of(app)), "views": []}


def test_the_send_mail_worker_composes_every_kind_of_mail(app, db, make_user, make_activity):
    """Reset, certificate, registration and notice: each queued as a row with no message, each composed and sent
    by `flask cme send-mail` (an app context, no request)."""
    from decimal import Decimal

    from cme.certificates.service import issue_for_activity
    from cme.credit.models import CreditRecord
    from cme.registration import service as registration
    from cme.registration.notices import queue_change_notices

    ada = make_user("ada@example.org", full_name="Ada Lovelace", profession="physician")
    activity = make_activity(title="Liver summit")
    request_password_reset(ada.email)
    registration.register(ada, activity.id, registration.Answers.from_profile(ada, attested_professional=True))
    an_hour_ago = now_utc() - timedelta(hours=1)
    queue_change_notices(activity, {"venue": ["Old hall", activity.venue_name]}, now=an_hour_ago)
    db.session.add(CreditRecord(user_id=ada.id, activity_id=activity.id, credit_type="ama_pra_1",
                                amount=Decimal("1.5"), attested=True))
    issue_for_activity(activity)
    db.session.commit()
    rows = outbox(db)
    assert sorted(r.kind for r in rows) == ["certificate_issued", "password_reset", "registration_confirmed",
                                            "reminder_meeting", "schedule_changed"]
    assert all(r.raw_message is None and r.payload for r in rows)
    [reminder] = outbox(db, "reminder_meeting")
    reminder.send_after_dt = reminder.next_attempt_dt = an_hour_ago  # its day has come
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["cme", "send-mail"])
    assert result.exit_code == 0 and "sent 5, will retry 0, given up 0" in result.output, result.output
    db.session.expire_all()
    assert all(r.status == "sent" and "Ada Lovelace" in r.raw_message for r in outbox(db))


# ---------------------------------------------------------------- how mail reads (issue 14, point 10)

def test_every_kind_of_mail_comes_from_the_provider_by_name_and_its_text_keeps_paragraphs_apart(
        app, db, smtp, rendered_templates):
    """The sender's display name is the provider's (CME_PROVIDER_NAME; MAIL_DEFAULT_SENDER gives the address);
    in the plain text a blank line ends the activity's facts, no paragraph break is doubled, and the provider's
    name is never used as an adjective ("your The ... account")."""
    app.config.update(CME_PROVIDER_NAME="The Pacific Liver Institute",
                      MAIL_DEFAULT_SENDER="Old Name <cme@pacific.example.org>")
    queue_every_kind_of_mail()
    report = deliver_pending()
    assert report.retrying == report.failed == []
    every_kind = {p.name for p in MAIL_TEMPLATES.glob("*.html") if not p.name.startswith("_")}
    assert {Path(name).name for name in rendered_templates} >= every_kind | {n[:-4] + "txt" for n in every_kind}
    assert len(smtp.messages) >= len(every_kind)
    for message in smtp.messages:
        [sender] = message["From"].addresses
        assert (sender.display_name, sender.addr_spec) == ("The Pacific Liver Institute", "cme@pacific.example.org")
        text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
        lines = text.rstrip("\n").split("\n")
        assert "\n\n\n" not in text, message["Subject"]
        assert all(lines[i + 1] == "" for i, line in enumerate(lines[:-1]) if line.startswith("Details: ")), text
        assert "your The Pacific" not in text and "your The Pacific" not in message.get_body(("html",)).get_content()
