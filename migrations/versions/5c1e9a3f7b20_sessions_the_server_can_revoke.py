"""sessions the server can revoke: users.session_version

Issue 13, point 1. Every session and remember cookie names the user's session version; raising it ends them all.
Existing sessions (issued before this column, without a version) stop working once: their users log in again.

Revision ID: 5c1e9a3f7b20
Revises: 9e4b7c2a1d05
Create Date: 2026-11-29 17:20:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5c1e9a3f7b20'
down_revision = '9e4b7c2a1d05'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
