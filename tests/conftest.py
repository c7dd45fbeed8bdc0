"""Fixtures: a real database (SQLite, and PostgreSQL when CME_TEST_DATABASE_URL is set), a real SMTP
server on loopback, factories (users, organizers, providers, activities, registrations), an auth helper and a
query counter. Plain helpers live in tests/helpers.py; no test module imports another.

The schema comes from the Alembic migrations, built once per backend per run; each test then starts
from empty tables.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from types import SimpleNamespace
from pathlib import Path
from datetime import timedelta
from decimal import Decimal
from typing import Callable, Iterator

import jinja2
import jinja2.bccache
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.pool import NullPool

from cme import create_app
from cme.demo import seed_demo
from cme.extensions import db as _db
from tests.helpers import (CONFIGURED_POSTGRES_URL, POSTGRES_URL, TEST_PASSWORD, RecordingHandler, TcpProxy,
                           WorkerProcess, base_config, empty_all_tables, free_port, migrate_database, pg_url)

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def _memoize_url_builders() -> None:
    """Every test builds an app: ~50 ms of which is Werkzeug compiling a URL builder per rule (an AST, compiled
    twice per rule, for ~830 rules). The builder is a pure function of the rule's text, parts and defaults (it reaches
    the converters through the rule it is bound to), so the run compiles each once and binds it to each new rule."""
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    builders: dict = {}

    def memoized(self, append_unknown: bool = True):
        key = (self.rule, self.subdomain, self.host, tuple(self._trace), append_unknown,
               tuple(sorted((name, repr(value)) for name, value in (self.defaults or {}).items())))
        if key not in builders:
            builders[key] = compile_builder(self, append_unknown)
        return builders[key]

    Rule._compile_builder = memoized


_memoize_url_builders()


class _SharedTemplateCode(jinja2.BytecodeCache):
    """Every test's app has a Jinja environment of its own, which would lex, parse and compile each template it
    renders again (~10% of a page test's time). The compiled code is the same for every app of the run (the
    templates do not change during it), so the run keeps it once, in memory."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


def _share_template_code() -> None:
    create_environment = Flask.create_jinja_environment
    shared = _SharedTemplateCode()

    def create(self):
        environment = create_environment(self)
        environment.bytecode_cache = shared
        return environment

    Flask.create_jinja_environment = create


_share_template_code()


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_commits_without_waiting_for_the_disk(dbapi_connection, _record) -> None:
    """As the PostgreSQL test database (commit_without_waiting_for_the_disk): in WAL mode, `synchronous=NORMAL`
    syncs at checkpoints, not at every commit; only durability across a power cut changes."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def reset_postgres_schema(url: str) -> None:
    engine = sa.create_engine(pg_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    except sa.exc.OperationalError as error:
        pytest.exit(f"CME_TEST_DATABASE_URL is set to {url} but PostgreSQL is unreachable: {error}", returncode=3)
    finally:
        engine.dispose()


def commit_without_waiting_for_the_disk(url: str) -> None:
    """Every connection to the test database commits without waiting for its WAL to reach the disk
    (`synchronous_commit = off`): ~3 ms a commit on this machine, to ~0.1 ms; tests commit often. Only durability
    across a server crash changes (nothing a test looks at); every transaction and lock behaves as before."""
    engine = sa.create_engine(pg_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            name = conn.scalar(sa.text("SELECT current_database()"))
            conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except sa.exc.ProgrammingError as error:  # not the database's owner: the tests are only slower
        print(f"Could not turn off synchronous_commit for the test database: {error}", file=sys.stderr)
    finally:
        engine.dispose()


def create_worker_database() -> None:
    """Create this xdist worker's PostgreSQL database (see tests.helpers._per_worker) when it does not exist."""
    if POSTGRES_URL == CONFIGURED_POSTGRES_URL:
        return
    # Through the server's maintenance database: the configured one need not exist.
    admin = sa.create_engine(sa.engine.make_url(pg_url(CONFIGURED_POSTGRES_URL)).set(database="postgres"),
                             isolation_level="AUTOCOMMIT")
    name = sa.engine.make_url(POSTGRES_URL).database
    try:
        with admin.connect() as conn:
            if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        pytest.exit(f"CME_TEST_DATABASE_URL is set to {CONFIGURED_POSTGRES_URL} but PostgreSQL is unreachable: "
                    f"{error}", returncode=3)
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_database_url(tmp_path_factory) -> str:
    instance = tmp_path_factory.mktemp("migrate-sqlite")
    url = f"sqlite:///{instance / 'test.sqlite3'}"
    migrate_database(url, instance)
    return url


