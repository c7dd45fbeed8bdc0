"""Calendar benchmark: the public feed over 5,000 activities and a personal feed over 500 registrations.

No process keeps anything between requests: every build reads the database. Prints the median build of the
public feed from nothing (no fragment stored: every event serialised), with each activity's VEVENTs stored on
its row (what every request does), right after one activity changed (its fragment rewritten by that change's
transaction), what that change's commit costs, the personal feed's build, the median 304 answers through the
test client, and the floor measured in the same run: plain icalendar building and serialising the same events
naively from rows already read (with add_missing_timezones()), timed alternately with our builds.

    .venv/bin/python bench/feeds.py
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/feeds.py
    .venv/bin/python bench/feeds.py --smoke   # tiny sizes, a few seconds, every phase (the suite runs it)

Targets (issues 6, 11 and 17): the feed from nothing no slower than the naive reference, with fragments stored
at most 0.15x of it and under 1 s, with no in-process cache; the feed right after a change costs what any build
costs (no rebuild penalty); a 304 builds nothing.
"""
from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Callable

from _common import make_app, scratch_database, summary, timings

SMOKE = "--smoke" in sys.argv[1:]
N_ACTIVITIES = 50 if SMOKE else 5_000
N_REGISTRATIONS = 10 if SMOKE else 500
ROUNDS = 2 if SMOKE else 3  # each a build of ours and one of the naive reference, alternately
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix"]


def seed(db) -> int:
    from werkzeug.security import generate_password_hash

    from cme.accounts.models import User
    from cme.activities.models import Activity, CreditDesignation, search_text_for
    from cme.registration.models import Registration

    rng = random.Random(11)
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    rows = []
    for i in range(1, N_ACTIVITIES + 1):
        start = now + timedelta(hours=rng.randint(24, 24 * 700))
        row = dict(id=i, uuid=uuid.uuid4(), format="live_meeting", status="published", title=f"Liver update {i}",
                   summary="Hepatitis C, MASLD and transplant in practice.", description="", learning_objectives="",
                   target_audience="", specialty="Hepatology", topics="", time_zone=rng.choice(ZONES),
                   start_dt=start, end_dt=start + timedelta(hours=4), venue_name="Convention Center",
                   street_address="1 Main St", city="Springfield", state="IL", postal_code="62701", access_notes="",
                   capacity=None, accreditation_statement="", schedule_sequence=0, created_dt=now, updated_dt=now)
        row["search_text"] = search_text_for(row)
        rows.append(row)
    db.session.execute(Activity.__table__.insert(), rows)
    db.session.execute(CreditDesignation.__table__.insert(),
                       [dict(activity_id=i, credit_type="ama_pra_1", max_amount=Decimal("4")) for i in range(1, N_ACTIVITIES + 1)])
    user = User(email="feed@example.org", password_hash=generate_password_hash("x", method="pbkdf2:sha256:1000"),
                full_name="Feed Reader", degree="MD", time_zone="America/Chicago", email_verified_dt=now)
    db.session.add(user)
    db.session.flush()
    db.session.execute(Registration.__table__.insert(), [dict(
        user_id=user.id, activity_id=i, status="confirmed", checkin_code=uuid.uuid4().hex, full_name="Feed Reader",
        degree="MD", profession="physician", dietary_needs="", accessibility_needs="", attested_professional=True,
        invite_sequence=1, registered_dt=now, confirmed_dt=now, updated_dt=now) for i in range(1, N_REGISTRATIONS + 1)])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("SELECT setval('activities_id_seq', (SELECT max(id) FROM activities))"))
        db.session.commit()
    return user.id


def store_fragments(db) -> None:
    """Store every activity's fragment (`flask cme store-calendar-fragments`; the bench seeds with plain
    INSERTs, which store none)."""
    from cme.calendar import service

    service.store_stale_public_fragments()
    db.session.commit()
    db.session.expunge_all()


def drop_fragments(db) -> None:
    """No fragment stored anywhere, and no VTIMEZONE memoised (an empty database cache, a new process)."""
    from cme.activities.models import Activity
    from cme.calendar import ics, timezones

    db.session.execute(db.update(Activity).values(ics_fragment=None, ics_fragment_version=None,
                                                  updated_dt=Activity.updated_dt))
    db.session.commit()
    db.session.expunge_all()
    ics._timezone_bytes.cache_clear()
    timezones.vtimezone.cache_clear()


