"""Certificate PDFs (ReportLab, US Letter landscape) with a QR code (segno) to the verification page.

`build_certificate_pdf` is pure: a snapshot dict and a URL in, bytes out. The QR code is one small image
(a pixel per module; the PDF scales it), not hundreds of drawn modules, encoded by cme.certificates.qr.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import landscape, letter
from reportlab.pdfgen.canvas import Canvas

from cme.certificates.qr import qr_bitmap
from cme.pdffonts import draw, fit, wrap

PAGE_WIDTH, PAGE_HEIGHT = landscape(letter)
BRAND = HexColor("#0b5c70")
INK = HexColor("#1d2a35")
MUTED = HexColor("#52606d")
MARGIN = 36
QR_SIZE = 86
WRAP_WIDTH = PAGE_WIDTH - 2 * MARGIN - 60
TOP = PAGE_HEIGHT - MARGIN - 46
QR_X = PAGE_WIDTH - MARGIN - 24 - QR_SIZE
QR_Y = MARGIN + 20
FOOTER_X = MARGIN + 24
FOOTER_WIDTH = QR_X - 16 - FOOTER_X
STATEMENT_BOTTOM = MARGIN + 58  # the accreditation statement's last line, above "Issued" and the code


@dataclass(frozen=True)
class Block:
    """Centred lines in one face and colour; `after` is the distance from its last baseline to the next block's
    first."""
    lines: tuple[str, ...]
    size: float
    bold: bool
    colour: Color
    leading: float
    after: float

    @property
    def height(self) -> float:
        return self.leading * (len(self.lines) - 1) + self.after


@lru_cache(maxsize=512)
def _wrapped(text: str, size: float, limit: float) -> tuple[str, ...]:
    """Statements repeat on every certificate: their wrapping is cached (a pure function of its arguments)."""
    return tuple(wrap(text, size, limit))


def _body(snapshot: dict[str, Any], scale: float) -> list[Block]:
    """The centred blocks, from the provider down to the credit statements, at a scale (1 unless they do not fit).
    Names and titles shrink to a minimum size, then wrap, then end with an ellipsis (cme.pdffonts.fit)."""
    def fitted(text: str, size: float, min_size: float, *, bold: bool, colour: Color, after: float,
               max_lines: int, leading: float = 1.2, shrink_first: bool = True) -> Block:
        result = fit(text, size=size * scale, min_size=min(min_size, size * scale), limit=WRAP_WIDTH,
                     max_lines=max_lines, bold=bold, shrink_first=shrink_first)
        return Block(result.lines, result.size, bold, colour, result.size * leading, after * scale)

    blocks = [
        fitted(snapshot["provider"].upper(), 13, 9, bold=True, colour=BRAND, after=36, max_lines=2),
        fitted(snapshot["heading"], 26, 18, bold=True, colour=INK, after=26, max_lines=1),
        fitted("This certifies that", 12, 12, bold=False, colour=MUTED, after=30, max_lines=1),
        fitted(snapshot["learner"], 22, 14, bold=True, colour=INK, after=24, max_lines=2, leading=1.15),
        fitted(snapshot["participation_line"], 12, 10, bold=False, colour=MUTED, after=26, max_lines=2),
        fitted(snapshot["activity_title"], 16, 11, bold=True, colour=INK, after=20, max_lines=4, leading=1.25,
               shrink_first=False),
        fitted(f"{snapshot['format']} · {snapshot['dates']} · {snapshot['location']}", 11, 8, bold=False,
               colour=INK, after=28, max_lines=2),
    ]
    for credit in snapshot["credits"]:
        blocks.append(fitted(credit["line"], 12, 9, bold=True, colour=BRAND, after=15, max_lines=2))
        size = 9 * scale
        blocks.append(Block(_wrapped(credit["statement"], size, WRAP_WIDTH), size, False, INK, size * 1.22,
                            17 * scale))
    return blocks


def _layout(snapshot: dict[str, Any], bottom: float) -> list[Block]:
    """The body at the largest scale whose last line stays above `bottom` (the footer and the QR code)."""
    for scale in (1, 0.94, 0.88, 0.82, 0.76, 0.7, 0.64, 0.58):
        blocks = _body(snapshot, scale)
        last = blocks[-1]
        lowest = TOP - sum(b.height for b in blocks) + last.after - 0.3 * last.size
        if lowest >= bottom:
            break
    return blocks


def _draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """An inline 1-bit image, a pixel per module, scaled up without smoothing (the page around it is the quiet
    zone): ~350 bytes in the page, none of an image XObject's conversion and compression. In hex, the data can
    never contain the `EI` that ends it."""
    code = qr_bitmap(data)
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(size, size)
    canvas.addLiteral(f"BI /W {code.size} /H {code.size} /BPC 1 /CS /G /F /AHx ID {code.rows.hex()}> EI")
    canvas.restoreState()


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
    # Footer, bottom up: the accreditation statement left of the QR code, above the issue date and the code.
    statement = [line for paragraph in (snapshot["accreditation_statement"], *snapshot.get("commercial_support", ()))
                 for line in _wrapped(paragraph, 8.5, FOOTER_WIDTH)]
    canvas.setFillColor(MUTED)
    for i, line in enumerate(statement):
        draw(canvas, FOOTER_X, STATEMENT_BOTTOM + 10 * (len(statement) - 1 - i), line, 8.5)
    statement_top = STATEMENT_BOTTOM + 10 * (len(statement) - 1) + 8.5
    canvas.setFillColor(INK)
    for y, text in ((MARGIN + 42, f"Issued {snapshot['issued']} by {snapshot['provider']}"),
                    (MARGIN + 28, f"Verification code {snapshot['code']} · {verify_url}")):
        line = fit(text, size=9, min_size=7, limit=FOOTER_WIDTH, max_lines=1)
        draw(canvas, FOOTER_X, y, line.lines[0], line.size)
    _draw_qr(canvas, verify_url, QR_X, QR_Y, QR_SIZE)
    # Body, centred, top down.
    center = PAGE_WIDTH / 2
    y = TOP
    for block in _layout(snapshot, max(QR_Y + QR_SIZE, statement_top) + 8):
        canvas.setFillColor(block.colour)
        for i, line in enumerate(block.lines):
            if i:
                y -= block.leading
            draw(canvas, center, y, line, block.size, bold=block.bold, align="center")
        y -= block.after
    if superseded_note:
        canvas.setFillColor(HexColor("#b42318"))
        draw(canvas, PAGE_WIDTH / 2, MARGIN + 14, superseded_note, 12, bold=True, align="center")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