@pytest.fixture(scope="session")
def postgresql_database_url(tmp_path_factory) -> str:
    create_worker_database()
    reset_postgres_schema(POSTGRES_URL)
    commit_without_waiting_for_the_disk(POSTGRES_URL)
    url = pg_url(POSTGRES_URL)
    migrate_database(url, tmp_path_factory.mktemp("migrate-postgresql"))
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request) -> str:
    """A migrated database per backend, shared by the run; tests empty its tables after themselves. Each backend's
    database is built once per run (per worker) and kept while the other backend's tests run in between."""
    return request.getfixturevalue(f"{request.param}_database_url")


@pytest.fixture(scope="session")
def postgres_scratch_database() -> Iterator[str]:
    """A PostgreSQL database of the run's own next to the test database (never the test database itself), for
    what needs an empty database: the bench smoke runs and the migration round trip. Dropped after the run."""
    if not POSTGRES_URL:
        pytest.skip("CME_TEST_DATABASE_URL is not set")
    create_worker_database()
    admin = sa.create_engine(pg_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"{admin.url.database}_scratch"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))  # left by an interrupted run
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))  # as the test database
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def scratch_database_url(request, tmp_path) -> str:
    """An empty database that is not the test database, per backend: a SQLite file, or the run's scratch PostgreSQL
    database (for migration tests that go up and down)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
    return request.getfixturevalue("postgres_scratch_url")


@pytest.fixture
def postgres_scratch_url(postgres_scratch_database) -> str:
    """The run's scratch PostgreSQL database, emptied (an empty public schema)."""
    reset_postgres_schema(postgres_scratch_database)
    return postgres_scratch_database


@pytest.fixture
def app_config(database_url, tmp_path) -> dict:
    """Override in a test module (or parametrize) to change settings before the app is built."""
    return base_config(database_url, tmp_path / "instance")


@pytest.fixture
def app(app_config) -> Iterator[Flask]:
    app = create_app(app_config)
    with app.app_context():
        yield app
        _db.session.remove()
        empty_all_tables()
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def backend(database_url) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


# ---------------------------------------------------------------- factories

@pytest.fixture
def make_user(db) -> Callable:
    from cme.accounts.service import create_user

    counter = iter(range(1, 10_000))

    def make(email: str | None = None, *, role: str = "provider", password: str = TEST_PASSWORD,
             verified: bool = True, **profile):
        """A user whose address is verified, unless `verified=False` (as a fresh sign-up is)."""
        n = next(counter)
        profile.setdefault("full_name", f"Test User {n}")
        profile.setdefault("degree", "MD")
        user = create_user(email or f"user{n}@example.org", password, role=role, verified=verified, **profile)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_activity(db) -> Callable:
    from cme.activities.models import Activity, CreditDesignation
    from cme.timeutil import now_utc

    def make(*, organizers=(), credits: dict[str, str] | None = None, **fields):
        start = fields.pop("start_dt", now_utc().replace(microsecond=0) + timedelta(days=14))
        fields.setdefault("title", "Hepatitis C elimination update")
        fields.setdefault("format", "live_meeting")
        fields.setdefault("status", "published")
        fields.setdefault("time_zone", "America/New_York")
        fields.setdefault("end_dt", start + timedelta(hours=3))
        if fields["format"] == "live_meeting":
            fields.setdefault("venue_name", "Hilton Midtown")
            fields.setdefault("city", "New York")
            fields.setdefault("state", "NY")
        activity = Activity(start_dt=start, organizers=list(organizers), **fields)
        for credit_type, amount in (credits if credits is not None else {"ama_pra_1": "3.00"}).items():
            activity.credit_designations.append(CreditDesignation(credit_type=credit_type, max_amount=Decimal(amount)))
        db.session.add(activity)
        db.session.commit()
        return activity

    return make


