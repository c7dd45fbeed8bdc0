"""The roster as CSV (see cme.csvexport for the Excel and formula-injection rules)."""
from __future__ import annotations

from typing import Iterable

from cme.csvexport import csv_bytes
from cme.registration.models import Registration

HEADER = ["Status", "Waitlist position", "Name", "Degree", "Profession", "Email", "NPI", "License state",
          "License number", "Registered (UTC)", "Checked in", "Dietary needs", "Accessibility needs", "Sessions"]


def build_roster_csv(registrations: Iterable[Registration], checked_in: set[int]) -> bytes:
    return csv_bytes(HEADER, ((
        r.status_label, r.waitlist_position or "", r.full_name, r.degree, r.profession_label,
        r.user.email, r.npi or "", r.licence_state or "", r.licence_number or "",
        r.registered_dt.strftime("%Y-%m-%d %H:%M"), "yes" if r.id in checked_in else "",
        r.dietary_needs, r.accessibility_needs, _sessions(r)) for r in registrations))


def _sessions(registration: Registration) -> str:
    """The sessions chosen; "All" when the meeting's sessions were not chosen one by one (or all were)."""
    every = registration.activity.sessions
    if len(every) < 2:
        return ""
    if not registration.sessions or len(registration.sessions) == len(every):
        return "All"
    return "; ".join(s.title for s in sorted(registration.sessions, key=lambda s: s.start_dt))
