"""The file store: bytes kept under CME_STORAGE_DIR (default: the instance folder's `storage/`), named by their
SHA-256 (`ab/abcdef…`, the thumbnail beside it as `ab/abcdef….png`), so the same file is kept once.

An upload is streamed into a temporary file in the store's own folder while it is hashed (never held whole in
memory), checked there, and moved into place by an atomic rename only when the database transaction that records
it commits; if that transaction rolls back (a refusal, a database error, a crash of the request) the temporary
file is deleted. A file whose last material is deleted is moved aside in the deleting transaction and deleted when
it commits (put back if it rolls back). So the store and the database agree: a refused or failed upload leaves
neither a row nor a file.

The session listeners below run these moves (registered when this module is imported, on every SQLAlchemy
session, like `cme.activities.models`' flush listener).
"""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction

from cme.library.materials.checks import UploadRefused, megabytes

log = logging.getLogger("cme.library")

CHUNK = 256 * 1024
INCOMING = ".incoming-"
LEAVING = ".leaving-"
_PENDING = "cme.library.storage.pending"


@dataclass(frozen=True)
class Received:
    """An upload streamed into a temporary file of the store: where, its SHA-256 and size."""

    path: Path
    sha256: str
    size: int


class Store:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def thumbnail_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.png"

    def temporary(self, suffix: str = ".part") -> Path:
        """A new, empty temporary file in the store's folder (the same file system as its final place)."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"{INCOMING}{secrets.token_hex(12)}{suffix}"
        path.touch(mode=0o600, exist_ok=False)
        return path

    def receive(self, stream: BinaryIO, *, max_bytes: int) -> Received:
        """Copy `stream` into a temporary file chunk by chunk, hashing as it goes; refuse it (and leave nothing) past
        `max_bytes` or when empty."""
        path = self.temporary()
        digest, size = hashlib.sha256(), 0
        try:
            with open(path, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise UploadRefused(f"The file is larger than the {megabytes(max_bytes)} this site accepts.",
                                            code="too_large")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size == 0:
                raise UploadRefused("The file is empty.", code="empty")
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Received(path=path, sha256=digest.hexdigest(), size=size)


def current_store() -> Store:
    return Store(current_app.config.get("CME_STORAGE_DIR") or Path(current_app.instance_path) / "storage")


# ---------------------------------------------------------------- moves that follow the transaction

@dataclass
class _Placement:
    """Temporary files that become stored files (file, thumbnail) when the transaction commits."""

    moves: list[tuple[Path, Path]]

    def commit(self) -> None:
        for temporary, final in self.moves:
            if final.exists():  # the same bytes are already kept
                temporary.unlink(missing_ok=True)
                continue
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, final)

    def rollback(self) -> None:
        for temporary, _final in self.moves:
            temporary.unlink(missing_ok=True)


@dataclass
class _Removal:
    """Stored files moved aside at once (while the transaction holds their row's lock): deleted when it commits,
    put back when it rolls back."""

    moved: list[tuple[Path, Path]] = field(default_factory=list)  # (aside, final)

    def commit(self) -> None:
        for aside, _final in self.moved:
            aside.unlink(missing_ok=True)

    def rollback(self) -> None:
        for aside, final in self.moved:
            if aside.exists():
                os.replace(aside, final)


def _pending(session: OrmSession) -> list:
    session.connection()  # begins the transaction now, so its end (commit or rollback) is certain to be seen
    return session.info.setdefault(_PENDING, [])


def place_on_commit(session: OrmSession, moves: list[tuple[Path, Path]]) -> None:
    """Move each temporary file to its final place when the session's transaction commits; delete them if not."""
    _pending(session).append(_Placement(moves))


def remove_on_commit(session: OrmSession, store: Store, sha256: str) -> None:
    """Remove the stored file (and its thumbnail) of `sha256` with the session's transaction."""
    removal = _Removal()
    _pending(session).append(removal)
    for final in (store.path_of(sha256), store.thumbnail_of(sha256)):
        if final.exists():
            aside = store.root / f"{LEAVING}{secrets.token_hex(8)}-{final.name}"
            os.replace(final, aside)
            removal.moved.append((aside, final))


def _run(session: OrmSession, step: Callable[[object], None], what: str) -> None:
    for action in session.info.pop(_PENDING, []):
        try:
            step(action)
        except OSError:  # the database has decided; the store is told what it could not do
            log.exception("file store: could not %s %r", what, action)


@event.listens_for(OrmSession, "after_commit")
def _after_commit(session: OrmSession) -> None:
    _run(session, lambda action: action.commit(), "finish")


@event.listens_for(OrmSession, "after_transaction_end")
def _after_transaction_end(session: OrmSession, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit: undo
        _run(session, lambda action: action.rollback(), "undo")
