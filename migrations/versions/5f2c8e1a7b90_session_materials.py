"""session materials and stored files (issue 15, points 1-4)

Slides and handouts attached to an agenda session or to a whole activity (`materials`), each pointing at a file
kept under CME_STORAGE_DIR by its SHA-256 (`stored_files`, one row per distinct file, which uploads and deletions
lock). A session removed from the agenda leaves its materials with the activity; a speaker removed, unnamed.

Revision ID: 5f2c8e1a7b90
Revises: a8d2e6f1c4b7
Create Date: 2026-12-01 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import cme.timeutil


# revision identifiers, used by Alembic.
revision = '5f2c8e1a7b90'
down_revision = 'a8d2e6f1c4b7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'stored_files',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('has_thumbnail', sa.Boolean(), nullable=False),
        sa.Column('created_dt', cme.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('size >= 0', name=op.f('ck_stored_files_size_non_negative')),
        sa.PrimaryKeyConstraint('sha256', name=op.f('pk_stored_files')),
    )
    op.create_table(
        'materials',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('activity_id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=True),
        sa.Column('speaker_id', sa.Integer(), nullable=True),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('release', sa.String(length=30), nullable=False),
        sa.Column('embargo_until_dt', cme.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column('file_sha256', sa.String(length=64), nullable=False),
        sa.Column('file_name', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('page_count', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_dt', cme.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_dt', cme.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('pdf', 'pptx')", name=op.f('ck_materials_kind')),
        sa.CheckConstraint("release IN ('public', 'registrants', 'registrants_after_session', 'organizers')",
                           name=op.f('ck_materials_release')),
        sa.CheckConstraint('page_count >= 0', name=op.f('ck_materials_page_count_non_negative')),
        sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_materials_activity_id_activities'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['session_id'], ['activity_sessions.id'],
                                name=op.f('fk_materials_session_id_activity_sessions'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['speaker_id'], ['faculty.id'], name=op.f('fk_materials_speaker_id_faculty'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['file_sha256'], ['stored_files.sha256'],
                                name=op.f('fk_materials_file_sha256_stored_files'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_materials_uploaded_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_materials')),
    )
    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.create_index('ix_materials_activity_id_session_id', ['activity_id', 'session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_materials_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_materials_speaker_id'), ['speaker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_materials_file_sha256'), ['file_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_materials_uploaded_by_id'), ['uploaded_by_id'], unique=False)


def downgrade():
    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_materials_uploaded_by_id'))
        batch_op.drop_index(batch_op.f('ix_materials_file_sha256'))
        batch_op.drop_index(batch_op.f('ix_materials_speaker_id'))
        batch_op.drop_index(batch_op.f('ix_materials_session_id'))
        batch_op.drop_index('ix_materials_activity_id_session_id')
    op.drop_table('materials')
    op.drop_table('stored_files')
