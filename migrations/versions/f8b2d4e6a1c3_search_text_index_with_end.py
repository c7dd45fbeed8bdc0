"""search text index with end

Issue 17: the catalog's default search (what has not ended) read every trigram match since the site began from
ix_activities_search_text_trgm, then each row to drop the ended ones: its cost grew with the past. A trigram index
that also holds end_dt (btree_gin) yields only the matches that have not ended. With 40,000 activities of which 213
have not ended (a million registrations, the past accumulating), "cirrhosis fibrosis" read 8,000 index matches in
4-11 ms; now 40 in 0.8 ms. The trigram-only index stays for past searches: there a range of every past end would
cost more than it saves, and the planner picks the one that fits.

Revision ID: f8b2d4e6a1c3
Revises: e4b7c2d9a1f6
Create Date: 2026-11-30 08:20:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f8b2d4e6a1c3'
down_revision = 'e4b7c2d9a1f6'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # btree_gin is a trusted extension: the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        op.create_index('ix_activities_search_text_end_dt_trgm', 'activities', ['search_text', 'end_dt'],
                        unique=False, postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'})


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_activities_search_text_end_dt_trgm', table_name='activities', postgresql_using='gin')
