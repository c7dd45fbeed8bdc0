"""Session materials: the organizer's operations (add, change, replace the file, delete) and what a page lists.

An upload goes: stream into the store while hashing (`storage.Store.receive`), check what it is from its bytes
(`checks.inspect_file`), extract its text and render its thumbnail (`previews`), then record it: the stored file's
row is inserted (or found) and locked, so an upload and the deletion of the same bytes never cross, and the
material row points at it. The files move into place when the transaction commits (`storage`). A refusal raises a
`DomainError` (`UploadRefused` beside the file field, `MaterialError` beside its own) and leaves nothing behind.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload, selectinload, undefer

from cme.activities.models import Activity, ActivitySession, Faculty
from cme.errors import DomainError
from cme.extensions import db
from cme.library.materials import checks, previews, release, storage
from cme.library.materials.checks import Limits
from cme.library.materials.models import CONTENT_TYPES, Material, Release, StoredFile
from cme.text import single_line
from cme.timeutil import now_utc

MAX_TITLE = 300


class MaterialError(DomainError):
    """A refused change to a session material."""


def upload_limits() -> Limits:
    config = current_app.config
    return Limits(max_bytes=int(config["CME_UPLOAD_MAX_BYTES"]),
                  max_unpacked_bytes=int(config["CME_UPLOAD_MAX_UNPACKED_BYTES"]))


# ---------------------------------------------------------------- receiving a file

@dataclass
class Prepared:
    """An upload received, checked and previewed, in temporary files of the store."""

    received: storage.Received
    inspection: checks.Inspection
    file_name: str
    text: str
    thumbnail: Path | None

    @property
    def sha256(self) -> str:
        return self.received.sha256


def prepare(stream: BinaryIO, filename: str | None, *, store: storage.Store, limits: Limits) -> Prepared:
    """Receive, check and preview an upload; the temporary files go with the transaction from here on (placed
    when it commits, deleted when it does not). Raises UploadRefused."""
    if hasattr(stream, "seek"):
        stream.seek(0)  # a retried transaction reads the upload again
    received = store.receive(stream, max_bytes=limits.max_bytes)
    thumbnail = None
    try:
        inspection = checks.inspect_file(received.path, limits)
        text = previews.extract_text(received.path, inspection.kind, limits)
        thumbnail = store.temporary(".png")
        if not previews.render_thumbnail(received.path, inspection.kind, thumbnail, limits):
            thumbnail.unlink()
            thumbnail = None
    except BaseException:
        received.path.unlink(missing_ok=True)
        if thumbnail is not None:
            thumbnail.unlink(missing_ok=True)
        raise
    moves = [(received.path, store.path_of(received.sha256))]
    if thumbnail is not None:
        moves.append((thumbnail, store.thumbnail_of(received.sha256)))
    storage.place_on_commit(db.session, moves)
    return Prepared(received=received, inspection=inspection, file_name=checks.display_name(filename, inspection.kind),
                    text=text, thumbnail=thumbnail)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _locked_stored_file(sha256: str) -> StoredFile | None:
    """The stored file's row, locked until the transaction ends (PostgreSQL: FOR UPDATE; SQLite: a write, which
    takes the database's write lock)."""
    statement = select(StoredFile).where(StoredFile.sha256 == sha256).execution_options(populate_existing=True)
    if _dialect() == "postgresql":
        statement = statement.with_for_update()
    else:
        db.session.execute(update(StoredFile).where(StoredFile.sha256 == sha256).values(sha256=StoredFile.sha256),
                           execution_options={"synchronize_session": False})
    return db.session.scalar(statement)


def _keep(prepared: Prepared, now: datetime) -> StoredFile:
    """The stored file of these bytes: inserted unless it exists, and locked."""
    insert = (postgresql.insert if _dialect() == "postgresql" else sqlite.insert)(StoredFile.__table__)
    db.session.execute(insert.values(
        sha256=prepared.sha256, size=prepared.received.size, content_type=CONTENT_TYPES[prepared.inspection.kind],
        has_thumbnail=prepared.thumbnail is not None, created_dt=now).on_conflict_do_nothing(
        index_elements=["sha256"]))
    stored = _locked_stored_file(prepared.sha256)
    if prepared.thumbnail is not None and not stored.has_thumbnail:
        stored.has_thumbnail = True
    return stored


def _drop_if_unused(sha256: str, store: storage.Store) -> None:
    """Delete the stored file of `sha256` (row and bytes, with the transaction) when no material points at it."""
    stored = _locked_stored_file(sha256)
    if stored is None:
        return
    db.session.flush()
    if db.session.scalar(select(func.count(Material.id)).where(Material.file_sha256 == sha256)):
        return
    db.session.delete(stored)
    db.session.flush()
    storage.remove_on_commit(db.session, store, sha256)


# ---------------------------------------------------------------- the organizer's operations

@dataclass(frozen=True)
class Details:
    """What an organizer says of a material (ids as the form gives them; the service checks they belong)."""

    title: str
    session_id: int | None
    speaker_id: int | None
    release: str
    embargo_until_dt: datetime | None = None


def _resolve(activity: Activity, details: Details) -> tuple[ActivitySession | None, Faculty | None]:
    session = None
    if details.session_id is not None:
        session = next((s for s in activity.sessions if s.id == details.session_id), None)
        if session is None:
            raise MaterialError("Choose a session of this activity's agenda.", code="unknown_session",
                                field="session_id")
    speaker = None
    if details.speaker_id is not None:
        speaker = next((p for p in activity.faculty if p.id == details.speaker_id), None)
        if speaker is None:
            raise MaterialError("Choose the speaker from this activity's faculty.", code="unknown_speaker",
                                field="speaker_id")
    elif session is not None and len(session.speakers) == 1:
        speaker = session.speakers[0]  # the session's one speaker, unless the organizer named someone
    if details.release not in Release._value2member_map_:
        raise MaterialError("Choose who may open the file.", code="unknown_release", field="release")
    return session, speaker


