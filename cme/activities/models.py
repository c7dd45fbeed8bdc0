"""Activities (live meetings and webcasts), their agenda, faculty, disclosures and credit."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional

from sqlalchemy import false as sa_false
from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Numeric, String, Table, Text, UniqueConstraint, Uuid, event
from sqlalchemy import inspect
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm import Session as OrmSession

from cme.amounts import QUARTER_STEP_SQL
from cme.enums import LabeledEnum, check_in
from cme.extensions import db
from cme.timeutil import UTCDateTime, now_utc

if TYPE_CHECKING:
    from cme.accounts.models import User


class ActivityFormat(LabeledEnum):
    LIVE_MEETING = "live_meeting", "Live meeting"
    LIVE_WEBCAST = "live_webcast", "Live webcast"
    ON_DEMAND_WEBCAST = "on_demand_webcast", "On-demand webcast"


class ActivityStatus(LabeledEnum):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    CANCELLED = "cancelled", "Cancelled"


# What the public may see: a cancelled activity stays visible (with its notice) so registrants learn of it.
PUBLIC_STATUSES = (ActivityStatus.PUBLISHED.value, ActivityStatus.CANCELLED.value)


class CreditType(LabeledEnum):
    AMA_PRA_1 = "ama_pra_1", "AMA PRA Category 1 Credit™"
    ANCC = "ancc", "ANCC contact hours"
    ACPE = "acpe", "ACPE contact hours"
    AAPA_1 = "aapa_1", "AAPA Category 1 CME credit"
    ABIM_MOC = "abim_moc", "ABIM MOC points"
    PARTICIPATION = "participation", "Certificate of participation (hours)"


class AccreditationKind(LabeledEnum):
    """Under whose accreditation the activity is offered (point 9 of issue 12): it decides the statements."""
    ACCME = "accme", "ACCME-accredited provider (directly provided)"
    JOINT_ACCREDITATION = "joint_accreditation", "Joint Accreditation for Interprofessional Continuing Education"
    JOINT_PROVIDERSHIP = "joint_providership", "Joint providership with a non-accredited organization"
    CUSTOM = "custom", "Another accreditor (a statement of our own)"


class SupportKind(LabeledEnum):
    MONETARY = "monetary", "Educational grant"
    IN_KIND = "in_kind", "In-kind support"


class FacultyRole(LabeledEnum):
    FACULTY = "faculty", "Faculty"
    PLANNER = "planner", "Planner"
    REVIEWER = "reviewer", "Reviewer"


class RelationshipType(LabeledEnum):
    CONSULTANT = "consultant", "Consultant"
    ADVISORY_BOARD = "advisory_board", "Advisory board"
    SPEAKERS_BUREAU = "speakers_bureau", "Speakers bureau"
    RESEARCH_GRANT = "research_grant", "Grant/research support"
    STOCK = "stock", "Stock shareholder"
    EMPLOYEE = "employee", "Employee"
    ROYALTIES = "royalties", "Royalties/patent holder"
    OTHER = "other", "Other financial relationship"


# The catalog's specialty vocabulary (free-text topics add detail).
SPECIALTIES = [
    "Addiction medicine", "Emergency medicine", "Family medicine", "Gastroenterology", "Hepatology",
    "Infectious diseases", "Internal medicine", "Nursing", "Oncology", "Pathology", "Pharmacy", "Psychiatry",
    "Radiology", "Transplant hepatology", "Transplant surgery",
]


activity_organizers = Table(
    "activity_organizers",
    db.metadata,
    Column("activity_id", ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


# Waitlist offers (issue 14, point 16): the defaults, and the bounds the form and the database both hold.
DEFAULT_OFFER_DAYS, MAX_OFFER_DAYS = 7, 365
DEFAULT_OFFER_HOURS, MAX_OFFER_HOURS = 24, 168


class ActivityFacts:
    """What an activity's own columns say: its format's label, whether it is on demand, cancelled or over, where it
    happens, its designations in reading order. The mapped Activity has them, and so has the catalog's card
    (cme.activities.catalog.ActivityCard: the same columns read as plain values, far cheaper than mapped objects
    for a page of twenty): one rule for both."""

    @property
    def format_label(self) -> str:
        return ActivityFormat(self.format).label

    @property
    def designations(self) -> list[DesignationFacts]:
        """Credit designations in CreditType order (AMA first), as learners expect to read them (a mapped
        activity's CreditDesignation rows, a card's plain ones)."""
        order = {c.value: i for i, c in enumerate(CreditType)}
        return sorted(self.credit_designations, key=lambda d: order[d.credit_type])

    @property
    def is_live_meeting(self) -> bool:
        return self.format == ActivityFormat.LIVE_MEETING

    @property
    def is_webcast(self) -> bool:
        return self.format in (ActivityFormat.LIVE_WEBCAST, ActivityFormat.ON_DEMAND_WEBCAST)

    @property
    def is_on_demand(self) -> bool:
        return self.format == ActivityFormat.ON_DEMAND_WEBCAST

    @property
    def is_published(self) -> bool:
        return self.status == ActivityStatus.PUBLISHED

    @property
    def is_cancelled(self) -> bool:
        return self.status == ActivityStatus.CANCELLED

    def has_ended(self, now: datetime | None = None) -> bool:
        """Its end has come (for an on-demand webcast: its availability is over)."""
        return self.end_dt <= (now or now_utc())

    @property
    def location_line(self) -> str:
        if not self.is_live_meeting:
            return "Online"
        parts = [self.venue_name, self.city and self.state and f"{self.city}, {self.state}"]
        return " · ".join(p for p in parts if p) or "Venue to be announced"


class DesignationFacts:
    """A credit designation's label, for the mapped CreditDesignation and the catalog card's plain one."""

    @property
    def credit_type_label(self) -> str:
        return CreditType(self.credit_type).label


class Activity(ActivityFacts, db.Model):
    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint(check_in("format", ActivityFormat), name="format"),
        CheckConstraint(check_in("status", ActivityStatus), name="status"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_non_negative"),
        CheckConstraint("end_dt > start_dt", name="ends_after_start"),
        CheckConstraint("schedule_sequence >= 0", name="sequence_non_negative"),
        CheckConstraint(
            "registration_closes_dt IS NULL OR registration_opens_dt IS NULL "
            "OR registration_closes_dt > registration_opens_dt",
            name="registration_window",
        ),
        CheckConstraint(
            "available_until_dt IS NULL OR available_from_dt IS NULL OR available_until_dt > available_from_dt",
            name="availability_window",
        ),
        # Serves the catalog: in start order, filtering on end and status without reading rows.
        Index("ix_activities_start_dt_end_dt_status", "start_dt", "end_dt", "status"),
        # Free-text search with LIKE '%word%' on PostgreSQL: a trigram index (pg_trgm). SQLite scans.
        Index("ix_activities_search_text_trgm", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
        # The same with the end (btree_gin), for a search of what has not ended (the catalog's default): the index
        # yields only the upcoming matches, where the one above yields every match since the site began and the
        # rows are then read to drop the ended ones (past activities accumulate, upcoming ones stay few). The one
        # above stays for past searches: a range of every past end costs more than it saves.
        Index("ix_activities_search_text_end_dt_trgm", "search_text", "end_dt", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    format: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ActivityStatus.DRAFT.value)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    learning_objectives: Mapped[str] = mapped_column(Text, default="")  # one per line
    target_audience: Mapped[str] = mapped_column(Text, default="")
    specialty: Mapped[str] = mapped_column(String(120), default="", index=True)
    topics: Mapped[str] = mapped_column(String(500), default="")  # comma-separated
    # What the catalog's free-text search matches (`search_text_for`), kept by `_touch_parent_activity`.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    time_zone: Mapped[str] = mapped_column(String(64))
    # For live activities the scheduled span; for on-demand webcasts the release date and end of availability.
    start_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    end_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    # Live meeting venue.
    venue_name: Mapped[Optional[str]] = mapped_column(String(200))
    street_address: Mapped[Optional[str]] = mapped_column(String(300))
    city: Mapped[Optional[str]] = mapped_column(String(120))
    state: Mapped[Optional[str]] = mapped_column(String(2))
    postal_code: Mapped[Optional[str]] = mapped_column(String(10))
    # Webcasts.
    join_url: Mapped[Optional[str]] = mapped_column(String(500))
    access_notes: Mapped[str] = mapped_column(Text, default="")
    available_from_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    available_until_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    capacity: Mapped[Optional[int]]
    registration_opens_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    registration_closes_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    claim_deadline_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # On-demand webcasts may have a post-test; learners need this score (percent) to claim credit, in at most
    # this many attempts (None: unlimited).
    post_test_passing_score: Mapped[Optional[int]]
    post_test_max_attempts: Mapped[Optional[int]] = mapped_column(CheckConstraint(
        "post_test_max_attempts IS NULL OR post_test_max_attempts >= 1", name="post_test_max_attempts"))
    # The statement's text only when `accreditation_kind` is "custom"; the other kinds compute it (statements.py).
    accreditation_statement: Mapped[str] = mapped_column(Text, default="")
    # Bumped on every schedule change, so calendar clients replace what they hold.
    schedule_sequence: Mapped[int] = mapped_column(default=0)
    schedule_changed_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # The public VEVENTs as last serialised (cme.calendar), with the version they were built from: lets any
    # worker answer a feed without re-serialising activities that did not change.
    ics_fragment: Mapped[Optional[str]] = mapped_column(Text, deferred=True)
    ics_fragment_version: Mapped[Optional[str]] = mapped_column(String(64), deferred=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    published_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    cancelled_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Point 9 of issue 12: the accreditation chosen per activity, and the joint provider it names (joint providership).
    accreditation_kind: Mapped[str] = mapped_column(
        String(30), CheckConstraint(check_in("accreditation_kind", AccreditationKind), name="accreditation_kind"),
        default=AccreditationKind.ACCME.value, server_default=AccreditationKind.ACCME.value)
    joint_provider: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Issue 12, point 2 (who may claim what): the ACPE Universal Activity Number, which ACPE credit needs
    # (cme.activities.acpe checks its format).
    acpe_uan: Mapped[Optional[str]] = mapped_column(String(30))
    # Issue 16, point 3: the course tracking number CE Broker gave the activity (its roster names it).
    ce_broker_tracking_number: Mapped[Optional[str]] = mapped_column(String(40))
    # Issue 16, point 2: the IDs ACCME's PARS knows the activity and its provider by (the rest of the activity's
    # reporting data: cme/activities/reporting_data.py).
    accme_activity_id: Mapped[Optional[str]] = mapped_column(String(20))
    accme_provider_id: Mapped[Optional[str]] = mapped_column(String(20))
    # Issue 12, point 6: reminders to confirmed registrants (cme.registration.reminders), each can be turned off:
    # a live meeting's 24 hours before its start, a live webcast's one hour before (with the join link).
    remind_day_before: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    remind_hour_before: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    # Issue 14, point 16: within this many days of the start, a seat that frees up is offered to the next person on
    # the waitlist, who has `offer_hours` to accept it (never past the start), instead of being given silently
    # (cme.registration.service.fill_free_seats). 0 days: always given silently.
    offer_days_before: Mapped[int] = mapped_column(
        CheckConstraint(f"offer_days_before >= 0 AND offer_days_before <= {MAX_OFFER_DAYS}", name="offer_days_before"),
        default=DEFAULT_OFFER_DAYS, server_default=str(DEFAULT_OFFER_DAYS))
    offer_hours: Mapped[int] = mapped_column(
        CheckConstraint(f"offer_hours >= 1 AND offer_hours <= {MAX_OFFER_HOURS}", name="offer_hours"),
        default=DEFAULT_OFFER_HOURS, server_default=str(DEFAULT_OFFER_HOURS))

    organizers: Mapped[list[User]] = relationship(secondary=activity_organizers)
    sessions: Mapped[list[ActivitySession]] = relationship(
        back_populates="activity", cascade="all, delete-orphan", order_by="ActivitySession.start_dt"
    )
    faculty: Mapped[list[Faculty]] = relationship(
        back_populates="activity", cascade="all, delete-orphan", order_by="Faculty.position"
    )
    credit_designations: Mapped[list[CreditDesignation]] = relationship(
        back_populates="activity", cascade="all, delete-orphan", order_by="CreditDesignation.credit_type"
    )
    # Point 9 of issue 12.
    commercial_supports: Mapped[list[CommercialSupport]] = relationship(
        back_populates="activity", cascade="all, delete-orphan", order_by="CommercialSupport.id"
    )

    # Issue 12, point 7: certificates issued when a learner claims (default for on-demand webcasts), or only when
    # the organizer presses "Issue certificates".
    certificates_automatic: Mapped[bool] = mapped_column(default=lambda context: context.get_current_parameters().get(
        "format") == ActivityFormat.ON_DEMAND_WEBCAST.value, server_default=sa_false())

    @property
    def accreditation_kind_label(self) -> str:
        return AccreditationKind(self.accreditation_kind).label

    @property
    def offers_from_dt(self) -> datetime | None:
        """From when a freed seat is offered rather than given (None: never; see `offer_days_before`)."""
        return self.start_dt - timedelta(days=self.offer_days_before) if self.offer_days_before else None

    def offers_seats(self, now: datetime | None = None) -> bool:
        """A seat that frees up now is offered to the next person on the waitlist (rather than given to them):
        within `offer_days_before` days of the start, and not once it has started."""
        now = now or now_utc()
        return self.offers_from_dt is not None and self.offers_from_dt <= now < self.start_dt

    def is_open_for_credit(self, now: datetime | None = None) -> bool:
        """Evaluations, claims and certificates open when a live activity has ended; an on-demand webcast's open
        from the start (each learner's own viewing then decides)."""
        return self.is_on_demand or self.has_ended(now)

    @property
    def is_public(self) -> bool:
        """Published or cancelled: the public (and its registrants) may see it; a draft is its organizers' only."""
        return self.status in PUBLIC_STATUSES

    # What learners are told of disclosures (issue 12, point 1): each sentence only when the data make it true.
    @property
    def everyone_disclosed(self) -> bool:
        """Everyone in a content role has a disclosure on file (and there is someone)."""
        return bool(self.faculty) and all(person.has_disclosure_on_file for person in self.faculty)

    @property
    def relevant_relationships(self) -> list[Disclosure]:
        return [disclosure for person in self.faculty for disclosure in person.disclosures]

    @property
    def all_relationships_mitigated(self) -> bool:
        """Learners may be told that all relevant financial relationships have been mitigated: there are some,
        and each one is."""
        relationships = self.relevant_relationships
        return bool(relationships) and all(d.mitigated for d in relationships)

    @property
    def full_address(self) -> str:
        city_line = " ".join(p for p in [f"{self.city}," if self.city else None, self.state, self.postal_code] if p)
        return ", ".join(p for p in [self.venue_name, self.street_address, city_line] if p)

    def __repr__(self) -> str:
        return f"<Activity {self.id} {self.title!r} {self.status}>"

    # Issue 12 point 4: an ended activity is the record of what happened; it cannot be cancelled or unpublished.
    def can_be_cancelled(self, now: datetime | None = None) -> bool:
        """Not once it is cancelled or has ended (activities.service.cancel refuses then)."""
        return not self.is_cancelled and not self.has_ended(now)

    def can_be_unpublished(self, now: datetime | None = None) -> bool:
        """Only while published and not ended (activities.service.unpublish refuses otherwise)."""
        return self.is_published and not self.has_ended(now)


# The catalog's free text (issue 14, point 4) reads what the activity is about, where it happens, who teaches it
# (everyone in a content role), its agenda's titles and its credit, in the words people type for each credit type.
SEARCHED_FIELDS = ("title", "summary", "specialty", "topics", "description", "venue_name", "city", "state")
CREDIT_SEARCH_WORDS = {
    CreditType.AMA_PRA_1: "AMA PRA Category 1 Credit CME",
    CreditType.ANCC: "ANCC nursing contact hours CNE",
    CreditType.ACPE: "ACPE pharmacy contact hours CPE",
    CreditType.AAPA_1: "AAPA Category 1 CME credit physician assistants",
    CreditType.ABIM_MOC: "ABIM MOC points maintenance of certification",
    CreditType.PARTICIPATION: "certificate of participation",
}


def search_text_for(values: Mapping[str, Any] | Activity, *, people: Iterable[str] = (),
                    credit_types: Iterable[str] = (), sessions: Iterable[str] = ()) -> str:
    """The lower-cased text the catalog's search matches: the activity's searched fields (from a row's values or
    the object), the names of its people, its agenda's titles and the search words of its credit types."""
    get = values.get if isinstance(values, Mapping) else lambda name: getattr(values, name, None)
    parts = [get(name) or "" for name in SEARCHED_FIELDS]
    parts += [*people, *sessions, *(CREDIT_SEARCH_WORDS[CreditType(t)] for t in credit_types)]
    return " ".join(part for part in parts if part).lower()


def activity_search_text(activity: Activity, *, leaving: Iterable[object] = ()) -> str:
    """`search_text_for` an activity as it stands, without the children in `leaving` (being deleted)."""
    leaving = list(leaving)
    keep = lambda items: [item for item in items if not any(item is gone for gone in leaving)]  # noqa: E731
    return search_text_for(activity, people=[p.full_name for p in keep(activity.faculty)],
                           credit_types=[d.credit_type for d in keep(activity.credit_designations)],
                           sessions=[s.title for s in keep(activity.sessions)])


@event.listens_for(OrmSession, "before_flush")
def _touch_parent_activity(session, _context, _instances) -> None:
    """A changed agenda item, credit designation or person (agendas name their speakers) is a change of its
    activity (feeds, ETags); one saved unchanged is not. An activity's search text follows its searched fields
    and these children, in the same flush."""
    changed = [obj for obj in session.dirty if session.is_modified(obj)]
    stale: list[Activity] = [obj for obj in session.new if isinstance(obj, Activity)]
    stale += [obj for obj in changed if isinstance(obj, Activity) and any(
        inspect(obj).attrs[name].history.has_changes() for name in SEARCHED_FIELDS)]
    for obj in (*session.new, *changed, *session.deleted):
        if isinstance(obj, (ActivitySession, CreditDesignation, Faculty)):
            activity = obj.activity
            if activity is None and obj.activity_id is not None:  # removed from its activity's collection
                activity = session.get(Activity, obj.activity_id)
            if activity is not None:
                activity.updated_dt = now_utc()
                stale.append(activity)
    deleted = list(session.deleted)
    for activity in {id(a): a for a in stale}.values():
        if not any(activity is gone for gone in deleted):
            activity.search_text = activity_search_text(activity, leaving=deleted)


# Issue 12, point 1: who speaks in which agenda session (both of the same activity; the service sees to it).
session_speakers = Table(
    "session_speakers",
    db.metadata,
    Column("session_id", ForeignKey("activity_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("faculty_id", ForeignKey("faculty.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class ActivitySession(db.Model):
    """An agenda item of an activity."""

    __tablename__ = "activity_sessions"
    __table_args__ = (CheckConstraint("end_dt > start_dt", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    start_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    end_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    room: Mapped[str] = mapped_column(String(120), default="")

    activity: Mapped[Activity] = relationship(back_populates="sessions")
    # Issue 12, point 1: speakers are the activity's faculty records (so each has a disclosure), not free text.
    speakers: Mapped[list[Faculty]] = relationship(secondary="session_speakers", back_populates="sessions",
                                                   order_by="Faculty.position")

    @property
    def speaker_names(self) -> str:
        return "; ".join(person.byline for person in self.speakers)

    @property
    def hours(self) -> Decimal:
        return Decimal((self.end_dt - self.start_dt).total_seconds()) / Decimal(3600)


class Faculty(db.Model):
    """A person who controls content of an activity: faculty, planner or reviewer.

    `disclosure_received_dt` is when their disclosure came in; NULL means none on
    file. A disclosure on file with no `Disclosure` rows means "no relevant
    financial relationships".
    """

    __tablename__ = "faculty"
    __table_args__ = (CheckConstraint(check_in("role", FacultyRole), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    degree: Mapped[str] = mapped_column(String(60), default="")
    affiliation: Mapped[str] = mapped_column(String(300), default="")
    role: Mapped[str] = mapped_column(String(20), default=FacultyRole.FACULTY.value)
    position: Mapped[int] = mapped_column(default=0)
    disclosure_received_dt: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    activity: Mapped[Activity] = relationship(back_populates="faculty")
    disclosures: Mapped[list[Disclosure]] = relationship(
        back_populates="faculty", cascade="all, delete-orphan", order_by="Disclosure.company"
    )

    # Issue 12, point 1: the agenda sessions this person speaks in.
    sessions: Mapped[list[ActivitySession]] = relationship(secondary="session_speakers", back_populates="speakers",
                                                           order_by="ActivitySession.start_dt")

    @property
    def role_label(self) -> str:
        return FacultyRole(self.role).label

    @property
    def byline(self) -> str:
        return f"{self.full_name}, {self.degree}" if self.degree else self.full_name

    @property
    def has_disclosure_on_file(self) -> bool:
        return self.disclosure_received_dt is not None

    @property
    def has_no_relationships(self) -> bool:
        return self.has_disclosure_on_file and not self.disclosures

    @property
    def unmitigated(self) -> list[Disclosure]:
        return [d for d in self.disclosures if not d.mitigated]


class Disclosure(db.Model):
    """One financial relationship with an ineligible company, in the past 24 months."""

    __tablename__ = "disclosures"
    __table_args__ = (CheckConstraint(check_in("relationship_type", RelationshipType), name="relationship_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    faculty_id: Mapped[int] = mapped_column(ForeignKey("faculty.id", ondelete="CASCADE"), index=True)
    company: Mapped[str] = mapped_column(String(200))
    relationship_type: Mapped[str] = mapped_column(String(30))
    mitigated: Mapped[bool] = mapped_column(default=False)

    faculty: Mapped[Faculty] = relationship(back_populates="disclosures")

    @property
    def relationship_label(self) -> str:
        return RelationshipType(self.relationship_type).label


class CreditDesignation(DesignationFacts, db.Model):
    __tablename__ = "credit_designations"
    __table_args__ = (
        CheckConstraint(check_in("credit_type", CreditType), name="credit_type"),
        CheckConstraint("max_amount > 0", name="max_amount_positive"),
        CheckConstraint(QUARTER_STEP_SQL.format(col="max_amount"), name="max_amount_quarter_step"),
        UniqueConstraint("activity_id", "credit_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    credit_type: Mapped[str] = mapped_column(String(20))
    max_amount: Mapped[Decimal] = mapped_column(Numeric(5, 2))

    activity: Mapped[Activity] = relationship(back_populates="credit_designations")


class CommercialSupport(db.Model):
    """Support from an ineligible company (point 9 of issue 12): an educational grant (with its amount, for the
    accreditor's reports) or in-kind support. Learners see the company's name in the acknowledgement."""

    __tablename__ = "commercial_supports"
    __table_args__ = (
        CheckConstraint(check_in("kind", SupportKind), name="kind"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    company: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default=SupportKind.MONETARY.value)
    amount: Mapped[Optional[Decimal]] = mapped_column(Numeric(12, 2))

    activity: Mapped[Activity] = relationship(back_populates="commercial_supports")

    @property
    def kind_label(self) -> str:
        return SupportKind(self.kind).label