@pytest.fixture
def organizer(make_user, auth):
    """An organizer (org@example.org), logged in."""
    user = make_user("org@example.org", role="organizer", full_name="Olga Organizer")
    auth.login("org@example.org")
    return user


@pytest.fixture
def provider(make_user, auth):
    """A provider (ada@example.org, a physician), logged in."""
    user = make_user("ada@example.org", full_name="Ada Lovelace", degree="MD")
    auth.login("ada@example.org")
    return user


@pytest.fixture
def register(db) -> Callable:
    """register(user, activity, by_organizer=False, **answers): through the registration service, committed."""
    from cme.registration import service

    def register_(user, activity, *, by_organizer: bool = False, **answers):
        registration = service.register(user, activity.id, service.Answers.from_profile(
            user, attested_professional=True, **answers), by_organizer=by_organizer)
        db.session.commit()
        return registration

    return register_


@pytest.fixture
def count_queries(db) -> Callable:
    """`with count_queries() as statements:` records the SQL statements sent inside the block."""

    @contextmanager
    def counting() -> Iterator[list[str]]:
        statements: list[str] = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)

    return counting


class AuthActions:
    def __init__(self, client: FlaskClient):
        self.client = client

    def login(self, email: str, password: str = TEST_PASSWORD, **kwargs):
        return self.client.post("/account/login", data={"email": email, "password": password}, **kwargs)

    def logout(self):
        return self.client.post("/account/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


# ---------------------------------------------------------------- SMTP on loopback

class SmtpServers:
    """smtp_server(refuse_first=0, delay=0.0, port=None) -> (handler, port) starts a real SMTP server on loopback
    (on `port` when given: one stopped with `smtp_server.stop(port)` comes back); all stop after the test."""

    def __init__(self):
        self.controllers: dict[int, Controller] = {}

    def __call__(self, refuse_first: int = 0, delay: float = 0.0,
                 port: int | None = None) -> tuple[RecordingHandler, int]:
        handler = RecordingHandler(refuse_first=refuse_first, delay=delay)
        port = port or free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        self.controllers[port] = controller
        return handler, port

    def stop(self, port: int) -> None:
        self.controllers.pop(port).stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServers]:
    servers = SmtpServers()
    yield servers
    for port in list(servers.controllers):
        servers.stop(port)


@pytest.fixture
def smtp(smtp_server, app) -> RecordingHandler:
    """One accepting SMTP server, wired into the app's MAIL_* settings."""
    handler, port = smtp_server()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    return handler


# ---------------------------------------------------------------- real worker processes, and outages

@pytest.fixture
def mail_worker(database_url, tmp_path) -> Iterator[Callable[..., WorkerProcess]]:
    """mail_worker(smtp_port, via=None, **environment) starts a real `flask --app app cme send-mail --loop
    --interval 0.2` process on the test database (or on the database URL `via`, e.g. through a proxy); each is
    killed after the test."""
    started: list[WorkerProcess] = []

    def start(smtp_port: int, *, via: str | None = None, **environment: str) -> WorkerProcess:
        log = tmp_path / f"worker-{len(started) + 1}.log"
        env = {**os.environ, "DATABASE_URL": via or database_url, "MAIL_SERVER": "127.0.0.1",
               "MAIL_PORT": str(smtp_port), "CME_INSTANCE_PATH": str(tmp_path / "worker-instance"),
               "SECRET_KEY": "worker-secret-key-" + "0" * 40, "PYTHONUNBUFFERED": "1", **environment}
        env.pop("CME_ENV", None)
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "cme", "send-mail", "--loop",
                                        "--interval", "0.2"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        worker = WorkerProcess(process=process, log=log, started=time.monotonic())
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()


