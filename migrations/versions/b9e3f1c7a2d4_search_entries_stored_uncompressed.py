"""search entries' text and document stored uncompressed

Issue 17: a search ranks each of its candidates (up to MAX_RANKED + 1) by its `document`, and reads the body of
each row of its page for the snippet's window: a deck's document is ~16 kB and its body ~12 kB, both stored out of
line and compressed (pglz), so each read decompressed them; pglz was a third of the ranking's time. Stored out of
line but uncompressed (EXTERNAL), the realistic two-word search's ranking of 258 candidates went from 3.4 to 2.5 ms,
the worst case's ranking of 1,001 from 45.5 to 41 ms, the page's snippet windows from 2.3 to 1.8 ms, for a table
(with its toast) of 101 MB instead of 82 MB at 13,000 entries. Values written before this stay compressed until
their entry is written again (`flask cme reindex-library` rewrites them all).

Revision ID: b9e3f1c7a2d4
Revises: f8b2d4e6a1c3
Create Date: 2026-11-30 09:25:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b9e3f1c7a2d4'
down_revision = 'f8b2d4e6a1c3'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE library_search_entries ALTER COLUMN document SET STORAGE EXTERNAL, "
                   "ALTER COLUMN body SET STORAGE EXTERNAL")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE library_search_entries ALTER COLUMN document SET STORAGE EXTENDED, "
                   "ALTER COLUMN body SET STORAGE EXTENDED")
