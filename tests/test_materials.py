"""Session materials (issue 15, points 1-4): uploads checked by their content (real PDFs from ReportLab, a PPTX
built with zipfile, a renamed program, a .pptm, zip bombs), stored once by SHA-256 and moved into place only with
the transaction that records them (a refusal or a database error leaves neither row nor file), the one release
rule (`release.may_open`, `release.is_listed`) as pages, downloads and the ZIP ask it, downloads with their
headers, conditional GET and byte ranges, the streamed ZIP read back with zipfile, thumbnails and extracted text,
and the audit log of organizers' changes."""
from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from cme.activities.models import ActivitySession, Faculty
from cme.audit.models import AuditEntry
from cme.library.materials import release, service, storage
from cme.library.materials.checks import display_name
from cme.library.materials.models import Material, MaterialKind, StoredFile
from cme.transactions import unit_of_work
from cme.timeutil import now_utc
from tests.helpers import PPTM_MAIN, base_config, make_pdf, make_pptx

MAX_BYTES = 2_000_000


@pytest.fixture
def app_config(database_url, tmp_path) -> dict:
    """A small upload limit, so the size checks run on small files."""
    return base_config(database_url, tmp_path / "instance", CME_UPLOAD_MAX_BYTES=MAX_BYTES)


@pytest.fixture
def meeting(db, make_activity, organizer):
    """The logged-in organizer's meeting, running now: a talk that ended two hours ago and one that ends in two
    hours, each with its speaker."""
    now = now_utc().replace(microsecond=0)
    activity = make_activity(organizers=[organizer], title="Liver Update 2027", start_dt=now - timedelta(hours=3),
                             end_dt=now + timedelta(hours=3))
    with db.session.no_autoflush:
        vasquez = Faculty(full_name="Elena Vasquez", degree="MD", disclosure_received_dt=now)
        reed = Faculty(full_name="Marcus Reed", degree="DO", disclosure_received_dt=now, position=1)
        activity.faculty += [vasquez, reed]
        past = ActivitySession(title="HCV elimination", start_dt=now - timedelta(hours=3),
                               end_dt=now - timedelta(hours=2), speakers=[vasquez])
        later = ActivitySession(title="MASLD therapy", start_dt=now + timedelta(hours=1),
                                end_dt=now + timedelta(hours=2), speakers=[reed])
        activity.sessions += [past, later]
    db.session.commit()
    return SimpleNamespace(activity=activity, past=past, later=later, vasquez=vasquez, reed=reed)


def upload(client, activity, data: bytes, name: str, **fields):
    form = {"file": (io.BytesIO(data), name), "title": "", "session_id": "", "speaker_id": "",
            "release": "public", **fields}
    return post(client, f"/organize/activities/{activity.id}/materials", form)


def post(client, url: str, form: dict) -> SimpleNamespace:
    """POST a multipart form, encoded in memory (the test client would put a body over 500 KB in a temporary file
    it never closes)."""
    fields = {name: FileStorage(value[0], filename=value[1]) if isinstance(value, tuple) else value
              for name, value in form.items()}
    boundary, body = encode_multipart(fields)
    with client.post(url, data=body, content_type=f'multipart/form-data; boundary="{boundary}"') as response:
        return SimpleNamespace(status_code=response.status_code, text=response.get_data(as_text=True),
                               headers=response.headers)


def fetch(client, url: str, **kwargs) -> SimpleNamespace:
    """GET `url` and close the response (a file response holds its file open until then)."""
    with client.get(url, **kwargs) as response:
        streamed = response.is_streamed
        return SimpleNamespace(status_code=response.status_code, headers=response.headers, data=response.get_data(),
                               is_streamed=streamed)


def listing_of_store() -> list[str]:
    root = storage.current_store().root
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


def rows(db) -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(Material)),
            db.session.scalar(select(func.count()).select_from(StoredFile)))


def only_material(db) -> Material:
    return db.session.scalars(select(Material).order_by(Material.id.desc())).first()


