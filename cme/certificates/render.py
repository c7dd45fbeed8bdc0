"""Certificate PDFs (ReportLab, US Letter landscape) with a QR code (segno) to the verification page.

`build_certificate_pdf` is pure: a snapshot dict and a URL in, bytes out. The QR code is one small image
(a pixel per module; the PDF scales it), not hundreds of drawn modules, and segno is told the mask pattern
instead of trying all eight.
"""
from __future__ import annotations

import io
from functools import lru_cache
from typing import Any

import segno
from PIL import Image
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import landscape, letter
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

PAGE_WIDTH, PAGE_HEIGHT = landscape(letter)
BRAND = HexColor("#0b5c70")
INK = HexColor("#1d2a35")
MUTED = HexColor("#52606d")
MARGIN = 36
QR_SIZE = 86



WRAP_WIDTH = PAGE_WIDTH - 2 * MARGIN - 60


@lru_cache(maxsize=512)
def _wrapped(text: str, font: str, size: float, width: float) -> tuple[str, ...]:
    """Greedy word wrap with the font's metrics; cached, since statements repeat on every certificate."""
    words, lines, line = text.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if stringWidth(candidate, font, size) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return tuple(lines)


def qr_image(data: str) -> Image.Image:
    """The QR code as a one-pixel-per-module greyscale image (the page around it is the quiet zone)."""
    # A fixed mask pattern: any of the eight is a valid code, and scoring all eight is most of segno's time.
    matrix = segno.make(data, error="m", mask=0, micro=False, boost_error=False, mode="byte").matrix
    size = len(matrix)
    image = Image.new("L", (size, size))
    image.putdata([0 if dark else 255 for row in matrix for dark in row])
    return image


def _draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """One small image XObject, scaled up without smoothing: cheaper than drawing hundreds of modules."""
    canvas.drawImage(ImageReader(qr_image(data)), x, y, size, size)


def build_certificate_pdf(snapshot: dict[str, Any], verify_url: str, *, superseded_note: str | None = None) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), pageCompression=0, invariant=1)
    canvas.setTitle(f"{snapshot['heading']}: {snapshot['activity_title']}")
    canvas.setAuthor(snapshot["provider"])
    # Border
    canvas.setStrokeColor(BRAND)
    canvas.setLineWidth(3)
    canvas.rect(MARGIN, MARGIN, PAGE_WIDTH - 2 * MARGIN, PAGE_HEIGHT - 2 * MARGIN)
    canvas.setLineWidth(0.75)
    canvas.rect(MARGIN + 6, MARGIN + 6, PAGE_WIDTH - 2 * MARGIN - 12, PAGE_HEIGHT - 2 * MARGIN - 12)
    center = PAGE_WIDTH / 2
    y = PAGE_HEIGHT - MARGIN - 46
    # (text, font, size, colour, space below)
    for text, font, size, colour, gap in (
        (snapshot["provider"].upper(), "Helvetica-Bold", 13, BRAND, 36),
        (snapshot["heading"], "Helvetica-Bold", 26, INK, 26),
        ("This certifies that", "Helvetica", 12, MUTED, 30),
        (snapshot["learner"], "Helvetica-Bold", 22, INK, 24),
        (snapshot["participation_line"], "Helvetica", 12, MUTED, 26),
    ):
        canvas.setFont(font, size)
        canvas.setFillColor(colour)
        canvas.drawCentredString(center, y, text)
        y -= gap
    canvas.setFillColor(INK)
    for line in _wrapped(snapshot["activity_title"], "Helvetica-Bold", 16, WRAP_WIDTH)[:2]:
        canvas.setFont("Helvetica-Bold", 16)
        canvas.drawCentredString(center, y, line)
        y -= 20
    canvas.setFont("Helvetica", 11)
    canvas.drawCentredString(center, y, f"{snapshot['format']} · {snapshot['dates']} · {snapshot['location']}")
    y -= 28
    for credit in snapshot["credits"]:
        canvas.setFont("Helvetica-Bold", 12)
        canvas.setFillColor(BRAND)
        canvas.drawCentredString(center, y, credit["line"])
        y -= 15
        canvas.setFont("Helvetica", 9)
        canvas.setFillColor(INK)
        for line in _wrapped(credit["statement"], "Helvetica", 9, WRAP_WIDTH):
            canvas.drawCentredString(center, y, line)
            y -= 11
        y -= 6
    canvas.setFont("Helvetica", 8.5)
    canvas.setFillColor(MUTED)
    for paragraph in (snapshot["accreditation_statement"], *snapshot.get("commercial_support", ())):
        for line in _wrapped(paragraph, "Helvetica", 8.5, WRAP_WIDTH - QR_SIZE - 40):
            canvas.drawString(MARGIN + 24, max(y, MARGIN + 70), line)
            y -= 10
        y -= 3
    # Footer: issue date and verification, with the QR code.
    canvas.setFillColor(INK)
    canvas.setFont("Helvetica", 9)
    canvas.drawString(MARGIN + 24, MARGIN + 42, f"Issued {snapshot['issued']} by {snapshot['provider']}")
    canvas.drawString(MARGIN + 24, MARGIN + 28, f"Verification code {snapshot['code']} · {verify_url}")
    canvas.setFillColor(HexColor("#000000"))
    _draw_qr(canvas, verify_url, PAGE_WIDTH - MARGIN - 24 - QR_SIZE, MARGIN + 20, QR_SIZE)
    if superseded_note:
        canvas.setFillColor(HexColor("#b42318"))
        canvas.setFont("Helvetica-Bold", 12)
        canvas.drawCentredString(PAGE_WIDTH / 2, MARGIN + 14, superseded_note)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
