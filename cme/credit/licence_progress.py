"""Progress towards each licence's renewal (issue 16, point 7): the hours earned in the renewal cycle against the
hours the licence requires, in total and per mandated topic, what is still missing before the renewal date, and
the upcoming or on-demand activities that cover the missing topics.

- The cycle of a licence renewed on date R with a cycle of C months is [R - C months, R], both days included; a
  credit record counts when its completion date, in the learner's time zone, falls in it.
- The hours of a completion are the largest amount among its credit records of the types the licence's profession
  may claim (credit.eligibility.credit_types_for_profession): a physician's AMA credit, a nurse's ANCC contact
  hours; one activity never counts twice (AMA credit and hours of participation are the same minutes). MOC points
  are points, not hours (`NOT_HOURS`).
- A topic's hours are the hours of completions of activities tagged with it (ActivityContentTag).
- A licence with no cycle length counts DEFAULT_CYCLE_MONTHS.
Each section is one query (licences, their requirements, credit records, their tags, suggested activities),
however many licences and activities there are."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cme.accounts.identity import StateLicence
from cme.accounts.models import User
from cme.activities.models import Activity, ActivityStatus, CreditType
from cme.activities.reporting_data import ActivityContentTag
from cme.content_tags import ContentTag
from cme.credit.eligibility import credit_types_for_profession
from cme.credit.models import CreditRecord
from cme.extensions import db
from cme.timeutil import now_utc, zone

DEFAULT_CYCLE_MONTHS = 24
NOT_HOURS = {CreditType.ABIM_MOC.value}
SUGGESTIONS_PER_TOPIC = 5


@dataclass
class TopicProgress:
    topic: ContentTag
    required: Decimal
    earned: Decimal = Decimal(0)
    suggestions: list[Activity] = field(default_factory=list)

    @property
    def missing(self) -> Decimal:
        return max(self.required - self.earned, Decimal(0))


@dataclass
class LicenceProgress:
    licence: StateLicence
    starts_on: date
    renews_on: date
    required: Decimal | None
    earned: Decimal = Decimal(0)
    topics: list[TopicProgress] = field(default_factory=list)
    days_left: int = 0

    @property
    def missing(self) -> Decimal:
        return max((self.required or Decimal(0)) - self.earned, Decimal(0))

    @property
    def missing_topics(self) -> list[TopicProgress]:
        return [t for t in self.topics if t.missing > 0]

    @property
    def complete(self) -> bool:
        return self.missing == 0 and not self.missing_topics


def cycle_of(licence: StateLicence) -> tuple[date, date]:
    """The first and last day of the licence's current renewal cycle."""
    months = licence.cycle_months or DEFAULT_CYCLE_MONTHS
    return licence.expires_on - relativedelta(months=months), licence.expires_on


def licence_progress(user: User, *, now: datetime | None = None) -> list[LicenceProgress]:
    """Each of the learner's licences with a renewal date, with its progress (module docstring)."""
    now = now or now_utc()
    licences = list(db.session.scalars(
        select(StateLicence).options(selectinload(StateLicence.requirements))
        .where(StateLicence.user_id == user.id, StateLicence.expires_on.is_not(None))
        .order_by(StateLicence.expires_on, StateLicence.id)))
    if not licences:
        return []
    learner_zone = zone(user.time_zone)
    cycles = {licence.id: cycle_of(licence) for licence in licences}
    first = min(start for start, _ in cycles.values()) - timedelta(days=2)
    last = max(end for _, end in cycles.values()) + timedelta(days=2)
    records = db.session.execute(
        select(CreditRecord.activity_id, CreditRecord.credit_type, CreditRecord.amount, CreditRecord.completed_dt)
        .where(CreditRecord.user_id == user.id,
               CreditRecord.completed_dt >= datetime(first.year, first.month, first.day, tzinfo=learner_zone),
               CreditRecord.completed_dt < datetime(last.year, last.month, last.day, tzinfo=learner_zone))).all()
    tags: dict[int, set[str]] = defaultdict(set)
    if records:
        for activity_id, tag in db.session.execute(select(ActivityContentTag.activity_id, ActivityContentTag.tag).where(
                ActivityContentTag.activity_id.in_({r.activity_id for r in records}))):
            tags[activity_id].add(tag)
    today = now.astimezone(learner_zone).date()
    progress = []
    for licence in licences:
        start, end = cycles[licence.id]
        counted = {t.value for t in credit_types_for_profession(licence.profession)} - NOT_HOURS
        hours: dict[int, Decimal] = {}  # per activity: its largest amount of a counted type
        for record in records:
            if record.credit_type in counted and start <= record.completed_dt.astimezone(learner_zone).date() <= end:
                hours[record.activity_id] = max(hours.get(record.activity_id, Decimal(0)), record.amount)
        item = LicenceProgress(licence=licence, starts_on=start, renews_on=end, required=licence.required_hours,
                               earned=sum(hours.values(), Decimal(0)), days_left=(end - today).days)
        for requirement in licence.requirements:
            earned = sum((h for activity_id, h in hours.items() if requirement.topic in tags[activity_id]), Decimal(0))
            item.topics.append(TopicProgress(ContentTag(requirement.topic), requirement.hours, earned))
        progress.append(item)
    _suggest(user, progress, now=now)
    return progress


def _suggest(user: User, progress: list[LicenceProgress], *, now: datetime) -> None:
    """Upcoming or on-demand activities (published, not ended) tagged with a missing topic, but none the learner
    already claimed credit for: one query."""
    missing = {t.topic.value for item in progress for t in item.missing_topics}
    if not missing:
        return
    found: dict[str, list[Activity]] = defaultdict(list)
    rows = db.session.execute(
        select(ActivityContentTag.tag, Activity).join(Activity, Activity.id == ActivityContentTag.activity_id)
        .where(ActivityContentTag.tag.in_(missing), Activity.status == ActivityStatus.PUBLISHED.value,
               Activity.end_dt > now,
               Activity.id.not_in(select(CreditRecord.activity_id).where(CreditRecord.user_id == user.id)))
        .order_by(Activity.start_dt, Activity.id))
    for tag, activity in rows:
        if len(found[tag]) < SUGGESTIONS_PER_TOPIC:
            found[tag].append(activity)
    for item in progress:
        for topic in item.missing_topics:
            topic.suggestions = found[topic.topic.value]