SLIDES = make_pdf(["Hepatitis C elimination\nTest, treat, cure", "Sofosbuvir-velpatasvir for 12 weeks",
                   "Point-of-care HCV RNA"], title="HCV elimination")


# ---------------------------------------------------------------- accepted files

def test_a_pdf_is_stored_by_its_hash_with_its_pages_text_and_a_first_page_thumbnail(client, db, meeting):
    response = upload(client, meeting.activity, SLIDES, "HCV talk.pdf", title="HCV elimination slides",
                      session_id=str(meeting.past.id), release="registrants_after_session")
    assert response.status_code == 302
    material = only_material(db)
    sha = hashlib.sha256(SLIDES).hexdigest()
    assert (material.kind, material.page_count, material.file_sha256, material.file_name) == \
        ("pdf", 3, sha, "HCV talk.pdf")
    assert material.speaker == meeting.vasquez  # the session's one speaker, as none was chosen
    assert "Sofosbuvir-velpatasvir for 12 weeks" in material.text and "Point-of-care HCV RNA" in material.text
    store = storage.current_store()
    assert store.path_of(sha).read_bytes() == SLIDES
    with Image.open(store.thumbnail_of(sha)) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("PNG", (480, 270))  # the 16:9 first page
    assert material.stored_file.has_thumbnail and material.stored_file.size == len(SLIDES)
    assert [p for p in listing_of_store() if p.startswith(".")] == []  # no temporary file left


def test_a_pptx_is_accepted_and_its_slide_text_read_in_the_presentations_order(client, db, meeting):
    deck = make_pptx([["Cirrhosis care", "Screen for varices"], ["Ascites", "Diuretics first"], ["Questions?"]])
    response = upload(client, meeting.activity, deck, "cirrhosis.pptx", title="Cirrhosis care",
                      speaker_id=str(meeting.reed.id), release="registrants")
    assert response.status_code == 302
    material = only_material(db)
    assert (material.kind, material.page_count, material.speaker, material.session) == \
        ("pptx", 3, meeting.reed, None)
    assert material.text == "Cirrhosis care\nScreen for varices\n\nAscites\nDiuretics first\n\nQuestions?"
    assert not material.stored_file.has_thumbnail


def test_a_presentations_own_thumbnail_becomes_its_png_thumbnail(client, db, meeting):
    jpeg = io.BytesIO()
    Image.new("RGB", (256, 144), (11, 92, 112)).save(jpeg, "JPEG")
    deck = make_pptx([["Title"]], thumbnail=jpeg.getvalue())
    assert upload(client, meeting.activity, deck, "deck.pptx").status_code == 302
    material = only_material(db)
    assert material.stored_file.has_thumbnail
    with Image.open(storage.current_store().thumbnail_of(material.file_sha256)) as image:
        assert (image.format, image.size) == ("PNG", (256, 144))


def test_a_pdf_named_pptx_is_taken_for_what_it_is_and_names_are_made_safe(client, db, meeting):
    response = upload(client, meeting.activity, SLIDES, "C:/Users/dr/../Talk: <final>\x07 v2.pptx")
    assert response.status_code == 302
    material = only_material(db)
    assert (material.kind, material.file_name, material.title) == ("pdf", "Talk final v2.pdf", "Talk final v2")


@pytest.mark.parametrize("uploaded, kind, expected", [
    ("../../etc/passwd", MaterialKind.PDF, "passwd.pdf"),
    ("Dr. Smith", MaterialKind.PDF, "Dr. Smith.pdf"),
    ("Update v2.1.PPTX", MaterialKind.PPTX, "Update v2.1.pptx"),
    ("\u202eexe.pdf", MaterialKind.PDF, "exe.pdf"),  # a right-to-left override cannot disguise the extension
    ("CON.pdf", MaterialKind.PDF, "CON-file.pdf"),
    ("...", MaterialKind.PPTX, "slides.pptx"),
    ("Re\u0301sume\u0301.pdf", MaterialKind.PDF, "Résumé.pdf"),  # NFC
    ("x" * 400 + ".pdf", MaterialKind.PDF, "x" * 150 + ".pdf"),
])
def test_display_names_keep_the_last_path_part_without_control_or_path_characters(uploaded, kind, expected):
    assert display_name(uploaded, kind) == expected


