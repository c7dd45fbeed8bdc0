"""reporting batches

Issue 16, point 4: what was sent to PARS, CPE Monitor and CE Broker, so the next export holds only what is new or
changed (report_batches: one per export marked as sent; reported_records: each record with its key, action,
fingerprint and the exact fields sent, so a later delete repeats them). Point 3: the activity's CE Broker course
tracking number, which the CE Broker roster names.

Revision ID: c5d2e8f1a7b3
Revises: c7d2e5a8f1b3
Create Date: 2026-11-30 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import cme.timeutil


# revision identifiers, used by Alembic.
revision = 'c5d2e8f1a7b3'
down_revision = 'c7d2e5a8f1b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('created_dt', cme.timeutil.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('scope', sa.String(length=100), nullable=False),
    sa.Column('adds', sa.Integer(), nullable=False),
    sa.Column('deletes', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('pars', 'cpe_monitor', 'ce_broker')", name=op.f('ck_report_batches_kind')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_report_batches_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_batches'))
    )
    op.create_table('reported_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('completed_dt', cme.timeutil.UTCDateTime(), nullable=False),
    sa.CheckConstraint("action IN ('add', 'delete')", name=op.f('ck_reported_records_action')),
    sa.CheckConstraint("kind IN ('pars', 'cpe_monitor', 'ce_broker')", name=op.f('ck_reported_records_kind')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_reported_records_activity_id_activities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['batch_id'], ['report_batches.id'], name=op.f('fk_reported_records_batch_id_report_batches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reported_records_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reported_records')),
    sa.UniqueConstraint('kind', 'user_id', 'activity_id', 'subject', 'sequence', name=op.f('uq_reported_records_kind_user_id_activity_id_subject_sequence'))
    )
    with op.batch_alter_table('reported_records', schema=None) as batch_op:
        batch_op.create_index('ix_reported_records_activity_kind', ['activity_id', 'kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_reported_records_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reported_records_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ce_broker_tracking_number', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_column('ce_broker_tracking_number')

    with op.batch_alter_table('reported_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reported_records_user_id'))
        batch_op.drop_index(batch_op.f('ix_reported_records_batch_id'))
        batch_op.drop_index('ix_reported_records_activity_kind')

    op.drop_table('reported_records')
    op.drop_table('report_batches')
