"""Growth benchmark (issue 17, point 3): costs that stay flat as the data grows. One database grown through three
sizes (about 10 thousand, 100 thousand and 1 million registrations, with proportional users, activities, agenda
sessions, credit designations, attendance, credit records and outbox history), each step inserted set-based
(INSERT ... SELECT over generate_series on PostgreSQL, a recursive CTE on SQLite). At each size, the median of
several timed runs (after warm-up) of the pages a growing site must keep cheap, through the Flask test client with
logged-in sessions: the catalog's first page, a search, an activity page, My schedule and My credit of a learner
with 300 registrations, the roster and its CSV of a 5,000-seat activity, that learner's personal calendar feed, an
organizer's dashboard, and the mail worker's outbox claim query. Then each figure's ratio 1M / 10k (target <= 2x).

The learner, the 5,000-seat activity and the organizer (who organizes 40 activities) are made once, at the first
size, and stay the same: what grows is everyone and everything else.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/growth.py   # the full run
    .venv/bin/python bench/growth.py --smoke      # tiny sizes (200/400/800), SQLite or PostgreSQL: checked
    DATABASE_URL=... .venv/bin/python bench/growth.py --explain   # also EXPLAIN ANALYZE of the slow SQL at each size
    DATABASE_URL=... .venv/bin/python bench/growth.py --only=catalog   # time only the figures named so (and the floor)
    DATABASE_URL=... .venv/bin/python bench/growth.py --past-grows     # what is added after the first size has ended

By default every size spreads its activities over 400 days either side of now, so the activities still to come grow
with the registrations (190 published at 10k, 18,000 at 1M). A site that grows over the years keeps its upcoming
activities about as many while the past accumulates: `--past-grows` makes that shape (the activities added after
the first size all ended in the 800 days before), for the costs that must not grow with the past.

The full run needs PostgreSQL (a million registrations on SQLite is not the deployment this bench is about): on
SQLite it says so and exits 2.
"""
from __future__ import annotations

import csv
import io
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from _common import make_app, scratch_database, settle, timings

SMOKE = "--smoke" in sys.argv[1:]
EXPLAIN = "--explain" in sys.argv[1:]
PAST_GROWS = "--past-grows" in sys.argv[1:]
ONLY = [arg.split("=", 1)[1] for arg in sys.argv[1:] if arg.startswith("--only=")]
SIZES = (200, 400, 800) if SMOKE else (10_000, 100_000, 1_000_000)  # registrations
BIG_SEATS = 50 if SMOKE else 5_000  # the big activity: this many confirmed, and a waitlist of WAITLISTED
WAITLISTED = 5 if SMOKE else 50
MINE = 20 if SMOKE else 300  # registrations of the learner whose pages are timed
ORGANIZED = 10 if SMOKE else 40  # activities the timed organizer organizes (the big one among them)
PENDING_EVERY = 20 if SMOKE else 1_000  # one confirmation in this many is still in the outbox
REGISTRATIONS_PER_ACTIVITY = 8 if SMOKE else 25
REPEAT = 1 if SMOKE else int(os.environ.get("BENCH_REPEAT", "15"))
WARMUP = 1 if SMOKE else 3
PASSWORD = "bench password 17"
LEARNER, ORGANIZER, BIG = 1, 2, 1  # user ids, activity id
FIRST_BULK_USER = 3


def users_at(size: int) -> int:
    return size // 2 + 100


def activities_at(size: int) -> int:
    return size // REGISTRATIONS_PER_ACTIVITY