@pytest.fixture
def postgres_proxy(database_url) -> Iterator[TcpProxy]:
    """A TCP proxy in front of the test PostgreSQL server (cut() and restore() it), for PostgreSQL-only tests."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.fail("postgres_proxy is for tests marked postgresql")
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    yield proxy
    proxy.cut()


@pytest.fixture
def terminate_backend(db) -> Iterator[Callable[..., SimpleNamespace]]:
    """terminate_backend(before="^UPDATE") ends the app's database connection (pg_terminate_backend, from another
    connection) right before the first statement from now that matches that pattern is sent;
    terminate_backend(at_commit=True) right before the next COMMIT. Returns a record of the statements seen and
    the backends ended. PostgreSQL only."""
    admin = sa.create_engine(db.engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")  # fresh pg_stat_activity
    armed = []

    def end(dbapi_connection, seen) -> None:
        pid = dbapi_connection.info.backend_pid
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            while connection.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}):
                time.sleep(0.01)
        seen.ended.append(pid)

    def arm(*, before: str = "", at_commit: bool = False) -> SimpleNamespace:
        seen = SimpleNamespace(statements=[], ended=[])

        def before_statement(connection, _cursor, statement, *_args) -> None:
            seen.statements.append(statement)
            if before and re.search(before, statement) and not seen.ended:
                end(connection.connection.dbapi_connection, seen)

        def before_commit(connection) -> None:
            if at_commit and not seen.ended:
                end(connection.connection.dbapi_connection, seen)

        for name, listener in (("before_cursor_execute", before_statement), ("commit", before_commit)):
            sa.event.listen(db.engine, name, listener)
            armed.append((name, listener))
        return seen

    yield arm
    for name, listener in armed:
        sa.event.remove(db.engine, name, listener)
    admin.dispose()


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked `postgresql` run only with the PostgreSQL database (they prove what SQLite does not have)."""
    sqlite_only = [item for item in items if item.get_closest_marker("postgresql")
                   and getattr(item, "callspec", None) and item.callspec.params.get("database_url") != "postgresql"]
    if sqlite_only:
        config.hook.pytest_deselected(items=sqlite_only)
        items[:] = [item for item in items if item not in sqlite_only]


def pytest_terminal_summary(terminalreporter) -> None:
    """Print how many tests ran on each database, for the record."""
    counts: dict[str, int] = {}
    for report in terminalreporter.stats.get("passed", []):
        for backend in BACKENDS:
            if f"[{backend}" in report.nodeid or f"-{backend}]" in report.nodeid or f"-{backend}-" in report.nodeid:
                counts[backend] = counts.get(backend, 0) + 1
    if counts:
        terminalreporter.write_line("passed per database: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@pytest.fixture
def rendered_templates(app) -> Iterator[list[str]]:
    """The names of the templates rendered while the test runs, in order."""
    from flask import template_rendered

    names: list[str] = []

    def record(_sender, template, context, **_extra):
        names.append(template.name)

    template_rendered.connect(record, app)
    yield names
    template_rendered.disconnect(record, app)


@pytest.fixture(scope="module")
def demo_app(database_url, tmp_path_factory) -> Iterator[Flask]:
    """An app whose database holds the demo, seeded once per module and backend (seeding runs every service).
    Tests that use it must not use `app`, `db` or `client`: their teardown empties the tables."""
    app = create_app(base_config(database_url, tmp_path_factory.mktemp("demo") / "instance"))
    with app.app_context():
        seed_demo()
        _db.session.commit()
        _db.session.remove()
    yield app
    with app.app_context():
        empty_all_tables()
        _db.session.remove()
        _db.engine.dispose()
