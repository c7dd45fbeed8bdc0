"""What the registration desk prints (issue 14, point 13): the sign-in sheet and the name badges, read back with a
PDF parser (pdfplumber, pypdf) and rendered with pdftoppm: their pages for nobody, one and many registrants, the
header on every page, last-name order, names in every script in a font that has them, long names kept inside their
badge, and the organizer's downloads (confirmed registrants only, never cached)."""
from __future__ import annotations

import io
import shutil
import subprocess
from datetime import timedelta

import pdfplumber
import pytest
from PIL import Image
from pypdf import PdfReader

from cme.registration.models import Registration
from cme.registration.printouts import (BADGE_HEIGHT, BADGE_WIDTH, Attendee, PrintedMeeting, _sheet_header, attendees,
                                        badge_origin, build_badges_pdf, build_sign_in_sheet_pdf, day_span,
                                        last_name_key)
from cme.timeutil import now_utc, utc_to_local
from tests.helpers import utc

MEETING = PrintedMeeting(provider="The Liver Education Foundation", title="Hepatitis C Elimination Summit",
                         dates="Tue Jun 2, 8:00 AM EDT – Wed Jun 3, 2026, 5:00 PM EDT", days="Jun 2 – 3, 2026",
                         venue="Hilton Midtown, 1335 Avenue of the Americas, New York, NY 10019", city="New York, NY")
LONG_NAME = ("Maximiliana Konstantina Theodora Wilhelmina Bartholomäa Ida von Hohenzollern-Sigmaringen-Württemberg "
             "und Łódź-Żółkiewska")
# Each name, and the font its letters print in: the embedded Fira Sans, or the CJK font of the name's language.
SCRIPTS = {Attendee("Łukasz Żółć", "DO", "Physician"): "FiraSans", Attendee("Ελένη Παπαδοπούλου", "RN", "Nurse"): "FiraSans",
           Attendee("Юлия Смирнова", "NP", "Nurse practitioner"): "FiraSans",
           Attendee("張偉", "PharmD", "Pharmacist"): "STSong", Attendee("山田 はなこ", "MD", "Physician"): "HeiseiMin",
           Attendee("김민준", "PA-C", "Physician assistant"): "HYSMyeongJo"}
PER_PAGE = _sheet_header(MEETING).rows_per_page


