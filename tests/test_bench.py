"""The benchmarks cannot rot: each bench's smoke mode (tiny sizes, every phase, its own checks) runs here in a
subprocess with this interpreter, on SQLite, and on PostgreSQL too when CME_TEST_DATABASE_URL is set (in the
run's scratch database next to the test database, emptied before each run)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import POSTGRES_URL

ROOT = Path(__file__).resolve().parent.parent

# bench script -> (does it take DATABASE_URL?, a line its figures print)
BENCHES = {
    "catalog": (True, "first page  GET /"),
    "feeds": (True, "public feed, fragments stored"),
    "certificates": (False, "certificates (with QR code)"),
    "registration": (True, "the stack's own price: stack floor"),
    "library": (True, "two-word search, first page"),
    "reporting": (True, "floor: bare csv.writer"),
    "growth": (True, "outbox claim query"),
    "scale_out": (True, "(d) personal feed:"),
}
POSTGRESQL_ONLY = {"scale_out"}  # several app instances and mail workers writing at once: no SQLite run
RUNS = [pytest.param(name, "sqlite", id=f"{name}-sqlite") for name in BENCHES if name not in POSTGRESQL_ONLY] + [
    pytest.param(name, "postgresql", id=f"{name}-postgresql")
    for name, (takes_database, _) in BENCHES.items() if takes_database and POSTGRES_URL]


def test_every_bench_has_a_smoke_run():
    assert sorted(p.stem for p in (ROOT / "bench").glob("*.py") if not p.stem.startswith("_")) == sorted(BENCHES)


@pytest.fixture
def bench_env(request) -> dict[str, str]:
    """The environment of a bench run: no DATABASE_URL (SQLite), or the run's scratch PostgreSQL database."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("BENCH_")}
    if request.param == "postgresql":
        env.update(DATABASE_URL=request.getfixturevalue("postgres_scratch_url"), BENCH_USE_DATABASE_URL="1")
    return env


@pytest.mark.parametrize(("bench", "bench_env"), [pytest.param(*p.values, id=p.id) for p in RUNS],
                         indirect=["bench_env"])
def test_bench_smoke_run_passes_and_prints_its_figures(bench, bench_env):
    result = subprocess.run([sys.executable, str(ROOT / "bench" / f"{bench}.py"), "--smoke"], cwd=ROOT, env=bench_env,
                            capture_output=True, text=True, timeout=120)
    output = f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr[-1500:]}"
    assert result.returncode == 0, output
    expected_backend = "postgresql" if "DATABASE_URL" in bench_env else "sqlite"
    if BENCHES[bench][0]:
        assert f"on {expected_backend}" in result.stdout, output
    assert BENCHES[bench][1] in result.stdout, output
