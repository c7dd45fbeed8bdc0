"""The roster as CSV: UTF-8 with a BOM (so Excel reads accents), formulas neutralised (OWASP CSV injection)."""
from __future__ import annotations

import csv
import io
from typing import Iterable

from cme.registration.models import Registration

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER = ["Status", "Waitlist position", "Name", "Degree", "Profession", "Email", "NPI", "License state",
          "License number", "Registered (UTC)", "Checked in", "Dietary needs", "Accessibility needs", "Sessions"]


def safe_cell(value: object) -> str:
    """Text a spreadsheet shows as text: a leading quote stops =, +, -, @ from starting a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def build_roster_csv(registrations: Iterable[Registration], checked_in: set[int]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for r in registrations:
        writer.writerow([safe_cell(v) for v in (
            r.status_label, r.waitlist_position or "", r.full_name, r.degree, r.profession.replace("_", " "),
            r.user.email, r.npi or "", r.licence_state or "", r.licence_number or "",
            r.registered_dt.strftime("%Y-%m-%d %H:%M"), "yes" if r.id in checked_in else "",
            r.dietary_needs, r.accessibility_needs, "; ".join(s.title for s in r.sessions))])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
