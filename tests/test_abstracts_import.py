"""Importing abstracts from CSV (issue 15, point 5): each row checked and saved on its own (a bad row saves nothing of
itself and stops nothing else), a report of (row, column, problem), the same file imported again updates instead of
duplicating, and files that are not CSV text are refused whole, cleanly. Files are built with the csv module and
posted through the import page, as an organizer's browser would."""
from __future__ import annotations

import csv
import io
import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from cme.activities.models import ActivitySession
from cme.library.abstracts import imports
from cme.library.abstracts.imports import COLUMNS, ImportFileError, RowProblem, import_abstracts, read_csv
from cme.library.abstracts.models import Abstract, AbstractAuthor
from cme.timeutil import now_utc, utc_to_local

GOOD = {"title": "Same-day HCV treatment in a syringe services program",
        "authors": "*Maria Lopez (Cascade Center, Seattle); John Smith (Front Range University)",
        "background": "Few start treatment.", "methods": "A cohort.", "results": "81% started.",
        "conclusions": "Feasible.", "keywords": "hepatitis C; harm reduction", "presentation_type": "Poster",
        "session": "", "topic": ""}


def row(**changes) -> dict:
    return {**GOOD, **changes}


def csv_file(rows: list[dict], *, columns=tuple(COLUMNS), delimiter: str = ",", bom: bool = True,
             line_end: str = "\r\n") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end)
    writer.writerow(columns)
    for values in rows:
        writer.writerow([values.get(name, "") for name in columns])
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


@pytest.fixture
def meeting(db, make_user, make_activity):
    owner = make_user("org@example.org", role="organizer")
    start = now_utc().replace(microsecond=0) - timedelta(days=30)
    activity = make_activity(organizers=[owner], title="Liver Meeting", start_dt=start,
                             end_dt=start + timedelta(hours=6), specialty="Hepatology", time_zone="America/Chicago")
    activity.sessions += [ActivitySession(title="Posters", start_dt=start, end_dt=start + timedelta(hours=1)),
                          ActivitySession(title="Orals", start_dt=start + timedelta(hours=2),
                                          end_dt=start + timedelta(hours=3)),
                          ActivitySession(title="Orals", start_dt=start + timedelta(hours=4),
                                          end_dt=start + timedelta(hours=5))]
    db.session.commit()
    return activity


def upload(client, activity, data: bytes, *, publish: bool = False, filename: str = "abstracts.csv"):
    form = {"file": (io.BytesIO(data), filename)}
    if publish:
        form["publish"] = "y"
    return client.post(f"/organize/activities/{activity.id}/abstracts/import", data=form,
                       content_type="multipart/form-data")


def titles(db) -> list[str]:
    return sorted(db.session.scalars(select(Abstract.title)))


