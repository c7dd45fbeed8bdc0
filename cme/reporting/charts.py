"""Charts as server-rendered SVG (issue 16, point 6): pure functions from plain data to markup, no script.

Every label is someone's text (a session title, a question's prompt or choices), so the SVG is built with
`xml.etree` (which escapes text and attributes) and never by pasting strings. Each chart is readable without
colour, with its value printed beside each bar or at each end of a line, and names itself to assistive technology:
`role="img"`, a `<title>` and a `<desc>` that `aria-labelledby` points at. The page puts a real data table beside
each chart; the `data-value` of each bar or point is what the table shows, so tests can hold the two together.

The drawing scales with its box (a `viewBox`, no fixed size): the sizes below are in the viewBox's units, chosen so
a chart on a phone (390 px: about 310 px for the chart) prints its labels at about 13 px, and one at its widest
on a desktop (26rem, app.css) at about 17 px."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from xml.etree.ElementTree import Element, SubElement, tostring

from markupsafe import Markup

WIDTH = 360
FONT = 15
LINE = 19  # a label's line height
CHAR = 7.6  # the average width of a character at FONT (for wrapping)
BOLD_CHAR = 9.2  # the widest a bold value label's character gets (digits, "%"), for the room kept at the bars' end
BAR = 22
GAP = 14
EMPTY = "No data yet."

# Characters XML 1.0 cannot carry (control characters other than tab and newline): dropped from labels.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value (the length drawn) and what is printed beside it."""

    label: str
    value: int | Decimal
    value_label: str


def _clean(text: str) -> str:
    return _NOT_XML.sub("", str(text))


def _number(value: int | float | Decimal) -> str:
    """An SVG coordinate: short, no exponent."""
    return f"{float(value):.1f}".removesuffix(".0")


def _wrap(text: str, width: int, lines: int = 2) -> list[str]:
    """`text` in lines of at most `width` characters (words kept whole where they fit), at most `lines` of them,
    the last one ending with an ellipsis when text was left out."""
    words, result, current = _clean(text).split(), [], ""
    for word in words:
        while len(word) > width:  # a word longer than a line is cut
            if current:
                result.append(current)
                current = ""
            result.append(word[:width])
            word = word[width:]
        if current and len(current) + 1 + len(word) > width:
            result.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        result.append(current)
    if len(result) > lines:
        result = result[:lines]
        result[-1] = result[-1][:width - 1].rstrip() + "…"
    return result or [""]


def _svg(chart_id: str, title: str, desc: str, height: float, css_class: str) -> Element:
    svg = Element("svg", {
        "xmlns": "http://www.w3.org/2000/svg", "viewBox": f"0 0 {WIDTH} {_number(height)}", "role": "img",
        "aria-labelledby": f"{chart_id}-title {chart_id}-desc", "class": f"chart {css_class}", "id": chart_id,
        "font-size": str(FONT)})
    SubElement(svg, "title", {"id": f"{chart_id}-title"}).text = _clean(title)
    SubElement(svg, "desc", {"id": f"{chart_id}-desc"}).text = _clean(desc)
    return svg


def _markup(svg: Element) -> Markup:
    return Markup(tostring(svg, encoding="unicode"))


def empty(message: str = EMPTY) -> Markup:
    return Markup('<p class="chart-empty">{}</p>').format(message)


