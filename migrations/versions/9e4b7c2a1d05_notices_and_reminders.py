"""notices and reminders: outbox send-after time and coalescing key, per-activity reminder switches

Issue 12, points 5 and 6. A notice waits a few minutes in the outbox (send_after_dt) so that a burst of edits
makes one mail, and a later change finds the waiting row by its key (coalesce_key) to update it; reminders wait
for their time. Organizers may turn off either reminder per activity.

Revision ID: 9e4b7c2a1d05
Revises: e4b7c2a9d310
Create Date: 2026-11-29 16:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import cme.timeutil


# revision identifiers, used by Alembic.
revision = '9e4b7c2a1d05'
down_revision = 'e4b7c2a9d310'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('send_after_dt', cme.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('coalesce_key', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_messages_coalesce_key'), ['coalesce_key'], unique=False)

    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remind_day_before', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('remind_hour_before', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_column('remind_hour_before')
        batch_op.drop_column('remind_day_before')

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_coalesce_key'))
        batch_op.drop_column('coalesce_key')
        batch_op.drop_column('send_after_dt')
