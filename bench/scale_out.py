"""Scale-out on loopback (issue 17, point 2): the deployment in deploy/ (two gunicorn instances behind nginx, two
`send-mail --loop` workers) on one machine, over a scratch PostgreSQL database, mail delivered to an aiosmtpd server.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/scale_out.py
    DATABASE_URL=... .venv/bin/python bench/scale_out.py --smoke   # 12 providers, 50 feed polls (the suite runs it)
    make scale-out

PostgreSQL only (several processes writing at once is what it is about): on SQLite it says so and exits 2. nginx is
Debian's package: installed when missing and root, otherwise a clear message and exit 2. nginx runs from a config
generated from deploy/nginx-cme.conf (only its ports and paths replaced) as a subprocess, not the system service.

  (a) rush: every provider loads one activity's form and submits it at once, through nginx: exactly `capacity`
      confirmed, the waitlist 1..n, and exactly one mail per registration received by the SMTP server;
  (b) kill: the same at a second activity, with one app instance SIGKILLed (its whole process group) after a
      third of the submits; nginx sends the rest to the other; a provider whose submit failed submits again
      (as a person would): every provider registered exactly once, the same counts, one mail each;
  (c) mail: a third rush's mails, the SMTP server slowed; the mail worker holding claims is SIGKILLed mid-batch:
      every message still arrives, at most the one in flight at the kill twice (same Message-ID);
  (d) feeds: the public feed and a personal feed polled POLLS times each through nginx (with If-None-Match, as
      calendar clients do), the personal one changed half way (its owner registers for one more activity): how
      many polls reached the app and how many the app built (answers 200; a 304 builds nothing). Target: one
      build per change (public: one; personal: two).
Also prints the surviving instance's workers' resident memory after its first thousand requests (a smoke run:
when the feed polls start) and at the end.
"""
from __future__ import annotations

import asyncio
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from pathlib import Path

from _common import ROOT, make_app, scratch_database
from registration import MEMORY_AFTER, MEMORY_GROWTH_MIB, PASSWORD, Provider, free_port, worker_rss_mib, worker_stats

SMOKE = "--smoke" in sys.argv[1:]
PROVIDERS = 12 if SMOKE else 60
CAPACITY = 5 if SMOKE else 20
POLLS = 50 if SMOKE else 1000
WEB_WORKERS = 2 if SMOKE else 3  # per instance
SMTP_DELAY = 0.2  # seconds the SMTP server takes per message in phase (c), so a batch is in flight at the kill
SECRET_KEY = "s" * 64
TITLES = {"rush": "Scale-out rush", "kill": "Scale-out instance kill", "mail": "Scale-out mail kill",
          "feed": "Scale-out feed change"}


