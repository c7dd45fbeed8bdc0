"""Plain helpers shared by the tests and their conftests (not a test module; never import a test module or a
conftest). Fixtures live in tests/conftest.py and tests/browser/conftest.py."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from cme import create_app
from cme.accounts.identity import StateLicence
from cme.accounts.models import User
from cme.accounts.service import (
    SET_PASSWORD, create_user, make_email_change_token, make_reset_token, make_verification_token, request_email_change,
)
from cme.activities.models import Activity, ActivityFormat, ActivityStatus
from cme.activities.reporting_data import MocRegistration
from cme.alerts.models import ActivityAlert
from cme.alerts.service import AlertFilters, create_alert, unsubscribe_token
from cme.calendar.service import feed_token
from cme.certificates.models import Certificate
from cme.credit.evaluation_models import PostTestQuestion
from cme.demo import DEMO_PASSWORD, PROVIDER_EMAIL
from cme.accounts.throttle import SCOPES as THROTTLE_SCOPES
from cme.extensions import db as _db
from cme.library.abstracts.models import Abstract
from cme.library.highlights.models import Highlight
from cme.library.materials.models import Material
from cme.library.news.models import NewsArticle
from cme.mail.models import OutboxMessage
from cme.registration.models import Registration



def _per_worker(url: str | None) -> str | None:
    """Under pytest-xdist (`make test` runs two workers), each worker has a PostgreSQL database of its own, named
    after the configured one and the worker (test_gw0, test_gw1): session fixtures reset and migrate it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    from sqlalchemy.engine import make_url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


CONFIGURED_POSTGRES_URL = os.environ.get("CME_TEST_DATABASE_URL")
POSTGRES_URL = _per_worker(CONFIGURED_POSTGRES_URL)
TEST_PASSWORD = "correct horse battery"
JS_PARSER = Path(__file__).parent / "js" / "parse_ics.mjs"


def pg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def base_config(database_url: str, instance: Path, **extra) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-0123456789abcdef0123456789",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(instance),
        "WTF_CSRF_ENABLED": False,
        "MAIL_SERVER": None,
        "MAIL_OUTBOX_DIR": str(instance / "outbox"),
        "CME_BASE_URL": "http://cme.test",
        "MAIL_RETRY_BASE_SECONDS": 60,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast in tests; the default (scrypt) is tested on its own
        # Tests log in, sign up and look up codes from 127.0.0.1 many times: limits no test reaches, except the
        # throttle tests, which set small ones (tests/test_throttle.py).
        "THROTTLE_LIMITS": {scope: (1_000_000, 3600) for scope in THROTTLE_SCOPES},
    }
    config.update(extra)
    return config


def migrate_database(database_url: str, instance: Path) -> None:
    """Build the schema with the Alembic migrations (never with create_all)."""
    from flask_migrate import upgrade

    app = create_app(base_config(database_url, instance))
    with app.app_context():
        upgrade()
        _db.engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RecordingHandler:
    """An aiosmtpd handler that keeps what arrives; `refuse_first` answers the first N DATA with 451; `delay`
    seconds pass between the end of DATA and the answer (a slow server: it keeps the message, then answers)."""

    refuse_first: int = 0
    delay: float = 0.0
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)  # time.monotonic() of each kept message
    refused: int = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refused < self.refuse_first:
            self.refused += 1
            return "451 4.3.0 Temporary failure, try again later"
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        self.arrived.append(time.monotonic())
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"


class TcpProxy:
    """A TCP proxy on loopback to `target` that a test can cut (every connection through it closed, new ones
    refused, as when a database server goes down) and restore: a real outage of what sits behind it. `url` is a
    database URL through it, when the caller sets one."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self.url = ""
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            for sock in [self._listener, *self._sockets]:
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the threads blocked on it
                except OSError:
                    pass
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@dataclass
class WorkerProcess:
    """A real `flask --app app cme send-mail --loop` process; what it prints goes to `log`."""

    process: subprocess.Popen
    log: Path
    started: float  # time.monotonic() when it was started

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.process.poll() is None, f"the worker exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {text!r} in the worker's output:\n{self.output()}"
            time.sleep(0.05)

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, then its exit status (it finishes the message in hand first)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL, and reap it (a zombie's pid would still look alive)."""
        self.process.kill()
        self.process.wait(timeout=20)


