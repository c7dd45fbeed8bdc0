"""accreditation choice and commercial support (issue 12, point 9)

The free-text accreditation statement becomes a choice per activity (ACCME-accredited provider, Joint
Accreditation, joint providership naming the joint provider, or a custom statement for another accreditor), and
commercial support is recorded per company.

Existing rows: a blank statement, or the ACCME statement for the configured provider (the old default,
CME_ACCREDITATION_STATEMENT, when set in the environment counts too), becomes "accme" and the text is cleared (the
statement is now computed); any other text is kept as a "custom" statement, word for word, so nothing a provider
wrote is lost. Downgrading writes each activity's computed statement back into the text and drops the supporters.

Revision ID: 9e4b7c2a1d30
Revises: 6c1d2e9f4b7a
Create Date: 2026-11-29 16:40:00.000000

"""
import os

import sqlalchemy as sa
from alembic import op
from flask import current_app


# revision identifiers, used by Alembic.
revision = '9e4b7c2a1d30'
down_revision = '6c1d2e9f4b7a'
branch_labels = None
depends_on = None

ACCME = "Accreditation Council for Continuing Medical Education (ACCME)"


def _accme(provider):
    return f"{provider} is accredited by the {ACCME} to provide continuing medical education for physicians."


def _statement(kind, provider, joint_provider, text):
    """The statements as the code computed them at this revision (cme/activities/statements.py)."""
    if kind == 'accme':
        return _accme(provider)
    if kind == 'joint_accreditation':
        return (f"In support of improving patient care, {provider} is jointly accredited by the {ACCME}, the "
                "Accreditation Council for Pharmacy Education (ACPE), and the American Nurses Credentialing Center "
                "(ANCC), to provide continuing education for the healthcare team.")
    if kind == 'joint_providership' and joint_provider:
        return ("This activity has been planned and implemented in accordance with the accreditation requirements "
                f"and policies of the ACCME through the joint providership of {provider} and {joint_provider}. "
                f"{provider} is accredited by the ACCME to provide continuing medical education for physicians.")
    return text


def _activities():
    return sa.table('activities', sa.column('id', sa.Integer), sa.column('accreditation_statement', sa.Text),
                    sa.column('accreditation_kind', sa.String), sa.column('joint_provider', sa.String))


def upgrade():
    op.add_column('activities', sa.Column(
        'accreditation_kind', sa.String(length=30),
        sa.CheckConstraint("accreditation_kind IN ('accme', 'joint_accreditation', 'joint_providership', 'custom')",
                           name=op.f('ck_activities_accreditation_kind')),
        server_default='accme', nullable=False))
    op.add_column('activities', sa.Column('joint_provider', sa.String(length=200), server_default='', nullable=False))
    op.create_table(
        'commercial_supports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('activity_id', sa.Integer(), nullable=False),
        sa.Column('company', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=True),
        sa.CheckConstraint("kind IN ('monetary', 'in_kind')", name=op.f('ck_commercial_supports_kind')),
        sa.CheckConstraint('amount IS NULL OR amount >= 0', name=op.f('ck_commercial_supports_amount_non_negative')),
        sa.ForeignKeyConstraint(['activity_id'], ['activities.id'],
                                name=op.f('fk_commercial_supports_activity_id_activities'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_commercial_supports')),
    )
    with op.batch_alter_table('commercial_supports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commercial_supports_activity_id'), ['activity_id'], unique=False)

    provider = current_app.config['CME_PROVIDER_NAME']
    defaults = {'', _accme(provider), (os.environ.get('CME_ACCREDITATION_STATEMENT') or '').strip()}
    activities = _activities()
    connection = op.get_bind()
    rows = connection.execute(sa.select(activities.c.id, activities.c.accreditation_statement)).all()
    standard = [row.id for row in rows if (row.accreditation_statement or '').strip() in defaults]
    custom = [row.id for row in rows if (row.accreditation_statement or '').strip() not in defaults]
    if standard:
        connection.execute(activities.update().where(activities.c.id.in_(standard))
                           .values(accreditation_kind='accme', accreditation_statement=''))
    if custom:
        connection.execute(activities.update().where(activities.c.id.in_(custom)).values(accreditation_kind='custom'))


def downgrade():
    provider = current_app.config['CME_PROVIDER_NAME']
    activities = _activities()
    connection = op.get_bind()
    rows = connection.execute(sa.select(activities.c.id, activities.c.accreditation_kind, activities.c.joint_provider,
                                        activities.c.accreditation_statement)).all()
    for row in rows:
        if row.accreditation_kind != 'custom':
            connection.execute(activities.update().where(activities.c.id == row.id).values(
                accreditation_statement=_statement(row.accreditation_kind, provider, row.joint_provider,
                                                   row.accreditation_statement)))
    with op.batch_alter_table('commercial_supports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commercial_supports_activity_id'))
    op.drop_table('commercial_supports')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_activities_accreditation_kind'), type_='check')
        batch_op.drop_column('joint_provider')
        batch_op.drop_column('accreditation_kind')
