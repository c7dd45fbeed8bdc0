"""library search index

Issue 15, point 9: one row per searchable library item (`library_search_entries`: an abstract, a news article, a
material, a highlights page), written by the same transaction that changes the item. The full-text index over it
lives in the database:

- SQLite: an FTS5 external-content table `library_search_fts` (title, body; porter stemming over unicode61)
  kept in step by triggers on the entries table;
- PostgreSQL: a STORED generated `document` tsvector (title weighted A, body B, 'english') with a GIN index.

Neither is in the models (the ORM never writes them): `cme.extensions.include_object_for` leaves them out of the
models-versus-migrations comparison.

Revision ID: a8c4e2f6d1b9
Revises: 5f2c8e1a7b90
Create Date: 2026-12-03 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a8c4e2f6d1b9'
down_revision = '5f2c8e1a7b90'
branch_labels = None
depends_on = None

SQLITE_FTS = (
    "CREATE VIRTUAL TABLE library_search_fts USING fts5(title, body, content='library_search_entries', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER library_search_entries_ai AFTER INSERT ON library_search_entries BEGIN "
    "INSERT INTO library_search_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER library_search_entries_ad AFTER DELETE ON library_search_entries BEGIN "
    "INSERT INTO library_search_fts(library_search_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER library_search_entries_au AFTER UPDATE OF title, body ON library_search_entries BEGIN "
    "INSERT INTO library_search_fts(library_search_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO library_search_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
)
POSTGRES_DOCUMENT = (
    "ALTER TABLE library_search_entries ADD COLUMN document tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'B')) STORED",
    "CREATE INDEX ix_library_search_entries_document ON library_search_entries USING gin (document)",
)


def upgrade():
    op.create_table('library_search_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('topics', sa.String(length=500), server_default='', nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=True),
    sa.Column('speaker', sa.String(length=300), server_default='', nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('listed_from_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('access', sa.String(length=20), server_default='public', nullable=False),
    sa.Column('updated_dt', sa.DateTime(timezone=True), nullable=False),
    # Last: SQLite reads a row's columns in order, and a long body spills onto overflow pages that the filters'
    # columns would otherwise sit behind.
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.CheckConstraint("access IN ('public', 'restricted')", name=op.f('ck_library_search_entries_access')),
    sa.CheckConstraint("kind IN ('abstract', 'news', 'material', 'highlight')",
                       name=op.f('ck_library_search_entries_kind')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'],
                            name=op.f('fk_library_search_entries_activity_id_activities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_search_entries')),
    sa.UniqueConstraint('kind', 'item_id', name=op.f('uq_library_search_entries_kind_item_id'))
    )
    with op.batch_alter_table('library_search_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_library_search_entries_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index('ix_library_search_entries_year', ['year'], unique=False)
    statements = POSTGRES_DOCUMENT if op.get_bind().dialect.name == "postgresql" else SQLITE_FTS
    for statement in statements:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_library_search_entries_document")
    else:
        for trigger in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER library_search_entries_{trigger}")
        op.execute("DROP TABLE library_search_fts")
    with op.batch_alter_table('library_search_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_library_search_entries_year')
        batch_op.drop_index(batch_op.f('ix_library_search_entries_activity_id'))
    op.drop_table('library_search_entries')