def wait_until(condition, *, timeout: float = 20, interval: float = 0.05, what: str = "the condition"):
    """Poll `condition()` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)
    return result


def outbox(db, kind: str | None = None) -> list[OutboxMessage]:
    """The outbox rows, oldest first (of one kind if given)."""
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(stmt))


def ical_js(body: bytes) -> dict:
    """Parse with ical.js under Node (installed by `make test`)."""
    node = shutil.which("node")
    if node is None or not (JS_PARSER.parent / "node_modules" / "ical.js").exists():
        pytest.fail("Node.js and tests/js/node_modules are needed: run `make test` (it installs ical.js with npm).")
    result = subprocess.run([node, str(JS_PARSER)], input=body, capture_output=True, check=True, timeout=60)
    return json.loads(result.stdout)


def utc(text: str) -> datetime:
    """An instant as ical.js prints it (ISO 8601, Z for UTC)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def empty_all_tables() -> None:
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    if _db.engine.dialect.name == "postgresql":
        # TRUNCATE gives each table a new file: ~100 ms for every table, ~40 ms each of those a test filled. One
        # query finds the tables a test filled; DELETE empties them (children first) in a millisecond or two; the
        # sequences a test advanced (also by rolled-back inserts) start again from 1.
        used = set(_db.session.scalars(text(" UNION ALL ".join(
            f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name})" for name in tables))))
        for name in tables:
            if name in used:
                _db.session.execute(text(f"DELETE FROM {name}"))
        for sequence in _db.session.scalars(text(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences "
                "WHERE last_value IS NOT NULL")).all():
            _db.session.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))
    else:
        for name in tables:
            _db.session.execute(text(f"DELETE FROM {name}"))
    _db.session.commit()


