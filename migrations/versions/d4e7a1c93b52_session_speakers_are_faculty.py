"""session speakers are faculty records

Issue 12, point 1: an agenda session names its speakers by linking the activity's faculty records (the
`session_speakers` association), no longer as free text, so every speaker has (or visibly lacks) a
disclosure and publishing can require one.

The data step reads each session's old `speakers` text, splits it into names at ";" and new lines (commas stay:
"Marcus Reed, MD, MPH" is one byline), and links each name to the faculty member of the same activity whose
name matches exactly (ignoring case and repeated spaces), either as the full name alone or as "full name,
degree" (the byline the demo and the old form wrote), or whose full name is what comes before the name's first
comma. A name that matches nobody is kept as a new faculty record of that activity (role faculty, no degree, no
disclosure on file): nothing typed is lost, the agenda still shows it, and the organizer sees "has no disclosure
on file" in the activity's checklist, which is exactly the gap the free text hid. Then the column is dropped and
the stored calendar fragments of the activities concerned are marked stale (their VEVENT descriptions name the
speakers; the feed rebuilds them until they are stored again).

Downgrade puts the column back and fills it with the linked speakers' bylines joined by "; "; faculty records
created by the upgrade stay.

Revision ID: d4e7a1c93b52
Revises: 2b7e4c91d0a5
Create Date: 2026-11-29 16:40:00.000000

"""
import re

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd4e7a1c93b52'
down_revision = '2b7e4c91d0a5'
branch_labels = None
depends_on = None

sessions = sa.table('activity_sessions', sa.column('id', sa.Integer), sa.column('activity_id', sa.Integer),
                    sa.column('speakers', sa.String))
faculty = sa.table('faculty', sa.column('id', sa.Integer), sa.column('activity_id', sa.Integer),
                   sa.column('full_name', sa.String), sa.column('degree', sa.String),
                   sa.column('affiliation', sa.String), sa.column('role', sa.String),
                   sa.column('position', sa.Integer), sa.column('disclosure_received_dt', sa.DateTime))
speakers = sa.table('session_speakers', sa.column('session_id', sa.Integer), sa.column('faculty_id', sa.Integer))
activities = sa.table('activities', sa.column('id', sa.Integer), sa.column('ics_fragment_version', sa.String))


def _key(text):
    return re.sub(r"\s+", " ", text or "").strip().casefold()


def speaker_names(text):
    """The names in an old free-text speakers field."""
    return [name.strip() for name in re.split(r"[;\n]", text or "") if name.strip()]


def match(name, people):
    """The id of the person (rows of id, full_name, degree) the name means, or None."""
    key = _key(name)
    for person_id, full_name, degree in people:
        if key in (_key(full_name), _key(f"{full_name}, {degree}" if degree else full_name)):
            return person_id
    before_comma = _key(name.split(",")[0])
    for person_id, full_name, _degree in people:
        if before_comma == _key(full_name):
            return person_id
    return None


def upgrade():
    op.create_table('session_speakers',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('faculty_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['faculty_id'], ['faculty.id'], name=op.f('fk_session_speakers_faculty_id_faculty'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['activity_sessions.id'], name=op.f('fk_session_speakers_session_id_activity_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'faculty_id', name=op.f('pk_session_speakers'))
    )
    with op.batch_alter_table('session_speakers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_speakers_faculty_id'), ['faculty_id'], unique=False)

    connection = op.get_bind()
    rows = connection.execute(sa.select(sessions.c.id, sessions.c.activity_id, sessions.c.speakers)
                              .where(sessions.c.speakers != '').order_by(sessions.c.id)).all()
    people = {}
    for session_id, activity_id, text in rows:
        if activity_id not in people:
            people[activity_id] = [tuple(r) for r in connection.execute(
                sa.select(faculty.c.id, faculty.c.full_name, faculty.c.degree)
                .where(faculty.c.activity_id == activity_id).order_by(faculty.c.position, faculty.c.id))]
        linked = []
        for name in speaker_names(text):
            person_id = match(name, people[activity_id])
            if person_id is None:
                position = connection.scalar(sa.select(sa.func.coalesce(sa.func.max(faculty.c.position) + 1, 0))
                                             .where(faculty.c.activity_id == activity_id))
                person_id = connection.execute(faculty.insert().values(
                    activity_id=activity_id, full_name=name[:200], degree='', affiliation='', role='faculty',
                    position=position, disclosure_received_dt=None).returning(faculty.c.id)).scalar_one()
                people[activity_id].append((person_id, name, ''))
            if person_id not in linked:
                linked.append(person_id)
        if linked:
            connection.execute(speakers.insert(), [{'session_id': session_id, 'faculty_id': i} for i in linked])
    if people:
        connection.execute(activities.update().where(activities.c.id.in_(list(people)))
                           .values(ics_fragment_version=None))

    # Not a batch "move and copy" on SQLite: with foreign keys on, dropping the old table would cascade to the
    # attendance and session choices that reference sessions. SQLite (3.35+) drops a plain column in place.
    op.drop_column('activity_sessions', 'speakers')


def downgrade():
    # In place (see upgrade); the server default fills existing rows and stays (SQLite cannot drop it in place).
    op.add_column('activity_sessions', sa.Column('speakers', sa.String(length=500), nullable=False,
                                                 server_default=''))

    connection = op.get_bind()
    rows = connection.execute(
        sa.select(speakers.c.session_id, faculty.c.full_name, faculty.c.degree)
        .select_from(speakers.join(faculty, faculty.c.id == speakers.c.faculty_id))
        .order_by(speakers.c.session_id, faculty.c.position, faculty.c.id)).all()
    text = {}
    for session_id, full_name, degree in rows:
        text.setdefault(session_id, []).append(f"{full_name}, {degree}" if degree else full_name)
    for session_id, names in text.items():
        connection.execute(sessions.update().where(sessions.c.id == session_id)
                           .values(speakers="; ".join(names)[:500]))

    with op.batch_alter_table('session_speakers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_speakers_faculty_id'))
    op.drop_table('session_speakers')
