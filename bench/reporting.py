"""Reporting benchmark (issue 16): learner completions across activities (250 learners each), inserted set-based;
then, per export (PARS tab and JSON, CPE Monitor CSV, CE Broker xlsx), the time to validate every record (the plan:
records, refusals, what was sent before) and to write the file, and the peak memory (tracemalloc) of each, at
5,000 and at 50,000 completions (20 and 200 activities). The exports stream one activity at a time, so the peak
must not grow with the number of records. The floor: a bare csv.writer over the same credit rows (one query, no
validation), its time and peak memory.

    .venv/bin/python bench/reporting.py                 # SQLite
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/reporting.py   # PostgreSQL
    .venv/bin/python bench/reporting.py --smoke         # tiny sizes: every phase, checked (the suite runs it)
"""
from __future__ import annotations

import csv
import random
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from _common import make_app, scratch_database

SMOKE = "--smoke" in sys.argv[1:]
PER_ACTIVITY = 10 if SMOKE else 250
SIZES = (20, 40) if SMOKE else (5_000, 50_000)  # completions
USERS = 60 if SMOKE else 2_500
PROFESSIONS = [("physician", "MD")] * 8 + [("pharmacist", "PharmD"), ("nurse", "RN")]
CREDIT_OF = {"physician": "ama_pra_1", "pharmacist": "acpe", "nurse": "ancc"}
BODY_OF = {"physician": "accme", "pharmacist": "nabp", "nurse": "cebroker"}


class Sink:
    """A file that counts what is written and keeps nothing."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data) -> int:
        self.size += len(data)
        return len(data)


def seed_users(db) -> list[tuple[int, str]]:
    from cme.accounts.identity import StateLicence
    from cme.accounts.models import User

    rng = random.Random(16)
    users, licences = [], []
    for i in range(1, USERS + 1):
        profession, degree = PROFESSIONS[i % len(PROFESSIONS)]
        missing_birthday = i % 20 == 0  # 5% blocked: no birthday
        users.append(dict(id=i, email=f"learner{i}@example.org", password_hash="x", full_name=f"Learner Number{i}",
                          degree=degree, profession=profession, abim_id=f"{100000 + i}" if i % 5 == 0 else None,
                          nabp_eprofile_id=f"{1000000 + i}" if profession == "pharmacist" else None,
                          birth_month=None if missing_birthday else rng.randint(1, 12),
                          birth_day=None if missing_birthday else rng.randint(1, 28)))
        licences.append(dict(user_id=i, state=rng.choice(["NY", "FL", "CA", "TX"]), number=f"L{i:06d}",
                             profession=profession))
    db.session.execute(User.__table__.insert(), users)
    db.session.execute(StateLicence.__table__.insert(), licences)
    db.session.commit()
    return [(u["id"], u["profession"]) for u in users]


def seed_completions(db, users, first_activity: int, activities: int) -> None:
    """`activities` more activities from id `first_activity`, each with PER_ACTIVITY learners' credit."""
    from cme.activities.models import Activity
    from cme.credit.models import CreditRecord, ReportingConsent

    rng = random.Random(first_activity)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    rows, credit, consents = [], [], []
    for a in range(first_activity, first_activity + activities):
        start = now - timedelta(days=rng.randint(1, 25))
        rows.append(dict(id=a, uuid=uuid.uuid4(), format="live_meeting", status="published", title=f"Hepatitis update {a}",
                         summary="", description="", learning_objectives="", target_audience="", specialty="",
                         topics="", time_zone="America/New_York", start_dt=start, end_dt=start + timedelta(hours=4),
                         venue_name="Hall", city="Springfield", state="IL", access_notes="",
                         accreditation_statement="Accredited.", schedule_sequence=0, created_dt=now, updated_dt=now,
                         accme_activity_id=f"20{a:07d}", accme_provider_id="5001",
                         acpe_uan="0197-0000-26-001-L01-P", ce_broker_tracking_number=f"20-{a:06d}"))
        for user_id, profession in rng.sample(users, PER_ACTIVITY):
            completed = start + timedelta(hours=4)
            credit.append(dict(user_id=user_id, activity_id=a, credit_type=CREDIT_OF[profession],
                               amount=Decimal("3.50"), attested=True, claimed_dt=completed, updated_dt=completed,
                               completed_dt=completed))
            consents.append(dict(user_id=user_id, activity_id=a, body=BODY_OF[profession], granted=True,
                                 decided_dt=completed))
    db.session.execute(Activity.__table__.insert(), rows)
    for table, values in ((CreditRecord.__table__, credit), (ReportingConsent.__table__, consents)):
        for start in range(0, len(values), 5_000):
            db.session.execute(table.insert(), values[start:start + 5_000])
    db.session.commit()


