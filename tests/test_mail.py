"""The outbox: written with the change that causes it; delivered once over real SMTP, with retries."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from cme.accounts.service import request_password_reset
from cme.extensions import db as _db
from cme.mail.models import OutboxMessage
from cme.mail.service import backoff, compose, deliver_pending, queue_mail, queue_message
from cme.timeutil import now_utc
from tests.helpers import free_port, outbox


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


def test_an_unreachable_server_is_retried_then_given_up(app, db, make_user):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_MAX_ATTEMPTS=3)
    make_user("ada@example.org")
    request_password_reset("ada@example.org")
    db.session.commit()
    moment = now_utc()
    for expected in ("retrying", "retrying", "failed"):
        report = deliver_pending(now=moment)
        assert getattr(report, expected)
        moment += timedelta(hours=7)
    [row] = outbox(db)
    assert row.status == "failed" and row.attempts == 3 and row.last_error


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


def test_non_ascii_mail_survives_the_trip(app, db, smtp):
    with app.test_request_context():
        queue_message(compose("zoe@example.org", "Café – résumé ✓", "Grüße, José", "<p>Grüße, José</p>",
                              recipient_name="Zoë Ångström"), kind="test")
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


def test_two_workers_never_send_the_same_message(app, db, make_user, smtp, backend):
    """Parallel `send-mail` workers split the outbox (FOR UPDATE SKIP LOCKED on PostgreSQL)."""
    user = make_user("ada@example.org")
    with app.test_request_context():
        for n in range(40):
            queue_mail(user.email, f"Message {n}", "password_reset", kind="test", user=user, minutes=1, reset_url="x")
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
def test_a_worker_skips_a_message_another_worker_holds_and_delivers_the_rest(app, db, make_user, smtp):
    """On PostgreSQL a row locked by another worker's transaction is skipped, not waited for nor sent twice."""
    user = make_user("ada@example.org")
    with app.test_request_context():
        for n in range(3):
            queue_mail(user.email, f"Message {n}", "password_reset", kind="test", user=user, minutes=1, reset_url="x")
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
