"""The credit capability's refused operations."""
from __future__ import annotations

from cme.errors import DomainError


class CreditError(DomainError):
    """A refused evaluation, post-test or claim."""