def queue_every_kind_of_mail(domain: str = "mail-kinds.example.org") -> set[str]:
    """Queue one mail of every kind the app sends, through the services (in the current app context), with long
    titles, addresses and links that must wrap on a phone; every waiting row (reminders, change notices) is made
    due. Commits. Returns the kinds queued; deliver with `cme.mail.service.deliver_pending()`."""
    from datetime import timedelta
    from decimal import Decimal

    from sqlalchemy import update

    from cme.accounts import service as accounts
    from cme.accounts.service import find_user_by_email, request_password_reset, sign_up
    from cme.activities.models import Activity, CreditDesignation
    from cme.alerts.service import AlertFilters, create_alert, digest_for_user
    from cme.certificates.service import issue_for_activity
    from cme.credit.models import CreditRecord, ReportingConsent
    from cme.registration import lifecycle, notices
    from cme.registration import service as registration
    from cme.reporting.deadlines import send_deadline_mails
    from cme.reporting.records import activity_scope
    from cme.reporting.service import remind_learners
    from cme.timeutil import now_utc

    now = now_utc().replace(microsecond=0)
    long_title = "Hepatocellular Carcinoma Surveillance, Staging and Multidisciplinary Treatment in Cirrhosis"

    def person(name: str):
        email = f"{name.split()[0].lower()}@{domain}"
        sign_up(email, TEST_PASSWORD, full_name=name, degree="MD")  # account_welcome
        user = find_user_by_email(email)
        user.email_verified_dt = now  # as if they had followed the welcome mail's link
        return user

    def activity(title: str, **fields):
        start = now + fields.pop("starts_in", timedelta(days=10))
        fields.setdefault("format", "live_meeting")
        if fields["format"] == "live_meeting":
            fields.update(venue_name="Hudson Conference Center, Grand Ballroom and Foyer", city="New York",
                          state="NY", street_address="333 Seventh Avenue, Fourteenth Floor", postal_code="10001")
        row = Activity(title=title, status="published", time_zone="America/New_York", start_dt=start,
                       end_dt=start + timedelta(hours=6), **fields,
                       credit_designations=[CreditDesignation(credit_type="ama_pra_1", max_amount=Decimal("6"))])
        _db.session.add(row)
        _db.session.flush()
        return row

    def register(user, target, **needs):
        return registration.register(user, target.id, registration.Answers.from_profile(
            user, attested_professional=True, **needs))

    ada, bo, cy, dan, eve = (person(n) for n in ("Ada Lovelace", "Bo Chen", "Cy Young", "Dan Okafor", "Eve Ito"))
    sign_up(ada.email, TEST_PASSWORD, full_name="Someone Else")  # signup_taken
    _db.session.commit()  # the reset's throttle counts on its own connection: SQLite lets one writer at a time
    request_password_reset(ada.email)  # password_reset

    changed = activity(long_title, capacity=1)
    register(ada, changed, dietary_needs="Vegetarian, no nuts")  # registration_confirmed, reminder_meeting
    register(bo, changed)  # registration_waitlisted
    notices.queue_change_notices(changed, {"venue": ["Old hall", changed.venue_name]}, now=now,
                                 message="We moved to the larger ballroom: the registration desk is on the left.")
    # schedule_changed (ada), schedule_changed_waitlisted (bo)

    full = activity(f"{long_title} (second edition)", capacity=1)
    seat = register(cy, full)
    register(dan, full, accessibility_needs="Step-free access to the ballroom, please")
    registration.cancel_registration(seat, took_part=False)  # registration_cancelled (cy), registration_promoted (dan)

    # Seat offers near the start (issue 14, point 16).
    fay, gus, hal, ivy, jo, kim = (person(n) for n in ("Fay Park", "Gus Amato", "Hal Berg", "Ivy Nash", "Jo Silva",
                                                       "Kim Ruiz"))
    near = activity(f"{long_title} (third edition)", capacity=1, starts_in=timedelta(days=3))
    held = register(fay, near)
    register(gus, near)
    register(hal, near)
    registration.cancel_registration(held, took_part=False)  # an offer to gus (not sent: he declines first)
    registration.decline_offer(registration.active_registration(gus, near.id))
    # registration_declined (gus), registration_offered (hal)
    later = activity("Portal Hypertension: What Changed in Baveno VII", capacity=1, starts_in=timedelta(days=2))
    held = register(ivy, later)
    register(jo, later)
    register(kim, later)
    registration.cancel_registration(held, took_part=False, now=now - timedelta(hours=25))  # jo: until an hour ago
    registration.expire_offers_of(later.id, now=now)  # registration_lapsed (jo); an offer to kim
    registration.accept_offer(registration.active_registration(kim, later.id))  # registration_accepted (kim)

    webcast = activity("Immunotherapy for Advanced Hepatocellular Carcinoma", format="live_webcast",
                       join_url="https://webcast.example.org/join/" + "hepatocellular-carcinoma-immunotherapy" * 3)
    register(eve, webcast)  # reminder_webcast

    cancelled = activity("Alcohol-Associated Liver Disease: From Hepatitis to Transplant")
    register(eve, cancelled)
    lifecycle.cancel_activity(cancelled)  # activity_cancelled

    certified = activity("Simplified HCV Treatment in Primary Care", starts_in=timedelta(days=-2))
    _db.session.add(CreditRecord(user_id=ada.id, activity_id=certified.id, credit_type="ama_pra_1",
                                 amount=Decimal("5.5"), attested=True))
    _db.session.flush()
    issue_for_activity(certified)  # certificate_issued
    # Issue 16: ada allowed reporting to ACCME but gave no birthday (reporting_missing_fields); the activity's
    # organizer hears of what is due (reporting_deadlines).
    _db.session.add(ReportingConsent(user_id=ada.id, activity_id=certified.id, body="accme", granted=True))
    certified.organizers.append(eve)
    _db.session.flush()
    remind_learners(activity_scope(certified), now=now)
    send_deadline_mails(now=now)

    create_alert(bo, AlertFilters(name="Liver cancer: surveillance, staging and every new treatment in cirrhosis",
                                  q="hepatocellular", format="live_meeting"), now=now - timedelta(days=8))
    news = activity(f"{long_title}: Regional Update")
    news.published_dt = now - timedelta(hours=1)
    digest_for_user(bo.id, now=now)  # alert_digest

    eve.email_verified_dt = None
    accounts.resend_verification(eve)  # email_verification
    accounts.request_email_change(dan, f"daniel.okafor.new@{domain}", TEST_PASSWORD, now=now)
    # email_change_confirm (to the new address), email_change_requested (to the old one)
    token = accounts.make_email_change_token(dan, old_email=dan.email, new_email=dan.pending_email,
                                             requested_dt=dan.pending_email_dt)
    accounts.confirm_email_change(dan, token, now=now)  # email_changed
    accounts.create_invited_account(f"walk.in@{domain}", invited_to=long_title, now=now,
                                    full_name="Walk In")  # account_invited

    due = now - timedelta(minutes=1)
    _db.session.execute(update(OutboxMessage).values(send_after_dt=due, next_attempt_dt=due))
    _db.session.commit()
    return set(_db.session.scalars(select(OutboxMessage.kind).distinct()))