class Sql:
    """The few expressions that differ between PostgreSQL and SQLite, so each INSERT ... SELECT is written once."""

    def __init__(self, dialect: str, now: datetime):
        self.pg = dialect == "postgresql"
        self.now = now if self.pg else now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")

    def series(self, count: str) -> str:
        """Rows 0 .. count-1 as `s(i)`."""
        if self.pg:
            return f"generate_series(0, {count} - 1) AS s(i)"
        return f"(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < {count}) SELECT i FROM s) AS s"

    def hours_from_now(self, hours: str) -> str:
        if self.pg:
            return f"(CAST(:now AS timestamptz) + ({hours}) * interval '1 hour')"
        return f"(strftime('%Y-%m-%d %H:%M:%S', :now, ({hours}) || ' hours') || '.000000')"

    def plus_hours(self, column: str, hours: str) -> str:
        if self.pg:
            return f"({column} + ({hours}) * interval '1 hour')"
        return f"(strftime('%Y-%m-%d %H:%M:%S', {column}, ({hours}) || ' hours') || '.000000')"

    def uuid(self) -> str:
        return "gen_random_uuid()" if self.pg else "lower(hex(randomblob(16)))"


# The floor, timed at each size like the pages: a page that reads no data (the log-in form), so a ratio between
# sizes can be told apart from a change in the load of the shared machine.
FLOOR = "floor: log-in page (no data)"
TOPICS = ("hepatitis", "cirrhosis", "fibrosis", "transplant", "steatosis")


