"""Registration benchmark: the app under gunicorn on loopback (PostgreSQL when DATABASE_URL is set, SQLite
otherwise), 60 simulated providers registering concurrently through HTTP (CSRF, sessions and all) for a
bounded time, then the bare database transaction underneath as the floor.

    .venv/bin/python bench/registration.py
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/registration.py

Prints registrations per second, p50/p99 latency, errors, and per-activity confirmed/waitlisted counts (which
must match capacity exactly). Targets (issue 5): >= 1/4 of the floor's rate end to end, p99 < 250 ms.
"""
from __future__ import annotations

import os
import sys

# bench/calendar.py is named like the standard library's `calendar` (which `email` imports): keep bench/
# at the end of the path so the standard module wins.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE] + [_HERE]

import http.cookiejar  # noqa: E402
import random
import re
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

from _common import ROOT, make_app, scratch_database

PROVIDERS = int(os.environ.get("BENCH_PROVIDERS", "60"))
DURATION = float(os.environ.get("BENCH_SECONDS", "15"))
THINK = float(os.environ.get("BENCH_THINK_SECONDS", "0.5"))  # a provider reads the page before submitting
CAPACITY = 10
ACTIVITIES = 400
PASSWORD = "bench-password-1"


def seed(db) -> list[int]:
    from werkzeug.security import generate_password_hash

    from cme.accounts.models import User
    from cme.activities.models import Activity

    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    now = datetime.now(timezone.utc)
    db.session.execute(User.__table__.insert(), [dict(
        email=f"bench{i}@example.org", password_hash=password_hash, full_name=f"Bench Provider {i}", degree="MD",
        profession="physician", specialty="", time_zone="America/New_York", role="provider", is_active_account=True,
        created_dt=now, password_changed_dt=now) for i in range(PROVIDERS)])
    db.session.execute(Activity.__table__.insert(), [dict(
        uuid=uuid.uuid4(), format="live_webcast", status="published", title=f"Bench webcast {i}", summary="",
        description="", learning_objectives="", target_audience="", specialty="", topics="", search_text="",
        time_zone="America/New_York", start_dt=now + timedelta(days=10), end_dt=now + timedelta(days=10, hours=1),
        join_url="https://webcast.example.org/b", access_notes="", capacity=CAPACITY, accreditation_statement="",
        schedule_sequence=0, created_dt=now, updated_dt=now) for i in range(ACTIVITIES)])
    db.session.commit()
    return list(db.session.scalars(db.select(Activity.id).order_by(Activity.id)))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Provider:
    TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')

    def __init__(self, base: str, email: str):
        self.base = base
        self.email = email
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  NoRedirect())

    def _token(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            match = self.TOKEN.search(response.read().decode())
            return match.group(1) or match.group(2)

    def _post(self, path: str, data: dict) -> int:
        body = urllib.parse.urlencode(data).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def log_in(self) -> None:
        token = self._token("/account/login")
        assert self._post("/account/login", {"csrf_token": token, "email": self.email, "password": PASSWORD}) == 302

    def register(self, activity_id: int) -> tuple[int, float]:
        path = f"/activities/{activity_id}/register"
        token = self._token(path)
        time.sleep(random.uniform(0, 2 * THINK))
        start = time.perf_counter()
        status = self._post(path, {"csrf_token": token, "full_name": "Bench Provider", "degree": "MD",
                                   "profession": "physician", "attest": "y"})
        return status, (time.perf_counter() - start) * 1000


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http_phase(base: str, activity_ids: list[int]) -> tuple[list[float], int, int, float]:
    providers = [Provider(base, f"bench{i}@example.org") for i in range(PROVIDERS)]
    for provider in providers:
        provider.log_in()
    latencies: list[float] = []
    errors = 0
    done = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + DURATION

    def run(provider: Provider) -> None:
        nonlocal errors, done
        for activity_id in activity_ids:
            if time.perf_counter() > deadline:
                return
            status, ms = provider.register(activity_id)
            with lock:
                latencies.append(ms)
                if status == 302:
                    done += 1
                else:
                    errors += 1

    start = time.perf_counter()
    threads = [threading.Thread(target=run, args=(p,)) for p in providers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, done, errors, time.perf_counter() - start


def floor_phase(url: str, activity_ids: list[int], user_ids: list[int], seconds: float = 5.0) -> float:
    """Lock the activity, count, insert, commit: straight through the driver, one connection, as fast as it goes."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    now = datetime.now(timezone.utc)
    dialect = engine.dialect.name
    count = 0
    raw = engine.raw_connection()
    cursor = raw.cursor()
    param = "?" if dialect == "sqlite" else "%s"
    stamp = now.replace(tzinfo=None) if dialect == "sqlite" else now
    deadline = time.perf_counter() + seconds
    start = time.perf_counter()
    pairs = ((a, u) for a in activity_ids[::-1] for u in user_ids)
    while time.perf_counter() < deadline:
        activity_id, user_id = next(pairs)
        if dialect == "sqlite":
            cursor.execute(f"UPDATE activities SET schedule_sequence = schedule_sequence WHERE id = {param}", (activity_id,))
        else:
            cursor.execute(f"SELECT id FROM activities WHERE id = {param} FOR UPDATE", (activity_id,))
        cursor.execute(f"SELECT count(*) FROM registrations WHERE activity_id = {param} AND status = 'confirmed'", (activity_id,))
        confirmed = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO registrations (user_id, activity_id, status, waitlist_position, checkin_code, full_name, degree,"
            " profession, dietary_needs, accessibility_needs, attested_professional, invite_sequence, registered_dt,"
            f" updated_dt) VALUES ({', '.join([param] * 14)})",
            (user_id, activity_id, "confirmed" if confirmed < CAPACITY else "waitlisted",
             None if confirmed < CAPACITY else confirmed - CAPACITY + 1, uuid.uuid4().hex, "Floor", "MD", "physician",
             "", "", True, 0, stamp, stamp))
        raw.commit()
        count += 1
    elapsed = time.perf_counter() - start
    raw.close()
    engine.dispose()
    return count / elapsed


def main() -> int:
    with scratch_database() as (backend, url), tempfile.TemporaryDirectory() as instance:
        from flask_migrate import upgrade

        from cme.extensions import db

        app = make_app(url, instance)
        with app.app_context():
            upgrade()
            activity_ids = seed(db)
            user_ids = list(db.session.scalars(db.text("SELECT id FROM users ORDER BY id")))
            db.engine.dispose()
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "g" * 64, "CME_INSTANCE_PATH": instance,
               "MAIL_OUTBOX_DIR": f"{instance}/outbox", "CME_BASE_URL": f"http://127.0.0.1:{port}"}
        workers = str(int(os.environ.get("BENCH_WORKERS", "4")))
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", workers, "-b", f"127.0.0.1:{port}",
                                   "--log-level", "warning", "app:app"], cwd=ROOT, env=env)
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            latencies, done, errors, elapsed = http_phase(f"http://127.0.0.1:{port}", activity_ids)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

        import sqlalchemy as sa

        engine = sa.create_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT activity_id, sum(CASE WHEN status = 'confirmed' THEN 1 ELSE 0 END), "
                "sum(CASE WHEN status = 'waitlisted' THEN 1 ELSE 0 END), count(*), "
                "max(waitlist_position) FROM registrations GROUP BY activity_id")).all()
        engine.dispose()
        exact = all(c == min(total, CAPACITY) and w == total - c and (mx or 0) == w for _, c, w, total, mx in rows)
        floor = floor_phase(url, activity_ids, user_ids)

    rate = done / elapsed
    lat = sorted(latencies)
    p50 = statistics.median(lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"Registration benchmark on {backend}: gunicorn -w {workers}, {PROVIDERS} providers, "
          f"{DURATION:.0f} s, think time up to {2 * THINK:.1f} s, capacity {CAPACITY} per activity")
    print(f"  HTTP registrations   {done} in {elapsed:.1f} s = {rate:.1f}/s, errors {errors}")
    print(f"  latency (POST)       p50 {p50:.1f} ms   p99 {p99:.1f} ms")
    print(f"  activities touched   {len(rows)}; confirmed/waitlisted exact on all: {exact}")
    print(f"    e.g. " + ", ".join(f"#{a}: {c} confirmed + {w} waitlisted" for a, c, w, _, _ in rows[:3]))
    print(f"  floor (bare transaction, one connection) {floor:.1f}/s")
    print(f"  HTTP / floor = {rate / floor:.2f} (target >= 0.25): {'OK' if rate >= floor / 4 else 'MISSED'}")
    print(f"  p99 {p99:.1f} ms (target < 250 ms): {'OK' if p99 < 250 else 'MISSED'}")
    return 0 if exact and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
