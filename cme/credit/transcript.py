"""The learner's transcript: every credit record by year and credit type, with totals, as CSV and PDF."""
from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cme.activities.statements import format_amount
from cme.csvexport import csv_bytes


@dataclass(frozen=True)
class TranscriptLine:
    date: str  # the completion date (a live activity's last day; the learner's own on demand), in the activity's zone
    activity: str
    format: str
    credit_type: str
    amount: Decimal
    certificate_code: str
    certificate_id: int | None = None


@dataclass
class TranscriptYear:
    year: int
    lines: list[TranscriptLine] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for line in self.lines:
            totals[line.credit_type] += line.amount
        return dict(sorted(totals.items()))


@dataclass
class Transcript:
    learner: str
    npi: str
    provider: str
    generated: datetime
    years: list[TranscriptYear]

    @property
    def totals(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for year in self.years:
            for credit_type, amount in year.totals.items():
                totals[credit_type] += amount
        return dict(sorted(totals.items()))


HEADER = ["Year", "Date", "Activity", "Format", "Credit type", "Amount", "Certificate"]


def build_transcript_csv(transcript: Transcript) -> bytes:
    return csv_bytes(HEADER, ((year.year, line.date, line.activity, line.format, line.credit_type,
                               format_amount(line.amount), line.certificate_code)
                              for year in transcript.years for line in year.lines))


def build_transcript_pdf(transcript: Transcript) -> bytes:
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=letter, title=f"CME transcript: {transcript.learner}",
                                 author=transcript.provider, leftMargin=48, rightMargin=48, topMargin=48,
                                 bottomMargin=48)
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8.5, leading=10.5)
    story = [Paragraph(f"{_e(transcript.provider)}", styles["Heading3"]),
             Paragraph("Transcript of continuing education credit", styles["Title"]),
             Paragraph(f"<b>{_e(transcript.learner)}</b>" + (f" · NPI {_e(transcript.npi)}" if transcript.npi else ""),
                       styles["BodyText"]),
             Paragraph(f"Generated {transcript.generated:%B %-d, %Y}", small), Spacer(1, 12)]
    style = TableStyle([("FONT", (0, 0), (-1, -1), "Helvetica", 8.5), ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8.5),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f4f7")),
                        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#d9e2ec")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (4, 0), (4, -1), "RIGHT")])
    for year in transcript.years:
        story.append(Paragraph(str(year.year), styles["Heading2"]))
        rows = [["Date", "Activity", "Credit type", "Format", "Amount", "Certificate"]]
        rows += [[line.date, Paragraph(_e(line.activity), small), Paragraph(_e(line.credit_type), small), line.format,
                  format_amount(line.amount), line.certificate_code] for line in year.lines]
        story.append(Table(rows, colWidths=[56, 150, 100, 58, 38, 114], style=style, repeatRows=1))
        totals = "; ".join(f"{format_amount(v)} {k}" for k, v in year.totals.items())
        story += [Spacer(1, 4), Paragraph(f"<b>{year.year} totals:</b> {_e(totals)}", small), Spacer(1, 8)]
    if transcript.years:
        totals = "; ".join(f"{format_amount(v)} {k}" for k, v in transcript.totals.items())
        story.append(Paragraph(f"<b>All years:</b> {_e(totals)}", styles["BodyText"]))
    else:
        story.append(Paragraph("No credit has been claimed yet.", styles["BodyText"]))
    document.build(story)
    return buffer.getvalue()


def _e(text: str) -> str:
    """Escape for ReportLab's mini-markup in Paragraph."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
