"""Certificates: immutable snapshots of credit, verifiable by code."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme.enums import LabeledEnum, check_in
from cme.extensions import db
from cme.timeutil import UTCDateTime, now_utc

if TYPE_CHECKING:
    from cme.accounts.models import User
    from cme.activities.models import Activity


class CertificateKind(LabeledEnum):
    CREDIT = "credit", "Certificate of credit"
    PARTICIPATION = "participation", "Certificate of participation"


def new_verification_code() -> str:
    """Unguessable (about 100 bits), unambiguous to read aloud or type: base32 without padding."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(20))


class Certificate(db.Model):
    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint(check_in("kind", CertificateKind), name="kind"),
        CheckConstraint("superseded_dt IS NULL OR superseded_dt >= issued_dt", name="superseded_after_issue"),
        # Issue 12 point 4: at most one current (not superseded) certificate per learner and activity.
        Index(
            "uq_certificates_current_user_activity",
            "user_id",
            "activity_id",
            unique=True,
            sqlite_where=text("superseded_dt IS NULL"),
            postgresql_where=text("superseded_dt IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    verification_code: Mapped[str] = mapped_column(String(32), unique=True, default=new_verification_code)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    # What the certificate says, frozen at issue: learner, activity, credits, statements.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    issued_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    superseded_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    superseded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("certificates.id", ondelete="SET NULL"))

    # Issue 12, point 7: when its mail was last queued (a re-send waits a minute after it).
    mailed_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    activity: Mapped[Activity] = relationship()

    @property
    def is_valid(self) -> bool:
        return self.superseded_dt is None
