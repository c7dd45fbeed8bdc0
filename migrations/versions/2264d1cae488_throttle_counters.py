"""throttle counters shared by every worker and host

Issue 13, point 3: log-in failures per account and per client address, reset and sign-up requests, check-in and
verification lookups, counted per (scope, HMAC of the key) in a window that ends at expires_dt.

Revision ID: 2264d1cae488
Revises: 5c1e9a3f7b20
Create Date: 2026-11-30 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import cme.timeutil


# revision identifiers, used by Alembic.
revision = '2264d1cae488'
down_revision = '5c1e9a3f7b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('throttle_counters',
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('expires_dt', cme.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'key_hash', name=op.f('pk_throttle_counters'))
    )
    with op.batch_alter_table('throttle_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_throttle_counters_expires_dt'), ['expires_dt'], unique=False)


def downgrade():
    with op.batch_alter_table('throttle_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_throttle_counters_expires_dt'))

    op.drop_table('throttle_counters')