# ---------------------------------------------------------------- refused files leave nothing behind

def _javascript_pdf() -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(SLIDES))
    writer.add_open_action(JavaScript("app.alert('hello');"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(SLIDES))
    writer.encrypt("secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _docx() -> bytes:
    return make_pptx([["x"]], main_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")


REFUSED = {
    "a program renamed .pdf": (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(range(256)) * 20, "slides.pdf",
                               "not_accepted", "Only PDF files and PowerPoint presentations (.pptx)"),
    "a text file renamed .pdf": (b"These are my slides, honestly.\n" * 50, "slides.pdf", "not_accepted",
                                 "this file is neither"),
    "a damaged PDF": (SLIDES[:600], "slides.pdf", "bad_pdf", "cannot be read as one"),
    "a PDF with a script": (_javascript_pdf(), "slides.pdf", "pdf_active_content", "contains scripts"),
    "a PDF with a password": (_encrypted_pdf(), "slides.pdf", "pdf_password", "protected by a password"),
    "a .pptm": (make_pptx([["Macros"]], main_type=PPTM_MAIN), "deck.pptm", "macros", "contains macros"),
    "a .pptx with a VBA project": (make_pptx([["x"]], extra={"ppt/vbaProject.bin": b"\xd0\xcf\x11\xe0" * 64}),
                                   "deck.pptx", "macros", "contains macros"),
    "a Word document": (_docx(), "deck.pptx", "not_presentation", "not a PowerPoint presentation"),
    "an old .ppt": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4000, "deck.ppt", "old_office", "older Office file"),
    "a zip bomb": (make_pptx([["x"]], extra={"ppt/media/image1.bin": b"\0" * 30_000_000}), "deck.pptx", "zip_bomb",
                   "zip bomb"),
    "a zip of 6,000 parts": (make_pptx([["x"]], extra={f"ppt/media/p{n}.xml": b"<a/>" for n in range(6_000)}),
                             "deck.pptx", "zip_bomb", "more than any presentation has"),
    "a zip that is no presentation": (make_pptx([["x"]])[:-200], "deck.pptx", "bad_pptx", "not a readable one"),
    "an empty file": (b"", "slides.pdf", "empty", "The file is empty."),
    "a file over the upload limit": (b"%PDF-1.7\n" + b"0" * (MAX_BYTES + 10), "big.pdf", "too_large",
                                     "larger than the 2 MB this site accepts"),
}


def test_refused_uploads_leave_no_row_and_no_file_and_say_why_beside_the_file_field(client, db, meeting):
    assert upload(client, meeting.activity, SLIDES, "kept.pdf").status_code == 302  # the store holds a file
    before_listing, before_rows = listing_of_store(), rows(db)
    for what, (data, name, _code, message) in REFUSED.items():
        response = upload(client, meeting.activity, data, name, title="Refused")
        page = response.text
        assert response.status_code == 422, what
        assert 'id="file-error"' in page and message in page.replace("&#39;", "'").replace("&#34;", '"'), what
        assert listing_of_store() == before_listing, what
        assert rows(db) == before_rows, what


@pytest.mark.parametrize("what", list(REFUSED))
def test_each_refusal_has_its_code(app, db, meeting, what):
    data, name, code, _message = REFUSED[what]
    outcome = unit_of_work(lambda: service.add_material(
        meeting.activity, service.Details("t", None, None, "public"), stream=io.BytesIO(data), filename=name),
        show=False)
    assert outcome.error is not None and outcome.error.code == code and outcome.error.field == "file"


def test_a_request_over_the_size_limit_gets_a_clean_413_page(client, db, meeting):
    response = upload(client, meeting.activity, b"%PDF-1.7\n" + b"0" * (MAX_BYTES + 2 * 2**20), "huge.pdf")
    assert response.status_code == 413
    page = response.text
    assert "File too large" in page and "larger than the 2 MB this site accepts" in page
    assert rows(db) == (0, 0) and [p for p in listing_of_store() if not p.startswith(".")] == []


def test_a_database_error_while_saving_leaves_no_row_and_no_file(app, db, meeting, backend):
    """Another writer holds the tables locked for the whole save: every try times out, the upload fails with the
    database's error, and the received, checked and previewed file is gone with the transaction."""
    assert unit_of_work(lambda: service.add_material(
        meeting.activity, service.Details("Kept", None, None, "public"), stream=io.BytesIO(SLIDES),
        filename="kept.pdf")).ok
    before_listing, before_rows = listing_of_store(), rows(db)
    other = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    short_wait = "PRAGMA busy_timeout = 50" if backend == "sqlite" else "SET lock_timeout = '50ms'"

    def wait_briefly(connection) -> None:
        connection.exec_driver_sql(short_wait)

    sa.event.listen(db.engine, "begin", wait_briefly)
    db.session.commit()  # the next transaction begins with the short wait
    holder = other.connect()
    try:
        if backend == "sqlite":
            holder.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            holder.execute(sa.text("BEGIN"))
            holder.execute(sa.text("LOCK TABLE stored_files, materials IN EXCLUSIVE MODE"))
        deck = make_pdf(["Another deck"])
        with pytest.raises(sa.exc.OperationalError):
            unit_of_work(lambda: service.add_material(
                meeting.activity, service.Details("Lost", None, None, "public"), stream=io.BytesIO(deck),
                filename="lost.pdf"))
        assert listing_of_store() == before_listing
    finally:
        holder.rollback()
        holder.close()
        other.dispose()
        sa.event.remove(db.engine, "begin", wait_briefly)
    db.session.rollback()
    assert rows(db) == before_rows


# ---------------------------------------------------------------- stored once, removed with the last material

def test_the_same_file_is_stored_once_and_removed_with_its_last_material(client, db, meeting):
    for session in (meeting.past, meeting.later):
        assert upload(client, meeting.activity, SLIDES, "slides.pdf", session_id=str(session.id)).status_code == 302
    first, second = db.session.scalars(select(Material).order_by(Material.id)).all()
    assert first.file_sha256 == second.file_sha256 and rows(db) == (2, 1)
    store = storage.current_store()
    path, thumbnail = store.path_of(first.file_sha256), store.thumbnail_of(first.file_sha256)
    url = f"/organize/activities/{meeting.activity.id}/materials/{{}}/delete"
    assert client.post(url.format(first.id)).status_code == 302
    assert rows(db) == (1, 1) and path.is_file() and thumbnail.is_file()
    assert client.post(url.format(second.id)).status_code == 302
    assert rows(db) == (0, 0) and not path.exists() and not thumbnail.exists()
    assert [p for p in listing_of_store() if "/" in p] == []


def test_replacing_a_file_keeps_the_card_and_removes_the_old_bytes(client, db, meeting):
    assert upload(client, meeting.activity, SLIDES, "v1.pdf", title="Talk").status_code == 302
    material = only_material(db)
    old = storage.current_store().path_of(material.file_sha256)
    deck = make_pptx([["Version two"]])
    response = post(client, f"/organize/activities/{meeting.activity.id}/materials/{material.id}/edit", {
        "file": (io.BytesIO(deck), "v2.pptx"), "title": "Talk, revised", "session_id": str(meeting.later.id),
        "speaker_id": "", "release": "registrants", "embargo_local": ""})
    assert response.status_code == 302
    db.session.expire_all()
    material = db.session.get(Material, material.id)
    assert (material.title, material.kind, material.file_name, material.text, material.session, material.speaker) == \
        ("Talk, revised", "pptx", "v2.pptx", "Version two", meeting.later, meeting.reed)
    assert not old.exists() and rows(db) == (1, 1)


def test_an_edit_with_a_refused_file_changes_nothing(client, db, meeting):
    assert upload(client, meeting.activity, SLIDES, "v1.pdf", title="Talk").status_code == 302
    material = only_material(db)
    before = listing_of_store()
    response = post(client, f"/organize/activities/{meeting.activity.id}/materials/{material.id}/edit", {
        "file": (io.BytesIO(make_pptx([["x"]], main_type=PPTM_MAIN)), "v2.pptm"), "title": "Renamed",
        "session_id": "", "speaker_id": "", "release": "public", "embargo_local": ""})
    assert response.status_code == 422 and "contains macros" in response.text
    db.session.expire_all()
    assert db.session.get(Material, material.id).title == "Talk" and listing_of_store() == before


def test_a_removed_session_leaves_its_slides_with_the_activity_and_a_removed_speaker_unnamed(client, db, meeting):
    from cme.activities import service as activities

    assert upload(client, meeting.activity, SLIDES, "a.pdf", session_id=str(meeting.later.id)).status_code == 302
    material = only_material(db)
    assert (material.session, material.speaker) == (meeting.later, meeting.reed)
    meeting.activity.status = "draft"  # a published meeting keeps its AMA credit within its agenda's hours
    activities.delete_session(meeting.later)
    activities.delete_faculty(meeting.reed)
    db.session.commit()
    db.session.expire_all()
    material = db.session.get(Material, material.id)
    assert (material.session, material.speaker, material.activity) == (None, None, meeting.activity)
    assert storage.current_store().path_of(material.file_sha256).is_file()


def test_the_embargo_is_local_time_and_ids_from_elsewhere_are_refused(client, db, meeting, make_activity):
    elsewhere = make_activity(title="Another meeting")
    stranger = Faculty(full_name="Not Ours", activity=elsewhere)
    db.session.add(stranger)
    db.session.commit()
    response = upload(client, meeting.activity, SLIDES, "a.pdf", speaker_id=str(stranger.id))
    assert response.status_code == 422 and "Not a valid choice" in response.text
    response = upload(client, meeting.activity, SLIDES, "a.pdf", embargo_local="2027-03-14T02:30")
    assert response.status_code == 422 and "does not exist in America/New_York" in response.text
    assert rows(db) == (0, 0)
    assert upload(client, meeting.activity, SLIDES, "a.pdf", embargo_local="2027-11-07T01:30").status_code == 302
    # 1:30 AM happens twice that night: the later one, so the embargo never lifts early.
    assert only_material(db).embargo_until_dt.isoformat() == "2027-11-07T06:30:00+00:00"


# ---------------------------------------------------------------- the release rule

@pytest.fixture
def people(make_user, meeting, register):
    from cme.registration.models import Registration

    registrant = make_user("registrant@example.org")
    register(registrant, meeting.activity)
    waitlisted = make_user("waiting@example.org")
    registration = register(waitlisted, meeting.activity)
    registration.status, registration.waitlist_position = "waitlisted", 1
    other_organizer = make_user("other.org@example.org", role="organizer")
    admin = make_user("admin@example.org", role="admin")
    visitor = make_user("visitor@example.org")
    assert isinstance(registration, Registration)
    return {"anonymous": None, "visitor": visitor, "waitlisted": waitlisted, "registrant": registrant,
            "other organizer": other_organizer, "organizer": meeting.activity.organizers[0], "admin": admin}


def _material(db, meeting, rule: str, *, session=None, embargo=None) -> Material:
    return service.add_material(meeting.activity, service.Details(rule, session.id if session else None, None, rule,
                                                                  embargo), stream=io.BytesIO(SLIDES), filename="x.pdf")


# Who opens (O), sees listed but closed (L) or does not see (-), per rule, at the moment the fixture runs (the
# past session over, the later one not).
EXPECTED = {
    # rule, session:           anonymous visitor waitlisted registrant other-organizer organizer admin
    ("public", None):                  "OOOOOOO",
    ("registrants", None):             "LLLOLOO",
    ("registrants_after_session", "past"):  "LLLOLOO",
    ("registrants_after_session", "later"): "LLLLLOO",
    ("registrants_after_session", None):    "LLLLLOO",  # the whole activity: after it ends
    ("organizers", None):              "-----OO",
}


def test_who_may_open_and_who_sees_each_release_rule(db, meeting, people):
    db.session.commit()
    now = now_utc()
    for (rule, session), expected in EXPECTED.items():
        material = _material(db, meeting, rule, session=getattr(meeting, session) if session else None)
        got = ""
        for user in people.values():
            viewer = release.viewer_for(user, [meeting.activity.id])
            got += "O" if release.may_open(viewer, material, now) else "L" if release.is_listed(viewer, material, now) \
                else "-"
            assert release.may_open(user, material, now) == (got[-1] == "O")  # a user, not a Viewer: the same answer
        assert got == expected, (rule, session)
    db.session.rollback()


def test_after_the_session_ends_its_registrants_open_it(db, meeting, people):
    material = _material(db, meeting, "registrants_after_session", session=meeting.later)
    registrant = people["registrant"]
    assert not release.may_open(registrant, material, meeting.later.end_dt - timedelta(seconds=1))
    assert release.may_open(registrant, material, meeting.later.end_dt)
    assert not release.may_open(people["visitor"], material, meeting.later.end_dt + timedelta(days=30))
    db.session.rollback()


def test_an_embargo_holds_a_file_back_and_hides_its_title_from_everyone_but_the_organizers(db, meeting, people):
    until = now_utc() + timedelta(days=2)
    material = _material(db, meeting, "public", embargo=until)
    for name, user in people.items():
        organizes = name in ("organizer", "admin")
        assert release.may_open(user, material) == organizes, name
        assert release.is_listed(user, material) == organizes, name
        assert release.may_open(user, material, until) and release.is_listed(user, material, until)
    db.session.rollback()


def test_a_drafts_files_are_its_organizers_only(db, meeting, people):
    meeting.activity.status = "draft"
    material = _material(db, meeting, "public")
    assert [name for name, user in people.items() if release.is_listed(user, material)] == ["organizer", "admin"]
    db.session.rollback()


def test_the_activity_page_lists_what_opens_and_says_what_is_not_released_yet(client, db, meeting):
    past2 = ActivitySession(title="HBV reactivation", start_dt=meeting.past.start_dt, end_dt=meeting.past.end_dt,
                            activity=meeting.activity)
    db.session.add(past2)
    db.session.commit()
    for session in (meeting.past, past2, meeting.later):
        assert upload(client, meeting.activity, make_pdf([session.title]), "s.pdf", title=f"Slides: {session.title}",
                      session_id=str(session.id), release="registrants_after_session").status_code == 302
    assert upload(client, meeting.activity, SLIDES, "program.pdf", title="Program", release="public").status_code == 302
    assert upload(client, meeting.activity, SLIDES, "secret.pdf", title="Answer key", release="organizers"
                  ).status_code == 302
    assert upload(client, meeting.activity, SLIDES, "late.pdf", title="Late-breaking data", release="public",
                  embargo_local="2031-06-10T09:00").status_code == 302
    client.get(f"/organize/activities/{meeting.activity.id}/materials")  # shows (and so clears) the flashes
    client.post("/account/logout")
    page = client.get(f"/activities/{meeting.activity.id}").get_data(as_text=True)
    assert "Slides for 3 talks are released to registrants after each session." in page
    assert "1 more file will be released on Tue Jun 10, 2031, 9:00 AM EDT." in page
    assert "Slides: HBV reactivation" in page and "Slides: MASLD therapy" in page
    assert "Answer key" not in page and "Late-breaking data" not in page
    program = db.session.scalar(select(Material).where(Material.title == "Program"))
    locked = db.session.scalar(select(Material).where(Material.title == "Slides: HCV elimination"))
    assert f"/library/materials/{program.id}/file" in page and f"/library/materials/{program.id}/thumbnail.png" in page
    assert f"/library/materials/{locked.id}/" not in page  # listed without a link or a thumbnail
    assert "For registrants, after the session ends" in page and "Log in</a> to open" in page


# ---------------------------------------------------------------- downloads

def test_a_pdf_opens_inline_with_its_type_nosniff_etag_conditional_get_and_ranges(client, db, meeting):
    assert upload(client, meeting.activity, SLIDES, "HCV talk.pdf", release="public").status_code == 302
    material = only_material(db)
    client.post("/account/logout")
    url = f"/library/materials/{material.id}/file"
    response = fetch(client, url)
    assert response.status_code == 200 and response.data == SLIDES
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == 'inline; filename="HCV talk.pdf"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["ETag"] == f'"{material.file_sha256}"' and response.headers["Accept-Ranges"] == "bytes"
    assert set(response.headers["Cache-Control"].split(", ")) == {"no-cache", "public"}
    assert fetch(client, url, headers={"If-None-Match": f'"{material.file_sha256}"'}).status_code == 304
    part = fetch(client, url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == SLIDES[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(SLIDES)}"
    stale = fetch(client, url, headers={"Range": "bytes=100-199", "If-Range": '"another-version"'})
    assert stale.status_code == 200 and stale.data == SLIDES
    assert PdfReader(io.BytesIO(response.data)).pages[1].extract_text().startswith("Sofosbuvir")


def test_a_pptx_downloads_as_an_attachment_named_per_rfc_6266(client, db, meeting, make_user, register, auth):
    deck = make_pptx([["Présentation"]])
    assert upload(client, meeting.activity, deck, "Présentation – résumé.pptx", release="registrants"
                  ).status_code == 302
    material = only_material(db)
    register(make_user("reg@example.org"), meeting.activity)
    auth.logout()
    auth.login("reg@example.org")
    response = fetch(client, f"/library/materials/{material.id}/file")
    assert response.status_code == 200 and response.data == deck
    assert response.headers["Content-Type"] == \
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"Presentation - resume.pptx\"; "
        "filename*=UTF-8''Pr%C3%A9sentation%20%E2%80%93%20r%C3%A9sum%C3%A9.pptx")
    assert set(response.headers["Cache-Control"].split(", ")) == {"no-cache", "private"}


def test_a_file_the_viewer_may_not_open_is_a_404_like_one_that_does_not_exist(client, db, meeting, make_user, auth):
    assert upload(client, meeting.activity, SLIDES, "a.pdf", release="registrants").status_code == 302
    material = only_material(db)
    for who in (None, "visitor@example.org"):
        auth.logout()
        if who:
            make_user(who)
            auth.login(who)
        fetch(client, "/")  # shows the log-in and log-out messages
        for url in (f"/library/materials/{material.id}/file", f"/library/materials/{material.id}/thumbnail.png",
                    f"/library/materials/activities/{meeting.activity.id}.zip"):
            missing_url = url.replace(f"/{material.id}/", "/999999/").replace(f"/{meeting.activity.id}.", "/999999.")
            response, missing = fetch(client, url), fetch(client, missing_url)
            assert response.status_code == missing.status_code == 404, (who, url)
            assert response.data.replace(url.encode(), b"") == missing.data.replace(missing_url.encode(), b""), url


def test_a_registrant_downloads_what_they_may_open_as_one_streamed_zip(client, db, meeting, make_user, register, auth):
    program = make_pdf(["Program"])
    deck = make_pptx([["Cirrhosis care"]])
    later_slides = make_pdf(["Later"])
    assert upload(client, meeting.activity, program, "program.pdf", title="Program", release="public").status_code == 302
    assert upload(client, meeting.activity, deck, "c.pptx", title="HCV elimination: slides",
                  session_id=str(meeting.past.id), release="registrants_after_session").status_code == 302
    assert upload(client, meeting.activity, later_slides, "l.pdf", title="MASLD therapy",
                  session_id=str(meeting.later.id), release="registrants_after_session").status_code == 302
    register(make_user("reg@example.org"), meeting.activity)
    auth.logout()
    auth.login("reg@example.org")
    page = client.get(f"/activities/{meeting.activity.id}").get_data(as_text=True)
    assert "Download all (2 files, ZIP" in page
    response = fetch(client, f"/library/materials/activities/{meeting.activity.id}.zip")
    assert response.status_code == 200 and response.is_streamed and "Content-Length" not in response.headers
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Disposition"] == 'attachment; filename="Liver Update 2027 - materials.zip"'
    assert "no-store" in response.headers["Cache-Control"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == ["01 Program.pdf", "02 HCV elimination slides.pptx"]
        assert archive.read("01 Program.pdf") == program and archive.read("02 HCV elimination slides.pptx") == deck
    auth.logout()
    anonymous = fetch(client, f"/library/materials/activities/{meeting.activity.id}.zip")
    with zipfile.ZipFile(io.BytesIO(anonymous.data)) as archive:
        assert archive.namelist() == ["01 Program.pdf"]


def test_the_zip_is_written_while_it_is_sent(app, tmp_path):
    """The generator yields the first file's bytes before it reads the second (nothing is built whole)."""
    from cme.library.materials.bundle import Entry, stream_zip

    first, second = tmp_path / "a", tmp_path / "b"
    first.write_bytes(b"a" * 600_000)
    second.write_bytes(b"b" * 10)
    chunks = stream_zip([Entry("a.pdf", first, now_utc()), Entry("b.pdf", second, now_utc())])
    sent = b""
    while b"a" * 600_000 not in sent:
        sent += next(chunks)
    second.write_bytes(b"c" * 10)  # read only now
    sent += b"".join(chunks)
    with zipfile.ZipFile(io.BytesIO(sent)) as archive:
        assert archive.read("b.pdf") == b"c" * 10


# ---------------------------------------------------------------- organizers' pages and the audit log

def test_only_the_activitys_organizers_manage_its_files(client, db, meeting, make_user, auth):
    assert upload(client, meeting.activity, SLIDES, "a.pdf").status_code == 302
    material = only_material(db)
    make_user("other.org@example.org", role="organizer")
    auth.logout()
    auth.login("other.org@example.org")
    base = f"/organize/activities/{meeting.activity.id}/materials"
    assert client.get(base).status_code == 403
    assert upload(client, meeting.activity, SLIDES, "b.pdf").status_code == 403
    assert client.post(f"{base}/{material.id}/delete").status_code == 403
    assert rows(db) == (1, 1)


def test_uploads_edits_and_deletions_are_in_the_activitys_history(client, db, meeting, organizer):
    assert upload(client, meeting.activity, SLIDES, "a.pdf", title="Program", release="public").status_code == 302
    material = only_material(db)
    client.post(f"/organize/activities/{meeting.activity.id}/materials/{material.id}/edit", data={
        "title": "Program", "session_id": "", "speaker_id": "", "release": "registrants", "embargo_local": ""})
    client.post(f"/organize/activities/{meeting.activity.id}/materials/{material.id}/delete")
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.activity_id == meeting.activity.id,
                                                               AuditEntry.action.like("material.%"))
                                      .order_by(AuditEntry.id)))
    assert [e.action for e in entries] == ["material.created", "material.changed", "material.removed"]
    assert all(e.actor_id == organizer.id for e in entries)
    assert entries[1].before == {"release": "public"} and entries[1].after == {"release": "registrants"}
    assert "Program" in client.get(f"/organize/activities/{meeting.activity.id}/history").get_data(as_text=True)


def test_the_organizers_list_shows_each_files_rule_and_its_searchable_text(client, db, meeting):
    assert upload(client, meeting.activity, SLIDES, "a.pdf", title="HCV", session_id=str(meeting.later.id),
                  release="registrants_after_session", embargo_local="2031-06-10T09:00").status_code == 302
    page = client.get(f"/organize/activities/{meeting.activity.id}/materials").get_data(as_text=True)
    assert "Registrants, after the session ends (" in page and "embargoed until Jun 10, 2031, 9:00 AM EDT" in page
    words = len(only_material(db).text.split())
    assert words > 10 and f"Text found for search: {words} words." in page
