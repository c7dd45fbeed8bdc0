"""Credit amounts in quarter steps: the one rule every form, service and CHECK constraint asks."""
from __future__ import annotations

from decimal import Decimal

import pytest

from cme.amounts import is_quarter_step, quarter_floor


@pytest.mark.parametrize("amount", ["0", "0.25", "0.5", "1.75", "12", Decimal("3.00"), 2])
def test_quarter_steps_are_accepted(amount):
    assert is_quarter_step(amount)


@pytest.mark.parametrize("amount", ["0.1", "1.3", "0.125", "NaN", "Infinity", "-Infinity", "1e999999", "abc", None])
def test_other_amounts_and_non_numbers_are_refused(amount):
    assert not is_quarter_step(amount)


@pytest.mark.parametrize("hours, floored", [("0", "0"), ("0.24", "0"), ("0.25", "0.25"), ("1.49", "1.25"),
                                            ("2.999", "2.75"), (Decimal(5400) / Decimal(3600), "1.5")])
def test_attendance_rounds_down_to_the_quarter_hour(hours, floored):
    assert quarter_floor(hours) == Decimal(floored)
