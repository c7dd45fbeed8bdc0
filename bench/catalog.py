"""Catalog benchmark: 10,000 activities (with sessions and credit designations), then the median and p95
time of the first catalog page, a filtered search page and an activity page through the test client, and
the floor: the first page's template rendered with its data already in memory.

    .venv/bin/python bench/catalog.py                 # SQLite
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/catalog.py   # PostgreSQL
    .venv/bin/python bench/catalog.py --smoke         # tiny sizes, a few seconds: every phase, checked (the suite runs it)

Targets: first page median < 25 ms and search <= 3x the first page (issue 4); first page <= 3x the floor (issue
17: the floor is the same template rendered with the same rows already loaded, no database work).
"""
from __future__ import annotations

import random
import sys
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from _common import make_app, scratch_database, settle, summary, timings

SMOKE = "--smoke" in sys.argv[1:]
N_ACTIVITIES = 60 if SMOKE else 10_000
REPEAT = 3 if SMOKE else 200
WARMUP = 1 if SMOKE else 5
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix"]
SPECIALTIES = ["Hepatology", "Gastroenterology", "Transplant hepatology", "Addiction medicine", "Oncology"]
WORDS = ["hepatitis", "cirrhosis", "MASLD", "fibrosis", "transplant", "carcinoma", "buprenorphine", "elimination",
         "portal", "hypertension", "screening", "antiviral", "steatosis", "immunotherapy", "allocation"]


def seed(db) -> None:
    from cme.activities.models import (Activity, ActivitySession, CreditDesignation, Faculty, search_text_for,
                                       session_speakers)

    rng = random.Random(7)
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    activities, sessions, designations, faculty, speakers = [], [], [], [], []
    for i in range(1, N_ACTIVITIES + 1):
        start = now + timedelta(hours=rng.randint(-24 * 200, 24 * 400))
        fmt = rng.choice(["live_meeting", "live_meeting", "live_webcast", "on_demand_webcast"])
        words = " ".join(rng.sample(WORDS, 4))
        activities.append(dict(
            id=i, uuid=uuid.uuid4(), format=fmt, status="published" if rng.random() < 0.9 else "draft",
            title=f"{words.title()} update {i}", summary=f"A concise review of {words}.",
            description=f"Case-based discussion of {words}. " * 8, learning_objectives="One\nTwo\nThree",
            target_audience="Physicians", specialty=rng.choice(SPECIALTIES), topics=", ".join(rng.sample(WORDS, 3)),
            time_zone=rng.choice(ZONES), start_dt=start, end_dt=start + timedelta(hours=6),
            venue_name="Convention Center" if fmt == "live_meeting" else None,
            city="Springfield" if fmt == "live_meeting" else None, state="IL" if fmt == "live_meeting" else None,
            join_url="https://webcast.example.org/x" if fmt == "live_webcast" else None, access_notes="",
            capacity=rng.choice([None, 50, 100, 200]), accreditation_statement="Accredited.", schedule_sequence=0,
            created_dt=now, updated_dt=now))
        faculty.append(dict(id=i, activity_id=i, full_name="Dr Example", degree="MD", affiliation="", role="faculty",
                            position=0, disclosure_received_dt=now))
        for s in range(3):
            sessions.append(dict(id=3 * i + s, uuid=uuid.uuid4(), activity_id=i, title=f"Session {s + 1}",
                                 description="", start_dt=start + timedelta(hours=2 * s),
                                 end_dt=start + timedelta(hours=2 * s + 1.5), room="Hall A"))
            speakers.append(dict(session_id=3 * i + s, faculty_id=i))
        designations.append(dict(activity_id=i, credit_type="ama_pra_1", max_amount=Decimal("4.5")))
        designations.append(dict(activity_id=i, credit_type=rng.choice(["ancc", "acpe", "aapa_1", "abim_moc"]),
                                 max_amount=Decimal("4.5")))
        activities[-1]["search_text"] = search_text_for(
            activities[-1], people=["Dr Example"], credit_types=[d["credit_type"] for d in designations[-2:]],
            sessions=[s["title"] for s in sessions[-3:]])
    db.session.execute(Activity.__table__.insert(), activities)
    db.session.execute(ActivitySession.__table__.insert(), sessions)
    db.session.execute(Faculty.__table__.insert(), faculty)
    db.session.execute(session_speakers.insert(), speakers)
    db.session.execute(CreditDesignation.__table__.insert(), designations)
    db.session.commit()
    settle(db, ("activities", "activity_sessions", "faculty"))