def grow(db, sql: Sql, *, before: int, size: int) -> None:
    """Grow the database from `before` registrations (0: empty) to `size`, set-based."""
    run = lambda statement, **params: db.session.execute(db.text(statement), {"now": sql.now, **params})  # noqa: E731
    first = before == 0
    u0 = FIRST_BULK_USER if first else users_at(before) + 1
    nu = users_at(size) - u0 + 1
    a0 = BIG + 1 if first else activities_at(before) + 1
    na = activities_at(size) - a0 + 1
    r0 = 1 if first else before + 1
    fixed = BIG_SEATS + WAITLISTED + MINE if first else 0
    nr = size - before - fixed  # bulk registrations of this step
    # Bulk registration i: user u0 + i % nu at activity a0 + (i + i // nu) % na. A user gets at most two (nr <= 2 nu),
    # at different activities unless (nu + 1) % na == 0.
    assert nr <= 2 * nu and (nu + 1) % na != 0, (nr, nu, na)

    run(f"""INSERT INTO users (id, email, password_hash, full_name, degree, profession, specialty, time_zone, role,
                               is_active_account, created_dt, password_changed_dt, session_version)
            SELECT :u0 + i, 'learner' || CAST(:u0 + i AS TEXT) || '@example.org', 'x',
                   'Learner ' || CAST(:u0 + i AS TEXT), 'MD', 'physician', '', 'America/New_York', 'provider', TRUE,
                   {sql.hours_from_now('-9000')}, {sql.hours_from_now('-9000')}, 0
            FROM {sql.series(':nu')}""", u0=u0, nu=nu)
    first_activity = BIG if first else a0
    count = na + (1 if first else 0)
    topic = " || ".join(f"CASE WHEN (i + {k}) % 5 < 2 THEN '{word} ' ELSE '' END" for k, word in enumerate(TOPICS))
    # Starts spread over 400 days either side of now; with --past-grows, after the first size, the 800 days before.
    start = ":span * 2 * ((i * 7919) % 997) / 997 - :span" + (" - :span - 6" if PAST_GROWS and not first else "")
    run(f"""INSERT INTO activities (id, uuid, format, status, title, summary, description, learning_objectives,
                                    target_audience, specialty, topics, time_zone, start_dt, end_dt, venue_name, city,
                                    state, access_notes, accreditation_statement, schedule_sequence, created_dt,
                                    updated_dt, search_text, capacity)
            SELECT :a + i, {sql.uuid()}, 'live_meeting', CASE WHEN i % 10 = 9 THEN 'draft' ELSE 'published' END,
                   'Update ' || {topic} || CAST(:a + i AS TEXT), 'A review.', 'Case-based discussion.', 'One',
                   'Physicians', 'Hepatology', '', 'America/Chicago', {sql.hours_from_now(start)},
                   {sql.hours_from_now(start + ' + 6')}, 'Convention Center',
                   'Springfield', 'IL', '', 'Accredited.', 0, {sql.hours_from_now('-9000')}, {sql.hours_from_now('-9000')},
                   lower('Update ' || {topic} || CAST(:a + i AS TEXT) || ' a review. case-based discussion. hepatology'),
                   CASE WHEN i % 3 = 0 THEN 1000 ELSE NULL END
            FROM {sql.series(':count')}""", a=first_activity, count=count, span=24 * 400)
    if first:  # the big activity: published, a month ahead, 5,000 seats
        run(f"""UPDATE activities SET status = 'published', capacity = :seats, start_dt = {sql.hours_from_now('720')},
                       end_dt = {sql.hours_from_now('726')} WHERE id = :big""", seats=BIG_SEATS, big=BIG)
    last_activity = first_activity + count - 1
    run(f"""INSERT INTO activity_sessions (id, uuid, activity_id, title, description, start_dt, end_dt, room)
            SELECT 3 * a.id + s.i, {sql.uuid()}, a.id, 'Session ' || CAST(s.i + 1 AS TEXT), '',
                   {sql.plus_hours('a.start_dt', '2 * s.i')}, {sql.plus_hours('a.start_dt', '2 * s.i + 1')}, 'Hall A'
            FROM activities a CROSS JOIN {sql.series('3')} WHERE a.id BETWEEN :lo AND :hi""", lo=first_activity,
        hi=last_activity)
    for credit_type, amount in (("ama_pra_1", "6.00"), ("ancc", "6.00")):
        run("""INSERT INTO credit_designations (activity_id, credit_type, max_amount)
               SELECT id, :type, :amount FROM activities WHERE id BETWEEN :lo AND :hi""",
            type=credit_type, amount=amount, lo=first_activity, hi=last_activity)
    if first:
        run("INSERT INTO activity_organizers (activity_id, user_id) SELECT id, :user FROM activities WHERE id <= :n",
            user=ORGANIZER, n=ORGANIZED)

    def registrations(select: str, **params) -> None:
        run(f"""INSERT INTO registrations (id, user_id, activity_id, status, waitlist_position, checkin_code, full_name,
                                           degree, profession, dietary_needs, accessibility_needs, attested_professional,
                                           invite_sequence, registered_dt, confirmed_dt, cancelled_dt, updated_dt)
                SELECT id, user_id, activity_id, status, position, 'G' || CAST(id AS TEXT), 'Learner ' ||
                       CAST(user_id AS TEXT), 'MD', 'physician', '', '', TRUE, 0, {sql.hours_from_now('-2000')},
                       CASE WHEN status = 'confirmed' THEN {sql.hours_from_now('-2000')} END,
                       CASE WHEN status = 'cancelled' THEN {sql.hours_from_now('-1000')} END,
                       {sql.hours_from_now('-1000')}
                FROM ({select}) AS r""", **params)

    rid = r0
    if first:
        registrations(f"""SELECT :r + i AS id, :u + i AS user_id, :big AS activity_id,
                                 CASE WHEN i < :seats THEN 'confirmed' ELSE 'waitlisted' END AS status,
                                 CASE WHEN i < :seats THEN NULL ELSE i - :seats + 1 END AS position
                          FROM {sql.series(':n')}""", r=rid, u=FIRST_BULK_USER, big=BIG, seats=BIG_SEATS,
                      n=BIG_SEATS + WAITLISTED)
        rid += BIG_SEATS + WAITLISTED
        registrations(f"""SELECT :r + i AS id, :learner AS user_id, :a + i AS activity_id, 'confirmed' AS status,
                                 CAST(NULL AS INTEGER) AS position FROM {sql.series(':n')}""", r=rid, learner=LEARNER, a=BIG + 1, n=MINE)
        rid += MINE
    registrations(f"""SELECT :r + i AS id, :u0 + i % :nu AS user_id, :a0 + (i + i / :nu) % :na AS activity_id,
                             CASE WHEN i % 20 = 19 THEN 'cancelled' ELSE 'confirmed' END AS status, CAST(NULL AS INTEGER) AS position
                      FROM {sql.series(':nr')}""", r=rid, u0=u0, nu=nu, a0=a0, na=na, nr=nr)
    # Attendance: 90% of confirmed registrants of ended activities checked in; credit: 60% of those claimed it.
    attended_before = db.session.scalar(db.text("SELECT coalesce(max(id), 0) FROM attendance"))
    run("""INSERT INTO attendance (user_id, activity_id, session_id, checked_in_dt, minutes_watched, watched_seconds,
                                   created_dt)
           SELECT r.user_id, r.activity_id, NULL, a.start_dt, 0, 0, a.start_dt
           FROM registrations r JOIN activities a ON a.id = r.activity_id
           WHERE r.id BETWEEN :lo AND :hi AND r.status = 'confirmed' AND a.end_dt < :now AND r.id % 10 <> 0""",
        lo=r0, hi=size)
    run(f"""INSERT INTO credit_records (user_id, activity_id, credit_type, amount, attested, claimed_dt, updated_dt,
                                        completed_dt)
            SELECT t.user_id, t.activity_id, 'ama_pra_1', 4.50, TRUE, {sql.plus_hours('a.end_dt', '24')},
                   {sql.plus_hours('a.end_dt', '24')}, a.end_dt
            FROM attendance t JOIN activities a ON a.id = t.activity_id
            WHERE t.id > :after AND (t.id % 5 < 3 OR t.user_id = :learner)""", after=attended_before, learner=LEARNER)
    # Outbox history: a confirmation per registration, sent long ago; one in PENDING_EVERY still pending, half
    # due an hour ago and half due in an hour, each half at one moment (as an activity's reminders are, or the claims
    # a stopped worker held when they are let go): the claim must not read every tied row.
    run(f"""INSERT INTO outbox_messages (recipient, subject, kind, raw_message, status, attempts, next_attempt_dt,
                                         created_dt, sent_dt)
            SELECT 'learner' || CAST(r.user_id AS TEXT) || '@example.org', 'Registration confirmed',
                   'registration_confirmed', 'Subject: Registration confirmed', CASE WHEN r.id % :every = 0 THEN 'pending'
                   ELSE 'sent' END, CASE WHEN r.id % :every = 0 THEN 0 ELSE 1 END,
                   CASE WHEN r.id % :every = 0 THEN {sql.hours_from_now('(r.id % (2 * :every)) / :every * 2 - 1')}
                   ELSE {sql.hours_from_now('-1000')} END, {sql.hours_from_now('-1000')},
                   CASE WHEN r.id % :every = 0 THEN NULL ELSE {sql.hours_from_now('-1000')} END
            FROM registrations r WHERE r.id BETWEEN :lo AND :hi""", lo=r0, hi=size, every=PENDING_EVERY)
    db.session.commit()
    settle(db, ("users", "activities", "activity_sessions", "registrations"))


