"""Registration benchmark: the app under gunicorn on loopback (PostgreSQL when DATABASE_URL is set, SQLite
otherwise), 60 simulated providers registering concurrently through HTTP (form GET with its CSRF token, then
the POST, over logged-in sessions), then the framework floor: a minimal Flask app (bench/_floor_app.py) under the
same gunicorn settings and the same clients, whose POST is the bare lock-count-insert-commit; and the stack floor
(bench/_stack_floor_app.py): that app rebuilt on the parts the project must use (Flask-Login, Flask-WTF, Jinja,
Flask-SQLAlchemy models) with nothing of ours, which says what the stack itself costs above the framework floor.

    .venv/bin/python bench/registration.py
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/registration.py
    .venv/bin/python bench/registration.py --smoke   # 4 providers, 2 workers, about a second per phase (the suite runs it)

Phases of BENCH_SECONDS each, on separate activities of capacity 10 that every provider tries in the same
order (so they contend for the same activity's lock):
  rush    providers submit as soon as the form loads: the most registrations per second the server gives;
  steady  providers read the form for up to BENCH_THINK_SECONDS (a random share) first: the latency a
          provider sees while registrations keep arriving;
  stack   the rush again, against the stack floor;
  floor   the rush again, against the framework floor.
Prints registrations per second, p50/p99 latency, errors, the server's CPU time per registration (from /proc
of the gunicorn workers), whether every activity ends with exactly 10 confirmed and the rest waitlisted 1..n,
and each worker's resident memory after the first thousand requests and at the end (a smoke run: after the
steady phase, whatever it reached). For scale, the bare transaction on one connection without HTTP, and the
rate at which the same server and clients fetch a static file. Targets (issue 17): rush >= 0.5x the framework floor,
steady POST p99 < 250 ms, exact counts, 0 errors, and no worker growing by more than a few MiB after its
first thousand requests.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterator

from _common import ROOT, make_app, scratch_database

SMOKE = "--smoke" in sys.argv[1:]
PROVIDERS = int(os.environ.get("BENCH_PROVIDERS", "4" if SMOKE else "60"))
DURATION = float(os.environ.get("BENCH_SECONDS", "1" if SMOKE else "15"))
THINK = float(os.environ.get("BENCH_THINK_SECONDS", "0.1" if SMOKE else "2"))  # steady phase: up to this long reading the form
CLIENT_PROCESSES = int(os.environ.get("BENCH_CLIENT_PROCESSES", "1" if SMOKE else "2"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2" if SMOKE else "4"))
SETTLE = 0.3 if SMOKE else 2.0  # seconds for the client processes to log their providers in before a phase
SIDE_SECONDS = 0.5 if SMOKE else 5.0  # the static-file rate and the floor
CAPACITY = 10
ACTIVITIES = 40 if SMOKE else 800  # a quarter each for the rush, the steady phase and the two floors' rushes
PASSWORD = "bench-password-1"
MEMORY_AFTER = 1000  # requests answered before the first resident-memory reading
MEMORY_GROWTH_MIB = 4.0  # "a few MiB": more than this after the first thousand requests is a leak to chase

# Requests answered so far, counted by the client processes (forked: they share it).
REQUESTS = multiprocessing.get_context("fork").Value("q", 0)


@dataclass(frozen=True)
class Paths:
    """Where an app logs in, serves the registration form (format with the activity id), and says it is up."""
    login: str
    register: str
    ready: str


OURS = Paths("/account/login", "/activities/{}/register", "/")
FLOOR = STACK = Paths("/login", "/register/{}", "/login")


def seed(db) -> list[int]:
    from werkzeug.security import generate_password_hash

    from cme.accounts.models import User
    from cme.activities.models import Activity

    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    now = datetime.now(timezone.utc)
    db.session.execute(User.__table__.insert(), [dict(
        email=f"bench{i}@example.org", password_hash=password_hash, full_name=f"Bench Provider {i}", degree="MD",
        profession="physician", specialty="", time_zone="America/New_York", role="provider", is_active_account=True,
        created_dt=now, password_changed_dt=now, email_verified_dt=now) for i in range(PROVIDERS)])
    db.session.execute(Activity.__table__.insert(), [dict(
        uuid=uuid.uuid4(), format="live_webcast", status="published", title=f"Bench webcast {i}", summary="",
        description="", learning_objectives="", target_audience="", specialty="", topics="", search_text="",
        time_zone="America/New_York", start_dt=now + timedelta(days=10, hours=2 * i),
        end_dt=now + timedelta(days=10, hours=2 * i + 1),
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
    """One simulated provider: a logged-in session over plain http.client (cheap enough that the load generator
    leaves the cores to the server). Like a browser, it loads the form, reads it for a while, and submits."""

    TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')

    def __init__(self, port: int, email: str, paths: Paths = OURS):
        self.port = port
        self.email = email
        self.paths = paths
        self.cookie = ""

    def _request(self, method: str, path: str, body: dict | None = None, *, take_cookie: bool = False
                 ) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
            cookie = response.getheader("Set-Cookie")
            # Keep the logged-in session: the flash a registration adds is for the next page view, which a
            # browser would show (and clear) on My schedule; not following that redirect, we drop it.
            if cookie and (take_cookie or not self.cookie):
                self.cookie = cookie.split(";", 1)[0]
            with REQUESTS.get_lock():
                REQUESTS.value += 1
            return response.status, text
        finally:
            conn.close()

    def _token(self, path: str) -> str:
        status, text = self._request("GET", path)
        match = self.TOKEN.search(text)
        if status != 200 or match is None:
            raise RuntimeError(f"GET {path} answered {status} without a form")
        return match.group(1) or match.group(2)

    def log_in(self) -> None:
        token = self._token(self.paths.login)
        status, _ = self._request("POST", self.paths.login, {"csrf_token": token, "email": self.email,
                                                             "password": PASSWORD}, take_cookie=True)
        assert status == 302, status

    def register(self, activity_id: int, think: float) -> tuple[int, float, float]:
        """GET the form, think for up to `think` seconds, POST it: (status, GET ms, POST ms)."""
        path = self.paths.register.format(activity_id)
        start = time.perf_counter()
        token = self._token(path)
        form_ms = (time.perf_counter() - start) * 1000
        if think:
            time.sleep(random.uniform(0, think))
        start = time.perf_counter()
        status, _ = self._request("POST", path, {"csrf_token": token, "full_name": "Bench Provider", "degree": "MD",
                                                 "profession": "physician", "attest": "y"})
        return status, form_ms, (time.perf_counter() - start) * 1000


@dataclass
class Phase:
    posts: list[float] = field(default_factory=list)  # ms
    forms: list[float] = field(default_factory=list)  # ms
    done: int = 0
    errors: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0  # seconds of CPU the gunicorn workers used

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    @staticmethod
    def percentile(values: list[float], q: float) -> float:
        values = sorted(values)
        return values[min(len(values) - 1, int(len(values) * q))] if values else 0.0


def client_process(port: int, paths: Paths, emails: list[str], activity_ids: list[int], think: float,
                   start_at: float, results) -> None:
    """A load-generator process: one thread per provider, all starting at `start_at` (time.time())."""
    providers = [Provider(port, email, paths) for email in emails]
    for provider in providers:
        provider.log_in()
    phase = Phase()
    lock = threading.Lock()
    deadline = start_at + DURATION

    def run(provider: Provider) -> None:
        for n, activity_id in enumerate(activity_ids):
            if n and time.time() > deadline:  # each provider registers once at least: a loaded machine may
                return                        # reach the deadline before the first POST (a smoke run's 1 s)
            try:
                status, form_ms, post_ms = provider.register(activity_id, think)
            except Exception:  # noqa: BLE001 - counted, reported
                status, form_ms, post_ms = 0, 0.0, 0.0
            with lock:
                phase.forms.append(form_ms)
                phase.posts.append(post_ms)
                if status == 302:
                    phase.done += 1
                else:
                    phase.errors += 1

    time.sleep(max(0.0, start_at - time.time()))
    threads = [threading.Thread(target=run, args=(p,)) for p in providers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.time()  # when this process finished; the parent turns it into a duration
    results.put(phase)


def worker_stats(master_pid: int) -> dict[int, list[str]]:
    """/proc/<pid>/stat fields (after the command name) of the gunicorn master's live children, its workers."""
    workers = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:  # ppid
            workers[int(entry)] = fields
    return workers