def bar_chart(chart_id: str, *, title: str, desc: str, bars: Sequence[Bar], empty_message: str = EMPTY) -> Markup:
    """Horizontal bars, one under the other: each label on its own line(s) above its bar (so long titles fit a
    phone), the value printed at the bar's end. Lengths are proportional to the largest value; a zero is a hairline.
    No bars: the `empty_message` paragraph instead of a chart."""
    if not bars:
        return empty(empty_message)
    value_room = max(len(bar.value_label) for bar in bars) * BOLD_CHAR + 8
    longest = max((bar.value for bar in bars), default=0) or 1
    chars = int((WIDTH - 4) / CHAR)
    heights = [len(_wrap(bar.label, chars)) * LINE + BAR + GAP for bar in bars]
    svg = _svg(chart_id, title, desc, sum(heights) + 4, "chart-bars")
    y = 4.0
    for index, (bar, height) in enumerate(zip(bars, heights)):
        group = SubElement(svg, "g", {"class": "chart-item"})
        SubElement(group, "title").text = f"{_clean(bar.label)}: {bar.value_label}"
        lines = _wrap(bar.label, chars)
        label = SubElement(group, "text", {"class": "chart-label", "x": "0", "y": _number(y + FONT)})
        for n, line in enumerate(lines):
            SubElement(label, "tspan", {"x": "0", "dy": "0" if n == 0 else str(LINE)}).text = line
        top = y + len(lines) * LINE + 2
        length = (WIDTH - value_room) * float(bar.value) / float(longest)
        SubElement(group, "rect", {
            "class": "chart-bar", "x": "0", "y": _number(top), "width": _number(max(length, 1.5)),
            "height": str(BAR), "data-value": str(bar.value), "data-index": str(index)})
        SubElement(group, "text", {"class": "chart-value", "x": _number(max(length, 1.5) + 6),
                                   "y": _number(top + BAR / 2 + FONT * 0.35)}).text = bar.value_label
        y += height
    return _markup(svg)


def line_chart(chart_id: str, *, title: str, desc: str, points: Sequence[tuple[str, int]],
               empty_message: str = EMPTY) -> Markup:
    """A rising line through (label, value) points evenly spaced left to right (days, in order), a marker at
    each point, the values printed at both ends and at the highest gridline, the first and last labels under the
    axis. No points: the `empty_message` paragraph instead."""
    if not points:
        return empty(empty_message)
    left, right, top, bottom, height = 40.0, 16.0, 24.0, 40.0, 220.0
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    highest = max(value for _, value in points) or 1
    svg = _svg(chart_id, title, desc, height, "chart-line")
    for fraction in (0, 0.5, 1):  # gridlines, labelled on the left
        y = top + plot_h * (1 - fraction)
        SubElement(svg, "line", {"class": "chart-grid" if fraction else "chart-axis", "x1": _number(left),
                                 "x2": _number(WIDTH - right), "y1": _number(y), "y2": _number(y)})
        value = highest * fraction
        text = f"{value:g}" if value == int(value) else f"{value:.1f}"
        SubElement(svg, "text", {"class": "chart-tick", "x": _number(left - 6), "y": _number(y + FONT * 0.35),
                                 "text-anchor": "end"}).text = text

    def x_of(index: int) -> float:
        return left + plot_w / 2 if len(points) == 1 else left + plot_w * index / (len(points) - 1)

    def y_of(value: int) -> float:
        return top + plot_h * (1 - value / highest)

    coordinates = [(x_of(i), y_of(value)) for i, (_, value) in enumerate(points)]
    SubElement(svg, "polyline", {"class": "chart-path", "fill": "none",
                                 "points": " ".join(f"{_number(x)},{_number(y)}" for x, y in coordinates)})
    for (label, value), (x, y) in zip(points, coordinates):
        marker = SubElement(svg, "circle", {"class": "chart-point", "cx": _number(x), "cy": _number(y), "r": "3.5",
                                            "data-value": str(value), "data-label": _clean(label)})
        SubElement(marker, "title").text = f"{_clean(label)}: {value}"
    ends = [(0, "start")] if len(points) == 1 else [(0, "start"), (len(points) - 1, "end")]
    for index, anchor in ends:
        x, y = coordinates[index]
        SubElement(svg, "text", {"class": "chart-value", "x": _number(x), "y": _number(max(y - 8, FONT)),
                                 "text-anchor": "middle" if len(points) == 1 else anchor}).text = str(points[index][1])
        SubElement(svg, "text", {"class": "chart-tick", "x": _number(x), "y": _number(height - bottom + FONT + 8),
                                 "text-anchor": "middle" if len(points) == 1 else anchor}).text = _clean(points[index][0])
    return _markup(svg)


def percent(part: int, whole: int) -> str:
    """`part` of `whole` as a whole percentage for people to read ("0%" of nothing)."""
    return f"{round(100 * part / whole) if whole else 0}%"

