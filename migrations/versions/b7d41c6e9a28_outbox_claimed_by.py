"""outbox claims name their worker: outbox_messages.claimed_by

Issue 13, point 7. A delivery worker writes its identity ("<host>:<pid>:<random>") on the rows it claims and,
right before sending one, extends its claim only if the row still names it; a worker starting on the same host
takes over the claims of a worker whose process is gone. Rows claimed before this column have none: their
short-lived leases run out as before.

Revision ID: b7d41c6e9a28
Revises: 25d7f95bf7d4
Create Date: 2026-11-30 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7d41c6e9a28'
down_revision = "25d7f95bf7d4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