def worker_cpu_seconds(master_pid: int) -> float:
    """User + system CPU of the gunicorn master's workers."""
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(fields[11]) + int(fields[12]) for fields in worker_stats(master_pid).values()) / ticks  # u+s time


def worker_rss_mib(master_pid: int, field: str = "RssAnon") -> dict[int, float]:
    """Resident memory of each of the gunicorn master's workers, in MiB: by default the anonymous part (RssAnon:
    the heap, where a leak grows). VmRSS also counts the file pages mapped in, and the app reads SQLite's file
    through a memory map (PRAGMA mmap_size): VmRSS then grows with every page of the database a worker reads,
    which is the page cache, not the worker's memory."""
    rss = {}
    for pid in worker_stats(master_pid):
        try:
            with open(f"/proc/{pid}/status") as f:
                kib = next(int(line.split()[1]) for line in f if line.startswith(f"{field}:"))
        except (OSError, StopIteration):
            continue
        rss[pid] = kib / 1024
    return rss


class MemoryWatch(threading.Thread):
    """Reads the workers' resident memory once the clients have had MEMORY_AFTER answers (or when `stop` is
    called first: a smoke run never gets that far)."""

    def __init__(self, master_pid: int):
        super().__init__(daemon=True)
        self.master_pid = master_pid
        self.first: tuple[int, dict[int, float]] | None = None  # (requests answered, MiB per worker pid)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.01):
            if REQUESTS.value >= MEMORY_AFTER:
                self.take()
                return

    def take(self) -> None:
        if self.first is None:
            self.first = (REQUESTS.value, worker_rss_mib(self.master_pid))

    def stop(self) -> None:
        self.stopped.set()
        self.join()
        self.take()