def make_people(db) -> None:
    """The timed learner (id 1) and organizer (id 2), made as the app makes users (password, feed token)."""
    from cme.accounts.service import create_user

    learner = create_user("learner@example.org", PASSWORD, full_name="Timed Learner", degree="MD",
                          profession="physician")
    organizer = create_user("organizer@example.org", PASSWORD, role="organizer", full_name="Timed Organizer")
    assert (learner.id, organizer.id) == (LEARNER, ORGANIZER), (learner.id, organizer.id)
    db.session.commit()


def check_counts(db, size: int) -> None:
    count = lambda table, where="1 = 1": db.session.scalar(db.text(f"SELECT count(*) FROM {table} WHERE {where}"))  # noqa: E731
    expected = {"registrations": size, "users": users_at(size), "activities": activities_at(size),
                "activity_sessions": 3 * activities_at(size), "credit_designations": 2 * activities_at(size),
                "outbox_messages": size}
    found = {table: count(table) for table in expected}
    assert found == expected, f"seeded {found}, expected {expected}"
    assert count("registrations", f"user_id = {LEARNER}") == MINE
    assert count("registrations", f"activity_id = {BIG} AND status = 'confirmed'") == BIG_SEATS
    assert count("attendance") > 0 and count("credit_records") > 0
    assert count("credit_records", f"user_id = {LEARNER}") == count("attendance", f"user_id = {LEARNER}")


