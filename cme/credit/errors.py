"""The credit capability's refused operations."""
from __future__ import annotations


class CreditError(Exception):
    def __init__(self, message: str, code: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.field = field
