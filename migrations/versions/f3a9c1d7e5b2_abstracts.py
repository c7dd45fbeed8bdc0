"""abstracts and their authors

Issue 15, point 5: abstracts presented at an activity (optionally in one of its agenda sessions), with a structured
body, keywords, a presentation type (oral or poster), a topic and a published flag; their authors in byline order
with affiliations, at most one presenting. A title is unique within its activity, compared without case and
repeated spaces (`title_key`): the CSV import updates the abstract a row names by its title.

Revision ID: f3a9c1d7e5b2
Revises: c5f2a8e1d7b3
Create Date: 2026-12-02 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f3a9c1d7e5b2'
down_revision = "c5f2a8e1d7b3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('abstracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('title_key', sa.String(length=300), nullable=False),
    sa.Column('background', sa.Text(), nullable=False),
    sa.Column('methods', sa.Text(), nullable=False),
    sa.Column('results', sa.Text(), nullable=False),
    sa.Column('conclusions', sa.Text(), nullable=False),
    sa.Column('keywords', sa.String(length=500), nullable=False),
    sa.Column('presentation_type', sa.String(length=10), nullable=False),
    sa.Column('topic', sa.String(length=120), nullable=False),
    sa.Column('is_published', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_dt', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("presentation_type IN ('oral', 'poster')", name=op.f('ck_abstracts_presentation_type')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_abstracts_activity_id_activities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['activity_sessions.id'], name=op.f('fk_abstracts_session_id_activity_sessions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_abstracts')),
    sa.UniqueConstraint('activity_id', 'title_key', name=op.f('uq_abstracts_activity_id_title_key'))
    )
    with op.batch_alter_table('abstracts', schema=None) as batch_op:
        batch_op.create_index('ix_abstracts_is_published_activity_id', ['is_published', 'activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_abstracts_session_id'), ['session_id'], unique=False)

    op.create_table('abstract_authors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('abstract_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('affiliation', sa.String(length=300), nullable=False),
    sa.Column('is_presenting', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.CheckConstraint('position >= 0', name=op.f('ck_abstract_authors_position_non_negative')),
    sa.ForeignKeyConstraint(['abstract_id'], ['abstracts.id'], name=op.f('fk_abstract_authors_abstract_id_abstracts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_abstract_authors')),
    sa.UniqueConstraint('abstract_id', 'position', name=op.f('uq_abstract_authors_abstract_id_position'))
    )
    with op.batch_alter_table('abstract_authors', schema=None) as batch_op:
        batch_op.create_index('uq_abstract_authors_one_presenting', ['abstract_id'], unique=True,
                              sqlite_where=sa.text('is_presenting'), postgresql_where=sa.text('is_presenting'))


def downgrade():
    with op.batch_alter_table('abstract_authors', schema=None) as batch_op:
        batch_op.drop_index('uq_abstract_authors_one_presenting', sqlite_where=sa.text('is_presenting'),
                            postgresql_where=sa.text('is_presenting'))
    op.drop_table('abstract_authors')
    with op.batch_alter_table('abstracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_abstracts_session_id'))
        batch_op.drop_index('ix_abstracts_is_published_activity_id')
    op.drop_table('abstracts')
