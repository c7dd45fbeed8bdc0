"""one home for a learner's licences

Issue 16, point 1: a learner holds several state licences (cme/accounts/identity.py, `state_licences`). The one
licence that sign-up and the profile used to keep on the user row (users.licence_state, users.licence_number)
moves there, with the user's profession as the licence's profession, and the two columns go: a licence has one
home. Registrations keep their own snapshot columns (what the registrant declared for that activity).

Revision ID: c7d2e5a8f1b3
Revises: b3e8d1f4a6c2
Create Date: 2026-11-30 01:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7d2e5a8f1b3'
down_revision = 'b3e8d1f4a6c2'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "INSERT INTO state_licences (user_id, state, number, profession, created_dt) "
        "SELECT id, licence_state, licence_number, profession, created_dt FROM users "
        "WHERE licence_state IS NOT NULL AND licence_number IS NOT NULL AND NOT EXISTS ("
        "SELECT 1 FROM state_licences s WHERE s.user_id = users.id AND s.state = users.licence_state "
        "AND s.profession = users.profession)")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('licence_number')
        batch_op.drop_column('licence_state')


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('licence_state', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('licence_number', sa.String(length=40), nullable=True))
    # Each user's earliest licence goes back on the user row (the others have no place there).
    op.execute(
        "UPDATE users SET licence_state = (SELECT s.state FROM state_licences s WHERE s.user_id = users.id "
        "ORDER BY s.id LIMIT 1), licence_number = (SELECT s.number FROM state_licences s "
        "WHERE s.user_id = users.id ORDER BY s.id LIMIT 1)")
