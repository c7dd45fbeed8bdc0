"""conference highlights

Issue 15, point 6: highlights of a past activity (title, Markdown body, publication and last-review dates, a
published flag), the activity's abstracts they link to, and the on-demand activity that offers a highlight as
enduring material (one at most each way).

Revision ID: a8d2e6f1c4b7
Revises: c4a7e2d9f813
Create Date: 2026-12-03 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a8d2e6f1c4b7'
down_revision = 'c4a7e2d9f813'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('highlights',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('publication_date', sa.Date(), nullable=False),
    sa.Column('reviewed_on', sa.Date(), nullable=False),
    sa.Column('is_published', sa.Boolean(), nullable=False),
    sa.Column('enduring_activity_id', sa.Integer(), nullable=True),
    sa.Column('created_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_dt', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_highlights_activity_id_activities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['enduring_activity_id'], ['activities.id'], name=op.f('fk_highlights_enduring_activity_id_activities'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_highlights')),
    sa.UniqueConstraint('enduring_activity_id', name=op.f('uq_highlights_enduring_activity_id'))
    )
    with op.batch_alter_table('highlights', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_highlights_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index('ix_highlights_is_published_publication_date_id',
                              ['is_published', 'publication_date', 'id'], unique=False)

    op.create_table('highlight_abstracts',
    sa.Column('highlight_id', sa.Integer(), nullable=False),
    sa.Column('abstract_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['abstract_id'], ['abstracts.id'], name=op.f('fk_highlight_abstracts_abstract_id_abstracts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['highlight_id'], ['highlights.id'], name=op.f('fk_highlight_abstracts_highlight_id_highlights'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('highlight_id', 'abstract_id', name=op.f('pk_highlight_abstracts'))
    )
    with op.batch_alter_table('highlight_abstracts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_highlight_abstracts_abstract_id'), ['abstract_id'], unique=False)


def downgrade():
    with op.batch_alter_table('highlight_abstracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_highlight_abstracts_abstract_id'))
    op.drop_table('highlight_abstracts')
    with op.batch_alter_table('highlights', schema=None) as batch_op:
        batch_op.drop_index('ix_highlights_is_published_publication_date_id')
        batch_op.drop_index(batch_op.f('ix_highlights_activity_id'))
    op.drop_table('highlights')
