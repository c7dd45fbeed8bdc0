"""Pagination whose count is a plain `SELECT count(*) ... WHERE ...` over the same table.

Flask-SQLAlchemy counts over a subquery of the full select (every column), which makes SQLite read
whole rows; counting with only the count column lets both databases answer from an index.
"""
from __future__ import annotations

from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import Select, func

from cme.extensions import db


class IndexCountPagination(SelectPagination):
    def _query_count(self) -> int:
        select: Select = self._query_args["select"]
        counted = select.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
        return self._query_args["session"].execute(counted).scalar()


def paginate(select: Select, *, page: int, per_page: int) -> IndexCountPagination:
    """Paginate a single-entity select without DISTINCT or GROUP BY (what the count assumes)."""
    return IndexCountPagination(select=select, session=db.session(), page=max(page, 1), per_page=per_page,
                                max_per_page=100, error_out=False, count=True)
