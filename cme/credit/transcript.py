"""The learner's transcript: every credit record by year and credit type, with totals, as CSV and PDF."""
from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cme.activities.statements import format_amount
from cme.csvexport import csv_bytes
from cme.pdffonts import SANS, SANS_BOLD, markup


@dataclass(frozen=True)
class TranscriptLine:
    date: str  # the completion date (a live activity's last day; the learner's own on demand), in the activity's zone
    activity: str
    format: str
    credit_type: str
    amount: Decimal
    certificate_code: str
    certificate_id: int | None = None
    activity_id: int | None = None


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


def _styles() -> dict[str, ParagraphStyle]:
    """The sample styles in the Unicode face (cme.pdffonts): Helvetica has no Ł, Ρ or 張."""
    sample = getSampleStyleSheet()
    styles = {name: sample[name].clone(f"cme-{name}", fontName=SANS_BOLD if name != "BodyText" else SANS)
              for name in ("Heading2", "Heading3", "Title", "BodyText")}
    styles["small"] = styles["BodyText"].clone("cme-small", fontSize=8.5, leading=10.5)
    styles["cell"] = styles["small"].clone("cme-cell")
    styles["head"] = styles["cell"].clone("cme-head", fontName=SANS_BOLD)
    styles["amount"] = styles["cell"].clone("cme-amount", alignment=TA_RIGHT)
    styles["amount-head"] = styles["head"].clone("cme-amount-head", alignment=TA_RIGHT)
    styles["code"] = styles["cell"].clone("cme-code", fontSize=8)
    return styles


# Date, activity, credit type, format, amount, certificate: 516 points, the page less its margins. Every cell
# is a Paragraph, so a long value wraps inside its column instead of printing over the next one.
COLUMNS = [58, 136, 90, 64, 46, 122]


def build_transcript_pdf(transcript: Transcript) -> bytes:
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=letter, title=f"CME transcript: {transcript.learner}",
                                 author=transcript.provider, leftMargin=48, rightMargin=48, topMargin=48,
                                 bottomMargin=48)
    styles = _styles()
    small = styles["small"]
    story = [Paragraph(markup(transcript.provider), styles["Heading3"]),
             Paragraph("Transcript of continuing education credit", styles["Title"]),
             Paragraph(f"<b>{markup(transcript.learner)}</b>" + (f" · NPI {_e(transcript.npi)}" if transcript.npi else ""),
                       styles["BodyText"]),
             Paragraph(f"Generated {transcript.generated:%B %-d, %Y}", small), Spacer(1, 12)]
    style = TableStyle([("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f4f7")),
                        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#d9e2ec")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP")])
    cell, head = styles["cell"], styles["head"]
    header = [Paragraph(h, head) for h in ("Date", "Activity", "Credit type", "Format")]
    header += [Paragraph("Amount", styles["amount-head"]), Paragraph("Certificate", head)]
    for year in transcript.years:
        story.append(Paragraph(str(year.year), styles["Heading2"]))
        rows = [header]
        rows += [[Paragraph(markup(line.date), cell), Paragraph(markup(line.activity), cell),
                  Paragraph(markup(line.credit_type), cell), Paragraph(markup(line.format), cell),
                  Paragraph(format_amount(line.amount), styles["amount"]), Paragraph(markup(line.certificate_code), styles["code"])]
                 for line in year.lines]
        story.append(Table(rows, colWidths=COLUMNS, style=style, repeatRows=1))
        totals = "; ".join(f"{format_amount(v)} {k}" for k, v in year.totals.items())
        story += [Spacer(1, 4), Paragraph(f"<b>{year.year} totals:</b> {markup(totals)}", small), Spacer(1, 8)]
    if transcript.years:
        totals = "; ".join(f"{format_amount(v)} {k}" for k, v in transcript.totals.items())
        story.append(Paragraph(f"<b>All years:</b> {markup(totals)}", styles["BodyText"]))
    else:
        story.append(Paragraph("No credit has been claimed yet.", styles["BodyText"]))
    document.build(story)
    return buffer.getvalue()


def _e(text: str) -> str:
    """Escape for ReportLab's mini-markup in Paragraph."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
