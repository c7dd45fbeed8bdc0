"""Absolute URLs on CME_BASE_URL, for mail and calendar feeds (inside or outside a request)."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from werkzeug.routing import IntegerConverter


def absolute_url(endpoint: str, **values: Any) -> str:
    base = urlsplit(current_app.config["CME_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)


# The largest value of an Integer column on PostgreSQL (32-bit; SQLite's 64-bit holds it too).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<id:...>`: a primary key, 1 to 2^31 - 1 (what an Integer column holds), else the route does not match
    (404), never a database error."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002  (werkzeug's parameter name)
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
