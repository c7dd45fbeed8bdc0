"""highlights' key slides: highlight_materials

Issue 15, point 6: an organizer picks key slides (materials of the highlight's activity), shown as thumbnails on the
highlights page to those who may open them.

Revision ID: d2b6f8a4c1e7
Revises: a8c4e2f6d1b9
Create Date: 2026-12-04 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd2b6f8a4c1e7'
down_revision = 'a8c4e2f6d1b9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('highlight_materials',
    sa.Column('highlight_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['highlight_id'], ['highlights.id'], name=op.f('fk_highlight_materials_highlight_id_highlights'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_highlight_materials_material_id_materials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('highlight_id', 'material_id', name=op.f('pk_highlight_materials'))
    )
    with op.batch_alter_table('highlight_materials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_highlight_materials_material_id'), ['material_id'], unique=False)


def downgrade():
    with op.batch_alter_table('highlight_materials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_highlight_materials_material_id'))
    op.drop_table('highlight_materials')
