"""Credit amounts: Decimal hours in steps of 0.25 (DESIGN.md, "Credit amounts"). The one home of that rule."""
from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

QUARTER = Decimal("0.25")
# The most credit a form takes, in one designation, claim or adjustment (the Numeric(5, 2) columns hold 999.99).
MAX_AMOUNT = Decimal(999)
# The same rule as a CHECK constraint, portable across SQLite and PostgreSQL.
QUARTER_STEP_SQL = "{col} * 4 = CAST({col} * 4 AS INTEGER)"


def is_quarter_step(amount: Decimal | int | str) -> bool:
    """True for 0, 0.25, 0.5, 1.75 ...; False for 0.1, NaN or infinity."""
    try:
        value = Decimal(amount)
        return value.is_finite() and (value / QUARTER) % 1 == 0
    except (InvalidOperation, ValueError, TypeError):
        return False


def quarter_floor(hours: Decimal | int | float | str) -> Decimal:
    """Hours rounded down to a quarter: what a stretch of attendance supports."""
    return (Decimal(hours) / QUARTER).to_integral_value(rounding=ROUND_DOWN) * QUARTER