def http_phase(port: int, master_pid: int, activity_ids: list[int], think: float, paths: Paths = OURS) -> Phase:
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    emails = [f"bench{i}@example.org" for i in range(PROVIDERS)]
    start_at = time.time() + SETTLE + PROVIDERS * 0.02  # after every process has logged its providers in
    processes = [context.Process(target=client_process, args=(port, paths, emails[n::CLIENT_PROCESSES],
                                                              activity_ids, think, start_at, results))
                 for n in range(CLIENT_PROCESSES)]
    for process in processes:
        process.start()
    time.sleep(max(0.0, start_at - time.time()))
    cpu_before = worker_cpu_seconds(master_pid)
    total = Phase()
    finished = start_at
    for _ in processes:
        part = results.get()
        total.posts += part.posts
        total.forms += part.forms
        total.done += part.done
        total.errors += part.errors
        finished = max(finished, part.seconds)
    total.server_cpu = worker_cpu_seconds(master_pid) - cpu_before
    total.seconds = finished - start_at
    for process in processes:
        process.join()
    return total


def static_client(port: int, threads: int, seconds: float, results) -> None:
    """Fetch the favicon as fast as the server answers: the smallest request the app serves."""
    count = 0
    lock = threading.Lock()
    deadline = time.time() + seconds

    def run() -> None:
        nonlocal count
        while time.time() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/static/favicon.svg")
            conn.getresponse().read()
            conn.close()
            with lock:
                count += 1
            with REQUESTS.get_lock():
                REQUESTS.value += 1

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put(count)


