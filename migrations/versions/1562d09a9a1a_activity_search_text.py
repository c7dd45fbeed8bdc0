"""activity search text

Revision ID: 1562d09a9a1a
Revises: c9c637e5fff2
Create Date: 2026-11-24 20:45:23.926089

"""
from alembic import op
import sqlalchemy as sa

import cme.timeutil


# revision identifiers, used by Alembic.
revision = '1562d09a9a1a'
down_revision = 'c9c637e5fff2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), server_default='', nullable=False))
    op.execute(
        "UPDATE activities SET search_text = lower(title || ' ' || summary || ' ' || specialty || ' ' || topics "
        "|| ' ' || description)"
    )
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm is a trusted extension: the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index('ix_activities_search_text_trgm', 'activities', ['search_text'], unique=False,
                        postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'})


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_activities_search_text_trgm', table_name='activities', postgresql_using='gin')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_column('search_text')

    # ### end Alembic commands ###
