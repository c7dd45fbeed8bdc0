"""Shared helpers for the benchmarks: a throwaway database (SQLite file, or a scratch PostgreSQL database
next to DATABASE_URL's), built with the migrations, and timing statistics."""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402


@contextmanager
def scratch_database() -> Iterator[tuple[str, str]]:
    """Yield (backend name, SQLAlchemy URL) of an empty database that is dropped afterwards.

    With BENCH_USE_DATABASE_URL=1, DATABASE_URL names an empty throwaway PostgreSQL database that is used as it is
    (the suite's smoke runs: dropping a database costs a checkpoint, seconds on a busy server)."""
    url = os.environ.get("DATABASE_URL")
    if url and url.startswith(("postgres://", "postgresql")):
        url = url.replace("postgres://", "postgresql://", 1).replace("postgresql://", "postgresql+psycopg://", 1)
        if os.environ.get("BENCH_USE_DATABASE_URL") == "1":
            yield "postgresql", url
            return
        name = f"cme_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield "postgresql", sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            yield "sqlite", f"sqlite:///{tmp}/bench.sqlite3"


def settle(db, tables=()) -> None:
    """After set-based seeding with explicit ids: PostgreSQL's sequences of `tables` follow their largest id (the
    app's own inserts come after), and the database gets the state autovacuum reaches in steady use (statistics,
    and on PostgreSQL a visibility map, which index-only counts need)."""
    if db.engine.dialect.name == "postgresql":
        for table in tables:
            db.session.execute(sa.text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()


def make_app(database_url: str, instance: str, **config):
    from cme import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": instance, "SECRET_KEY": "b" * 64,
                       "WTF_CSRF_ENABLED": False, "CME_BASE_URL": "http://bench.local", **config})


def timings(fn: Callable[[], object], *, repeat: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        fn()
    result = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        result.append((time.perf_counter() - start) * 1000)
    return result


def summary(label: str, values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    median = statistics.median(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    print(f"  {label:<38} median {median:7.2f} ms   p95 {p95:7.2f} ms   (n={len(values)})")
    return median, p95