def test_good_rows_are_imported_and_each_bad_row_is_reported_by_row_and_column_and_saves_nothing(db, client, auth,
                                                                                                meeting):
    second_orals = utc_to_local(meeting.sessions[2].start_dt, "America/Chicago")
    rows = [row(title="Good one"),                                                    # row 2
            row(title="Bad authors", authors="Maria Lopez (Cascade; (B)"),            # row 3
            row(title="Good in a session", session="posters", presentation_type="oral presentation"),  # row 4
            row(title="Two problems", presentation_type="speech", results=" "),       # row 5
            row(title="By its start", session=f"{second_orals:%Y-%m-%d %H:%M}"),      # row 6
            row(title="good  ONE"),                                                   # row 7: row 2's title again
            {},                                                                       # row 8: blank, skipped
            row(title="Unknown topic", topic="Astrology"),                           # row 9
            row(title="Ambiguous session", session="Orals"),                          # row 10
            row(title="", authors="Nobody (Nowhere)")]                                # row 11
    auth.login("org@example.org")
    response = upload(client, meeting, csv_file(rows))
    assert response.status_code == 200
    assert titles(db) == ["By its start", "Good in a session", "Good one"]
    db.session.expire_all()
    by_title = {a.title: a for a in db.session.scalars(select(Abstract))}
    assert by_title["Good in a session"].session_id == meeting.sessions[0].id
    assert by_title["Good in a session"].presentation_type == "oral"
    assert by_title["By its start"].session_id == meeting.sessions[2].id
    assert by_title["Good one"].topic == "Hepatology"  # blank: the activity's specialty
    assert by_title["Good one"].keyword_list == ["hepatitis C", "harm reduction"]
    # Nothing of a bad row was written: three abstracts, two authors each.
    assert db.session.scalar(select(func.count(AbstractAuthor.id))) == 6
    html = response.get_data(as_text=True)
    assert "9 rows read:\n    3 added, 0 updated, <strong>6 not imported</strong>." in html
    problems = [(int(r), c, m) for r, c, m in re.findall(
        r'<td class="num" data-label="Row">(\d+)</td><td data-label="Column">([^<]+)</td>'
        r'<td data-label="Problem">([^<]+)</td>', html)]
    assert [(r, c) for r, c, _ in problems] == [(3, "authors"), (5, "presentation_type"), (5, "results"),
                                                (7, "title"), (9, "topic"), (10, "session"), (11, "title")]
    assert "Row 2 has this title too" in problems[3][2]
    assert "2 sessions are titled “Orals”: give the session&#39;s start instead" in problems[5][2]


def test_importing_the_same_file_again_updates_instead_of_duplicating(db, client, auth, meeting):
    auth.login("org@example.org")
    data = csv_file([row(title="First"), row(title="Second")])
    upload(client, meeting, data)
    upload(client, meeting, data)
    assert titles(db) == ["First", "Second"]
    corrected = csv_file([row(title="FIRST", authors="Ana Ruiz (Barcelona)", results="Corrected."),
                          row(title="Third")])
    html = upload(client, meeting, corrected).get_data(as_text=True)
    assert "2 rows read:\n    1 added, 1 updated." in html
    db.session.expire_all()
    first = db.session.scalar(select(Abstract).where(Abstract.title_key == "first"))
    assert first.title == "FIRST" and first.results == "Corrected."
    assert [(a.name, a.affiliation, a.is_presenting) for a in first.authors] == [("Ana Ruiz", "Barcelona", False)]
    assert titles(db) == ["FIRST", "Second", "Third"]


def test_imported_abstracts_wait_unpublished_unless_the_organizer_publishes_them(db, client, auth, meeting):
    auth.login("org@example.org")
    upload(client, meeting, csv_file([row(title="Quiet")]))
    assert not db.session.scalar(select(Abstract.is_published))
    upload(client, meeting, csv_file([row(title="Quiet"), row(title="Loud")]), publish=True)
    assert db.session.scalars(select(Abstract.is_published)).all() == [True, True]
    upload(client, meeting, csv_file([row(title="Quiet", results="Changed.")]))  # an update keeps its state
    db.session.expire_all()
    assert db.session.scalars(select(Abstract.is_published)).all() == [True, True]


@pytest.mark.parametrize("variant", ["semicolons", "tabs", "no BOM", "LF line ends", "headers in other case"])
def test_what_spreadsheets_save_is_read(db, meeting, variant):
    columns = [c.upper().replace("_", " ") if variant == "headers in other case" else c for c in COLUMNS]
    rows = [{c: GOOD[k] for c, k in zip(columns, COLUMNS)} | {columns[0]: "Title, with a comma"}]
    data = csv_file(rows, columns=columns, delimiter={"semicolons": ";", "tabs": "\t"}.get(variant, ","),
                    bom=variant != "no BOM", line_end="\n" if variant == "LF line ends" else "\r\n")
    report = import_abstracts(meeting, data, max_bytes=10_000)
    assert report.problems == [] and [r.title for r in report.imported] == ["Title, with a comma"]