@dataclass
class Page:
    label: str
    path: str
    client: str  # "learner", "organizer" or "anonymous"
    check: str  # text the page must contain


def pages(feed_token: str, big_title: str) -> list[Page]:
    return [page for page in all_pages(feed_token, big_title) if timed(page.label)]


def timed(label: str) -> bool:
    """Whether this run times a figure: the floor always, the others unless --only names others."""
    return label == FLOOR or not ONLY or any(name.lower() in label.lower() for name in ONLY)


def all_pages(feed_token: str, big_title: str) -> list[Page]:
    return [
        Page(FLOOR, "/account/login", "anonymous", "<form"),
        Page("catalog first page", "/", "anonymous", '<li class="card">'),
        Page("catalog search", "/activities/?q=cirrhosis+fibrosis", "anonymous", '<li class="card">'),
        Page(f"activity page ({BIG_SEATS:,} seats)", f"/activities/{BIG}", "learner", big_title),
        Page(f"My schedule ({MINE} registrations)", "/my/schedule", "learner", "Update"),
        Page("My credit", "/my/credit", "learner", "Update"),
        Page(f"roster ({BIG_SEATS:,} seats)", f"/organize/activities/{BIG}/roster", "organizer", "Learner 3"),
        Page("roster CSV", f"/organize/activities/{BIG}/roster.csv", "organizer", "Learner 3"),
        Page("personal feed", f"/calendar/feed/{feed_token}.ics", "anonymous", "BEGIN:VEVENT"),
        Page("organizer dashboard", "/organize/", "organizer", big_title),
    ]


def claim_query(db):
    """The mail worker's claim (cme.mail.service.claim_due): its SELECT ... FOR UPDATE SKIP LOCKED, rolled back."""
    from sqlalchemy import or_, select

    from cme.mail.models import OutboxMessage, OutboxStatus
    from cme.timeutil import now_utc

    def claim():
        now = now_utc()
        due = or_(OutboxMessage.send_after_dt.is_(None), OutboxMessage.send_after_dt <= now)
        free = or_(OutboxMessage.next_attempt_dt <= now, OutboxMessage.claimed_by == "bench-worker")
        ids = db.session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING, free, due)
            .order_by(OutboxMessage.next_attempt_dt, OutboxMessage.id).limit(10).with_for_update(skip_locked=True)
        ).all()
        db.session.rollback()
        return ids
    return claim


