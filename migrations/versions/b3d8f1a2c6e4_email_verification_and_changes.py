"""email verification and changes: users.email_verified_dt, users.pending_email, users.pending_email_dt

Issue 13, point 2. `email_verified_dt`: when the owner of the address proved it (a link mailed there); sign-up
starts it NULL, and registering for activities needs it. Every account that exists now is taken as verified, as of
this migration (accounts made so far were made by administrators, the CLI, the demo, or signed up before the rule).
`pending_email` and `pending_email_dt`: a change of address asked for and waiting for the link mailed to the new
address (both or neither).

Revision ID: b3d8f1a2c6e4
Revises: 2264d1cae488
Create Date: 2026-11-30 10:00:00.000000

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

import cme.timeutil


# revision identifiers, used by Alembic.
revision = 'b3d8f1a2c6e4'
down_revision = '2264d1cae488'
branch_labels = None
depends_on = None

UTC = cme.timeutil.UTCDateTime(timezone=True)


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_dt', UTC, nullable=True))
        batch_op.add_column(sa.Column('pending_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('pending_email_dt', UTC, nullable=True))
        batch_op.create_check_constraint(op.f('ck_users_pending_email_with_time'),
                                         '(pending_email IS NULL) = (pending_email_dt IS NULL)')
    users = sa.table('users', sa.column('email_verified_dt', UTC))
    op.get_bind().execute(users.update().values(email_verified_dt=datetime.now(timezone.utc)))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_pending_email_with_time'), type_='check')
        batch_op.drop_column('pending_email_dt')
        batch_op.drop_column('pending_email')
        batch_op.drop_column('email_verified_dt')
