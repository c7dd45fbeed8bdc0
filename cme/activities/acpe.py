"""The ACPE Universal Activity Number (UAN): what an activity with ACPE credit must carry, and who it is for.

ACPE's format, field by field (e.g. 0197-0000-26-001-L01-P):
- the accredited provider's ACPE number: four digits (0197), or, for a Jointly Accredited provider, "JA" and seven
  digits (JA4008162);
- joint providership: 0000 when the provider offers it alone, 9999 when it is jointly provided;
- the year the activity was developed or released: two digits (26);
- the provider's sequence number for that year: three digits, from 001 (001);
- the activity type: L live, H home study (enduring), B blended; then the topic designator, two digits: 01 disease
  state management/drug therapy, 02 HIV/AIDS therapy, 03 law related to pharmacy practice, 04 general pharmacy,
  05 patient safety, 06 immunizations, 07 compounding, 08 pain management/opioids (L01);
- the target audience: P pharmacists, T pharmacy technicians (an activity for both has two UANs that differ only
  in this letter).
"""
from __future__ import annotations

import re

TOPICS = {
    "01": "Disease state management/drug therapy", "02": "HIV/AIDS therapy", "03": "Law related to pharmacy practice",
    "04": "General pharmacy", "05": "Patient safety", "06": "Immunizations", "07": "Compounding",
    "08": "Pain management/opioids",
}
ACTIVITY_TYPES = {"L": "live", "H": "home study", "B": "blended"}
AUDIENCES = {"P": "pharmacists", "T": "pharmacy technicians"}

EXAMPLE = "0197-0000-26-001-L01-P"
_SHAPE = re.compile(r"(?P<provider>[0-9]{4}|JA[0-9]{7})-(?P<joint>[0-9]{4})-(?P<year>[0-9]{2})-(?P<sequence>[0-9]{3})"
                    r"-(?P<type>[A-Z])(?P<topic>[0-9]{2})-(?P<audience>[A-Z])")


def normalise_uan(value: str | None) -> str | None:
    """Upper case without surrounding spaces; None when blank."""
    value = (value or "").strip().upper()
    return value or None


def uan_problem(value: str) -> str | None:
    """Why `value` is not a valid UAN (None when it is)."""
    match = _SHAPE.fullmatch(value)
    if match is None:
        return (f"An ACPE Universal Activity Number looks like {EXAMPLE}: provider number, 0000 or 9999, year, "
                "sequence, activity type and topic, P or T.")
    if match["joint"] not in ("0000", "9999"):
        return "The second part of the UAN is 0000 (offered by the provider alone) or 9999 (jointly provided)."
    if match["sequence"] == "000":
        return "The UAN's sequence number starts at 001."
    if match["type"] not in ACTIVITY_TYPES:
        return "The UAN's activity type is L (live), H (home study) or B (blended), as in L01."
    if match["topic"] not in TOPICS:
        return f"The UAN's topic designator is one of {', '.join(TOPICS)} (e.g. 01 for disease state management)."
    if match["audience"] not in AUDIENCES:
        return "The UAN ends in P (for pharmacists) or T (for pharmacy technicians)."
    return None


def uan_audience(uan: str | None) -> str | None:
    """"P" or "T": whom a valid UAN is for (None without one)."""
    return uan[-1] if uan and uan_problem(uan) is None else None
