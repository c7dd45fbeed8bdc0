"""waitlist offers: a registration may hold a seat offered to it, to accept before a deadline

Issue 14, point 16. Within `offer_days_before` days of an activity's start (7 by default; 0 turns offers off), a
seat that frees up is offered to the next person on the waitlist, who has `offer_hours` (24 by default) to accept
it, instead of being given to them silently. The registration's status gains "offered" (a held seat, keeping its
waitlist position), with when the offer was made, its deadline, and how it ended. Downgrading puts open offers back
on the waitlist at their position.

Revision ID: c4f2a8e61d93
Revises: f3a9c1d7e5b2
Create Date: 2026-11-30 16:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import cme.timeutil


# revision identifiers, used by Alembic.
revision = 'c4f2a8e61d93'
down_revision = "f3a9c1d7e5b2"
branch_labels = None
depends_on = None

OLD_STATUS = "status IN ('confirmed', 'waitlisted', 'cancelled')"
NEW_STATUS = "status IN ('confirmed', 'waitlisted', 'offered', 'cancelled')"
OLD_POSITION = ("(status = 'waitlisted' AND waitlist_position IS NOT NULL AND waitlist_position > 0) "
                "OR (status <> 'waitlisted' AND waitlist_position IS NULL)")
NEW_POSITION = ("(status IN ('waitlisted', 'offered') AND waitlist_position IS NOT NULL AND waitlist_position > 0) "
                "OR (status NOT IN ('waitlisted', 'offered') AND waitlist_position IS NULL)")
# SQLite rebuilds the table to change its CHECKs; the partial unique index (one active registration per person and
# activity) is dropped first and made again after, so it keeps its WHERE clause.
ACTIVE_INDEX = 'uq_registrations_active_user_activity'


def _drop_active_index():
    op.drop_index(ACTIVE_INDEX, table_name='registrations')


def _create_active_index():
    op.create_index(ACTIVE_INDEX, 'registrations', ['user_id', 'activity_id'], unique=True,
                    sqlite_where=sa.text("status <> 'cancelled'"), postgresql_where=sa.text("status <> 'cancelled'"))


def upgrade():
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offer_days_before', sa.Integer(), server_default='7', nullable=False))
        batch_op.add_column(sa.Column('offer_hours', sa.Integer(), server_default='24', nullable=False))
        batch_op.create_check_constraint(op.f('ck_activities_offer_days_before'),
                                         'offer_days_before >= 0 AND offer_days_before <= 365')
        batch_op.create_check_constraint(op.f('ck_activities_offer_hours'), 'offer_hours >= 1 AND offer_hours <= 168')
    _drop_active_index()
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offered_dt', cme.timeutil.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('offer_expires_dt', cme.timeutil.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('offer_outcome', sa.String(length=20), nullable=True))
        batch_op.drop_constraint(op.f('ck_registrations_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_registrations_status'), NEW_STATUS)
        batch_op.drop_constraint(op.f('ck_registrations_waitlist_position'), type_='check')
        batch_op.create_check_constraint(op.f('ck_registrations_waitlist_position'), NEW_POSITION)
        batch_op.create_check_constraint(op.f('ck_registrations_offer_has_deadline'),
                                         "status <> 'offered' OR offer_expires_dt IS NOT NULL")
        batch_op.create_check_constraint(op.f('ck_registrations_offer_outcome'),
                                         "offer_outcome IS NULL OR offer_outcome IN ('accepted', 'declined', 'lapsed')")
    _create_active_index()


def downgrade():
    op.execute("UPDATE registrations SET status = 'waitlisted' WHERE status = 'offered'")
    _drop_active_index()
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_registrations_offer_outcome'), type_='check')
        batch_op.drop_constraint(op.f('ck_registrations_offer_has_deadline'), type_='check')
        batch_op.drop_constraint(op.f('ck_registrations_waitlist_position'), type_='check')
        batch_op.create_check_constraint(op.f('ck_registrations_waitlist_position'), OLD_POSITION)
        batch_op.drop_constraint(op.f('ck_registrations_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_registrations_status'), OLD_STATUS)
        batch_op.drop_column('offer_outcome')
        batch_op.drop_column('offer_expires_dt')
        batch_op.drop_column('offered_dt')
    _create_active_index()
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_activities_offer_hours'), type_='check')
        batch_op.drop_constraint(op.f('ck_activities_offer_days_before'), type_='check')
        batch_op.drop_column('offer_hours')
        batch_op.drop_column('offer_days_before')
