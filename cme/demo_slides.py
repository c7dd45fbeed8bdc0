"""Slide decks for the demo, drawn with ReportLab when the demo is seeded (the repository keeps no binaries): a
16:9 title slide naming the talk, its speaker and the meeting, then one slide per heading with its points. A pure
function of plain text to PDF bytes, like the app's other PDF builders."""
from __future__ import annotations

import io
from typing import Iterable

from reportlab.lib.colors import HexColor
from reportlab.pdfgen.canvas import Canvas

from cme.pdffonts import SANS, SANS_BOLD, wrap

WIDTH, HEIGHT = 960, 540  # points: a 16:9 slide
MARGIN = 64
BRAND = HexColor("#0b5c70")
INK = HexColor("#1d2a35")
MUTED = HexColor("#52606d")
PALE = HexColor("#e8f4f7")


def build_slide_deck(title: str, speaker: str, meeting: str, slides: Iterable[dict], *, provider: str) -> bytes:
    """A PDF of the talk: the title slide, then each of `slides` ({"heading": ..., "points": [...]})."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(WIDTH, HEIGHT), pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor(speaker)
    canvas.setSubject(meeting)
    _title_slide(canvas, title, speaker, meeting, provider)
    for number, slide in enumerate(slides, start=2):
        _content_slide(canvas, slide["heading"], slide.get("points", []), number, meeting)
    canvas.save()
    return buffer.getvalue()


def _lines(canvas: Canvas, x: float, y: float, text: str, size: float, limit: float, *, bold: bool = False,
           color=INK, leading: float = 1.25) -> float:
    canvas.setFillColor(color)
    for line in wrap(text, size, limit, bold=bold):
        canvas.setFont(SANS_BOLD if bold else SANS, size)
        canvas.drawString(x, y, line)
        y -= size * leading
    return y


def _title_slide(canvas: Canvas, title: str, speaker: str, meeting: str, provider: str) -> None:
    canvas.setFillColor(BRAND)
    canvas.rect(0, 0, WIDTH, HEIGHT, stroke=0, fill=1)
    canvas.setFillColor(PALE)
    canvas.rect(MARGIN, HEIGHT - 150, 80, 8, stroke=0, fill=1)
    y = _lines(canvas, MARGIN, HEIGHT - 200, title, 40, WIDTH - 2 * MARGIN, bold=True, color=HexColor("#ffffff"))
    y = _lines(canvas, MARGIN, y - 24, speaker, 24, WIDTH - 2 * MARGIN, color=PALE)
    _lines(canvas, MARGIN, y - 8, meeting, 18, WIDTH - 2 * MARGIN, color=PALE)
    canvas.setFont(SANS, 14)
    canvas.setFillColor(PALE)
    canvas.drawString(MARGIN, 40, provider)
    canvas.showPage()


def _content_slide(canvas: Canvas, heading: str, points: list[str], number: int, meeting: str) -> None:
    canvas.setFillColor(BRAND)
    canvas.rect(0, HEIGHT - 12, WIDTH, 12, stroke=0, fill=1)
    y = _lines(canvas, MARGIN, HEIGHT - 90, heading, 32, WIDTH - 2 * MARGIN, bold=True, color=BRAND)
    y -= 20
    for point in points:
        canvas.setFillColor(BRAND)
        canvas.circle(MARGIN + 6, y + 8, 5, stroke=0, fill=1)
        y = _lines(canvas, MARGIN + 28, y, point, 24, WIDTH - 2 * MARGIN - 28) - 14
    canvas.setFont(SANS, 12)
    canvas.setFillColor(MUTED)
    canvas.drawString(MARGIN, 28, meeting)
    canvas.drawRightString(WIDTH - MARGIN, 28, str(number))
    canvas.showPage()
