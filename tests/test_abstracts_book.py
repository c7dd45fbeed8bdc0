"""The book of abstracts (issue 15, point 5): `build_book` is pure (plain data in, PDF bytes out) and read back with
pypdf and pdfplumber: a title page, contents whose page numbers are the pages the abstracts start on, abstracts
grouped by session then by topic, an author index (surname, given names -> the pages of their abstracts), an
outline, every script of a name, nothing past the margins. Then the pages that serve it: the public book (published
abstracts only, with an ETag) and the organizers' proof."""
from __future__ import annotations

import io
import re
import subprocess
from datetime import date, timedelta

import pdfplumber
import pypdf
import pytest

from cme.activities.models import ActivitySession
from cme.library.abstracts import service
from cme.library.abstracts.book import (
    Book, BookAbstract, BookAuthor, BookGroup, book_for, build_book, sort_key, split_name,
)
from cme.library.abstracts.service import AbstractFields, AuthorEntry
from cme.timeutil import now_utc

LOREM = ("Adults with cirrhosis were followed in community clinics for fibrosis progression, decompensation and "
         "referral for transplant evaluation. ")


def item(n: int, authors: tuple[BookAuthor, ...], length: int = 4) -> BookAbstract:
    return BookAbstract(key=f"abstract-{n}", title=f"Abstract number {n}: outcomes of a regional cohort",
                        authors=authors, sections=(("Background", LOREM * length), ("Methods", LOREM * length),
                                                   ("Results", LOREM * 2 * length), ("Conclusions", LOREM)),
                        keywords=("cirrhosis", "referral"), presentation="Poster", topic="Hepatology")


LOPEZ = BookAuthor("Maria del Carmen Lopez", "Cascade Center", True)
SMITH = BookAuthor("John Smith, MD", "Front Range University")
PAPADOPOULOU = BookAuthor("Ζωή Παπαδοπούλου", "Πανεπιστήμιο Αθηνών")
IVANOV = BookAuthor("Дмитрий Иванов", "МГУ")
ZHANG = BookAuthor("张伟", "北京大学")
ALVAREZ = BookAuthor("Zoë Álvarez", "Hospital <Clínic> & Co")


@pytest.fixture(scope="module")
def sample() -> tuple[Book, bytes]:
    groups = (BookGroup("Opening session", "Tuesday, June 2, 2026 · 9:00 AM – 10:00 AM PDT · Room 401",
                        (item(1, (LOPEZ, SMITH)), item(2, (SMITH, PAPADOPOULOU), length=9))),
              BookGroup("Posters", "Tuesday, June 2, 2026 · 1:00 PM – 2:00 PM PDT",
                        (item(3, (IVANOV, LOPEZ)), item(4, (ZHANG,)), item(5, (ALVAREZ, SMITH), length=1))),
              BookGroup("Hepatology", "Topic", (item(6, (LOPEZ,)),)))
    book = Book(provider="The Liver Education Foundation", title="Liver Transplant Care Team Update",
                dates="Tue Jun 2, 2026", place="Seattle, WA", generated=date(2026, 6, 9), groups=groups)
    return book, build_book(book)


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def lines_of(data: bytes, page: int) -> str:
    """A page's text in reading order, line by line (pdfplumber), spaces collapsed."""
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return " ".join(pdf.pages[page - 1].extract_text().split())


def start_pages(data: bytes, book: Book) -> dict[str, int]:
    """The page (1-based) each abstract's title starts on, found by reading the pages (the contents page aside)."""
    texts = page_texts(data)
    return {a.title: next(n for n, text in enumerate(texts, start=1) if n > 2 and a.title in " ".join(text.split()))
            for g in book.groups for a in g.abstracts}


def test_the_title_page_names_the_activity_and_counts_abstracts_and_authors(sample):
    book, data = sample
    first = page_texts(data)[0]
    for line in ("The Liver Education Foundation", "Book of abstracts", "Liver Transplant Care Team Update",
                 "Tue Jun 2, 2026", "Seattle, WA", "6 abstracts · 6 authors", "Generated June 9, 2026"):
        assert line in first
    info = pypdf.PdfReader(io.BytesIO(data)).metadata
    assert info.title == "Book of abstracts: Liver Transplant Care Team Update"