def _title(details: Details, file_name: str) -> str:
    title = single_line(details.title or "").strip()[:MAX_TITLE].strip()
    return title or file_name.rsplit(".", 1)[0][:MAX_TITLE]


def add_material(activity: Activity, details: Details, *, stream: BinaryIO, filename: str | None,
                 by=None, now: datetime | None = None) -> Material:
    """Attach an uploaded file to the activity (or one of its sessions)."""
    now = now or now_utc()
    session, speaker = _resolve(activity, details)
    store = storage.current_store()
    prepared = prepare(stream, filename, store=store, limits=upload_limits())
    _keep(prepared, now)
    material = Material(
        activity=activity, session=session, speaker=speaker, title=_title(details, prepared.file_name),
        release=details.release, embargo_until_dt=details.embargo_until_dt, file_sha256=prepared.sha256,
        file_name=prepared.file_name, kind=prepared.inspection.kind.value,
        page_count=prepared.inspection.page_count, text=prepared.text,
        uploaded_by=by if getattr(by, "is_authenticated", False) else None, created_dt=now, updated_dt=now)
    db.session.add(material)
    db.session.flush()
    return material


def update_material(material: Material, details: Details, *, stream: BinaryIO | None = None,
                    filename: str | None = None, now: datetime | None = None) -> None:
    """Change what is said of a material, and replace its file when a new one is given (the old one's bytes go
    when no other material points at them)."""
    now = now or now_utc()
    session, speaker = _resolve(material.activity, details)
    if stream is not None:
        store = storage.current_store()
        prepared = prepare(stream, filename, store=store, limits=upload_limits())
        _keep(prepared, now)
        old = material.file_sha256
        material.file_sha256, material.file_name = prepared.sha256, prepared.file_name
        material.kind, material.page_count = prepared.inspection.kind.value, prepared.inspection.page_count
        material.text = prepared.text
        db.session.flush()
        db.session.expire(material, ["stored_file"])
        if old != prepared.sha256:
            _drop_if_unused(old, store)
    material.title = _title(details, material.file_name)
    material.session, material.speaker = session, speaker
    material.release, material.embargo_until_dt = details.release, details.embargo_until_dt
    material.updated_dt = now
    db.session.flush()


def delete_material(material: Material) -> None:
    """Remove a material; its file goes too when no other material points at the same bytes."""
    sha256 = material.file_sha256
    store = storage.current_store()
    _locked_stored_file(sha256)
    db.session.delete(material)
    db.session.flush()
    _drop_if_unused(sha256, store)


# ---------------------------------------------------------------- reading

def materials_of(activity: Activity, *, with_text: bool = False) -> list[Material]:
    """Every material of the activity, in agenda order (the whole activity's first), oldest first within each."""
    options = [joinedload(Material.stored_file), selectinload(Material.session), selectinload(Material.speaker)]
    if with_text:
        options.append(undefer(Material.text))
    materials = list(db.session.scalars(select(Material).where(Material.activity_id == activity.id).options(*options)))
    return sorted(materials, key=lambda m: (m.session is not None, m.session.start_dt if m.session else m.created_dt,
                                            m.created_dt, m.id))


@dataclass
class Card:
    material: Material
    opens: bool
    reason: str = ""  # why it does not open (yet), for a locked card
    release: str = ""  # who may open it and when, for its organizers

    @property
    def title(self) -> str:
        return self.material.title


@dataclass
class Listing:
    """What a viewer sees of an activity's materials: the cards they may see (the whole activity's first, then in
    agenda order), what exists but does not open for them yet (in sentences), and whether they organize the
    activity (then they see everything, with who may open each)."""

    cards: list[Card]
    notes: list[str]
    organizes: bool
    needs_registration: bool  # some listed material opens only for registrants, and the viewer is not one

    @property
    def openable(self) -> list[Material]:
        return [card.material for card in self.cards if card.opens]

    @property
    def openable_size(self) -> int:
        return sum(material.size for material in self.openable)

    def __bool__(self) -> bool:
        return bool(self.cards or self.notes)


def listing(activity: Activity, user, *, now: datetime | None = None) -> Listing:
    """The activity page's materials for `user` (None or anonymous: a visitor)."""
    now = now or now_utc()
    materials = materials_of(activity)
    if not materials:  # most activities: one query, and nothing to ask of the viewer
        return Listing(cards=[], notes=[], organizes=False, needs_registration=False)
    viewer = release.viewer_for(user, [activity.id])
    organizes = viewer.manages(activity)
    cards = []
    for material in materials:
        if not release.is_listed(viewer, material, now):
            continue
        opens = release.may_open(viewer, material, now)
        cards.append(Card(material, opens, "" if opens else release.locked_reason(viewer, material, now),
                          release.release_summary(material, now) if organizes else ""))
    needs_registration = not viewer.is_registered(activity) and any(
        not card.opens and card.material.release != Release.PUBLIC for card in cards)
    return Listing(cards=cards, notes=release.pending_notes(viewer, materials, now), organizes=organizes,
                   needs_registration=needs_registration)


def openable_materials(activity: Activity, user, *, now: datetime | None = None) -> list[Material]:
    """What `user` may open of the activity now, in agenda order (the ZIP of all materials)."""
    now = now or now_utc()
    viewer = release.viewer_for(user, [activity.id])
    return [m for m in materials_of(activity) if release.may_open(viewer, m, now)]