def people(n: int) -> list[Attendee]:
    return [Attendee(f"Person Number{i:03d}", "MD", "Physician") for i in range(n)]


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def page_texts(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [" ".join((page.extract_text() or "").split()) for page in document.pages]


# ---------------------------------------------------------------- sign-in sheet

@pytest.mark.parametrize("count, expected", [(0, 1), (1, 1), (PER_PAGE, 1), (PER_PAGE + 1, 2), (2 * PER_PAGE + 3, 3)])
def test_the_sign_in_sheet_has_a_page_for_nobody_and_as_many_as_its_rows_need(count, expected):
    assert PER_PAGE >= 15  # rows a pen can sign in: 30 points each
    assert pages(build_sign_in_sheet_pdf(MEETING, people(count))) == expected


def test_every_page_of_the_sign_in_sheet_repeats_the_header_and_says_which_page_it_is():
    texts = page_texts(build_sign_in_sheet_pdf(MEETING, people(2 * PER_PAGE + 3)))
    assert len(texts) == 3
    for number, text in enumerate(texts, start=1):
        for expected in ("THE LIVER EDUCATION FOUNDATION", "Sign-in sheet", "Hepatitis C Elimination Summit",
                         MEETING.dates, MEETING.venue, "# Name Degree Profession Signature",
                         f"{2 * PER_PAGE + 3} registrants", f"Page {number} of 3"):
            assert expected in text, (number, expected)
    # Each registrant once, numbered on: the last page holds the last three and blank rows for walk-ins.
    assert f"{PER_PAGE + 1} Person Number{PER_PAGE:03d} MD Physician" in texts[1]
    assert texts[2].count("Person Number") == 3


def test_the_sign_in_sheet_lists_the_confirmed_registrants_by_last_name():
    registrations = [Registration(full_name=name, degree="MD", profession="physician", status=status)
                     for name, status in (("Grace Hopper", "confirmed"), ("Ada Lovelace", "confirmed"),
                                          ("Alan Turing", "waitlisted"), ("Charles Babbage", "cancelled"),
                                          ("Barbara Liskov", "confirmed"), ("Edsger W. Dijkstra", "confirmed"))]
    listed = attendees(registrations)
    assert [a.name for a in listed] == ["Edsger W. Dijkstra", "Grace Hopper", "Barbara Liskov", "Ada Lovelace"]
    [text] = page_texts(build_sign_in_sheet_pdf(MEETING, listed))
    assert "1 Edsger W. Dijkstra MD Physician 2 Grace Hopper MD Physician 3 Barbara Liskov" in text
    assert "Turing" not in text and "Babbage" not in text and "4 registrants" in text


def test_last_names_sort_without_regard_to_accents_case_suffixes_or_a_comma():
    names = ["Zoë young", "José Ángel Núñez Jr.", "Hopper, Grace", "Ludwig van Beethoven", "Łukasz Łoś",
             "ada Lovelace", "Martin Luther King III", "Ørjan Olsen", "張偉"]
    assert sorted(names, key=last_name_key) == [
        "Ludwig van Beethoven", "Hopper, Grace", "Martin Luther King III", "Łukasz Łoś", "ada Lovelace",
        "José Ángel Núñez Jr.", "Ørjan Olsen", "Zoë young", "張偉"]


def test_day_spans_name_the_days_in_the_activitys_zone():
    assert day_span(utc("2026-06-02T12:00"), utc("2026-06-02T20:00"), "America/New_York") == "Tue Jun 2, 2026"
    assert day_span(utc("2026-06-02T12:00"), utc("2026-06-04T03:00"), "America/New_York") == "Jun 2 – 3, 2026"
    assert day_span(utc("2026-05-30T12:00"), utc("2026-06-02T20:00"), "UTC") == "May 30 – Jun 2, 2026"
    assert day_span(utc("2026-12-30T12:00"), utc("2027-01-02T20:00"), "UTC") == "Dec 30, 2026 – Jan 2, 2027"


# ---------------------------------------------------------------- badges

@pytest.mark.parametrize("count, expected", [(0, 1), (1, 1), (6, 1), (7, 2), (13, 3)])
def test_badges_come_six_to_a_letter_sheet_and_the_last_sheets_spare_ones_are_blank(count, expected):
    pdf = build_badges_pdf(MEETING, people(count))
    assert pages(pdf) == expected
    texts = page_texts(pdf)
    assert all(text.count("Hepatitis C Elimination Summit") == 6 for text in texts)  # the title on every badge
    assert sum(text.count("Person Number") for text in texts) == count
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        assert (document.pages[0].width, document.pages[0].height) == (612, 792)


def chars_of(page, text: str) -> list[dict]:
    """The page's characters that spell `text`, in reading order (the first run of them)."""
    wanted = [ch for ch in text if not ch.isspace()]
    chars = [c for c in page.chars if not c["text"].isspace()]  # pdfplumber reads spaces as characters too
    for start in range(len(chars) - len(wanted) + 1):
        if [c["text"] for c in chars[start:start + len(wanted)]] == wanted:
            return chars[start:start + len(wanted)]
    raise AssertionError(f"{text!r} is not on the page")


def test_a_long_name_shrinks_and_wraps_inside_its_badge_and_a_short_one_prints_large():
    pdf = build_badges_pdf(MEETING, [Attendee("Ada Lovelace", "MD", "Physician"), Attendee(LONG_NAME, "PA-C", "")])
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        page = document.pages[0]
        short = chars_of(page, "Ada Lovelace")
        assert {round(c["size"]) for c in short} == {30}
        x, y = badge_origin(1)
        top = page.height - (y + BADGE_HEIGHT)
        long = [c for c in page.chars if x <= c["x0"] and c["x1"] <= x + BADGE_WIDTH and top <= c["top"]
                and c["bottom"] <= top + BADGE_HEIGHT and c["size"] < 30 and c["fontname"].endswith("Bold")
                and c["size"] > 11]
        printed = "".join(c["text"] for c in long if not c["text"].isspace())
        assert printed.startswith("MaximilianaKonstantinaTheodora") and printed.endswith("…")
        assert {round(c["size"]) for c in long} == {14}  # shrunk to the least size, then wrapped and ended
        assert len({round(c["top"]) for c in long}) == 2  # on two lines


@pytest.mark.parametrize("build", [build_badges_pdf, build_sign_in_sheet_pdf])
def test_names_in_every_script_print_in_a_font_that_has_them(build):
    pdf = build(MEETING, list(SCRIPTS))
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        page = document.pages[0]
        for person, font in SCRIPTS.items():
            fonts = {c["fontname"].split("+")[-1] for c in chars_of(page, person.name)}
            assert fonts and all(f.startswith(font) for f in fonts), (person.name, fonts)


def test_a_sheet_of_badges_renders_with_ink_in_every_place(tmp_path):
    """pdftoppm (poppler) draws the sheet: each of the six places has its name's ink where the name goes."""
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is missing: `make test` installs poppler-utils.")
    (tmp_path / "b.pdf").write_bytes(build_badges_pdf(MEETING, people(5)))
    subprocess.run(["pdftoppm", "-png", "-r", "36", "-singlefile", str(tmp_path / "b.pdf"), str(tmp_path / "b")],
                   check=True)
    image = Image.open(tmp_path / "b.png").convert("L")
    scale = image.width / 612
    inked = []
    for index in range(6):
        x, y = badge_origin(index)
        # The middle band of the badge, where the name prints (PDF y grows upwards, the image's downwards).
        box = (int((x + 20) * scale), int((792 - y - BADGE_HEIGHT * 0.62) * scale),
               int((x + BADGE_WIDTH - 20) * scale), int((792 - y - BADGE_HEIGHT * 0.38) * scale))
        inked.append(sum(image.crop(box).histogram()[:128]))  # the dark pixels
    assert all(n > 20 for n in inked[:5]) and inked[5] < 5, inked  # the sixth is a spare, blank badge


# ---------------------------------------------------------------- the organizer's downloads

def test_the_organizer_downloads_the_sheet_and_the_badges_of_the_confirmed_registrants_never_cached(
        client, db, make_user, make_activity, organizer, register):
    start = now_utc().replace(microsecond=0) + timedelta(days=5)
    activity = make_activity(organizers=[organizer], title="Desk Day", capacity=1, start_dt=start,
                             time_zone="America/Chicago", city="Chicago", state="IL", venue_name="McCormick Place")
    register(make_user(full_name="Grace Hopper"), activity)
    register(make_user(full_name="Alan Turing"), activity)  # waitlisted
    base = f"/organize/activities/{activity.id}/roster"
    roster = client.get(base).get_data(as_text=True)
    assert f'href="{base}/sign-in-sheet.pdf"' in roster and f'href="{base}/badges.pdf"' in roster
    local = utc_to_local(start, "America/Chicago")
    for path, name in (("sign-in-sheet.pdf", f"sign-in-sheet-{activity.id}.pdf"), ("badges.pdf", f"badges-{activity.id}.pdf")):
        response = client.get(f"{base}/{path}")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
        [text] = page_texts(response.data)
        assert "Desk Day" in text and "Grace Hopper" in text and "Turing" not in text
        assert f"{local:%b %-d}" in text and "Chicago" in text
    webcast = make_activity(organizers=[organizer], format="live_webcast", title="Online")
    assert client.get(f"/organize/activities/{webcast.id}/roster/badges.pdf").status_code == 404
    assert "badges.pdf" not in client.get(f"/organize/activities/{webcast.id}/roster").get_data(as_text=True)