# What does not fit the window's width, for a browser test to evaluate (`page.evaluate(WHAT_DOES_NOT_FIT)`): the
# page scrolling sideways, content hidden in a sideways scroller (a form field's own text apart), and table cells
# outside the window or spilling out of their cell. Visually hidden elements (1 px wide) do not count.
WHAT_DOES_NOT_FIT = """() => {
  const width = document.documentElement.clientWidth, problems = [];
  const hidden = el => { for (let p = el; p; p = p.parentElement) if (p.getBoundingClientRect().width <= 1) return true; return false; };
  const name = el => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
    + ' "' + el.textContent.trim().replace(/\\s+/g, ' ').slice(0, 40) + '"';
  if (document.documentElement.scrollWidth > width) problems.push(`the page is ${document.documentElement.scrollWidth} px wide in ${width}`);
  for (const el of document.body.querySelectorAll('*')) {
    if (['INPUT', 'SELECT', 'TEXTAREA', 'OPTION', 'SCRIPT'].includes(el.tagName) || hidden(el)) continue;
    const overflow = getComputedStyle(el).overflowX;
    if (overflow !== 'visible' && overflow !== 'clip' && el.scrollWidth > el.clientWidth + 1) problems.push('scrolls sideways: ' + name(el));
    if (el.tagName === 'TD' || el.tagName === 'TH') {
      const box = el.getBoundingClientRect();
      if (box.left < -1 || box.right > width + 1) problems.push('cell outside the window: ' + name(el));
      else if (el.scrollWidth > el.clientWidth + 1) problems.push('spills out of its cell: ' + name(el));
    }
  }
  return problems;
}"""


# ---------------------------------------------------------------- every GET page of the app, over the demo data

def get_urls(app: Flask) -> list[str]:
    """Every GET route of the app, from its URL map, filled with the demo's values (`_examples`): the sweeps over
    every page (tests/test_get_requests.py; the validator and axe in tests/browser/test_accessibility.py) request
    these. Makes a token for each route that takes one (writes and commits in the app's database). A route whose
    URL parameters cannot be filled fails the calling test until `_examples` is taught them."""
    rules = [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods]
    return sorted({_url(rule, values) for values in _examples(app) for rule in rules})


