"""Questions about many (user, activity) pairs at once: who checked in, attended, claimed or evaluated, for a
roster of thousands or a learner's schedule of hundreds.

A condition `(user_id, activity_id) IN ((u1, a1), ... (u5000, a5000))` sends ten thousand parameters: the database
answers in a few milliseconds, but binding and planning them took 55-300 ms per statement (bench/growth.py, a
5,000-seat roster). The pairs of one question almost always share one side (a roster: one activity; a schedule:
one learner), so `found_pairs` asks by the side with fewer distinct values and keeps only the pairs asked about."""
from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, Select, tuple_

from cme.extensions import db

EXACT_PAIRS = 50  # up to this many pairs, the exact tuple list is cheap and reads nothing extra


def pairs_condition(user_column, activity_column, pairs: Collection[tuple[int, int]]) -> ColumnElement[bool]:
    """A condition that holds for every row of `pairs` (and, with many pairs, possibly a few more: filter the
    result by the pairs)."""
    if len(pairs) <= EXACT_PAIRS:
        return tuple_(user_column, activity_column).in_(sorted(pairs))
    users = sorted({user for user, _ in pairs})
    activities = sorted({activity for _, activity in pairs})
    if len(activities) <= len(users):
        return activity_column.in_(activities)
    return user_column.in_(users)


def found_pairs(statement: Select, pairs: Collection[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of `pairs` the statement finds: `statement` selects (user id, activity id) columns, in that order, with
    whatever else the question asks in its WHERE clause. One query."""
    pairs = set(pairs)
    if not pairs:
        return set()
    user_column, activity_column = statement.selected_columns
    return pairs & set(db.session.execute(statement.where(
        pairs_condition(user_column, activity_column, pairs))).tuples())