def naive_reference(db) -> Callable[[], bytes]:
    """Plain icalendar straight from the rows (read once, before): build every event with TZID datetimes,
    add_missing_timezones(), serialise."""
    from icalendar import Calendar, Event

    from cme.activities.models import Activity
    from cme.timeutil import zone

    activities = db.session.scalars(db.select(Activity).order_by(Activity.id)).all()
    db.session.expunge_all()  # detached with their columns loaded: later commits do not expire them

    def build() -> bytes:
        calendar = Calendar()
        calendar.add("prodid", "-//naive//EN")
        calendar.add("version", "2.0")
        for a in activities:
            event = Event()
            event.add("uid", f"{a.uuid}@naive")
            event.add("dtstamp", a.updated_dt)
            event.add("dtstart", a.start_dt.astimezone(zone(a.time_zone)))
            event.add("dtend", a.end_dt.astimezone(zone(a.time_zone)))
            event.add("summary", a.title)
            event.add("description", a.summary)
            event.add("location", a.full_address)
            calendar.add_component(event)
        calendar.add_missing_timezones()
        return calendar.to_ical()

    return build


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> int:
    from flask_migrate import upgrade

    from cme.accounts.models import User
    from cme.activities.models import Activity
    from cme.activities.catalog import CatalogFilters
    from cme.calendar import service
    from cme.extensions import db

    with scratch_database() as (backend, url), tempfile.TemporaryDirectory() as instance:
        app = make_app(url, instance)
        with app.app_context():
            upgrade()
            user_id = seed(db)
            user = db.session.get(User, user_id)
            token = service.feed_token(user)
            db.session.commit()

            def public() -> bytes:
                db.session.expunge_all()
                return service.public_feed_export(CatalogFilters()).build()

            def from_nothing() -> float:
                drop_fragments(db)
                return timed(public)

            def personal() -> bytes:
                db.session.expunge_all()
                return service.personal_feed_export(db.session.get(User, user_id)).build()

            naive_build = naive_reference(db)
            naive_events = naive_build().count(b"BEGIN:VEVENT")
            assert naive_events == N_ACTIVITIES, f"the reference holds {naive_events} events"
            body = public()
            events = body.count(b"BEGIN:VEVENT")
            assert events == N_ACTIVITIES, f"the public feed holds {events} events, not {N_ACTIVITIES}"
            print(f"Calendar benchmark on {backend}: public feed {events:,} events ({len(body) / 1e6:.1f} MB), "
                  f"personal feed {N_REGISTRATIONS} registrations")
            # Ours and the reference alternately (the machine is shared: a burst of load elsewhere slows both).
            naives, scratches = [], []
            for _ in range(ROUNDS):
                scratches.append(from_nothing())
                naives.append(timed(naive_build))
            scratch = statistics.median(scratches)
            print(f"  {'public feed, from nothing':<38} median {scratch:7.2f} ms   (n={ROUNDS})")
            store_fragments(db)
            storeds = []
            for _ in range(ROUNDS):
                storeds += [timed(public) for _ in range(3)]
                naives.append(timed(naive_build))
            stored, _ = summary("public feed, fragments stored", storeds)
            naive = statistics.median(naives)
            print(f"  {'reference: naive icalendar, ' + f'{N_ACTIVITIES:,}':<38} median {naive:7.2f} ms   (n={len(naives)})")
            summary("personal feed", timings(personal, repeat=5, warmup=1))

            counter = iter(range(10_000))
            writes = []

            def rebuild_after_one_change() -> float:
                activity = db.session.get(Activity, 1 + next(counter) % N_ACTIVITIES)
                activity.summary = text = f"Changed {time.perf_counter()}"
                start = time.perf_counter()
                db.session.commit()
                writes.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                body = public()
                elapsed = (time.perf_counter() - start) * 1000
                assert text.encode() in body
                return elapsed

            rebuild_after_one_change()
            writes.clear()
            rebuilds = [rebuild_after_one_change() for _ in range(9)]
            rebuild = statistics.median(rebuilds)
            print(f"  {'public feed, build after 1 change':<38} median {rebuild:7.2f} ms   (n={len(rebuilds)})")
            print(f"  {'commit of that change (and fragment)':<38} median {statistics.median(writes):7.2f} ms   "
                  f"(n={len(writes)})")

        client = app.test_client()
        etag = client.get("/calendar/activities.ics").headers["ETag"]
        assert client.get("/calendar/activities.ics", headers={"If-None-Match": etag}).status_code == 304
        summary("304 answer, public feed (HTTP)", timings(lambda: client.get(
            "/calendar/activities.ics", headers={"If-None-Match": etag}), repeat=100))
        personal_etag = client.get(f"/calendar/feed/{token}.ics").headers["ETag"]
        summary("304 answer, personal feed (HTTP)", timings(lambda: client.get(
            f"/calendar/feed/{token}.ics", headers={"If-None-Match": personal_etag}), repeat=100))
        with app.app_context():
            db.engine.dispose()

    print(f"  from nothing / naive reference = {scratch / naive:.2f}x (target <= 1x): "
          f"{'MET' if scratch <= naive else 'MISSED'}")
    print(f"  fragments stored / naive reference = {stored / naive:.3f}x (target <= 0.15x): "
          f"{'MET' if stored <= 0.15 * naive else 'MISSED'}; under 1 s: {'MET' if stored < 1000 else 'MISSED'}")
    print(f"  build after 1 change / build from nothing = {rebuild / scratch:.1%} (target < 10%): "
          f"{'MET' if rebuild < scratch / 10 else 'MISSED'}; / build with fragments stored = {rebuild / stored:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