def _tokens(provider: User) -> dict[str, str]:
    """A working token per route that takes one: the provider's feed; a change of address the provider asked for
    (its page shows to the provider); a new account's verification link (its page shows to anyone)."""
    request_email_change(provider, "provider.new@example.org", DEMO_PASSWORD)
    newcomer = create_user("newcomer@example.org", DEMO_PASSWORD, full_name="New Comer", verified=False)
    alert = create_alert(provider, AlertFilters(specialty="Hepatology"))
    _db.session.commit()
    return {"calendar.personal_feed": feed_token(provider), "accounts.reset_password": make_reset_token(provider),
            "accounts.confirm_email_change": make_email_change_token(
                provider, old_email=provider.email, new_email=provider.pending_email,
                requested_dt=provider.pending_email_dt),
            "accounts.verify_email": make_verification_token(newcomer),
            "accounts.set_password": make_reset_token(newcomer, link=SET_PASSWORD),
            "alerts.unsubscribe": unsubscribe_token(provider.id, [alert.id])}


def _examples(app: Flask) -> list[dict]:
    """URL values to try, one set per activity: the one of the provider's certificate and an on-demand webcast (the
    same activity in the demo), the provider's next live meeting and their last one (attended, evaluated, claimed),
    and a draft (what an organizer sees before publishing)."""
    from cme.timeutil import now_utc

    with app.app_context():
        provider = _db.session.scalar(select(User).where(User.email == PROVIDER_EMAIL))
        tokens = _tokens(provider)
        certificate = _db.session.scalar(select(Certificate).where(Certificate.user_id == provider.id))
        alert_id = _db.session.scalar(select(ActivityAlert.id).where(ActivityAlert.user_id == provider.id))
        meeting = _db.session.get(Activity, certificate.activity_id)
        webcast = _db.session.scalar(select(Activity).where(
            Activity.format == ActivityFormat.ON_DEMAND_WEBCAST, Activity.status == ActivityStatus.PUBLISHED))
        providers_meetings = select(Activity).join(Registration).where(
            Registration.user_id == provider.id, Activity.format == ActivityFormat.LIVE_MEETING,
            Activity.status == ActivityStatus.PUBLISHED)
        next_meeting = _db.session.scalar(providers_meetings.where(Activity.start_dt > now_utc())
                                          .order_by(Activity.start_dt).limit(1))
        last_meeting = _db.session.scalar(providers_meetings.where(Activity.end_dt < now_utc())
                                          .order_by(Activity.start_dt.desc()).limit(1))
        draft = _db.session.scalar(select(Activity).where(Activity.status == ActivityStatus.DRAFT).limit(1))
        any_registration = _db.session.scalar(select(Registration).where(Registration.user_id == provider.id).limit(1))
        examples = []
        for activity in dict.fromkeys(a for a in (meeting, webcast, next_meeting, last_meeting, draft) if a):
            registration = _db.session.scalar(select(Registration).where(Registration.activity_id == activity.id)
                                              .order_by(Registration.user_id != provider.id, Registration.id)
                                              .limit(1)) or any_registration
            examples.append({
                "activity_id": activity.id, "slug": "a-title", "registration_id": registration.id,
                "certificate_id": certificate.id, "session_id": activity.sessions[0].id if activity.sessions else 0,
                "faculty_id": activity.faculty[0].id, "token": tokens, "filename": "css/app.css", "alert_id": alert_id,
                "question_id": _db.session.scalar(select(PostTestQuestion.id).where(
                    PostTestQuestion.activity_id == activity.id).limit(1)) or 1,
                "article_id": _db.session.scalar(select(func.min(NewsArticle.id))),
                "topic_slug": "hepatitis-c",
                "code": {"certificates.verify": certificate.verification_code,
                         "attendance.checkin_scan": registration.checkin_code},
                # The activity's abstract (an unpublished one first: its organizers' preview), else the demo's first.
                "abstract_id": _db.session.scalar(select(Abstract.id).order_by(
                    Abstract.activity_id != activity.id, Abstract.is_published, Abstract.id).limit(1)),
                "highlight_id": _db.session.scalar(select(Highlight.id).order_by(
                    Highlight.activity_id != activity.id, Highlight.id).limit(1)),
                "material_id": _db.session.scalar(select(Material.id).order_by(
                    Material.activity_id != activity.id, Material.id).limit(1)),
                # The activity's MOC registration (the demo registers those with ABIM MOC), else the demo's first.
                "moc_id": _db.session.scalar(select(MocRegistration.id).order_by(
                    MocRegistration.activity_id != activity.id, MocRegistration.id).limit(1)) or 1,
                # Issue 16, point 1: the provider's licence (the demo's sign-up licence).
                "licence_id": _db.session.scalar(select(func.min(StateLicence.id)).where(
                    StateLicence.user_id == provider.id)),
                # Issue 16's exports: a kind and one of its formats; a batch (none in the demo: 404 names it).
                "kind": "pars", "fmt": "tab", "batch_id": 1})
        _db.session.remove()
    return examples


