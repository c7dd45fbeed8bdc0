"""The schema: migrations match the models, and the database itself enforces the invariants."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cme.activities.models import Activity, CreditDesignation
from cme.credit.models import CreditRecord
from cme.registration.models import Registration
from cme import create_app
from cme.extensions import include_object_for
from cme.timeutil import now_utc
from tests.helpers import base_config


def model_diff(engine: sa.Engine, metadata: sa.MetaData) -> list:
    """What Alembic's autogenerate would change to make the database match the models (nothing, we hope)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_object": include_object_for(connection.dialect.name)})
        return compare_metadata(context, metadata)


def test_migrations_and_models_agree(db):
    """Alembic's autogenerate comparison finds nothing to change after running every migration."""
    assert model_diff(db.engine, db.metadata) == []


def test_migrations_go_down_to_base_and_up_again_to_the_models_schema(scratch_database_url, tmp_path):
    from flask_migrate import downgrade, upgrade

    from cme.extensions import db

    app = create_app(base_config(scratch_database_url, tmp_path / "instance"))
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert model_diff(db.engine, db.metadata) == []
        db.engine.dispose()


def test_data_survives_migrations_that_rebuild_tables(scratch_database_url, tmp_path):
    """SQLite alters a table by copying and dropping it: with foreign keys enforced, that drop would delete every
    child row (registrations with their users, sessions with their activity). Going down past migrations that
    rebuild users and activities and up again keeps every row."""
    from flask_migrate import downgrade, upgrade

    from cme.accounts.service import create_user
    from cme.activities.models import ActivitySession
    from cme.extensions import db

    app = create_app(base_config(scratch_database_url, tmp_path / "instance"))
    with app.app_context():
        upgrade()
        user = create_user("kept@example.org", "correct horse battery", full_name="Kept Learner", degree="MD")
        start = datetime(2027, 5, 1, 13, tzinfo=timezone.utc)
        activity = Activity(title="Kept", format="live_meeting", status="published", time_zone="UTC",
                            start_dt=start, end_dt=start + timedelta(hours=2))
        activity.sessions.append(ActivitySession(title="Kept session", start_dt=start,
                                                 end_dt=start + timedelta(hours=1)))
        db.session.add(activity)
        db.session.flush()
        db.session.add_all([Registration(user=user, activity=activity, status="confirmed", full_name="Kept Learner"),
                            CreditRecord(user_id=user.id, activity_id=activity.id, credit_type="ama_pra_1",
                                         amount=Decimal("1"), attested=True)])
        db.session.commit()
        db.session.remove()
        counted = ("users", "activities", "activity_sessions", "registrations", "credit_records")

        def counts() -> dict[str, int]:
            with db.engine.connect() as connection:
                return {t: connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in counted}

        assert counts() == dict.fromkeys(counted, 1)
        downgrade(revision="6c1d2e9f4b7a")  # before the migrations that rebuild users and activities on SQLite
        assert counts() == dict.fromkeys(counted, 1)
        upgrade()
        assert counts() == dict.fromkeys(counted, 1)
        db.engine.dispose()