def test_the_contents_give_the_page_each_group_and_abstract_starts_on(sample):
    book, data = sample
    starts = start_pages(data, book)
    contents = lines_of(data, 2)
    assert contents.startswith("Contents Presenting authors are underlined. Opening session 3 Abstract number 1")
    for group in book.groups:
        for abstract in group.abstracts:
            listed = re.search(re.escape(abstract.title) + r"[ .]*?(\d+)\b", contents)
            assert listed and int(listed[1]) == starts[abstract.title], abstract.title
    index_page = len(page_texts(data))
    assert re.search(r"Author index (\d+)", contents)[1] == str(index_page)


def test_the_contents_link_to_the_pages_they_name(sample):
    _, data = sample
    reader = pypdf.PdfReader(io.BytesIO(data))
    numbers = {page.indirect_reference.idnum: n for n, page in enumerate(reader.pages, start=1)}
    linked = {numbers[annotation.get_object()["/Dest"][0].idnum] for annotation in reader.pages[1]["/Annots"]}
    contents = lines_of(data, 2).split(" Book of abstracts · ")[0]  # the footer apart
    listed = {int(n) for n in re.findall(r"(?<![\w:])(\d+)(?= |$)", contents)}
    assert linked == listed and len(linked) >= 4


def test_the_author_index_lists_surname_and_given_names_with_the_pages_of_their_abstracts(sample):
    book, data = sample
    starts = start_pages(data, book)
    index = page_texts(data)[-1]
    assert "Author index" in index
    lines = [" ".join(line.split()) for line in index.splitlines()]
    expected = {}
    for group in book.groups:
        for abstract in group.abstracts:
            for author in abstract.authors:
                surname, given = split_name(author.name)
                expected.setdefault(f"{surname}, {given}" if given else surname, set()).add(starts[abstract.title])
    assert expected["Lopez, Maria del Carmen"] and expected["Smith, John"] and "张伟" in expected
    for name, pages in expected.items():
        at = lines.index(name)
        assert lines[at + 1] == ", ".join(str(p) for p in sorted(pages)), name
    order = [line for line in lines if line in expected]
    assert order == sorted(expected, key=lambda name: sort_key(name))  # Álvarez among the A, not after Z


def test_names_in_every_script_and_markup_characters_print_as_written(sample):
    _, data = sample
    text = " ".join(page_texts(data))
    for written in ("Ζωή Παπαδοπούλου", "Дмитрий Иванов", "张伟", "北京大学", "Hospital <Clínic> & Co"):
        assert written in text


def test_the_outline_holds_the_contents_groups_abstracts_and_index(sample):
    book, data = sample
    outline = pypdf.PdfReader(io.BytesIO(data)).outline
    top = [entry.title for entry in outline if not isinstance(entry, list)]
    assert top == ["Contents", "Opening session", "Posters", "Hepatology", "Author index"]
    nested = [e.title for entries in outline if isinstance(entries, list) for e in entries]
    assert nested == [a.title for g in book.groups for a in g.abstracts]


def test_nothing_prints_past_the_margins_even_an_endless_word(sample):
    long_word = BookAbstract(key="long", title="T" * 180, authors=(BookAuthor("A" * 120, "B" * 250),),
                             sections=(("Results", "https://example.org/" + "x" * 600),))
    data = build_book(Book(provider="P", title="A title " * 30, dates="D", place="", generated=date(2026, 1, 1),
                           groups=(BookGroup("G" * 150, "d", (long_word,)),)))
    for pdf_bytes in (data, sample[1]):
        with pdfplumber.open(io.BytesIO(pdf_bytes)) as pdf:
            for page in pdf.pages:
                assert all(0 <= c["x0"] and c["x1"] <= page.width - 59 for c in page.chars), page.page_number


def test_every_page_renders(sample, tmp_path):
    _, data = sample
    (tmp_path / "book.pdf").write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(tmp_path / "book.pdf"), str(tmp_path / "page")], check=True,
                   capture_output=True)
    assert len(list(tmp_path.glob("page-*.png"))) == len(page_texts(data))


def test_a_book_without_abstracts_says_so():
    data = build_book(Book(provider="P", title="T", dates="D", place="", generated=date(2026, 1, 1), groups=()))
    texts = page_texts(data)
    assert len(texts) == 2 and "No abstracts yet." in texts[1] and "0 abstracts · 0 authors" in texts[0]


