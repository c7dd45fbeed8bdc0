"""Activity forms: the catalog filters, and the organizer's activity, agenda, faculty and credit forms.

Times are typed as local wall-clock time in the activity's zone; the forms turn them into aware UTC
(`*_utc` attributes after validation) and reject times inside a DST gap, or in a repeated hour unless
the organizer said which occurrence they mean.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from wtforms import (
    BooleanField, DateField, DateTimeLocalField, DecimalField, IntegerField, StringField, TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, URL, ValidationError

from cme.accounts.models import US_STATES
from cme.activities.acpe import EXAMPLE as UAN_EXAMPLE, normalise_uan, uan_problem
from cme.activities.models import (
    DEFAULT_OFFER_DAYS, DEFAULT_OFFER_HOURS, MAX_OFFER_DAYS, MAX_OFFER_HOURS, SPECIALTIES, AccreditationKind,
    ActivityFormat, CreditType, FacultyRole, RelationshipType, SupportKind,
)
from cme.amounts import MAX_AMOUNT, is_quarter_step
from cme.formtools import (
    Form, InRange, MultiCheckboxField, SelectField, none_if_blank, select_choices, strip, without_nul,
)
from cme.timeutil import AmbiguousLocalTime, NonExistentLocalTime, is_valid_zone, local_to_utc, zone_choices

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
# More seats than any venue or webcast has; well within an Integer column.
MAX_CAPACITY = 1_000_000

FOLD_CHOICES = select_choices([
    ("", "Ask me"),
    ("0", "the first time (still daylight saving time)"),
    ("1", "the second time (after clocks go back)"),
])


def _to_utc(form, field, zone_name: str) -> datetime | None:
    """Convert a local DateTimeLocalField to UTC, adding a field error on DST gaps and ambiguity."""
    if field.data is None or not is_valid_zone(zone_name):
        return None
    fold = form.fold.data if hasattr(form, "fold") else ""
    try:
        return local_to_utc(field.data, zone_name, fold=int(fold) if fold in ("0", "1") else None)
    except NonExistentLocalTime as error:
        field.errors.append(f"{error}. Choose a time outside the skipped hour.")
    except AmbiguousLocalTime as error:
        field.errors.append(f"{error}. Say below which occurrence you mean.")
    return None


NOTICE_MESSAGE_LABEL = "Personal message to registrants (optional)"
NOTICE_MESSAGE_HELP = "Goes into the notice registrants get when this save changes a time, the venue or the join link."


# The catalog's format filter: each format, and "webcast" for live and on-demand webcasts alike.
FORMAT_FILTERS = [
    ("", "All formats"), (ActivityFormat.LIVE_MEETING.value, "Live meetings"), ("webcast", "All webcasts"),
    (ActivityFormat.LIVE_WEBCAST.value, "Live webcasts"), (ActivityFormat.ON_DEMAND_WEBCAST.value, "On-demand webcasts"),
]


class CatalogFilterForm(Form):
    """GET filters of the catalog, the month view and the public feed."""

    class Meta:
        csrf = False

    q = StringField("Search", filters=[without_nul, strip], validators=[Optional(), Length(max=200)],
                    render_kw={"placeholder": "Speaker, city, venue, topic, MOC…"})
    format = SelectField("Format", choices=select_choices(FORMAT_FILTERS), default="", validators=[Optional()])
    specialty = SelectField("Specialty or topic", choices=select_choices([("", "Any specialty")] + [(s, s) for s in SPECIALTIES]),
                            default="", validators=[Optional()])
    credit_type = SelectField("Credit type", choices=select_choices([("", "Any credit")] + CreditType.choices()),
                              default="", validators=[Optional()])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
    when = SelectField("Show", choices=select_choices([("upcoming", "Upcoming"), ("past", "Past")]), default="upcoming",
                       validators=[Optional()])

    def validate_date_from(self, field) -> None:
        _filter_date_in_range(field)

    def validate_date_to(self, field) -> None:
        _filter_date_in_range(field)
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")


# Filter dates the catalog, the month view and the feed can work with (a day is added to the end date).
FILTER_DATES = (date(1901, 1, 1), date(2999, 12, 31))


def _filter_date_in_range(field) -> None:
    if field.data and not FILTER_DATES[0] <= field.data <= FILTER_DATES[1]:
        raise ValidationError(f"Choose a date between {FILTER_DATES[0].year} and {FILTER_DATES[1].year}.")


class ActivityForm(Form):
    format = SelectField("Format", choices=select_choices(ActivityFormat.choices()), default=ActivityFormat.LIVE_MEETING.value)
    title = StringField("Title", validators=[DataRequired(), Length(max=300)], filters=[strip])
    summary = TextAreaField("Summary (one or two sentences for the catalog)", validators=[Optional(), Length(max=1000)],
                            filters=[strip])
    description = TextAreaField("Description", validators=[Optional(), Length(max=20_000)], filters=[strip])
    learning_objectives = TextAreaField("Learning objectives (one per line)", validators=[Optional(), Length(max=5000)],
                                        filters=[strip])
    target_audience = TextAreaField("Target audience", validators=[Optional(), Length(max=2000)], filters=[strip])
    specialty = SelectField("Specialty", choices=select_choices([("", "—")] + [(s, s) for s in SPECIALTIES]), default="",
                            validators=[Optional()])
    topics = StringField("Topics (comma-separated)", validators=[Optional(), Length(max=500)], filters=[strip])
    time_zone = SelectField("Time zone of the activity", choices=select_choices(zone_choices()), default="America/New_York")
    start_local = DateTimeLocalField("Starts (local time)", format=LOCAL_FORMAT, validators=[InputRequired("Enter the start.")],
                                     description="For on-demand webcasts: when it becomes available.")
    end_local = DateTimeLocalField("Ends (local time)", format=LOCAL_FORMAT, validators=[InputRequired("Enter the end.")],
                                   description="For on-demand webcasts: when availability ends.")
    fold = SelectField("If a time falls in the repeated hour when clocks go back, it means", choices=FOLD_CHOICES,
                       default="", validators=[Optional()])
    # Issue 14, point 3: moving a meeting to another day moves its agenda in the same save.
    move_sessions = BooleanField(
        "Move the agenda with the start",
        description="Every session keeps its local time relative to the start: moving the start a week later moves "
                    "each session a week later at the same local time, even across a change of the clocks. The "
                    "registration and claim deadlines below move only as you change them.")
    venue_name = StringField("Venue", validators=[Optional(), Length(max=200)], filters=[none_if_blank])
    street_address = StringField("Street address", validators=[Optional(), Length(max=300)], filters=[none_if_blank])
    city = StringField("City", validators=[Optional(), Length(max=120)], filters=[none_if_blank])
    state = SelectField("State", choices=select_choices([("", "—")] + [(s, s) for s in US_STATES]), default="",
                        validators=[Optional()], filters=[none_if_blank])
    postal_code = StringField("ZIP code", validators=[Optional(), Length(max=10)], filters=[none_if_blank])
    join_url = URLField("Webcast join link", validators=[Optional(), Length(max=500), URL(
                            message="Enter a full https:// link.")],
                        filters=[none_if_blank], description="Shown to confirmed registrants shortly before the start.")
    access_notes = TextAreaField("Webcast access notes", validators=[Optional(), Length(max=2000)], filters=[strip])
    capacity = IntegerField("Capacity (blank for unlimited)", validators=[Optional(), InRange(
        min=0, max=MAX_CAPACITY, message=f"Enter a capacity from 0 to {MAX_CAPACITY:,} seats.")])
    # Issue 14, point 16: seat offers near the start. Left blank, each takes its default.
    offer_days_before = IntegerField(
        "Offer seats instead of promoting within this many days of the start", default=DEFAULT_OFFER_DAYS,
        validators=[Optional(), InRange(min=0, max=MAX_OFFER_DAYS, message=f"Enter from 0 to {MAX_OFFER_DAYS} days.")],
        filters=[lambda days: DEFAULT_OFFER_DAYS if days is None else days],
        description="When a seat frees up this close to the start, the next person on the waitlist is mailed an "
                    "offer to accept instead of being given the seat silently; an offer not accepted in time passes "
                    f"to the next person. 0: always give the seat at once. Blank: {DEFAULT_OFFER_DAYS}.")
    offer_hours = IntegerField(
        "Offers stay open for (hours)", default=DEFAULT_OFFER_HOURS,
        validators=[Optional(), InRange(min=1, max=MAX_OFFER_HOURS,
                                        message=f"Enter from 1 to {MAX_OFFER_HOURS} hours.")],
        filters=[lambda hours: DEFAULT_OFFER_HOURS if hours is None else hours],
        description="Never past the start: an offer made closer to it closes when the activity starts. "
                    f"Blank: {DEFAULT_OFFER_HOURS}.")
    registration_opens_local = DateTimeLocalField("Registration opens (local time)", format=LOCAL_FORMAT, validators=[Optional()])
    registration_closes_local = DateTimeLocalField("Registration closes (local time)", format=LOCAL_FORMAT, validators=[Optional()])
    claim_deadline_local = DateTimeLocalField("Credit claim deadline (local time)", format=LOCAL_FORMAT, validators=[Optional()])
    accreditation_kind = SelectField("Accreditation", choices=select_choices(AccreditationKind.choices()),
                                     default=AccreditationKind.ACCME.value,
                                     description="Decides the accreditation and designation statements learners see.")
    joint_provider = StringField("Joint provider (joint providership only)", validators=[Optional(), Length(max=200)],
                                 filters=[strip], description="The non-accredited organization named in the statement.")
    accreditation_statement = TextAreaField("Accreditation statement (another accreditor only)",
                                            validators=[Optional(), Length(max=3000)], filters=[strip])
    # Issue 12, points 5 and 6.
    remind_day_before = BooleanField("Remind registrants 24 hours before a live meeting starts", default=True)
    remind_hour_before = BooleanField("Remind registrants one hour before a live webcast starts, with the join link",
                                      default=True)
    notice_message = TextAreaField(NOTICE_MESSAGE_LABEL, validators=[Optional(), Length(max=2000)], filters=[strip],
                                   description=NOTICE_MESSAGE_HELP)

    start_utc: datetime | None = None
    end_utc: datetime | None = None

    def validate_time_zone(self, field) -> None:
        if not is_valid_zone(field.data):
            raise ValidationError("Choose a time zone from the list.")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        zone_name = self.time_zone.data
        self.start_utc = _to_utc(self, self.start_local, zone_name)
        self.end_utc = _to_utc(self, self.end_local, zone_name)
        self.registration_opens_utc = _to_utc(self, self.registration_opens_local, zone_name)
        self.registration_closes_utc = _to_utc(self, self.registration_closes_local, zone_name)
        self.claim_deadline_utc = _to_utc(self, self.claim_deadline_local, zone_name)
        if self.start_utc and self.end_utc and self.end_utc <= self.start_utc:
            self.end_local.errors.append("The end must be after the start.")
        if self.registration_opens_utc and self.registration_closes_utc and \
                self.registration_closes_utc <= self.registration_opens_utc:
            self.registration_closes_local.errors.append("Registration must close after it opens.")
        if self.registration_closes_utc and self.end_utc and self.registration_closes_utc > self.end_utc:
            self.registration_closes_local.errors.append("Registration must close by the end of the activity.")
        if self.claim_deadline_utc and self.end_utc and self.claim_deadline_utc < self.end_utc:
            self.claim_deadline_local.errors.append("The claim deadline must be after the activity ends.")
        if self.format.data == ActivityFormat.LIVE_MEETING:
            for field, message in ((self.venue_name, "Enter the venue."), (self.city, "Enter the city."),
                                   (self.state, "Choose the state.")):
                if not field.data:
                    field.errors.append(message)
        elif self.format.data == ActivityFormat.LIVE_WEBCAST and not self.join_url.data:
            self.join_url.errors.append("A live webcast needs its join link.")
        return valid and not any(f.errors for f in self)

    def activity_fields(self) -> dict:
        """Plain values for the service (times already in UTC)."""
        names = ("format", "title", "summary", "description", "learning_objectives", "target_audience", "specialty",
                 "topics", "time_zone", "venue_name", "street_address", "city", "state", "postal_code", "join_url",
                 "access_notes", "capacity", "accreditation_statement", "accreditation_kind", "joint_provider",
                 "remind_day_before", "remind_hour_before", "offer_days_before", "offer_hours")
        values = {name: getattr(self, name).data for name in names}
        values.update(start_dt=self.start_utc, end_dt=self.end_utc, registration_opens_dt=self.registration_opens_utc,
                      registration_closes_dt=self.registration_closes_utc, claim_deadline_dt=self.claim_deadline_utc)
        for name in ("summary", "description", "learning_objectives", "target_audience", "specialty", "topics",
                     "access_notes", "accreditation_statement", "joint_provider"):
            values[name] = values[name] or ""
        return values


class DuplicateForm(Form):
    """The first day of a copy (issue 14, point 3): its times and agenda move with it."""

    first_day = DateField("First day of the copy", validators=[InputRequired("Enter the first day of the copy.")],
                          description="Every time moves with it by whole days, at the same local time: the agenda, "
                                      "registration opening and closing, and the claim deadline.")

    def validate_first_day(self, field) -> None:
        if field.data is None:  # not a date: DateField has said so
            return
        if not COPY_DATES[0] <= field.data <= COPY_DATES[1]:
            raise ValidationError(f"Choose a day between {COPY_DATES[0].year} and {COPY_DATES[1].year}.")


COPY_DATES = (date(2000, 1, 1), date(2999, 12, 31))


class SessionForm(Form):
    """An agenda item; times are local to the activity's zone, speakers chosen from its faculty (both given by
    the view)."""

    title = StringField("Session title", validators=[DataRequired(), Length(max=300)], filters=[strip])
    start_local = DateTimeLocalField("Starts (local time)", format=LOCAL_FORMAT, validators=[InputRequired("Enter the start.")])
    end_local = DateTimeLocalField("Ends (local time)", format=LOCAL_FORMAT, validators=[InputRequired("Enter the end.")])
    fold = SelectField("If a time falls in the repeated hour when clocks go back, it means", choices=FOLD_CHOICES,
                       default="", validators=[Optional()])
    room = StringField("Room", validators=[Optional(), Length(max=120)], filters=[strip])
    speakers = MultiCheckboxField(
        "Speakers", coerce=int, validators=[Optional()],
        description="Chosen from the faculty; add a speaker there first, with their disclosure.")
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)], filters=[strip])
    notice_message = TextAreaField(NOTICE_MESSAGE_LABEL, validators=[Optional(), Length(max=2000)], filters=[strip],
                                   description=NOTICE_MESSAGE_HELP)  # issue 12, point 5

    def __init__(self, *args, zone_name: str, faculty=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.zone_name = zone_name
        self.faculty = {person.id: person for person in faculty}
        self.speakers.choices = select_choices(
            (person.id, person.byline if person.has_disclosure_on_file else f"{person.byline} (no disclosure on file)")
            for person in faculty)
        self.start_utc: datetime | None = None
        self.end_utc: datetime | None = None

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        self.start_utc = _to_utc(self, self.start_local, self.zone_name)
        self.end_utc = _to_utc(self, self.end_local, self.zone_name)
        if self.start_utc and self.end_utc and self.end_utc <= self.start_utc:
            self.end_local.errors.append("The end must be after the start.")
        return valid and not any(f.errors for f in self)

    def session_fields(self) -> dict:
        return {"title": self.title.data, "start_dt": self.start_utc, "end_dt": self.end_utc, "room": self.room.data or "",
                "speakers": [self.faculty[i] for i in self.speakers.data or []],
                "description": self.description.data or ""}


class FacultyForm(Form):
    full_name = StringField("Name", validators=[DataRequired(), Length(max=200)], filters=[strip])
    degree = StringField("Degrees", validators=[Optional(), Length(max=60)], filters=[strip])
    affiliation = StringField("Affiliation", validators=[Optional(), Length(max=300)], filters=[strip])
    role = SelectField("Role", choices=select_choices(FacultyRole.choices()), default=FacultyRole.FACULTY.value)
    disclosure_received = BooleanField("Disclosure received (covering the past 24 months)")


class DisclosureForm(Form):
    company = StringField("Ineligible company (name only, no logos or product names)",
                          validators=[DataRequired(), Length(max=200)], filters=[strip])
    relationship_type = SelectField("Nature of the relationship", choices=select_choices(RelationshipType.choices()))
    mitigated = BooleanField("This relationship has been mitigated")


class DesignationForm(Form):
    credit_type = SelectField("Credit type", choices=select_choices(CreditType.choices()))
    max_amount = DecimalField("Maximum credit", places=2, validators=[InputRequired("Enter the amount.")],
                              description="In steps of 0.25.")

    def validate_max_amount(self, field) -> None:
        try:
            amount = Decimal(field.data)
        except (InvalidOperation, TypeError):
            raise ValidationError("Enter a number such as 1.5.") from None
        if not amount.is_finite():
            raise ValidationError("Enter a number such as 1.5.")
        if amount <= 0:
            raise ValidationError("The amount must be more than zero.")
        if amount > MAX_AMOUNT:
            raise ValidationError("The amount is too large.")
        if not is_quarter_step(amount):
            raise ValidationError("Credit is designated in steps of 0.25 (e.g. 1.25, 1.5, 1.75).")


class CommercialSupportForm(Form):
    """Support from an ineligible company (point 9 of issue 12)."""

    company = StringField("Company (name only, no logos or product names)",
                          validators=[DataRequired(), Length(max=200)], filters=[strip])
    kind = SelectField("Kind of support", choices=select_choices(SupportKind.choices()),
                       default=SupportKind.MONETARY.value)
    amount = DecimalField("Amount in US dollars (optional)", places=2,
                          validators=[Optional(), InRange(min=0, max=999_999_999,
                                                          message="Enter an amount from 0 to 999,999,999.")],
                          description="Not shown to learners; kept for the accreditor's reports.")


class AcpeUanForm(Form):
    """The activity's ACPE Universal Activity Number (blank clears it)."""

    acpe_uan = StringField("ACPE Universal Activity Number", validators=[Optional(), Length(max=30)],
                           filters=[normalise_uan],
                           description=f"As ACPE assigned it, e.g. {UAN_EXAMPLE} (P: pharmacists, T: technicians). "
                                       "Needed for ACPE credit; printed on ACPE certificates.")

    def validate_acpe_uan(self, field) -> None:
        if field.data and (problem := uan_problem(field.data)):
            raise ValidationError(problem)
