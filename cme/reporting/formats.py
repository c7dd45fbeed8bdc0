"""The export files (issue 16, point 3), pure functions from (action, fields) lines to text or bytes, streamed:
each yields its output piece by piece and holds no more than one line. docs/reporting.md documents every column.

- PARS learner completions, tab-delimited: UTF-8 without a BOM, CRLF line ends, a header row; a tab, CR or LF
  inside a value becomes a space; names and titles that start like a formula get a leading apostrophe
  (cme/csvexport.py's rule, for the organizer who opens the file in a spreadsheet).
- PARS learner completions, JSON: the structure of ACCME's public draft learner-report schema (v0.5), validated
  in the tests against our own schema (schemas/pars_learners.schema.json).
- CPE Monitor: CSV (comma-separated, RFC 4180 quoting, UTF-8 without a BOM, CRLF).
- CE Broker roster: an .xlsx workbook (openpyxl, write-only: rows go to disk as they come).
"""
from __future__ import annotations

import csv
import io
import json
import tempfile
from datetime import date, datetime
from typing import IO, Any, Iterable, Iterator

from openpyxl import Workbook

from cme.csvexport import safe_cell

Line = tuple[str, dict[str, Any]]  # (action: "add" | "delete", the record's fields)

PARS_TAB_COLUMNS = ["Action", "ACCME Provider ID", "ACCME Activity ID", "Activity Title", "First Name",
                    "Last Name", "Birth MM/DD", "ID Type", "ID", "Completion Date", "Credit Type", "Board",
                    "Credits"]
CPE_MONITOR_COLUMNS = ["Action", "NABP e-Profile ID", "Birth MMDD", "UAN", "Participant Type", "Completion Date",
                       "Contact Hours", "Last Name", "First Name"]
CE_BROKER_COLUMNS = ["Action", "License Number", "State", "Profession", "Last Name", "First Name",
                     "Completion Date", "Course Tracking Number", "Hours", "Credit Type"]
CREDIT_TYPE_NAMES = {"cme": "AMA PRA Category 1 Credit", "moc": "MOC"}


def clean(value: Any) -> str:
    """One field of a tab-delimited line: no tab, CR or LF inside; a formula start neutralised."""
    text = "" if value is None else str(value)
    return safe_cell(text.replace("\t", " ").replace("\r", " ").replace("\n", " "))


def us_date(iso_day: str) -> str:
    """2026-03-07 -> 03/07/2026."""
    return date.fromisoformat(iso_day).strftime("%m/%d/%Y") if iso_day else ""


def birth(fields: dict[str, Any], sep: str) -> str:
    """The stored "MM-DD" as MM/DD or MMDD."""
    return (fields.get("birth") or "").replace("-", sep)


def first_identifier(fields: dict[str, Any]) -> tuple[str, str]:
    identifiers = fields.get("identifiers") or []
    return tuple(identifiers[0]) if identifiers else ("", "")


def pars_tab(lines: Iterable[Line]) -> Iterator[str]:
    yield "\t".join(PARS_TAB_COLUMNS) + "\r\n"
    for action, f in lines:
        id_type, id_value = first_identifier(f)
        row = [action, f["provider_id"], f["activity_id"], f["activity_title"], f["given_name"], f["family_name"],
               birth(f, "/"), id_type, id_value, us_date(f["completed_on"]), CREDIT_TYPE_NAMES[f["credit"]],
               f["board"], f["amount"]]
        yield "\t".join(clean(v) for v in row) + "\r\n"


def _report(action: str, f: dict[str, Any]) -> dict[str, Any]:
    member: dict[str, Any] = {"Name": {"GivenName": f["given_name"], "FamilyName": f["family_name"]}}
    certification = CREDIT_TYPE_NAMES[f["credit"]] + (f" ({f['board']})" if f["board"] else "")
    xtensible: dict[str, Any] = {"LearnerRecordAction": action, "ProviderID": f["provider_id"]}
    if f.get("birth"):
        xtensible["BirthMonthDay"] = "--" + f["birth"]  # ISO 8601 / XML Schema gMonthDay: no year (docs)
    return {
        "ReportingOrganization": f["organization"],
        "Member": member,
        "Activity": {
            "ProviderOrganization": f["organization"],
            "Module": {
                "ModuleName": {"value": f["activity_title"], "moduleID": f["activity_id"]},
                "Status": "Completed",
                "CompletedDateTime": f["completed_dt"],
                "CreditCertificate": [{
                    "UniqueID": [{"value": value, "domain": domain} for domain, value in f["identifiers"]],
                    "CreditReceived": {"activityCertification": certification, "creditUnit": "Point",
                                       "numberOfCredits": float(f["amount"])},
                    "CreditID": f"ccid:{f['activity_id']}:{f['credit']}{('-' + f['board']) if f['board'] else ''}",
                }],
            },
        },
        "XtensibleInfo": xtensible,
    }


def pars_json(lines: Iterable[Line], *, created: datetime) -> Iterator[str]:
    """`{"ACCMELearnerReports": {"ActivityReports": {"DateTimeCreated", "ActivityReport": [...]}}}`, one report
    at a time."""
    yield ('{"ACCMELearnerReports": {"ActivityReports": {"DateTimeCreated": '
           + json.dumps(created.isoformat()) + ', "ActivityReport": [')
    first = True
    for action, fields in lines:
        yield ("\n" if first else ",\n") + json.dumps(_report(action, fields), ensure_ascii=False)
        first = False
    yield "\n]}}}\n"


def cpe_monitor_csv(lines: Iterable[Line]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flushed() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CPE_MONITOR_COLUMNS)
    yield flushed()
    for action, f in lines:
        writer.writerow([action, f["nabp_id"], birth(f, ""), f["uan"], f["participant"], us_date(f["completed_on"]),
                         f["hours"], safe_cell(f["family_name"]), safe_cell(f["given_name"])])
        yield flushed()


def ce_broker_xlsx(lines: Iterable[Line], out: IO[bytes] | None = None) -> IO[bytes]:
    """The roster as an .xlsx workbook written to `out` (default: a temporary file), rewound. Dates are real
    dates (MM/DD/YYYY shown); text cells that start like a formula get a leading apostrophe."""
    out = out or tempfile.TemporaryFile()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Roster")
    sheet.append(CE_BROKER_COLUMNS)
    for action, f in lines:
        sheet.append([action, safe_cell(f["licence_number"]), f["state"], f["profession"], safe_cell(f["family_name"]),
                      safe_cell(f["given_name"]), us_date(f["completed_on"]), safe_cell(f["tracking_number"]),
                      float(f["hours"]), f["credit_type"]])
    workbook.save(out)
    out.seek(0)
    return out


def encoded(chunks: Iterable[str]) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk.encode("utf-8")
