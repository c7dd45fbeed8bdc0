"""post-test explanations and a limit of attempts

Issue 14, point 15. Each post-test question has the organizer's explanation, shown to learners after they submit;
an attempt keeps its answers (so the learner sees which were wrong); an activity may limit the attempts.

Revision ID: b3d8f1a6c2e4
Revises: 3d8f5b2e7c41
Create Date: 2026-11-29 19:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b3d8f1a6c2e4'
down_revision = '3d8f5b2e7c41'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('post_test_max_attempts', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_activities_post_test_max_attempts'),
                                         'post_test_max_attempts IS NULL OR post_test_max_attempts >= 1')
    with op.batch_alter_table('post_test_questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('explanation', sa.Text(), server_default='', nullable=False))
    with op.batch_alter_table('post_test_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answers', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('post_test_attempts', schema=None) as batch_op:
        batch_op.drop_column('answers')
    with op.batch_alter_table('post_test_questions', schema=None) as batch_op:
        batch_op.drop_column('explanation')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_activities_post_test_max_attempts'), type_='check')
        batch_op.drop_column('post_test_max_attempts')