def main() -> int:
    from flask import render_template
    from flask_migrate import upgrade

    from flask_login import current_user

    from cme.activities import catalog
    from cme.activities.models import Activity, ActivitySession, CreditDesignation
    from cme.extensions import db
    from cme.registration.counts import taken_count
    from cme.registration.service import active_registrations_of

    with scratch_database() as (backend, url), tempfile.TemporaryDirectory() as instance:
        app = make_app(url, instance)
        with app.app_context():
            upgrade()
            seed(db)
            seeded = [db.session.scalar(db.select(db.func.count()).select_from(model))
                      for model in (Activity, ActivitySession, CreditDesignation)]
            assert seeded == [N_ACTIVITIES, 3 * N_ACTIVITIES, 2 * N_ACTIVITIES], f"seeded {seeded}"
            public_id = db.session.scalar(db.text("SELECT min(id) FROM activities WHERE status = 'published'"))
        client = app.test_client()
        search = "/activities/?q=hepatitis+fibrosis&format=live_meeting&credit_type=ama_pra_1"
        for path in ("/", search, f"/activities/{public_id}"):
            assert client.get(path).status_code == 200, path
        cards = client.get("/").get_data(as_text=True).count('<li class="card">')
        assert cards == 20, f"the first page shows {cards} activities, not 20"

        # The floor's data: what the view hands its template, loaded once (plain cards: the render has no database
        # to reach for).
        with app.test_request_context("/"):
            from cme.activities.views import _filters

            form, filters = _filters()
            page = catalog.catalog_page(filters, seats_taken=taken_count)
            states = {a.id: catalog.seat_state(a, a.seats_taken) for a in page.items}
            mine = active_registrations_of(current_user, [a.id for a in page.items])
        render = lambda: render_template("activities/catalog.html", page=page, form=form, filters=filters,  # noqa: E731
                                         seat_states=states, mine=mine)
        with app.test_request_context("/"):
            assert render().count('<li class="card">') == 20

        print(f"Catalog benchmark on {backend}: {N_ACTIVITIES:,} activities, 3 sessions and 2 designations each")
        # The first page, its floor and the search alternately, a slice of each at a time (the machine is shared: a
        # burst of load elsewhere slows all three alike, and both ratios compare figures taken together).
        firsts, floors, searches = [], [], []
        for n in range(0, REPEAT, 10):
            firsts += timings(lambda: client.get("/"), repeat=min(10, REPEAT - n), warmup=WARMUP if not n else 0)
            with app.test_request_context("/"):
                floors += timings(render, repeat=min(10, REPEAT - n), warmup=WARMUP if not n else 0)
            searches += timings(lambda: client.get(search), repeat=min(10, REPEAT - n), warmup=WARMUP if not n else 0)
        first, _ = summary("first page  GET /", firsts)
        floor, _ = summary("floor: template with data in memory", floors)
        searched, _ = summary("search page GET " + search[:21] + "...", searches)
        summary(f"activity    GET /activities/{public_id}", timings(lambda: client.get(f"/activities/{public_id}"), repeat=REPEAT,
                                                                         warmup=WARMUP))
        with app.app_context():
            db.engine.dispose()

    print(f"  first page {first:.2f} ms (target < 25 ms, issue 4): {'MET' if first < 25 else 'MISSED'}")
    print(f"  first page / template floor = {first / floor:.2f}x (target <= 3x, issue 17): "
          f"{'MET' if first <= 3 * floor else 'MISSED'}")
    print(f"  search / first page = {searched / first:.2f}x (target <= 3x, issue 4): "
          f"{'MET' if searched <= 3 * first else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
