"""activity alerts: activity_alerts, activity_alert_mailings

Issue 14, point 14: a learner saves the catalog's filters as an alert and gets a weekly digest of what is new;
each alert remembers the activities it mailed, so none is mailed twice.

Revision ID: c4a7e2d9f813
Revises: c4f2a8e61d93
Create Date: 2026-12-01 09:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

from cme.timeutil import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'c4a7e2d9f813'
down_revision = 'c4f2a8e61d93'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'activity_alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('q', sa.String(length=200), nullable=False),
        sa.Column('format', sa.String(length=20), nullable=False),
        sa.Column('specialty', sa.String(length=120), nullable=False),
        sa.Column('credit_type', sa.String(length=30), nullable=False),
        sa.Column('filter_key', sa.String(length=400), nullable=False),
        sa.Column('created_dt', UTCDateTime(timezone=True), nullable=False),
        sa.Column('watermark_dt', UTCDateTime(timezone=True), nullable=False),
        sa.Column('next_digest_dt', UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_sent_dt', UTCDateTime(timezone=True), nullable=True),
        sa.Column('stopped_dt', UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("format IN ('', 'webcast', 'live_meeting', 'live_webcast', 'on_demand_webcast')",
                           name=op.f('ck_activity_alerts_format')),
        sa.CheckConstraint("credit_type IN ('', 'ama_pra_1', 'ancc', 'acpe', 'aapa_1', 'abim_moc', 'participation')",
                           name=op.f('ck_activity_alerts_credit_type')),
        sa.CheckConstraint("name <> ''", name=op.f('ck_activity_alerts_name_not_empty')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_activity_alerts_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_alerts')),
        sa.UniqueConstraint('user_id', 'filter_key', name=op.f('uq_activity_alerts_user_id_filter_key')),
    )
    with op.batch_alter_table('activity_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_alerts_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_activity_alerts_next_digest_dt'), ['next_digest_dt'], unique=False)

    op.create_table(
        'activity_alert_mailings',
        sa.Column('alert_id', sa.Integer(), nullable=False),
        sa.Column('activity_id', sa.Integer(), nullable=False),
        sa.Column('mailed_dt', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['alert_id'], ['activity_alerts.id'],
                                name=op.f('fk_activity_alert_mailings_alert_id_activity_alerts'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['activity_id'], ['activities.id'],
                                name=op.f('fk_activity_alert_mailings_activity_id_activities'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('alert_id', 'activity_id', name=op.f('pk_activity_alert_mailings')),
    )
    with op.batch_alter_table('activity_alert_mailings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_alert_mailings_activity_id'), ['activity_id'], unique=False)


def downgrade():
    with op.batch_alter_table('activity_alert_mailings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_alert_mailings_activity_id'))
    op.drop_table('activity_alert_mailings')

    with op.batch_alter_table('activity_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_alerts_next_digest_dt'))
        batch_op.drop_index(batch_op.f('ix_activity_alerts_user_id'))
    op.drop_table('activity_alerts')
