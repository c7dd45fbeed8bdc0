"""who may claim what: pharmacy technicians, the ABIM ID, the ACPE Universal Activity Number

Issue 12, point 2. Users may be pharmacy technicians (the profession CHECK gains the value) and carry their ABIM
ID (six digits), which ABIM MOC points need; activities carry their ACPE Universal Activity Number, which ACPE
credit needs. Downgrading turns pharmacy technicians into "other" (the old CHECK has no such value).

Revision ID: 2b7e4c91d0a5
Revises: 9e4b7c2a1d30
Create Date: 2026-11-29 16:45:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '2b7e4c91d0a5'
down_revision = '9e4b7c2a1d30'
branch_labels = None
depends_on = None

OLD_PROFESSIONS = ("'physician', 'physician_assistant', 'nurse_practitioner', 'nurse', 'pharmacist', 'other'")
NEW_PROFESSIONS = ("'physician', 'physician_assistant', 'nurse_practitioner', 'nurse', 'pharmacist', "
                   "'pharmacy_technician', 'other'")


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('abim_id', sa.String(length=6), nullable=True))
        batch_op.create_check_constraint(op.f('ck_users_abim_id_length'), 'abim_id IS NULL OR length(abim_id) = 6')
        batch_op.drop_constraint(op.f('ck_users_profession'), type_='check')
        batch_op.create_check_constraint(op.f('ck_users_profession'), f'profession IN ({NEW_PROFESSIONS})')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acpe_uan', sa.String(length=30), nullable=True))


def downgrade():
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_column('acpe_uan')
    op.execute("UPDATE users SET profession = 'other' WHERE profession = 'pharmacy_technician'")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_profession'), type_='check')
        batch_op.create_check_constraint(op.f('ck_users_profession'), f'profession IN ({OLD_PROFESSIONS})')
        batch_op.drop_constraint(op.f('ck_users_abim_id_length'), type_='check')
        batch_op.drop_column('abim_id')
