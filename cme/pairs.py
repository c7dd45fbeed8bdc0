"""Questions about many (user, activity) pairs at once: who checked in, attended, claimed or evaluated, for a
roster of thousands or a learner's schedule of hundreds.

A condition `(user_id, activity_id) IN ((u1, a1), ... (u5000, a5000))` sends ten thousand parameters: the database
answers in a few milliseconds, but binding and planning them took 55-300 ms per statement (bench/growth.py, a
5,000-seat roster). The pairs of one question almost always share one side (a roster: one activity; a schedule:
one learner), so `pairs_condition` asks by the side with fewer distinct values and the caller keeps only the
pairs it asked about (`found & pairs`)."""
from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, tuple_

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
