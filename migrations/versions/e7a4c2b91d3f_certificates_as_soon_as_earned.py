"""certificates as soon as they are earned

An activity says whether certificates are issued when a learner claims (on-demand webcasts start so) or by
the organizer; a certificate records when its mail was last queued, so a re-send waits a minute.

Revision ID: e7a4c2b91d3f
Revises: d4e7a1c93b52
Create Date: 2026-11-29 16:50:00.000000

"""
import sqlalchemy as sa
from alembic import op

import cme.timeutil


# revision identifiers, used by Alembic.
revision = 'e7a4c2b91d3f'
down_revision = 'd4e7a1c93b52'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('certificates_automatic', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    activities = sa.table('activities', sa.column('format', sa.String),
                          sa.column('certificates_automatic', sa.Boolean))
    op.execute(activities.update().where(activities.c.format == 'on_demand_webcast')
               .values(certificates_automatic=True))
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mailed_dt', cme.timeutil.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_column('mailed_dt')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_column('certificates_automatic')