@pytest.mark.parametrize("name, split", [("Maria del Carmen Lopez", ("Lopez", "Maria del Carmen")),
                                         ("John Smith, MD, PhD", ("Smith", "John")), ("张伟", ("张伟", "")),
                                         ("  Ana   Ruiz-García ", ("Ruiz-García", "Ana"))])
def test_the_surname_is_the_last_word_of_a_name(name, split):
    assert split_name(name) == split


# ---------------------------------------------------------------- from the activity, and over HTTP

def abstract_fields(title: str, **changes) -> AbstractFields:
    values = dict(title=title, authors=[AuthorEntry("Maria Lopez", "Cascade Center", True)], background="B.",
                  methods="M.", results="R.", conclusions="C.", presentation_type="poster", topic="Hepatology",
                  is_published=True)
    return AbstractFields(**{**values, **changes})


@pytest.fixture
def meeting(db, make_user, make_activity):
    owner = make_user("org@example.org", role="organizer")
    start = now_utc().replace(second=0, microsecond=0) - timedelta(days=30)
    activity = make_activity(organizers=[owner], title="Liver Meeting", start_dt=start, end_dt=start + timedelta(hours=6),
                             time_zone="America/Los_Angeles")
    activity.sessions += [ActivitySession(title="Late session", start_dt=start + timedelta(hours=3),
                                          end_dt=start + timedelta(hours=4), room="Hall B"),
                          ActivitySession(title="Early session", start_dt=start, end_dt=start + timedelta(hours=1))]
    db.session.commit()
    return activity


def test_the_book_groups_by_session_in_agenda_order_then_by_topic(db, meeting):
    early, late = sorted(meeting.sessions, key=lambda s: s.start_dt)
    for title, changes in [("In the late session", {"session_id": late.id}),
                           ("Poster early", {"session_id": early.id}),
                           ("Oral early", {"session_id": early.id, "presentation_type": "oral"}),
                           ("On addiction", {"topic": "Addiction medicine"}), ("No topic", {"topic": ""}),
                           ("Draft one", {"is_published": False, "session_id": early.id})]:
        service.create_abstract(meeting, abstract_fields(title, **changes))
    db.session.commit()
    book = book_for(meeting, service.activity_abstracts(meeting, published_only=True), provider="P",
                    today=date(2026, 1, 1))
    assert [(g.heading, [a.title for a in g.abstracts]) for g in book.groups] == [
        ("Early session", ["Oral early", "Poster early"]), ("Late session", ["In the late session"]),
        ("Addiction medicine", ["On addiction"]), ("Other abstracts", ["No topic"])]
    assert book.groups[1].detail.endswith("PDT · Hall B") or book.groups[1].detail.endswith("PST · Hall B")
    proof = book_for(meeting, service.activity_abstracts(meeting), provider="P", today=date(2026, 1, 1), proof=True)
    assert proof.note == "Proof for organizers: 1 of 6 abstracts not yet published"
    assert [a.note for a in proof.groups[0].abstracts if a.title == "Draft one"] == ["Not published"]


def test_the_public_book_has_only_published_abstracts_and_answers_again_with_304(db, client, meeting):
    assert client.get(f"/library/abstracts/activities/{meeting.id}/book.pdf").status_code == 404
    abstract = service.create_abstract(meeting, abstract_fields("Shown in the book"))
    service.create_abstract(meeting, abstract_fields("Kept out", is_published=False))
    db.session.commit()
    url = f"/library/abstracts/activities/{meeting.id}/book.pdf"
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'inline; filename="book-of-abstracts-{meeting.id}.pdf"'
    text = " ".join(page_texts(response.data))
    assert "Shown in the book" in text and "Kept out" not in text and "Proof" not in text
    etag = response.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    service.update_abstract(abstract, abstract_fields("Renamed in the book"))
    db.session.commit()
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "Renamed in the book" in " ".join(page_texts(changed.data))


def test_the_organizers_proof_has_every_abstract_and_says_which_are_not_published(db, client, auth, meeting):
    service.create_abstract(meeting, abstract_fields("Kept out", is_published=False))
    db.session.commit()
    auth.login("org@example.org")
    response = client.get(f"/organize/activities/{meeting.id}/abstracts/book.pdf")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    text = " ".join(" ".join(page_texts(response.data)).split())
    assert "Proof for organizers: 1 of 1 abstracts not yet published" in text
    assert "Kept out" in text and "Poster · Hepatology · Not published" in text