def test_row_numbers_are_the_rows_a_spreadsheet_shows_even_with_cells_on_several_lines(db, meeting):
    data = csv_file([row(title="One", background="Line one\nLine two\nLine three"), row(title="Two", authors="")])
    report = import_abstracts(meeting, data, max_bytes=10_000)
    assert report.problems == [RowProblem(3, "authors", "Enter at least one author.")]
    assert db.session.scalar(select(Abstract.background)) == "Line one\nLine two\nLine three"


def test_unknown_columns_are_reported_and_a_row_with_more_cells_than_columns_is_refused(db, meeting):
    columns = (*COLUMNS, "Notes")
    data = csv_file([row(title="One", Notes="ignored")], columns=columns)
    data += "Two,x,x,x,x,x,x,oral,,,,extra cell\r\n".encode()
    report = import_abstracts(meeting, data, max_bytes=10_000)
    assert report.ignored_columns == ["notes"] and [r.title for r in report.imported] == ["One"]
    assert report.problems == [RowProblem(3, "row", "This row has 12 cells, the header 11 columns (a separator "
                                                    "outside quotes?).")]


@pytest.mark.parametrize("data, message", [
    (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40, "This is a spreadsheet workbook"),
    (b"title,authors\r\nA,\x00B\r\n", "The file contains NUL bytes"),
    ("\ufefftitle,authors\r\nA,B\r\n".encode("utf-16"), "The file contains NUL bytes"),
    ("title,authors\r\nCafé,B\r\n".encode("latin-1"), "The file is not UTF-8 text (byte 19 cannot be read)"),
    (b"", "The file is empty."),
    (b" \r\n\r\n", "The file is empty."),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "This is a PDF document, not CSV."),
    (b"Just some text\r\n", "The first row must name the columns. Missing: title, authors"),
    (",".join(COLUMNS).encode(), "The file has a header but no abstracts."),
    (b"title,authors,background\r\nA,B,C\r\n", "Missing: methods, results, conclusions, presentation_type"),
    ((",".join(COLUMNS) + ",Title\r\n").encode(), "A column is named twice: title."),
    ((",".join(COLUMNS) + '\r\n"Open quote,B\r\nC,D\r\n').encode(), "Line 3 of the file cannot be read as CSV"),
])
def test_a_file_that_is_not_csv_text_is_refused_whole_with_the_reason(db, meeting, data, message):
    with pytest.raises(ImportFileError) as refused:
        import_abstracts(meeting, data, max_bytes=10_000)
    assert message in refused.value.message and refused.value.field == "file"


def test_the_page_refuses_a_file_over_the_limit_or_missing_and_keeps_nothing(app, db, client, auth, meeting):
    app.config["CME_ABSTRACTS_CSV_MAX_BYTES"] = 2048
    auth.login("org@example.org")
    big = csv_file([row(title=f"Abstract {n}") for n in range(20)])
    assert len(big) > 2048
    response = upload(client, meeting, big)
    assert response.status_code == 422
    assert 'id="file-error">The file is larger than 2 KB. Split it into smaller files.' in response.get_data(as_text=True)
    response = client.post(f"/organize/activities/{meeting.id}/abstracts/import", data={"publish": "y"})
    assert response.status_code == 422 and 'id="file-error">Choose a CSV file.' in response.get_data(as_text=True)
    response = upload(client, meeting, b"\x89PNG\r\n\x1a\n\x00\x00", filename="photo.png")
    assert response.status_code == 422 and "NUL bytes" in response.get_data(as_text=True)
    assert titles(db) == []
    assert "at most 2 KB and 1,000 abstracts" in client.get(
        f"/organize/activities/{meeting.id}/abstracts/import").get_data(as_text=True)


