"""Certificate and transcript PDFs print every name (issue 12, point 8): Latin with its extensions, Greek,
Cyrillic and CJK names, a 120-character name and a 300-character title, read back with their positions
(pdfplumber): every string is there whole, in a font that has its glyphs, inside the page, and no two words
overlap (on the transcript, "On-demand webcast" never prints over the amount)."""
from __future__ import annotations

import io
import re
from datetime import datetime, timezone
from decimal import Decimal
from itertools import combinations

import pdfplumber
import pytest

from cme.certificates.render import QR_SIZE, QR_X, QR_Y, build_certificate_pdf
from cme.credit.transcript import COLUMNS, Transcript, TranscriptLine, TranscriptYear, build_transcript_pdf
from cme.pdffonts import ELLIPSIS, fit, missing_glyphs

LONG_NAME = ("Maximiliana Konstantina Theodora Wilhelmina Bartholomäa Ida von Hohenzollern-Sigmaringen-Württemberg "
             "und Łódź-Żółkiewska")
TITLE_WORDS = ("Hepatitis C elimination in primary care, community clinics and correctional facilities: screening, "
               "linkage to care, pangenotypic regimens, reinfection prevention and the")
TITLE = (TITLE_WORDS + " ") * 2
TITLE = TITLE[:299].rstrip() + "s" * (300 - len(TITLE[:299].rstrip()))
NAMES = ["Łukasz Żółć", "Ελένη Παπαδοπούλου", "Юлия Смирнова", "張偉", LONG_NAME]
VERIFY = "https://cme.example.org/verify/ABCDEFGHJKLMNPQRSTUV"


def test_the_long_strings_are_as_long_as_the_issue_says():
    assert len(LONG_NAME) == 120 and len(TITLE) == 300


def snapshot(learner: str, title: str) -> dict:
    return {
        "kind": "credit", "heading": "Certificate of Credit", "provider": "The Liver Education Foundation",
        "learner": learner, "participation_line": "participated in the educational activity",
        "activity_title": title, "format": "On-demand webcast", "dates": "Oct 16, 2026 to Oct 16, 2027",
        "location": "Internet",
        "credits": [{"line": "2.75 AMA PRA Category 1 Credit(s)™ claimed",
                     "statement": "The Liver Education Foundation designates this enduring material for a maximum "
                                  "of 3 AMA PRA Category 1 Credit(s)™. Physicians should claim only the credit "
                                  "commensurate with the extent of their participation in the activity."},
                    {"line": "2.75 ABIM MOC points claimed",
                     "statement": "Successful completion of this CME activity enables the participant to earn up to "
                                  "3 MOC points in the American Board of Internal Medicine's (ABIM) Maintenance of "
                                  "Certification (MOC) program."}],
        "accreditation_statement": "The Liver Education Foundation is accredited by the Accreditation Council for "
                                   "Continuing Medical Education (ACCME) to provide continuing medical education for "
                                   "physicians.",
        "issued": "November 24, 2026", "code": "ABCDEFGHJKLMNPQRSTUV",
    }


def flat(text: str) -> str:
    """Whitespace collapsed, and a line broken after a hyphen joined again."""
    return re.sub(r"-\s+", "-", " ".join(text.split()))


def words(page) -> list[dict]:
    return page.extract_words(keep_blank_chars=False, use_text_flow=True, x_tolerance=1.5)


def assert_inside_and_apart(page, *, margin: float) -> None:
    boxes = words(page)
    assert boxes
    for w in boxes:
        assert margin <= w["x0"] < w["x1"] <= page.width - margin, w["text"]
        assert margin <= w["top"] < w["bottom"] <= page.height - margin, w["text"]
    slack = 0.3  # glyph boxes of adjacent lines may touch
    for a, b in combinations(boxes, 2):
        apart = (a["x1"] - slack <= b["x0"] or b["x1"] - slack <= a["x0"]
                 or a["bottom"] - slack <= b["top"] or b["bottom"] - slack <= a["top"])
        assert apart, (a["text"], b["text"])


def assert_fonts(page, text: str) -> None:
    """Latin, Greek and Cyrillic letters come from the embedded Unicode face; CJK from a CJK font."""
    wanted = set(text) - {" "}
    for char in page.chars:
        if char["text"] in wanted:
            cjk = "\u3000" <= char["text"] <= "\u9fff"
            assert ("STSong" in char["fontname"]) if cjk else char["fontname"].split("+")[-1].startswith("FiraSans"), \
                (char["text"], char["fontname"])


