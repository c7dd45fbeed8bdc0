"""National Provider Identifier check digit (CMS: Luhn over the '80840' card-issuer prefix)."""
from __future__ import annotations


def luhn_check_digit(digits: str) -> int:
    """The digit that makes `digits + digit` pass the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:  # doubled: every second digit from the right of the final number
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def is_valid_npi(npi: str | None) -> bool:
    if not npi or len(npi) != 10 or not npi.isdigit() or npi[0] not in "12":
        return False
    return luhn_check_digit("80840" + npi[:9]) == int(npi[9])


def make_npi(first_nine: str) -> str:
    """Complete nine digits into a valid NPI (for demo data and tests)."""
    return first_nine + str(luhn_check_digit("80840" + first_nine))