def log_in(app, email: str):
    client = app.test_client()
    response = client.post("/account/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, (email, response.status_code)
    return client


def explain_page(app, db, client, path: str, *, slower_than_ms: float = 2.0) -> None:
    """EXPLAIN ANALYZE of each statement of one request that took longer than `slower_than_ms`."""
    from sqlalchemy import event

    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        statements.append(((time.perf_counter() - conn.info["started"]) * 1000, statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    with app.app_context():
        for ms, statement, parameters in sorted(statements, key=lambda s: -s[0]):
            if ms < slower_than_ms or not statement.lstrip().upper().startswith("SELECT"):
                continue
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plan = "\n".join("      " + row[0] for row in cursor.fetchall())
            finally:
                raw.rollback()
                raw.close()
            print(f"    {ms:7.2f} ms  {' '.join(statement.split())[:300]}\n{plan}")


def measure(app, db, size: int, clients: dict, feed_token: str, big_title: str) -> dict[str, float]:
    figures = {}
    for page in pages(feed_token, big_title):
        client = clients[page.client]
        response = client.get(page.path)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, (page.path, response.status_code)
        assert page.check in body, (page.path, page.check, body[:500])
        if page.label == "roster CSV":
            rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
            assert len(rows) - 1 >= BIG_SEATS, f"the roster CSV has {len(rows) - 1} rows"
        if page.label.startswith("My schedule"):
            assert body.count("Update") >= MINE, "the schedule shows every registration"
        figures[page.label] = statistics.median(timings(lambda: client.get(page.path), repeat=REPEAT, warmup=WARMUP))
        print(f"  {size:>9,}  {page.label:<32} median {figures[page.label]:8.2f} ms")
        if EXPLAIN:
            explain_page(app, db, client, page.path)
    if not timed("outbox claim query"):
        return figures
    with app.app_context():
        claim = claim_query(db)
        assert len(claim()) > 0, "due messages are claimable"
        figures["outbox claim query"] = statistics.median(timings(claim, repeat=REPEAT, warmup=WARMUP))
        db.session.remove()
    print(f"  {size:>9,}  {'outbox claim query':<32} median {figures['outbox claim query']:8.2f} ms")
    return figures


def main() -> int:
    from flask_migrate import upgrade

    from cme.calendar.service import feed_token as feed_token_of
    from cme.extensions import db

    with scratch_database() as (backend, url), tempfile.TemporaryDirectory() as instance:
        if backend != "postgresql" and not SMOKE:
            print("The full growth bench needs PostgreSQL: set DATABASE_URL=postgresql://... "
                  "(SQLite runs only --smoke).")
            return 2
        app = make_app(url, instance)
        now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        with app.app_context():
            upgrade()
            make_people(db)
            sql = Sql(db.engine.dialect.name, now)
            from cme.accounts.models import User
            from cme.activities.models import Activity

            token = feed_token_of(db.session.get(User, LEARNER))
        clients = {"anonymous": app.test_client(), "learner": log_in(app, "learner@example.org"),
                   "organizer": log_in(app, "organizer@example.org")}
        print(f"Growth benchmark on {backend}: registrations {' -> '.join(f'{s:,}' for s in SIZES)}; "
              f"medians of {REPEAT} runs after {WARMUP} warm-up"
              + ("; what is added after the first size has ended (--past-grows)" if PAST_GROWS else ""))
        results: dict[int, dict[str, float]] = {}
        before = 0
        for size in SIZES:
            started = time.perf_counter()
            with app.app_context():
                grow(db, sql, before=before, size=size)
                check_counts(db, size)
                big_title = db.session.get(Activity, BIG).title
                counts = {t: db.session.scalar(db.text(f"SELECT count(*) FROM {t}")) for t in
                          ("users", "activities", "activity_sessions", "attendance", "credit_records", "outbox_messages")}
                db.session.remove()
            before = size
            print(f"  {size:>9,}  registrations seeded in {time.perf_counter() - started:.1f} s: "
                  + ", ".join(f"{n:,} {t}" for t, n in counts.items()))
            results[size] = measure(app, db, size, clients, token, big_title)
        with app.app_context():
            db.engine.dispose()

    small, large = results[SIZES[0]], results[SIZES[-1]]
    floor_ratio = large[FLOOR] / max(small[FLOOR], 1e-9)
    print(f"  ratios {SIZES[-1]:,} / {SIZES[0]:,} registrations (target <= 2x; then the same over the floor's "
          f"ratio x{floor_ratio:.2f}, the machine's load apart):")
    for label in small:
        ratio = large[label] / max(small[label], 1e-9)
        verdict = "" if label == FLOOR else "MET" if ratio <= 2 else "MISSED"
        print(f"    {label:<32} {small[label]:8.2f} ms -> {large[label]:8.2f} ms  x{ratio:5.2f}  "
              f"(over the floor's x{ratio / floor_ratio:5.2f})  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