def _url(rule, values: dict) -> str:
    filled = {}
    for name in rule.arguments:
        if name not in values:
            pytest.fail(f"The GET sweep cannot fill <{name}> in {rule.rule}: teach it what <{name}> names.")
        value = values[name]
        filled[name] = value[rule.endpoint] if isinstance(value, dict) else value
    return rule.build(filled, append_unknown=False)[1]


# ---------------------------------------------------------------- files to upload (issue 15)

def make_pdf(pages: list[str], *, title: str = "Slides") -> bytes:
    """A real PDF (ReportLab), one landscape page per text, each line of a text on its own line."""
    import io

    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(720, 405))
    canvas.setTitle(title)
    for page in pages:
        y = 350
        for line in page.splitlines():
            canvas.setFont("Helvetica", 20)
            canvas.drawString(40, y, line)
            y -= 28
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


PPTX_MAIN = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
PPTM_MAIN = "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml"


def make_pptx(slides: list[list[str]], *, main_type: str = PPTX_MAIN, extra: dict[str, bytes] | None = None,
              extra_types: dict[str, str] | None = None, thumbnail: bytes | None = None) -> bytes:
    """An Office Open XML presentation built with zipfile: [Content_Types].xml, the package relationships, the
    presentation part listing its slides (in the given order, named in reverse so that order comes from the list,
    not the names), and one slide per list of paragraphs. `extra` adds parts (with `extra_types` overrides)."""
    import io
    import zipfile
    from xml.sax.saxutils import escape

    count = len(slides)
    names = [f"ppt/slides/slide{count - n}.xml" for n in range(count)]  # slide order != name order
    overrides = [("/ppt/presentation.xml", main_type)] + [(f"/{name}", "application/vnd.openxmlformats-"
                                                           "officedocument.presentationml.slide+xml") for name in names]
    overrides += [(f"/{name}", kind) for name, kind in (extra_types or {}).items()]
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="jpeg" ContentType="image/jpeg"/>'
        + "".join(f'<Override PartName="{name}" ContentType="{kind}"/>' for name, kind in overrides) + "</Types>")
    root_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="ppt/presentation.xml"/></Relationships>')
    presentation = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><p:sldIdLst>'
        + "".join(f'<p:sldId id="{256 + n}" r:id="rId{n + 1}"/>' for n in range(count))
        + '</p:sldIdLst><p:sldSz cx="12192000" cy="6858000"/></p:presentation>')
    presentation_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                  f'relationships/slide" Target="slides/{name.rsplit("/", 1)[1]}"/>' for n, name in enumerate(names))
        + "</Relationships>")

    def slide(paragraphs: list[str]) -> str:
        body = "".join(f"<a:p><a:r><a:t>{escape(text)}</a:t></a:r></a:p>" for text in paragraphs)
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<p:sld xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
                'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"><p:cSld><p:spTree><p:sp>'
                f'<p:txBody>{body}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>')

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", root_rels)
        archive.writestr("ppt/presentation.xml", presentation)
        archive.writestr("ppt/_rels/presentation.xml.rels", presentation_rels)
        for name, paragraphs in zip(names, slides):
            archive.writestr(name, slide(paragraphs))
        if thumbnail is not None:
            archive.writestr("docProps/thumbnail.jpeg", thumbnail)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()