class Recorder:
    """aiosmtpd handler keeping (recipient, subject, Message-ID) of each message; `delay` seconds per message."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received: list[tuple[str, str, str]] = []
        self.delay = 0.0

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append((rcpt.lower(), str(message["Subject"]), str(message["Message-ID"])))
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"

    def snapshot(self) -> list[tuple[str, str, str]]:
        with self.lock:
            return list(self.received)


def find_nginx() -> str | None:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found is None and os.geteuid() == 0:
        print("Installing Debian's nginx...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "nginx"], check=False,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)
        found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    return found


def nginx_config(tmp: Path, port: int, upstreams: tuple[int, int]) -> Path:
    """deploy/nginx-cme.conf with its ports and paths replaced, inside a minimal main config."""
    site = (ROOT / "deploy" / "nginx-cme.conf").read_text()
    for old, new in (("127.0.0.1:8001", f"127.0.0.1:{upstreams[0]}"), ("127.0.0.1:8002", f"127.0.0.1:{upstreams[1]}"),
                     ("listen 80;", f"listen 127.0.0.1:{port};"), ("/var/cache/nginx/cme", str(tmp / "cache")),
                     ("/var/log/nginx/cme-access.log", str(tmp / "access.log"))):
        if old not in site:
            raise SystemExit(f"deploy/nginx-cme.conf no longer has {old!r}: update bench/scale_out.py")
        site = site.replace(old, new)
    (tmp / "site.conf").write_text(site)
    temp = "\n".join(f"    {name}_temp_path {tmp / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = (f"{user}worker_processes 1;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'} warn;\n"
            "events { worker_connections 1024; }\n"
            f"http {{\n    include /etc/nginx/mime.types;\n{temp}\n    include {tmp / 'site.conf'};\n}}\n")
    path = tmp / "nginx.conf"
    path.write_text(main)
    return path


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def start(stack: ExitStack, args: list[str], env: dict[str, str], **kwargs) -> subprocess.Popen:
    """A child in its own process group, stopped (SIGTERM, then SIGKILL) when the stack closes."""
    process = subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True, **kwargs)

    def stop() -> None:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                kill(process)

    stack.callback(stop)
    return process


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the process and everything in its group (a crashed host: a gunicorn master and its workers)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def seed(app) -> tuple[dict[str, int], str]:
    """Providers, one activity per phase; returns the activities' ids by phase and provider 0's feed token."""
    from werkzeug.security import generate_password_hash

    from cme.accounts.models import User
    from cme.activities.models import Activity
    from cme.calendar.service import give_feed_token
    from cme.extensions import db

    with app.app_context():
        password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        now = datetime.now(timezone.utc)
        db.session.execute(User.__table__.insert(), [dict(
            email=f"bench{i}@example.org", password_hash=password_hash, full_name=f"Bench Provider {i}", degree="MD",
            profession="physician", specialty="", time_zone="America/New_York", role="provider",
            is_active_account=True, created_dt=now, password_changed_dt=now, email_verified_dt=now)
            for i in range(PROVIDERS)])
        db.session.execute(Activity.__table__.insert(), [dict(
            uuid=uuid.uuid4(), format="live_webcast", status="published", title=title, summary="", description="",
            learning_objectives="", target_audience="", specialty="", topics="", search_text="",
            time_zone="America/New_York", start_dt=now + timedelta(days=10), end_dt=now + timedelta(days=10, hours=1),
            join_url="https://webcast.example.org/b", access_notes="", capacity=CAPACITY, accreditation_statement="",
            schedule_sequence=0, created_dt=now, updated_dt=now) for title in TITLES.values()])
        db.session.commit()
        ids = {phase: db.session.scalar(db.select(Activity.id).where(Activity.title == title))
               for phase, title in TITLES.items()}
        owner = db.session.scalar(db.select(User).where(User.email == "bench0@example.org"))
        token = give_feed_token(owner)
        db.session.commit()
        db.engine.dispose()
    return ids, token


class RushProvider(Provider):
    """A provider that, like a person, submits again when a submit fails (an error page, a dropped connection)."""

    def registered(self, activity_id: int, submitted: threading.Event | None = None, tries: int = 5) -> tuple[int, int]:
        """Load the form and submit it until a submit is answered with the redirect: (status, failed submits)."""
        path = self.paths.register.format(activity_id)
        failed = 0
        token = None
        for attempt in range(tries):
            try:
                token = token or self._token(path)
                status, _ = self._request("POST", path, {"csrf_token": token, "full_name": "Bench Provider",
                                                         "degree": "MD", "profession": "physician", "attest": "y"})
            except Exception:  # noqa: BLE001 - a dropped connection: submit again
                status = 0
            if submitted is not None:
                submitted.set()
            if status == 302:
                return status, failed
            if token is not None:
                failed += 1
            time.sleep(0.2 * (attempt + 1))
        return status, failed


def rush(providers: list[RushProvider], activity_id: int, on_submit=None) -> tuple[int, int, int]:
    """Every provider at once: (answered with the redirect, failed submits retried, providers never registered)."""
    results: list[tuple[int, int]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(providers))

    def run(provider: RushProvider) -> None:
        barrier.wait()
        status, failed = provider.registered(activity_id)
        with lock:
            results.append((status, failed))
            if on_submit:
                on_submit(len(results))

    threads = [threading.Thread(target=run, args=(p,)) for p in providers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ok = sum(1 for status, _ in results if status == 302)
    return ok, sum(f for _, f in results), len(providers) - ok


def counts(conn, activity_id: int) -> tuple[bool, int, int, int, int]:
    """(exact allocation, confirmed, waitlisted, registrations, most registrations of one provider)."""
    import sqlalchemy as sa

    confirmed, waitlisted, total, users = conn.execute(sa.text(
        "SELECT sum(CASE WHEN status = 'confirmed' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN status = 'waitlisted' THEN 1 ELSE 0 END), count(*), count(DISTINCT user_id) "
        "FROM registrations WHERE activity_id = :a"), {"a": activity_id}).one()
    most = conn.execute(sa.text("SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM registrations "
                                "WHERE activity_id = :a GROUP BY user_id) AS per_user"), {"a": activity_id}).scalar()
    positions = sorted(conn.execute(sa.text(
        "SELECT waitlist_position FROM registrations WHERE activity_id = :a AND status = 'waitlisted'"),
        {"a": activity_id}).scalars())
    exact = (confirmed == min(total, CAPACITY) and waitlisted == total - confirmed
             and positions == list(range(1, waitlisted + 1)) and users == total)
    return exact, confirmed or 0, waitlisted or 0, total, most


def queued_mails(conn, title: str) -> list[tuple[str, str]]:
    """(recipient, subject) of the registration mails queued for the activity with this title."""
    import sqlalchemy as sa

    return [(r.lower(), s) for r, s in conn.execute(sa.text(
        "SELECT o.recipient, o.subject FROM outbox_messages o WHERE o.kind LIKE 'registration%' "
        "AND o.subject LIKE :t"), {"t": f"%{title}%"})]


def wait_for_mail(recorder: Recorder, queued: list[tuple[str, str]], seconds: float) -> Counter:
    """How many times each queued mail arrived, once every one did (or the time ran out)."""
    deadline = time.time() + seconds
    while True:
        arrived = Counter((r, s) for r, s, _ in recorder.snapshot())
        if all(arrived[key] for key in queued) or time.time() > deadline:
            return Counter({key: arrived[key] for key in queued})
        time.sleep(0.1)


def feed_polls(port: int, path: str, polls: int, change_at: int | None = None, change=None, each=None) -> int:
    """Poll `path` through nginx with If-None-Match (calling `each(n)` before poll n); returns the polls that did
    not get 200 or 304."""
    etag, bad = None, 0
    for n in range(polls):
        if each is not None:
            each(n)
        if change is not None and n == change_at:
            change()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path, headers={"If-None-Match": etag} if etag else {})
        response = conn.getresponse()
        response.read()
        if response.status == 200:
            etag = response.getheader("ETag")
        elif response.status != 304:
            bad += 1
        conn.close()
    return bad


def upstream_answers(log: Path, path: str) -> Counter:
    """What the app answered to the requests for `path` that nginx passed on: the last of its access log's
    upstream_status (earlier ones are tries at the dead instance, when nginx tries it again after fail_timeout);
    a request answered from the cache has none."""
    answers: Counter = Counter()
    for line in log.read_text().splitlines():
        if f"GET {path} " in line:
            status = re.search(r"upstream_status=(\S+(?:, \S+)*) cache=", line).group(1).split(", ")
            if status[-1] != "-":
                answers[status[-1]] += 1
            answers["moved on"] += len(status) - 1
    return answers


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql")):
        print("bench/scale_out.py runs on PostgreSQL only (several app instances and mail workers writing at once): "
              "set DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres (a scratch database is made next to it).")
        return 2
    nginx = find_nginx()
    if nginx is None:
        print("bench/scale_out.py needs nginx: run 'sudo apt-get install nginx' first.")
        return 2
    import sqlalchemy as sa
    from aiosmtpd.controller import Controller

    checks: dict[str, bool] = {}
    started = time.perf_counter()
    with scratch_database() as (backend, db_url), tempfile.TemporaryDirectory() as tmpdir, ExitStack() as stack:
        tmp = Path(tmpdir)
        os.chmod(tmp, 0o755)
        from flask_migrate import upgrade

        app = make_app(db_url, str(tmp), SECRET_KEY=SECRET_KEY)
        with app.app_context():
            upgrade()
        activity_ids, feed_token = seed(app)

        recorder = Recorder()
        smtp = Controller(recorder, hostname="127.0.0.1", port=free_port())
        smtp.start()
        stack.callback(smtp.stop)

        ports = (free_port(), free_port())
        proxy_port = free_port()
        env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": SECRET_KEY, "CME_INSTANCE_PATH": str(tmp),
               "CME_BASE_URL": f"http://127.0.0.1:{proxy_port}", "CME_PROXY_HOPS": "1", "MAIL_SERVER": "127.0.0.1",
               "MAIL_PORT": str(smtp.port), "MAIL_OUTBOX_DIR": str(tmp / "outbox"), "CME_WEB_WORKERS": str(WEB_WORKERS)}
        instances = [start(stack, [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "app:app"],
                           {**env, "CME_BIND": f"127.0.0.1:{port}"}) for port in ports]
        for port in ports:
            wait_for(f"http://127.0.0.1:{port}/static/favicon.svg")
        config = nginx_config(tmp, proxy_port, ports)
        test = subprocess.run([nginx, "-t", "-q", "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(config)],
                              capture_output=True, text=True)
        if test.returncode:
            print(f"nginx -t refused the generated config:\n{test.stderr}")
            return 1
        start(stack, [nginx, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(config), "-g", "daemon off;"], env)
        wait_for(f"http://127.0.0.1:{proxy_port}/static/favicon.svg")
        mailers = [start(stack, [sys.executable, "-m", "flask", "--app", "app", "cme", "send-mail", "--loop",
                                 "--interval", "0.2"], env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(2)]
        setup_seconds = time.perf_counter() - started

        providers = [RushProvider(proxy_port, f"bench{i}@example.org") for i in range(PROVIDERS)]
        threads = [threading.Thread(target=p.log_in) for p in providers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        engine = sa.create_engine(db_url)
        print(f"Scale-out benchmark on {backend}: two gunicorn instances (deploy/gunicorn.conf.py, {WEB_WORKERS} "
              f"workers each) behind nginx (deploy/nginx-cme.conf), two send-mail workers, {PROVIDERS} providers, "
              f"capacity {CAPACITY}; set up in {setup_seconds:.1f} s")

        # (a) the rush through nginx
        begun = time.perf_counter()
        ok, failed, lost = rush(providers, activity_ids["rush"])
        rush_seconds = time.perf_counter() - begun
        with engine.connect() as conn:
            exact, confirmed, waitlisted, total, most = counts(conn, activity_ids["rush"])
            queued = queued_mails(conn, TITLES["rush"])
        arrived = wait_for_mail(recorder, queued, 30)
        checks["rush"] = exact and ok == total == PROVIDERS and lost == 0 and most == 1
        checks["rush mail"] = len(queued) == total and all(n == 1 for n in arrived.values())
        print(f"  (a) rush: {ok} of {PROVIDERS} registered through nginx in {rush_seconds:.2f} s "
              f"({failed} failed submits); {confirmed} confirmed + waitlist 1..{waitlisted}, exact: {exact}; "
              f"{sum(arrived.values())} mails received for {len(queued)} registrations "
              f"(each exactly once: {all(n == 1 for n in arrived.values())})")

        # (b) one instance SIGKILLed a third of the way through the rush
        killed_at: list[int] = []

        def kill_first_instance(done: int) -> None:
            if not killed_at and done >= PROVIDERS // 3:
                killed_at.append(done)
                kill(instances[0])
                killed_at.append(len((tmp / "access.log").read_text().splitlines()))

        log_lines_before = len((tmp / "access.log").read_text().splitlines())
        ok, failed, lost = rush(providers, activity_ids["kill"], on_submit=kill_first_instance)
        with engine.connect() as conn:
            exact, confirmed, waitlisted, total, most = counts(conn, activity_ids["kill"])
            queued = queued_mails(conn, TITLES["kill"])
        arrived = wait_for_mail(recorder, queued, 30)
        after_kill = (tmp / "access.log").read_text().splitlines()[killed_at[1] if killed_at else log_lines_before:]
        passed_on = [(m.group(1), m.group(2).split(", ")) for line in after_kill
                     if (m := re.search(r'"(\w+) .*upstream=(\S+(?:, \S+)*) upstream_status', line))]
        dead, survivor = f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}"
        upstreams = [tried for _, tried in passed_on]
        to_survivor = sum(1 for tried in upstreams if tried[-1] == survivor)
        moved = sum(1 for tried in upstreams if tried[-1] == survivor and dead in tried)
        lost_with_dead = Counter(method for method, tried in passed_on if tried[-1] == dead)
        posts_replayed = sum(1 for method, tried in passed_on if method == "POST" and len(tried) > 1)
        checks["instance kill"] = (exact and ok == total == PROVIDERS and lost == 0 and most == 1
                                   and posts_replayed == 0)
        checks["instance kill mail"] = len(queued) == total and all(n == 1 for n in arrived.values())
        print(f"  (b) instance on :{ports[0]} SIGKILLed after {killed_at[0] if killed_at else '-'} of {PROVIDERS} "
              f"providers were registered: {ok} of {PROVIDERS} registered ({failed} failed submits sent again, "
              f"{lost} lost), at most {most} registration per provider; {confirmed} confirmed + waitlist "
              f"1..{waitlisted}, exact: {exact}; {sum(arrived.values())} mails for {len(queued)} registrations "
              f"(each exactly once: {all(n == 1 for n in arrived.values())})")
        print(f"      after the kill nginx passed on {len(upstreams)} requests: {to_survivor} answered by the other "
              f"instance ({moved} of them after a failed try at the dead one), "
              f"{', '.join(f'{n} {m}' for m, n in sorted(lost_with_dead.items())) or 'none'} in flight at the dead "
              f"one (answered 502); POSTs nginx sent twice: {posts_replayed}")

        # (c) the mail worker holding claims SIGKILLed mid-batch: watched for from the start of the rush (the mails
        # go out while it lasts), killed once a mail of the batch has arrived while it still holds claims
        recorder.delay = SMTP_DELAY
        pids = {m.pid: m for m in mailers}
        victim: list[subprocess.Popen] = []
        arrived_at_kill = [0]

        def kill_a_sender() -> None:
            deadline = time.time() + 60
            while not victim and time.time() < deadline:
                with engine.connect() as conn:
                    holders = conn.execute(sa.text(
                        "SELECT DISTINCT claimed_by FROM outbox_messages WHERE status = 'pending' "
                        "AND claimed_by IS NOT NULL AND subject LIKE :t"), {"t": f"%{TITLES['mail']}%"}).scalars().all()
                arrived_so_far = sum(1 for _, subject, _ in recorder.snapshot() if TITLES["mail"] in subject)
                pid = next((int(h.split(":")[1]) for h in holders if int(h.split(":")[1]) in pids), None)
                if arrived_so_far and pid is not None:
                    kill(pids[pid])
                    victim.append(pids[pid])
                    arrived_at_kill[0] = arrived_so_far
                time.sleep(0.01)

        watcher = threading.Thread(target=kill_a_sender)
        watcher.start()
        ok, failed, lost = rush(providers, activity_ids["mail"])
        watcher.join()
        with engine.connect() as conn:
            queued = queued_mails(conn, TITLES["mail"])
        arrived = wait_for_mail(recorder, queued, 60)
        recorder.delay = 0.0
        message_ids = Counter(mid for r, s, mid in recorder.snapshot() if TITLES["mail"] in s)
        twice = sum(1 for n in message_ids.values() if n > 1)
        checks["mail worker kill"] = (bool(victim) and ok == PROVIDERS and len(queued) == PROVIDERS
                                      and all(n >= 1 for n in arrived.values()) and twice <= 1
                                      and max(message_ids.values(), default=0) <= 2)
        print(f"  (c) mail worker {victim[0].pid if victim else '-'} SIGKILLed mid-batch "
              f"({arrived_at_kill[0]} of {len(queued)} mails had arrived): {sum(1 for n in arrived.values() if n)} of "
              f"{len(queued)} arrived, {twice} twice (same Message-ID; at most 1 allowed)")

        # (d) feeds polled through nginx's cache
        public, personal = "/calendar/activities.ics", f"/calendar/feed/{feed_token}.ics"
        owner = providers[0]
        bad = feed_polls(proxy_port, public, POLLS)
        # The surviving instance's workers' memory once it has answered MEMORY_AFTER requests (the personal feed's
        # polls all reach it), or when the polls start if it never gets there (a smoke run).
        survivor = f"127.0.0.1:{ports[1]}"
        answered_before = (tmp / "access.log").read_text().count(survivor)
        memory_first: dict[int, float] = {}
        first_at = [0]

        def read_memory(n: int) -> None:
            if not memory_first and (n == 0 and answered_before + POLLS < MEMORY_AFTER
                                     or answered_before + n >= MEMORY_AFTER):
                memory_first.update(worker_rss_mib(instances[1].pid))
                first_at[0] = answered_before + n

        bad += feed_polls(proxy_port, personal, POLLS, change_at=POLLS // 2,
                          change=lambda: owner.registered(activity_ids["feed"]), each=read_memory)
        log = tmp / "access.log"
        deadline = time.time() + 10  # nginx logs a request after answering it: wait for the last lines
        while log.read_text().count(f"GET {personal} ") < POLLS and time.time() < deadline:
            time.sleep(0.05)
        public_answers, personal_answers = upstream_answers(log, public), upstream_answers(log, personal)
        checks["feeds"] = bad == 0 and public_answers["200"] == 1 and personal_answers["200"] == 2
        for name, answers, changes in (("public feed", public_answers, 0), ("personal feed", personal_answers, 1)):
            reached = sum(answers.values()) - answers["moved on"]
            print(f"  (d) {name}: {POLLS} polls through nginx, {reached} reached the app, "
                  f"{answers['200']} built ({answers['304']} answered 304 unbuilt; {answers['moved on']} first tried "
                  f"the dead instance) for {changes} change(s) (target: one build per version, {changes + 1})")
        memory_end = worker_rss_mib(instances[1].pid)
        answered_end = log.read_text().count(survivor)
        pids_kept = sorted(memory_first.keys() & memory_end.keys())
        growth = max((memory_end[p] - memory_first[p] for p in pids_kept), default=0.0)
        verdict = ("not judged in a smoke run" if SMOKE else "OK" if growth < MEMORY_GROWTH_MIB else "MISSED")
        print(f"  web worker memory (anonymous resident, RssAnon, MiB) of the surviving instance after its first {first_at[0]} requests: "
              f"{' '.join(f'{memory_first[p]:.1f}' for p in pids_kept)}; at the end ({answered_end} requests): "
              f"{' '.join(f'{memory_end[p]:.1f}' for p in pids_kept)}; growth "
              f"{' '.join(f'{memory_end[p] - memory_first[p]:+.1f}' for p in pids_kept)} "
              f"(target < {MEMORY_GROWTH_MIB:.0f} MiB after the first {MEMORY_AFTER}): {verdict}")
        engine.dispose()
        if instances[1].poll() is not None or len(worker_stats(instances[1].pid)) != WEB_WORKERS:
            checks["surviving instance up"] = False
    failures = [name for name, passed in checks.items() if not passed]
    print(f"  checks: {'all passed' if not failures else 'FAILED: ' + ', '.join(failures)} "
          f"({time.perf_counter() - started:.1f} s in all)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
