"""credit completion date; at most one current certificate per learner and activity (issue 12 points 3 and 4)

`credit_records.completed_dt`: the date a learner's credit carries. Backfilled: a live activity's end; for an
on-demand webcast the later of the learner's evaluation submission and the claim.

`uq_certificates_current_user_activity`: a partial unique index, at most one current (not superseded)
certificate per learner and activity. Duplicates left by concurrent issues before it existed are superseded
by the newest one first (both stay verifiable, saying which replaced them).

Revision ID: e4b7c2a9d310
Revises: e7a4c2b91d3f
Create Date: 2026-11-29 16:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import cme.timeutil


# revision identifiers, used by Alembic.
revision = 'e4b7c2a9d310'
down_revision = 'e7a4c2b91d3f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('credit_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('completed_dt', cme.timeutil.UTCDateTime(timezone=True), nullable=True))
    _backfill_completed()
    with op.batch_alter_table('credit_records', schema=None) as batch_op:
        batch_op.alter_column('completed_dt', existing_type=cme.timeutil.UTCDateTime(timezone=True), nullable=False)

    _supersede_duplicate_certificates()
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index('uq_certificates_current_user_activity', ['user_id', 'activity_id'], unique=True,
                              sqlite_where=sa.text('superseded_dt IS NULL'),
                              postgresql_where=sa.text('superseded_dt IS NULL'))


def downgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('uq_certificates_current_user_activity', sqlite_where=sa.text('superseded_dt IS NULL'),
                            postgresql_where=sa.text('superseded_dt IS NULL'))
    with op.batch_alter_table('credit_records', schema=None) as batch_op:
        batch_op.drop_column('completed_dt')


UTC = cme.timeutil.UTCDateTime(timezone=True)


def _backfill_completed():
    records = sa.table('credit_records', sa.column('id', sa.Integer), sa.column('user_id', sa.Integer),
                       sa.column('activity_id', sa.Integer), sa.column('claimed_dt', UTC),
                       sa.column('completed_dt', UTC))
    activities = sa.table('activities', sa.column('id', sa.Integer), sa.column('format', sa.String),
                          sa.column('end_dt', UTC))
    responses = sa.table('evaluation_responses', sa.column('user_id', sa.Integer),
                         sa.column('activity_id', sa.Integer), sa.column('submitted_dt', UTC))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(records.c.id, records.c.claimed_dt, activities.c.format, activities.c.end_dt,
                  responses.c.submitted_dt)
        .join(activities, activities.c.id == records.c.activity_id)
        .outerjoin(responses, sa.and_(responses.c.user_id == records.c.user_id,
                                      responses.c.activity_id == records.c.activity_id))).all()
    updates = []
    for row in rows:
        if row.format == 'on_demand_webcast':
            completed = max(d for d in (row.claimed_dt, row.submitted_dt) if d is not None)
        else:
            completed = row.end_dt
        updates.append({'b_id': row.id, 'b_completed': completed})
    if updates:
        connection.execute(records.update().where(records.c.id == sa.bindparam('b_id'))
                           .values(completed_dt=sa.bindparam('b_completed')), updates)


def _supersede_duplicate_certificates():
    certificates = sa.table('certificates', sa.column('id', sa.Integer), sa.column('user_id', sa.Integer),
                            sa.column('activity_id', sa.Integer), sa.column('issued_dt', UTC),
                            sa.column('superseded_dt', UTC), sa.column('superseded_by_id', sa.Integer))
    connection = op.get_bind()
    rows = connection.execute(sa.select(certificates.c.id, certificates.c.user_id, certificates.c.activity_id,
                                        certificates.c.issued_dt)
                              .where(certificates.c.superseded_dt.is_(None))
                              .order_by(certificates.c.issued_dt.desc(), certificates.c.id.desc())).all()
    newest = {}
    updates = []
    for row in rows:
        key = (row.user_id, row.activity_id)
        if key not in newest:
            newest[key] = row
            continue
        keeper = newest[key]
        updates.append({'b_id': row.id, 'b_dt': max(keeper.issued_dt, row.issued_dt), 'b_by': keeper.id})
    if updates:
        connection.execute(certificates.update().where(certificates.c.id == sa.bindparam('b_id'))
                           .values(superseded_dt=sa.bindparam('b_dt'), superseded_by_id=sa.bindparam('b_by')),
                           updates)