def test_the_template_lists_every_column_and_its_example_imports(db, client, auth, meeting):
    auth.login("org@example.org")
    response = client.get(f"/organize/activities/{meeting.id}/abstracts/import/template.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8" and response.data.startswith(b"\xef\xbb\xbf")
    columns, rows, _ = read_csv(response.data, max_bytes=10_000)
    assert columns == list(COLUMNS) and len(rows) == 1
    html = upload(client, meeting, response.data).get_data(as_text=True)
    assert "1 row read:\n    1 added, 0 updated." in html
    assert titles(db) == [imports.EXAMPLE_ROW["title"]]


def test_a_cancelled_activity_takes_no_import(db, meeting):
    meeting.status = "cancelled"
    db.session.commit()
    with pytest.raises(ImportFileError, match="cancelled"):
        import_abstracts(meeting, csv_file([row()]), max_bytes=10_000)


@pytest.mark.postgresql
def test_a_row_that_loses_a_race_for_its_title_is_reported_and_rolled_back_alone(db, meeting):
    """Between the row's check and its insert, another request saves an abstract with the same title: the unique
    constraint refuses the insert, the row's savepoint is rolled back, the report says so, and the rows after it are
    imported (PostgreSQL: a second connection commits while the import's transaction is open)."""
    other = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    raced = []

    def race(_conn, _cursor, statement, parameters, *_args):
        if statement.startswith("INSERT INTO abstracts") and "Contested" in str(parameters) and not raced:
            raced.append(True)
            worker = threading.Thread(target=lambda: _insert_elsewhere(other, meeting.id))
            worker.start()
            worker.join()

    sa.event.listen(db.engine, "before_cursor_execute", race)
    try:
        report = import_abstracts(meeting, csv_file([row(title="Before"), row(title="Contested"), row(title="After")]),
                                  max_bytes=10_000)
        db.session.commit()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", race)
        other.dispose()
    assert raced and [r.title for r in report.imported] == ["Before", "After"]
    assert report.problems == [RowProblem(3, "title", "An abstract with this title was saved at the same time. "
                                                      "Import the file again to update it.")]
    contested = db.session.scalar(select(Abstract).where(Abstract.title == "Contested"))
    assert [a.name for a in contested.authors] == ["Someone Else"]  # the other request's, untouched


@pytest.mark.postgresql
def test_a_row_whose_abstract_is_deleted_meanwhile_is_reported_and_the_others_go_on(db, meeting):
    """The row's abstract is found, then deleted by another request before its update is written: the update
    finds no row, the row's savepoint is rolled back (its authors with it), and the rows after it are imported."""
    import_abstracts(meeting, csv_file([row(title="Doomed")]), max_bytes=10_000)
    db.session.commit()
    other = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    deleted = []

    def delete_first(_conn, _cursor, statement, *_args):
        if statement.startswith("UPDATE abstracts") and not deleted:
            deleted.append(True)
            worker = threading.Thread(target=lambda: _delete_elsewhere(other, "doomed"))
            worker.start()
            worker.join()

    sa.event.listen(db.engine, "before_cursor_execute", delete_first)
    try:
        report = import_abstracts(meeting, csv_file([row(title="Doomed", results="Changed."), row(title="After")]),
                                  max_bytes=10_000)
        db.session.commit()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", delete_first)
        other.dispose()
    assert deleted and [r.title for r in report.imported] == ["After"]
    assert report.problems == [RowProblem(2, "title", "The abstract with this title was deleted at the same time. "
                                                      "Import the file again to add it.")]
    assert titles(db) == ["After"] and db.session.scalar(select(func.count(AbstractAuthor.id))) == 2


def _delete_elsewhere(engine, key: str) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM abstracts WHERE title_key = :k"), {"k": key})


def _insert_elsewhere(engine, activity_id: int) -> None:
    with engine.begin() as connection:
        abstract_id = connection.execute(sa.text(
            "INSERT INTO abstracts (activity_id, title, title_key, background, methods, results, conclusions, "
            "keywords, presentation_type, topic, is_published, created_dt, updated_dt) VALUES (:a, 'Contested', "
            "'contested', 'b', 'm', 'r', 'c', '', 'oral', '', false, now(), now()) RETURNING id"), {"a": activity_id}).scalar()
        connection.execute(sa.text("INSERT INTO abstract_authors (abstract_id, position, name, affiliation, "
                                   "is_presenting) VALUES (:i, 0, 'Someone Else', '', false)"), {"i": abstract_id})
