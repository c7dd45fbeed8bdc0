"""catalog search reads people, places, agendas and credit

Issue 14, point 4: an activity's search text now also holds its venue, city and state, the names of the people in
its content roles, its agenda's titles and the words people type for its credit types
(`cme.activities.models.search_text_for`). No schema change: the existing rows' text is rebuilt.

Revision ID: 25d7f95bf7d4
Revises: b3d8f1a6c2e4
Create Date: 2026-12-02 10:00:00.000000

"""
from collections import defaultdict

from alembic import op
import sqlalchemy as sa

from cme.activities.models import search_text_for


# revision identifiers, used by Alembic.
revision = '25d7f95bf7d4'
down_revision = 'b3d8f1a6c2e4'
branch_labels = None
depends_on = None


def _by_activity(bind, sql: str) -> dict[int, list[str]]:
    found = defaultdict(list)
    for activity_id, value in bind.execute(sa.text(sql)):
        found[activity_id].append(value)
    return found


def rebuild_search_text(bind) -> None:
    people = _by_activity(bind, "SELECT activity_id, full_name FROM faculty ORDER BY activity_id, position, id")
    credit = _by_activity(bind, "SELECT activity_id, credit_type FROM credit_designations ORDER BY activity_id, id")
    sessions = _by_activity(bind, "SELECT activity_id, title FROM activity_sessions "
                                  "ORDER BY activity_id, start_dt, id")
    # The columns as they are at this revision (the function reads what it is given, by name).
    rows = bind.execute(sa.text("SELECT id, title, summary, specialty, topics, description, venue_name, city, state "
                                "FROM activities")).mappings().all()
    updates = [{"id": row["id"], "text": search_text_for(row, people=people[row["id"]], credit_types=credit[row["id"]],
                                                         sessions=sessions[row["id"]])} for row in rows]
    if updates:
        bind.execute(sa.text("UPDATE activities SET search_text = :text WHERE id = :id"), updates)


def upgrade():
    rebuild_search_text(op.get_bind())


def downgrade():
    # The older text was a part of this one: what it matched, this matches too.
    pass