def test_accounts_that_exist_when_verification_arrives_are_verified(scratch_database_url, tmp_path):
    """Issue 13, point 2: the migration that brings email verification takes every existing account as verified
    (made by administrators, the CLI, the demo, or signed up before the rule), so none is barred from
    registering; only sign-ups after it start unverified."""
    from flask_migrate import upgrade

    from cme.accounts.models import User
    from cme.accounts.service import sign_up
    from cme.extensions import db

    app = create_app(base_config(scratch_database_url, tmp_path / "instance"))
    with app.app_context():
        upgrade(revision="5c1e9a3f7b20")
        with db.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO users (email, password_hash, full_name, degree, profession, specialty, time_zone, role, "
                "is_active_account, created_dt, password_changed_dt) VALUES ('old@example.org', 'x', 'Old', 'MD', "
                "'physician', '', 'UTC', 'provider', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        upgrade()
        before = now_utc()
        old = db.session.scalar(sa.select(User).where(User.email == "old@example.org"))
        assert old.is_email_verified and old.email_verified_dt <= before and old.pending_email is None
        assert not sign_up("new@example.org", "correct horse battery", full_name="New").is_email_verified
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def test_the_search_text_migration_rebuilds_existing_activities_text(scratch_database_url, tmp_path):
    """Issue 14, point 4: activities saved before the search read people, places and credit find them after it."""
    from flask_migrate import downgrade, upgrade

    from cme.activities.models import Faculty
    from cme.extensions import db

    app = create_app(base_config(scratch_database_url, tmp_path / "instance"))
    with app.app_context():
        upgrade()
        start = datetime(2027, 5, 1, 15, tzinfo=timezone.utc)
        activity = Activity(title="Symposium", format="live_meeting", status="published", time_zone="America/Denver",
                            start_dt=start, end_dt=start + timedelta(hours=2), venue_name="Front Range Center",
                            city="Denver", state="CO", faculty=[Faculty(full_name="Samuel Harrow")],
                            credit_designations=[CreditDesignation(credit_type="abim_moc", max_amount=Decimal("2"))])
        db.session.add(activity)
        db.session.commit()
        downgrade(revision="b3d8f1a6c2e4")  # the one before the search text read people
        with db.engine.begin() as connection:  # the text as the older rule wrote it
            connection.execute(sa.text("UPDATE activities SET search_text = lower(title)"))
        upgrade()
        with db.engine.connect() as connection:
            text = connection.execute(sa.text("SELECT search_text FROM activities")).scalar()
        assert all(word in text for word in ("symposium", "harrow", "denver", "front range", "moc"))
        db.session.remove()
        db.engine.dispose()


def test_every_model_table_exists_in_the_migrated_database(db):
    inspector = sa.inspect(db.engine)
    assert set(db.metadata.tables) <= set(inspector.get_table_names())


def test_email_is_unique_whatever_its_case(db, make_user):
    make_user("Ada@Example.org")
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.text(
            "INSERT INTO users (email, password_hash, full_name, degree, profession, specialty, time_zone, role, "
            "is_active_account, created_dt, password_changed_dt) VALUES ('ADA@example.org', 'x', 'A', 'MD', "
            "'physician', '', 'UTC', 'provider', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    db.session.rollback()


def test_emails_are_stored_lower_case(make_user):
    assert make_user("Grace.Hopper@Example.ORG").email == "grace.hopper@example.org"


@pytest.mark.parametrize("amount", ["0.10", "1.30", "0.00", "-1.00"])
def test_credit_designation_must_be_a_positive_quarter_step(db, make_activity, amount):
    activity = make_activity(credits={})
    db.session.add(CreditDesignation(activity=activity, credit_type="ama_pra_1", max_amount=Decimal(amount)))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_quarter_step_credit_designations_are_accepted(db, make_activity):
    activity = make_activity(credits={"ama_pra_1": "1.75", "ancc": "0.25", "abim_moc": "12.50"})
    amounts = sorted(d.max_amount for d in activity.credit_designations)
    assert amounts == [Decimal("0.25"), Decimal("1.75"), Decimal("12.50")]
    assert all(isinstance(a, Decimal) for a in amounts)


def test_credit_record_amount_quarter_step_and_attestation_are_enforced(db, make_user, make_activity):
    user, activity = make_user(), make_activity()
    db.session.add(CreditRecord(user=user, activity=activity, credit_type="ama_pra_1", amount=Decimal("1.10"), attested=True))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
    db.session.add(CreditRecord(user_id=user.id, activity_id=activity.id, credit_type="ama_pra_1", amount=Decimal("1.25"), attested=False))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_one_credit_record_per_learner_activity_and_type(db, make_user, make_activity):
    user, activity = make_user(), make_activity()
    for _ in range(2):
        db.session.add(CreditRecord(user_id=user.id, activity_id=activity.id, credit_type="ama_pra_1", amount=Decimal("1"), attested=True))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_at_most_one_active_registration_per_user_and_activity(db, make_user, make_activity):
    user, activity = make_user(), make_activity()
    db.session.add(Registration(user=user, activity=activity, status="cancelled", cancelled_dt=now_utc()))
    db.session.add(Registration(user=user, activity=activity, status="confirmed"))
    db.session.commit()  # a cancelled one does not count
    db.session.add(Registration(user_id=user.id, activity_id=activity.id, status="waitlisted", waitlist_position=1))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_waitlisted_registrations_need_a_position_and_others_must_not_have_one(db, make_user, make_activity):
    user, activity = make_user(), make_activity()
    db.session.add(Registration(user=user, activity=activity, status="waitlisted"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
    db.session.add(Registration(user_id=user.id, activity_id=activity.id, status="confirmed", waitlist_position=3))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("column, value", [("capacity", -1), ("status", "archived"), ("format", "podcast")])
def test_activity_columns_are_checked_by_the_database(db, make_activity, column, value):
    activity = make_activity()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.update(Activity).where(Activity.id == activity.id).values({column: value}))
    db.session.rollback()


def test_activity_must_end_after_it_starts(db, make_activity):
    start = now_utc()
    with pytest.raises(sa.exc.IntegrityError):
        make_activity(start_dt=start, end_dt=start - timedelta(minutes=1))
    db.session.rollback()


def test_foreign_keys_are_enforced(db):
    db.session.add(Registration(user_id=999_999, activity_id=999_999, status="confirmed"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_instants_come_back_aware_utc_and_equal(db, make_activity):
    start = datetime(2027, 3, 14, 6, 30, tzinfo=timezone(timedelta(hours=-4)))
    activity = make_activity(start_dt=start, end_dt=start + timedelta(hours=2))
    db.session.expire_all()
    loaded = db.session.get(Activity, activity.id)
    assert loaded.start_dt == start
    assert loaded.start_dt.tzinfo is not None and loaded.start_dt.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(db, make_activity):
    with pytest.raises(sa.exc.StatementError):
        make_activity(start_dt=datetime(2027, 1, 1, 9, 0), end_dt=datetime(2027, 1, 1, 10, 0))
    db.session.rollback()


def test_every_activity_and_session_gets_a_stable_unique_uuid(db, make_activity):
    from cme.activities.models import ActivitySession

    a, b = make_activity(), make_activity()
    session = ActivitySession(activity=a, title="Opening", start_dt=a.start_dt, end_dt=a.start_dt + timedelta(hours=1))
    db.session.add(session)
    db.session.commit()
    assert isinstance(a.uuid, uuid.UUID) and a.uuid != b.uuid and session.uuid not in (a.uuid, b.uuid)
    before = a.uuid
    db.session.expire_all()
    assert db.session.get(Activity, a.id).uuid == before