def measure(fn) -> tuple[float, float, object]:
    """(seconds, peak MiB under tracemalloc, result): the time from a plain run, the peak from a traced one."""
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, result


def run_size(db, app, completions: int, activities: int) -> dict[str, tuple[float, float]]:
    from sqlalchemy import select

    from cme.accounts.models import User
    from cme.activities.models import Activity
    from cme.credit.models import CreditRecord
    from cme.reporting import service
    from cme.reporting.batches import Counts, plan
    from cme.reporting.models import ReportKind
    from cme.reporting.records import Scope

    scope = Scope(f"first {activities} activities", select(Activity.id).where(Activity.id <= activities))
    figures: dict[str, tuple[float, float]] = {}

    def validate(kind):
        def go():
            counts = Counts()
            for entry in plan(kind, scope, provider="Bench"):
                counts.count(entry)
            db.session.rollback()
            return counts
        return go

    def export(kind, fmt):
        def go():
            body = service.render(kind, fmt, service.export_lines(kind, scope))
            sink = Sink()
            if hasattr(body, "read"):
                with body:
                    sink.write(body.read())
            else:
                for chunk in body:
                    sink.write(chunk)
            db.session.rollback()
            return sink.size
        return go

    def floor():
        sink = Sink()
        writer = csv.writer(sink, lineterminator="\r\n")
        rows = db.session.execute(select(User.full_name, User.birth_month, User.birth_day, CreditRecord.completed_dt,
                                         CreditRecord.credit_type, CreditRecord.amount)
                                  .join(User, User.id == CreditRecord.user_id)
                                  .where(CreditRecord.activity_id <= activities)
                                  .execution_options(yield_per=1000))
        for row in rows:
            writer.writerow(row)
        db.session.rollback()
        return sink.size

    total = 0
    for kind in ReportKind:
        seconds, peak, counts = measure(validate(kind))
        total += counts.adds + counts.blocked
        figures[f"{kind.value} validate"] = (seconds, peak)
        print(f"  {completions:>6,} completions  {kind.value:<12} validate       {seconds:7.2f} s  peak {peak:6.1f} MiB"
              f"   ({counts.adds:,} ready, {counts.blocked:,} blocked)")
        for fmt, _ext, _type in service.DOWNLOADS[kind]:
            seconds, peak, size = measure(export(kind, fmt))
            figures[f"{kind.value} {fmt}"] = (seconds, peak)
            print(f"  {completions:>6,} completions  {kind.value:<12} export {fmt:<6}   {seconds:7.2f} s  "
                  f"peak {peak:6.1f} MiB   ({size / 1024:,.0f} KiB)")
    assert total == completions, (total, completions)  # every completion is a record, ready or blocked
    seconds, peak, _ = measure(floor)
    figures["floor"] = (seconds, peak)
    print(f"  {completions:>6,} completions  floor: bare csv.writer {seconds:7.2f} s  peak {peak:6.1f} MiB")
    return figures


def main() -> int:
    from flask_migrate import upgrade

    from cme.extensions import db

    with scratch_database() as (backend, url), tempfile.TemporaryDirectory() as instance:
        app = make_app(url, instance)
        with app.app_context():
            upgrade()
            users = seed_users(db)
            print(f"Reporting benchmark on {backend}: {PER_ACTIVITY} learners per activity, {USERS:,} learners")
            results = {}
            seeded = 0
            for completions in SIZES:
                activities = completions // PER_ACTIVITY
                seed_completions(db, users, seeded + 1, activities - seeded)
                seeded = activities
                if backend == "sqlite":
                    db.session.execute(db.text("ANALYZE"))
                    db.session.commit()
                results[completions] = run_size(db, app, completions, activities)
            db.engine.dispose()
    small, large = (results[size] for size in SIZES)
    print("  ratios (the larger size over the smaller; time should grow ~10x, memory not at all):")
    for name in large:
        print(f"    {name:<22} time x{large[name][0] / max(small[name][0], 1e-9):5.1f}   "
              f"peak memory x{large[name][1] / max(small[name][1], 1e-9):4.2f}   "
              f"vs floor: time x{large[name][0] / max(large['floor'][0], 1e-9):6.1f}")
    grown = [name for name in large if name != "floor" and large[name][1] > 2 * small[name][1] + 1]
    print(f"  memory flat with records: {'OK' if not grown else 'MISSED: ' + ', '.join(grown)}")
    if SMOKE and grown:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
