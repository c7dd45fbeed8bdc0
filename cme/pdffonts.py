"""Fonts for the PDFs (certificates, transcripts): every learner's name prints, whatever its script.

Fira Sans (TrueType, from the `fontpkg-fira-sans` package, embedded as a subset) covers Latin with its extensions,
Greek and Cyrillic; Chinese, Japanese and Korean characters, which it lacks, fall back to ReportLab's CID fonts
(STSong-Light, HeiseiMin-W3, HYSMyeongJo-Medium: standard Asian fonts a PDF reader supplies). The choice is made per
character run of a string: `runs()` splits a string into (text, font) pieces.

`fit()` shrinks a string to a minimum size and then wraps it, and ends what still does not fit with an ellipsis,
so nothing runs off the page or is cut silently. Importing the module registers the fonts with ReportLab (its
font registry is process-wide; registering again is harmless).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

SANS = "CMESans"
SANS_BOLD = "CMESans-Bold"
# A Han-only string is read as Chinese; kana make it Japanese, hangul Korean.
CJK_FONTS = {"zh": "STSong-Light", "ja": "HeiseiMin-W3", "ko": "HYSMyeongJo-Medium"}
ELLIPSIS = "…"

_FIRA = files("fontpkg_fira_sans") / "files"


def _subsets_cached(font: TTFont) -> TTFont:
    """The font with its embedded subsets memoised by glyph list. ReportLab rebuilds the subset (a TrueType file
    of the glyphs a document uses, most of a certificate's time) for every document, but its printable ASCII is
    always in it, so documents of Latin text ask for the same few subsets again and again. A subset is a pure
    function of the font file and the glyph list, and the bytes are immutable."""
    make_subset = font.face.makeSubset
    cached = lru_cache(maxsize=64)(lambda glyphs: make_subset(list(glyphs)))
    font.face.makeSubset = lambda subset: cached(tuple(subset))
    return font


def _register() -> None:
    if SANS in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(_subsets_cached(TTFont(SANS, str(_FIRA / "FiraSans-Regular.ttf"))))
    pdfmetrics.registerFont(_subsets_cached(TTFont(SANS_BOLD, str(_FIRA / "FiraSans-Bold.ttf"))))
    # Paragraph's <b> and <i> find the faces through the family mapping.
    for bold, italic, name in ((0, 0, SANS), (1, 0, SANS_BOLD), (0, 1, SANS), (1, 1, SANS_BOLD)):
        addMapping(SANS, bold, italic, name)
    for name in CJK_FONTS.values():
        pdfmetrics.registerFont(UnicodeCIDFont(name))
        for bold, italic in ((0, 0), (1, 0), (0, 1), (1, 1)):  # no bold faces: <b> keeps the same one
            addMapping(name, bold, italic, name)


_register()


@lru_cache(maxsize=4)
def _covered(font: str) -> frozenset[int]:
    return frozenset(pdfmetrics.getFont(font).face.charToGlyph)


def _is_cjk(ch: str) -> bool:
    name = unicodedata.name(ch, "")
    return name.startswith(("CJK ", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC", "FULLWIDTH", "HALFWIDTH"))


def cjk_font(text: str) -> str:
    """The CID font for the string's CJK characters: Korean when it has hangul, Japanese when it has kana."""
    names = [unicodedata.name(ch, "") for ch in text]
    if any(n.startswith("HANGUL") for n in names):
        return CJK_FONTS["ko"]
    if any(n.startswith(("HIRAGANA", "KATAKANA")) for n in names):
        return CJK_FONTS["ja"]
    return CJK_FONTS["zh"]


def runs(text: str, *, bold: bool = False) -> tuple[tuple[str, str], ...]:
    """((piece, font), ...): the main face wherever it has the glyph, a CJK font for CJK characters it lacks.
    (A character neither has stays in the main face.)"""
    return _runs(text, bold)


@lru_cache(maxsize=4096)
def _runs(text: str, bold: bool) -> tuple[tuple[str, str], ...]:
    main = SANS_BOLD if bold else SANS
    covered = _covered(main)
    if covered.issuperset(map(ord, text)):
        return ((text, main),)
    fallback = None
    pieces: list[tuple[str, str]] = []
    for ch in text:
        font = main
        if ord(ch) not in covered and _is_cjk(ch):
            fallback = fallback or cjk_font(text)
            font = fallback
        if pieces and pieces[-1][1] == font:
            pieces[-1] = (pieces[-1][0] + ch, font)
        else:
            pieces.append((ch, font))
    return tuple(pieces)


def missing_glyphs(text: str, *, bold: bool = False) -> set[str]:
    """Characters the string's fonts cannot print (none for Latin, Greek, Cyrillic and CJK)."""
    covered = _covered(SANS_BOLD if bold else SANS)
    return {ch for ch in text if not ch.isspace() and ord(ch) not in covered and not _is_cjk(ch)}


def width(text: str, size: float, *, bold: bool = False) -> float:
    return size * _unit_width(text, bold)


@lru_cache(maxsize=8192)
def _unit_width(text: str, bold: bool) -> float:
    """The string's width at one point (widths scale with the size)."""
    return sum(pdfmetrics.stringWidth(piece, font, 1) for piece, font in _runs(text, bold))


def markup(text: str) -> str:
    """The string escaped for a ReportLab Paragraph, its CJK runs in their CID font."""
    out = []
    for piece, font in runs(text):
        escaped = piece.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        out.append(escaped if font in (SANS, SANS_BOLD) else f'<font name="{font}">{escaped}</font>')
    return "".join(out)


def _tokens(text: str) -> list[str]:
    """Words, and CJK characters one by one (CJK text breaks between any two characters)."""
    tokens: list[str] = []
    for word in text.split():
        current = ""
        for ch in word:
            if _is_cjk(ch):
                if current:
                    tokens.append(current)
                tokens.append(ch)
                current = ""
            else:
                current += ch
        if current:
            tokens.append(current)
        tokens.append(" ")
    return tokens[:-1]


def _break_long(token: str, size: float, bold: bool, limit: float) -> list[str]:
    """A word wider than the line, broken between characters."""
    parts, part = [], ""
    for ch in token:
        if part and width(part + ch, size, bold=bold) > limit:
            parts.append(part)
            part = ch
        else:
            part += ch
    return parts + [part] if part else parts


def wrap(text: str, size: float, limit: float, *, bold: bool = False) -> list[str]:
    """Greedy wrap by the fonts' metrics; a word longer than a line is broken."""
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        if token == " ":
            line += " " if line else ""
            continue
        pieces = [token] if width(token, size, bold=bold) <= limit else _break_long(token, size, bold, limit)
        for piece in pieces:
            if not line.strip() or width(line + piece, size, bold=bold) <= limit:
                line += piece
            else:
                lines.append(line.rstrip())
                line = piece
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _ellipsize(line: str, size: float, limit: float, bold: bool) -> str:
    while line and width(line.rstrip() + ELLIPSIS, size, bold=bold) > limit:
        line = line[:-1]
    return line.rstrip() + ELLIPSIS


@dataclass(frozen=True)
class Fitted:
    lines: tuple[str, ...]
    size: float


def fit(text: str, *, size: float, min_size: float, limit: float, max_lines: int, bold: bool = False,
        shrink_first: bool = True) -> Fitted:
    """The string at the largest size from `size` down to `min_size` (half-point steps) that fits: on one line
    first when `shrink_first` (names), else wrapped at each size (titles); what still does not fit in
    `max_lines` at `min_size` ends with an ellipsis."""
    sizes = [size - 0.5 * i for i in range(int((size - min_size) / 0.5) + 1)]
    if shrink_first:
        for candidate in sizes:
            if width(text, candidate, bold=bold) <= limit:
                return Fitted((text,), candidate)
    for candidate in sizes:
        lines = wrap(text, candidate, limit, bold=bold)
        if len(lines) <= max_lines:
            return Fitted(tuple(lines), candidate)
    lines = wrap(text, min_size, limit, bold=bold)
    kept = lines[:max_lines]
    kept[-1] = _ellipsize(kept[-1], min_size, limit, bold)
    return Fitted(tuple(kept), min_size)


def draw(canvas, x: float, y: float, text: str, size: float, *, bold: bool = False, align: str = "left") -> None:
    """Draw a string at (x, y), left-aligned or centred on x, each run in its font."""
    if align == "center":
        x -= width(text, size, bold=bold) / 2
    for piece, font in runs(text, bold=bold):
        canvas.setFont(font, size)
        canvas.drawString(x, y, piece)
        x += pdfmetrics.stringWidth(piece, font, size)
