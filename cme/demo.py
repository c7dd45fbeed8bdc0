"""Demo data (filled in below)."""


def seed_demo() -> str:
    return "nothing yet"