def static_file_rate(port: int, seconds: float = SIDE_SECONDS) -> float:
    """Requests per second for a static file with the same server, client and concurrency: what this machine's
    gunicorn, Flask and load generator do at all, before any page or database work."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [context.Process(target=static_client, args=(port, PROVIDERS // CLIENT_PROCESSES, seconds, results))
                 for _ in range(CLIENT_PROCESSES)]
    for process in processes:
        process.start()
    total = sum(results.get() for _ in processes)
    for process in processes:
        process.join()
    return total / seconds


def bare_transaction_rate(url: str, activity_ids: list[int], user_ids: list[int], seconds: float = SIDE_SECONDS
                          ) -> float:
    """Lock the activity, count, insert, commit: straight through the driver, one connection, no HTTP, as fast
    as it goes (what the registration issue first measured against; for scale now)."""
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
    pairs = ((a, u) for a in activity_ids for u in user_ids)
    for activity_id, user_id in pairs:  # until the deadline, or every pair done (a smoke run's few)
        if time.perf_counter() >= deadline:
            break
        if dialect == "sqlite":
            cursor.execute(f"UPDATE activities SET schedule_sequence = schedule_sequence WHERE id = {param}", (activity_id,))
        else:
            cursor.execute(f"SELECT id FROM activities WHERE id = {param} FOR UPDATE", (activity_id,))
        cursor.execute("SELECT coalesce(sum(CASE WHEN status = 'confirmed' THEN 1 ELSE 0 END), 0), "
                       "coalesce(sum(CASE WHEN status = 'waitlisted' THEN 1 ELSE 0 END), 0) "
                       f"FROM registrations WHERE activity_id = {param}", (activity_id,))
        confirmed, waitlisted = cursor.fetchone()
        cursor.execute(
            "INSERT INTO registrations (user_id, activity_id, status, waitlist_position, checkin_code, full_name, degree,"
            " profession, dietary_needs, accessibility_needs, attested_professional, invite_sequence, registered_dt,"
            f" updated_dt) VALUES ({', '.join([param] * 14)})",
            (user_id, activity_id, "confirmed" if confirmed < CAPACITY else "waitlisted",
             None if confirmed < CAPACITY else waitlisted + 1, uuid.uuid4().hex, "Floor", "MD", "physician",
             "", "", True, 0, stamp, stamp))
        raw.commit()
        count += 1
    elapsed = time.perf_counter() - start
    raw.close()
    engine.dispose()
    return count / elapsed


@contextmanager
def gunicorn(app: str, port: int, env: dict[str, str], ready: str) -> Iterator[subprocess.Popen]:
    """`app` under gunicorn with the bench's settings on a loopback port, up until the block ends: `ready` answers
    and every worker has loaded the app (they load it after the fork, each in its own time on a busy machine)."""
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", app], cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{ready}", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        deadline, cpu = time.time() + 60, worker_cpu_seconds(server.pid)
        while time.time() < deadline:  # until the workers sit idle
            time.sleep(0.3)
            cpu, before = worker_cpu_seconds(server.pid), cpu
            if cpu - before < 0.03 and len(worker_stats(server.pid)) == WORKERS:
                break
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def allocation_check(rows, activity_ids: list[int]) -> tuple[bool, int]:
    """(exactly CAPACITY confirmed and the waitlist 1..n on every activity of these, registrations on them)."""
    wanted = set(activity_ids)
    rows = [row for row in rows if row[0] in wanted]
    exact = all(c == min(total, CAPACITY) and w == total - c and (mx or 0) == w for _, c, w, total, mx in rows)
    return exact, sum(total for *_, total, _mx in rows)


def main() -> int:
    import sqlalchemy as sa

    with scratch_database() as (backend, url), tempfile.TemporaryDirectory() as instance:
        from flask_migrate import upgrade

        from cme.extensions import db

        app = make_app(url, instance)
        with app.app_context():
            upgrade()
            activity_ids = seed(db)
            user_ids = list(db.session.scalars(db.text("SELECT id FROM users ORDER BY id")))
            db.engine.dispose()
        quarter = len(activity_ids) // 4
        rush_ids, steady_ids, stack_ids, floor_ids = (activity_ids[n * quarter:(n + 1) * quarter] for n in range(4))
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "g" * 64, "CME_INSTANCE_PATH": instance,
               "MAIL_OUTBOX_DIR": f"{instance}/outbox", "CME_BASE_URL": f"http://127.0.0.1:{port}"}
        with gunicorn("app:app", port, env, OURS.ready) as server:
            REQUESTS.value = 0
            memory = MemoryWatch(server.pid)
            memory.start()
            rush = http_phase(port, server.pid, rush_ids, think=0.0)
            steady = http_phase(port, server.pid, steady_ids, think=THINK)
            memory.stop()
            static_rate = static_file_rate(port)
            memory_end = (REQUESTS.value, worker_rss_mib(server.pid))
            mapped_end = worker_rss_mib(server.pid, "VmRSS")
        port = free_port()
        with gunicorn("bench._stack_floor_app:app", port, {**env, "FLOOR_CAPACITY": str(CAPACITY)}, STACK.ready) as server:
            stack = http_phase(port, server.pid, stack_ids, think=0.0, paths=STACK)
        port = free_port()
        with gunicorn("bench._floor_app:app", port, {**env, "FLOOR_CAPACITY": str(CAPACITY)}, FLOOR.ready) as server:
            floor = http_phase(port, server.pid, floor_ids, think=0.0, paths=FLOOR)

        engine = sa.create_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT activity_id, sum(CASE WHEN status = 'confirmed' THEN 1 ELSE 0 END), "
                "sum(CASE WHEN status = 'waitlisted' THEN 1 ELSE 0 END), count(*), "
                "max(waitlist_position) FROM registrations GROUP BY activity_id")).all()
            mail = conn.execute(sa.text(
                "SELECT count(*) FROM outbox_messages WHERE kind LIKE 'registration%'")).scalar()
            # Each registration also queues its reminder, waiting for its time (issue 12, point 6).
            reminders = conn.execute(sa.text(
                "SELECT count(*) FROM outbox_messages WHERE kind LIKE 'reminder%'")).scalar()
            conn.execute(sa.text("DELETE FROM registrations"))  # the bare transaction starts from empty activities
            conn.commit()
        engine.dispose()
        exact, registered = allocation_check(rows, rush_ids + steady_ids)
        floor_exact, floor_registered = allocation_check(rows, floor_ids)
        stack_exact, stack_registered = allocation_check(rows, stack_ids)
        bare = bare_transaction_rate(url, activity_ids, user_ids)

    print(f"Registration benchmark on {backend}: gunicorn -w {WORKERS}, {PROVIDERS} providers in "
          f"{CLIENT_PROCESSES} client processes, {DURATION:.0f} s per phase, capacity {CAPACITY} per activity")
    for name, phase, what in (("rush", rush, "no think time"), ("steady", steady, f"think up to {THINK:.1f} s"),
                              ("stack", stack, "stack floor, no think time"),
                              ("floor", floor, "framework floor, no think time")):
        print(f"  {name:<7}({what}): {phase.done} registrations in {phase.seconds:.1f} s = {phase.rate:.1f}/s, "
              f"errors {phase.errors}")
        print(f"           POST p50 {statistics.median(phase.posts):.1f} ms  p99 {phase.percentile(phase.posts, 0.99):.1f} ms"
              f" | form GET p50 {statistics.median(phase.forms):.1f} ms  p99 {phase.percentile(phase.forms, 0.99):.1f} ms"
              f" | server CPU {phase.server_cpu / max(phase.done, 1) * 1000:.1f} ms per registration")
    print(f"  ours: {registered} registrations, {mail} mails queued (and {reminders} reminders waiting for their "
          f"time); exactly {CAPACITY} confirmed + waitlist 1..n on every activity: {exact}")
    print(f"  framework floor: {floor_registered} registrations; exactly {CAPACITY} confirmed + waitlist 1..n: "
          f"{floor_exact}")
    print(f"  stack floor: {stack_registered} registrations; exactly {CAPACITY} confirmed + waitlist 1..n: "
          f"{stack_exact}")
    (first_requests, first), (end_requests, end) = memory.first, memory_end
    pids = sorted(first.keys() & end.keys())
    growth = max((end[pid] - first[pid] for pid in pids), default=0.0)
    print(f"  worker memory (anonymous resident, RssAnon, MiB) after the first {first_requests} requests: "
          f"{' '.join(f'{first[pid]:.1f}' for pid in pids)}; at the end ({end_requests} requests): "
          f"{' '.join(f'{end[pid]:.1f}' for pid in pids)}; "
          f"growth {' '.join(f'{end[pid] - first[pid]:+.1f}' for pid in pids)} (VmRSS at the end, with the mapped "
          f"files: {' '.join(f'{mapped_end[pid]:.1f}' for pid in pids if pid in mapped_end)})")
    print(f"  for scale: the bare transaction (one connection, no HTTP) {bare:.0f}/s; the same server and clients "
          f"fetch a static file at {static_rate:.0f}/s (a registration is two dynamic requests)")
    ratio = rush.rate / floor.rate if floor.rate else 0.0
    cpu_ours, cpu_stack, cpu_floor = (p.server_cpu / max(p.done, 1) * 1000 for p in (rush, stack, floor))
    p99 = steady.percentile(steady.posts, 0.99)
    print(f"  rush {rush.rate:.1f}/s / framework floor {floor.rate:.1f}/s = {ratio:.2f} (target >= 0.5): "
          f"{'OK' if ratio >= 0.5 else 'MISSED'}; server CPU per registration {cpu_ours:.1f} ms vs {cpu_floor:.1f} ms "
          f"({cpu_ours / max(cpu_floor, 1e-9):.1f}x)")
    print(f"  the stack's own price: stack floor {stack.rate:.1f}/s / framework floor {floor.rate:.1f}/s = "
          f"{stack.rate / floor.rate if floor.rate else 0.0:.2f}, server CPU per registration {cpu_stack:.1f} ms vs "
          f"{cpu_floor:.1f} ms; ours over the stack floor: rush {rush.rate / stack.rate if stack.rate else 0.0:.2f}, "
          f"CPU {cpu_ours / max(cpu_stack, 1e-9):.1f}x")
    print(f"  steady POST p99 {p99:.1f} ms (target < 250 ms): {'OK' if p99 < 250 else 'MISSED'}")
    verdict = "not judged in a smoke run" if SMOKE else "OK" if growth < MEMORY_GROWTH_MIB else "MISSED"
    print(f"  worker memory growth after the first thousand requests {growth:+.1f} MiB "
          f"(target < {MEMORY_GROWTH_MIB:.0f} MiB): {verdict}")
    errors = rush.errors + steady.errors + stack.errors + floor.errors
    return 0 if exact and floor_exact and stack_exact and registered and floor_registered and stack_registered \
        and errors == 0 and mail == registered \
        and reminders <= registered and pids else 1


if __name__ == "__main__":
    sys.exit(main())