@pytest.mark.parametrize("name", NAMES)
def test_a_certificate_prints_the_name_and_the_title_whole_inside_the_page_without_overlaps(name):
    assert missing_glyphs(name, bold=True) == set() and missing_glyphs(TITLE, bold=True) == set()
    pdf = build_certificate_pdf(snapshot(f"{name}, MD", TITLE), VERIFY)
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        page = document.pages[0]
        text = flat(page.extract_text())
        assert f"{name}, MD" in text
        assert flat(TITLE) in text and ELLIPSIS not in text
        assert "Verification code ABCDEFGHJKLMNPQRSTUV" in text
        assert_fonts(page, name)
        assert_inside_and_apart(page, margin=36 + 6)


@pytest.mark.parametrize("name", NAMES)
def test_a_transcript_prints_every_name_and_title_whole_and_its_columns_never_overlap(name):
    lines = [TranscriptLine("Oct 16, 2026", title, "On-demand webcast", "AMA PRA Category 1 Credit™", Decimal("12.25"),
                            "ABCDEFGHJKLMNPQRSTUV") for title in (TITLE, f"Grand rounds with {name}")]
    transcript = Transcript(name, "1234567893", "The Liver Education Foundation",
                            datetime(2026, 11, 24, tzinfo=timezone.utc), [TranscriptYear(2026, lines)])
    with pdfplumber.open(io.BytesIO(build_transcript_pdf(transcript))) as document:
        assert len(document.pages) == 1
        page = document.pages[0]
        assert name in flat(page.extract_text())
        assert_fonts(page, name)
        assert_inside_and_apart(page, margin=40)
        # Each cell's text, read from its own column, is whole.
        edges = [48 + sum(COLUMNS[:i]) for i in range(len(COLUMNS) + 1)]
        table_top = next(w["top"] for w in words(page) if w["text"] == "Date") - 1
        column = {label: flat(page.crop((edges[i], table_top, edges[i + 1], page.height)).extract_text())
                  for i, label in enumerate(("date", "activity", "type", "format", "amount", "code"))}
        assert flat(TITLE) in column["activity"] and f"Grand rounds with {name}" in column["activity"]
        assert column["format"].count("On-demand webcast") == 2
        assert column["amount"].split() == ["Amount", "12.25", "12.25"]
        assert column["code"].count("ABCDEFGHJKLMNPQRSTUV") == 2


def test_a_name_shrinks_first_then_wraps_and_what_cannot_fit_ends_with_an_ellipsis():
    assert fit("Ada Lovelace", size=22, min_size=14, limit=600, max_lines=2, bold=True).lines == ("Ada Lovelace",)
    shrunk = fit("A" * 50, size=22, min_size=14, limit=600, max_lines=2, bold=True)
    assert len(shrunk.lines) == 1 and 14 <= shrunk.size < 22
    wrapped = fit(LONG_NAME, size=22, min_size=14, limit=600, max_lines=2, bold=True)
    assert len(wrapped.lines) == 2 and " ".join(wrapped.lines) == LONG_NAME
    cut = fit(TITLE, size=16, min_size=11, limit=300, max_lines=2, bold=True)
    assert len(cut.lines) == 2 and cut.lines[-1].endswith(ELLIPSIS)
    assert cut.size == 11


def test_every_name_in_the_demo_scripts_has_its_glyphs():
    for name in NAMES:
        assert missing_glyphs(name) == set() and missing_glyphs(name, bold=True) == set()
    assert missing_glyphs("مريم") == {"م", "ر", "ي"}  # scripts beyond the brief are reported, not hidden


def test_a_long_provider_name_stays_clear_of_the_qr_code_and_inside_the_border():
    data = snapshot("Юлия Смирнова", "Grand rounds")
    data["provider"] = "The Very Long Named Regional Consortium for Continuing Interprofessional Education " * 3
    with pdfplumber.open(io.BytesIO(build_certificate_pdf(data, VERIFY))) as document:
        page = document.pages[0]
        assert_inside_and_apart(page, margin=36 + 6)
        qr_left, qr_top = QR_X, page.height - (QR_Y + QR_SIZE)
        beside_qr = [w for w in words(page) if w["bottom"] > qr_top]
        assert beside_qr and all(w["x1"] <= qr_left for w in beside_qr)
        assert ELLIPSIS in flat(page.extract_text())  # the footer's "Issued ... by ..." line, cut visibly
