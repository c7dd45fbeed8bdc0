"""The benchmarks cannot rot: each bench's smoke mode (tiny sizes, every phase, its own checks) runs here in a
subprocess with this interpreter, on SQLite, and on PostgreSQL too when CME_TEST_DATABASE_URL is set (in a
scratch database next to the test database, dropped afterwards)."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("CME_TEST_DATABASE_URL")

# bench script -> (does it take DATABASE_URL?, a line its figures print)
BENCHES = {
    "catalog": (True, "first page  GET /"),
    "calendar": (True, "public feed, cold worker"),
    "certificates": (False, "certificates (with QR code)"),
    "registration": (True, "registrations in"),
}
RUNS = [pytest.param(name, "sqlite", id=f"{name}-sqlite") for name in BENCHES] + [
    pytest.param(name, "postgresql", id=f"{name}-postgresql")
    for name, (takes_database, _) in BENCHES.items() if takes_database and POSTGRES_URL]


def test_every_bench_has_a_smoke_run():
    assert sorted(p.stem for p in (ROOT / "bench").glob("*.py") if not p.stem.startswith("_")) == sorted(BENCHES)


def _admin_engine() -> sa.Engine:
    url = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture
def bench_env(request) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("BENCH_")}
    if request.param != "postgresql":
        yield env
        return
    engine = _admin_engine()
    name = f"{engine.url.database}_bench_{uuid.uuid4().hex[:6]}"
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield {**env, "DATABASE_URL": engine.url.set(database=name).render_as_string(hide_password=False)
               .replace("postgresql+psycopg://", "postgresql://", 1)}
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.mark.parametrize(("bench", "bench_env"), [pytest.param(*p.values, id=p.id) for p in RUNS],
                         indirect=["bench_env"])
def test_bench_smoke_run_passes_and_prints_its_figures(bench, bench_env):
    result = subprocess.run([sys.executable, str(ROOT / "bench" / f"{bench}.py"), "--smoke"], cwd=ROOT, env=bench_env,
                            capture_output=True, text=True, timeout=120)
    output = f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr[-4000:]}"
    assert result.returncode == 0, output
    expected_backend = "postgresql" if "DATABASE_URL" in bench_env else "sqlite"
    if BENCHES[bench][0]:
        assert f"on {expected_backend}" in result.stdout, output
    assert BENCHES[bench][1] in result.stdout, output
