"""Demo data: accounts and a realistic catalog for the Liver Education Foundation.

`seed_demo()` reads the demo from `demo_data.toml` (next to this module) and creates what does not exist yet
through the services, as organizers and learners would: accounts, activities with their agenda, faculty,
disclosures, credit and post-tests, publication, registrations (seats, then the waitlist) and a cancelled one,
check-in, a walk-in registered at the desk (an account made for her), webcast viewing, evaluations, post-test
attempts, claims, certificates and a cancelled activity, each
with a `now` at the moment it happens. So the demo holds only states the rules allow. Accounts are found again by
email and activities by a UUID derived from their key, so running it twice creates nothing the second time.

Times in the data are relative to `now` (days from today, local wall-clock times in the activity's zone), so
the catalog always has upcoming activities, one live meeting that spans a DST transition in its zone, and
past activities with attendance and claimed credit.

The mail the services queue while seeding (registration confirmations, the cancellation notice, certificate
links: a few dozen messages about things that "happened" weeks ago, to demo addresses) is discarded, as the
demo never sent mail before; a visitor who registers in the demo gets real mail. It only flushes; the caller
commits.
"""
from __future__ import annotations

import io
import tomllib
import uuid
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select

# Every service the demo goes through, in one block (names here follow where the services live today).
from cme.accounts.models import User
from cme.accounts.service import create_user, find_user_by_email
from cme.activities.models import Activity, ActivityFormat, ActivityStatus
from cme.activities.reporting_data_service import save_moc_registration
from cme.activities.service import (
    add_commercial_support, add_disclosure, add_faculty, add_session, create_activity, publish, scheduled_hours,
    set_acpe_uan,
    set_designation,
)
from cme.amounts import quarter_floor
from cme.attendance.service import HEARTBEAT_SECONDS, check_in, heartbeat
from cme.attendance.walk_in import WalkIn, register_walk_in
from cme.certificates.service import issue_for_activity
from cme.credit.evaluation import (
    add_post_test_question, evaluation_questions, post_test_questions, set_post_test_rules, submit_evaluation,
    submit_post_test,
)
from cme.credit.participation import cancel_registration
from cme.credit.service import claim_credit, claim_status
from cme.demo_slides import build_slide_deck
from cme.extensions import db
from cme.library.news.models import NewsArticle
from cme.library.news.service import ArticleData, create_article, news_today, publication_instant
from cme.library.abstracts.service import AbstractFields, create_abstract, find_by_title, parse_author, parse_keywords
from cme.library.highlights.service import HighlightData, activity_highlights, create_highlight, library_today
from cme.library.materials.service import Details, add_material
from cme.mail.models import OutboxMessage
from cme.registration.mail import REMIND_WEBCAST
from cme.registration.models import JOIN_LINK_LEAD, Registration
from cme.registration.lifecycle import cancel_activity
from cme.registration.service import Answers, register
from cme.timeutil import local_to_utc, now_utc, zone

DATA_FILE = Path(__file__).with_name("demo_data.toml")
DEMO_PASSWORD = "demo-password-2026"
# Not `.test`: the app's email validator (email_validator) refuses special-use domains, so such an
# account could neither log in nor save its profile. example.org is reserved for examples (RFC 2606).
DEMO_DOMAIN = "demo.example.org"
ORGANIZER_EMAIL = f"organizer@{DEMO_DOMAIN}"
PROVIDER_EMAIL = f"provider@{DEMO_DOMAIN}"
ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"

# The DST meeting runs around the next change of the clocks at least this far away.
DST_MEETING_LEAD = timedelta(days=14)
# When things happen, relative to the activity (the data gives the days and times of the activities).
ANNOUNCED_BEFORE_START = timedelta(days=30)  # published, and registration opens
CREATED_BEFORE_ANNOUNCED = timedelta(days=21)
DISCLOSURES_BEFORE_ANNOUNCED = timedelta(days=10)  # one day earlier for each further person
MEETING_REGISTRATION_CLOSES = timedelta(days=2)  # before the start of a live meeting
CLAIM_PERIOD = timedelta(days=90)  # after the end of a live activity
CHECK_IN_BEFORE_START = timedelta(minutes=20)
CANCELLED_AGO = timedelta(days=3)


def load_demo_data(path: Path = DATA_FILE) -> dict[str, Any]:
    with path.open("rb") as file:
        return tomllib.load(file)


def demo_uuid(key: str) -> uuid.UUID:
    """The stable UUID of a demo activity (or `<activity>/session/<n>`), so reseeding finds it."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"cme-demo/{key}")


def local_today(now: datetime, zone_name: str) -> date:
    return now.astimezone(zone(zone_name)).date()


def next_dst_transition(zone_name: str, after: date, *, horizon_days: int = 400) -> date:
    """The first local date after `after` whose UTC offset (at noon) differs from the day before.

    In US zones that is the Sunday whose 02:00 the clocks skip or repeat.
    """
    tz = zone(zone_name)
    previous = datetime.combine(after, time(12), tz).utcoffset()
    for n in range(1, horizon_days):
        day = after + timedelta(days=n)
        offset = datetime.combine(day, time(12), tz).utcoffset()
        if offset != previous:
            return day
        previous = offset
    raise ValueError(f"{zone_name} has no DST transition within {horizon_days} days of {after}")


def _duration(lead: timedelta) -> str:
    minutes = int(lead.total_seconds() // 60)
    return f"{minutes // 60} hour{'s' if minutes != 60 else ''}" if minutes % 60 == 0 else f"{minutes} minutes"


def demo_text(text: str, spec: dict[str, Any]) -> str:
    """An activity's text with what the product does filled in from the rules themselves (issue 14, point 12), so
    the demo never promises another lead time or passing score than the one that applies: `{join_lead}` (when the
    join link appears on My schedule), `{webcast_reminder}` (when the live-webcast reminder is mailed) and
    `{passing_score}` (the post-test's)."""
    return (text.replace("{join_lead}", _duration(JOIN_LINK_LEAD))
            .replace("{webcast_reminder}", _duration(REMIND_WEBCAST))
            .replace("{passing_score}", str(spec.get("post_test_passing_score", ""))))


def _at(day: date, hhmm: str, zone_name: str) -> datetime:
    return local_to_utc(datetime.combine(day, time.fromisoformat(hhmm)), zone_name)


# ---------------------------------------------------------------- reading the data

def _first_day(spec: dict[str, Any], now: datetime) -> tuple[date, str]:
    """The activity's first local day, and its description with the DST note filled in."""
    zone_name, description = spec["time_zone"], spec["description"]
    today = local_today(now, zone_name)
    if "days_before_dst_change" not in spec:
        return today + timedelta(days=spec["day"]), description
    change = next_dst_transition(zone_name, today + DST_MEETING_LEAD)
    tz = zone(zone_name)
    before = datetime.combine(change - timedelta(days=1), time(12), tz).utcoffset()
    after = datetime.combine(change, time(12), tz).utcoffset()
    clocks = "spring forward" if after > before else "fall back"
    return change - timedelta(days=spec["days_before_dst_change"]), description.replace("{clocks}", clocks)


def _sessions(spec: dict[str, Any], first_day: date) -> list[dict[str, Any]]:
    """The agenda as the fields `add_session` takes, with the speakers' names (the caller links the records)."""
    zone_name = spec["time_zone"]
    sessions = []
    for n, item in enumerate(spec.get("agenda", [])):
        day = first_day + timedelta(days=item.get("day", 0))
        sessions.append({
            "uuid": demo_uuid(f"{spec['key']}/session/{n}"), "title": item["title"], "description": "",
            "start_dt": _at(day, item["from"], zone_name), "end_dt": _at(day, item["to"], zone_name),
            "room": item.get("room", spec.get("room", "")), "speakers": item["speakers"],
        })
    return sessions


def _activity_fields(spec: dict[str, Any], first_day: date, description: str,
                     sessions: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """What the organizer's form would give `create_activity` (times in UTC)."""
    zone_name, kind = spec["time_zone"], ActivityFormat(spec["format"])
    if kind == ActivityFormat.ON_DEMAND_WEBCAST:
        start = _at(first_day, "09:00", zone_name)
        end = _at(local_today(now, zone_name) + timedelta(days=spec["last_day"]), "23:59", zone_name)
    else:
        start, end = min(s["start_dt"] for s in sessions), max(s["end_dt"] for s in sessions)
    announced = min(now, start) - ANNOUNCED_BEFORE_START
    if kind == ActivityFormat.LIVE_MEETING:
        closes, deadline = start - MEETING_REGISTRATION_CLOSES, end + CLAIM_PERIOD
    elif kind == ActivityFormat.LIVE_WEBCAST:
        closes, deadline = start, end + CLAIM_PERIOD
    else:
        closes = deadline = end
    venue = spec.get("venue", {})
    return {
        "uuid": demo_uuid(spec["key"]), "format": kind.value, "title": spec["title"], "summary": spec["summary"],
        "description": description, "learning_objectives": "\n".join(spec["objectives"]),
        "target_audience": spec["audience"], "specialty": spec["specialty"], "topics": spec["topics"],
        "time_zone": zone_name, "start_dt": start, "end_dt": end,
        "venue_name": venue.get("name"), "street_address": venue.get("street"), "city": venue.get("city"),
        "state": venue.get("state"), "postal_code": venue.get("postal_code"),
        "join_url": spec.get("join_url"), "access_notes": demo_text(spec.get("access_notes", ""), spec),
        "capacity": spec.get("capacity"), "accreditation_statement": "",
        "accreditation_kind": spec.get("accreditation", "accme"), "joint_provider": spec.get("joint_provider", ""),
        "registration_opens_dt": announced, "registration_closes_dt": closes, "claim_deadline_dt": deadline,
    }


# ---------------------------------------------------------------- seeding through the services

def _seed_accounts(accounts: dict[str, dict[str, Any]], created: Counter) -> dict[str, User]:
    users = {}
    for key, spec in accounts.items():
        user = find_user_by_email(spec["email"])
        if user is None:
            user = create_user(spec["email"], DEMO_PASSWORD, role=spec.get("role", "provider"),
                               full_name=spec["full_name"], degree=spec["degree"], profession=spec["profession"],
                               specialty=spec.get("specialty", ""), npi=spec.get("npi"),
                               licence_state=spec.get("licence_state"), licence_number=spec.get("licence_number"),
                               time_zone=spec["time_zone"], abim_id=spec.get("abim_id"))
            created["accounts"] += 1
        users[key] = user
    return users


def _seed_activity(spec: dict[str, Any], data: dict[str, Any], users: dict[str, User], now: datetime,
                   created: Counter) -> None:
    faculty = data["faculty"]
    first_day, description = _first_day(spec, now)
    sessions = _sessions(spec, first_day)
    fields = _activity_fields(spec, first_day, description, sessions, now)
    announced = fields["registration_opens_dt"]
    activity = create_activity(users["organizer"], fields, now=announced - CREATED_BEFORE_ANNOUNCED)
    created["activities"] += 1

    people = [(name, role) for role, names in (("faculty", spec.get("faculty", [])),
                                              ("planner", spec.get("planners", [])),
                                              ("reviewer", spec.get("reviewers", []))) for name in names]
    members = {}
    for position, (name, role) in enumerate(people):
        person, on_file = faculty[name], name not in spec.get("disclosures_pending", [])
        received = announced - DISCLOSURES_BEFORE_ANNOUNCED - timedelta(days=position)
        member = add_faculty(activity, full_name=name, degree=person["degree"], affiliation=person["affiliation"],
                             role=role, disclosure_received=on_file, now=received)
        members[name] = member
        created["faculty"] += 1
        for relationship in person.get("relationships", []) if on_file else []:
            add_disclosure(member, company=relationship["company"], relationship_type=relationship["nature"],
                           mitigated=name not in spec.get("unmitigated", []), now=received)
            created["disclosures"] += 1

    # Speakers are the activity's faculty records, so each has (or lacks) a disclosure the rules can see.
    for session in sessions:
        add_session(activity, {**session, "speakers": [members[name] for name in session["speakers"]]})
    created["sessions"] += len(sessions)

    hours = (Decimal(str(spec["credit_hours"])) if activity.is_on_demand
             else quarter_floor(scheduled_hours(activity)))
    for credit_type in spec["credits"]:
        set_designation(activity, credit_type, hours)
        created["credit designations"] += 1
    for support in spec.get("supports", []):
        add_commercial_support(activity, company=support["company"], kind=support["kind"],
                               amount=Decimal(str(support["amount"])) if "amount" in support else None)
        created["commercial supports"] += 1
    if "acpe_uan" in spec:
        set_acpe_uan(activity, spec["acpe_uan"])
    if "abim_moc" in spec["credits"]:  # issue 16: registered with ABIM, whose points are the designation's
        save_moc_registration(activity, None, board="abim", points=hours, credit_types=["Medical Knowledge"],
                              practice_areas=[spec["specialty"]], claim_deadline=None)
    for question in spec.get("post_test", []):
        add_post_test_question(activity, prompt=question["prompt"], choices=question["choices"],
                               correct_index=question["choices"].index(question["correct"]),
                               explanation=question["explanation"])
        created["post-test questions"] += 1
    if "post_test" in spec:
        set_post_test_rules(activity, passing_score=spec["post_test_passing_score"],
                            max_attempts=spec.get("post_test_max_attempts"))

    status = ActivityStatus(spec.get("status", ActivityStatus.PUBLISHED.value))
    if status == ActivityStatus.DRAFT:
        return
    publish(activity, now=announced)
    for material in spec.get("materials", []):
        _add_material(activity, material, users["organizer"], now)
        created["slide decks"] += 1

    registrations: dict[str, Registration] = {}
    for n, key in enumerate(spec.get("registrants", [])):
        user, account = users[key], data["accounts"][key]
        answers = Answers.from_profile(user, dietary_needs=account.get("dietary_needs", ""),
                                       accessibility_needs=account.get("accessibility_needs", ""),
                                       attested_professional=True)
        registered = min(announced + timedelta(days=2, hours=n), now - timedelta(hours=1))
        registrations[key] = register(user, activity.id, answers, now=registered)
        created["registrations"] += 1
    for key in spec.get("cancels", []):
        cancel_registration(registrations[key], now=min(registrations[key].registered_dt + timedelta(days=1),
                                                         now - timedelta(minutes=30)))
        created["cancellations"] += 1

    for person in spec.get("walk_ins", []):
        register_walk_in(activity.id, WalkIn(full_name=person["full_name"], email=person["email"],
                                             degree=person.get("degree", ""), profession=person.get("profession", "")),
                         by=users["organizer"], now=activity.start_dt + timedelta(minutes=person["minutes_after_start"]))
        created["walk-ins"] += 1

    claimed_at = []
    for part in spec.get("participants", []):
        claimed_at.append(_take_part(activity, part, registrations[part["account"]], users, now, created))
    if any(claimed_at):
        issued = issue_for_activity(activity, now=min(max(t for t in claimed_at if t) + timedelta(days=1), now))
        created["certificates"] += len(issued)

    if status == ActivityStatus.CANCELLED:
        cancel_activity(activity, now=now - CANCELLED_AGO)


def _add_material(activity: Activity, spec: dict[str, Any], organizer: User, now: datetime) -> None:
    """Draw the slides as a PDF and upload them as the organizer would: before an upcoming activity, after the
    session of a past one."""
    session = activity.sessions[spec["session"]] if "session" in spec else None
    speaker = session.speakers[0] if session is not None and session.speakers else None
    meeting = f"{activity.title} · {activity.start_dt.astimezone(zone(activity.time_zone)):%B %-d, %Y}"
    slides = list(spec["slides"])
    if spec.get("agenda_slide"):
        slides.insert(0, {"heading": "Agenda", "points": [
            f"{s.start_dt.astimezone(zone(activity.time_zone)):%-I:%M %p}  {s.title}" for s in activity.sessions]})
    pdf = build_slide_deck(spec["title"], speaker.byline if speaker else current_app.config["CME_PROVIDER_NAME"],
                           meeting, slides, provider=current_app.config["CME_PROVIDER_NAME"])
    ends = session.end_dt if session is not None else activity.end_dt
    uploaded = now - timedelta(days=1) if activity.start_dt > now else min(now, ends + timedelta(hours=2))
    embargo = activity.start_dt + timedelta(hours=spec["embargo_hours"]) if "embargo_hours" in spec else None
    add_material(activity, Details(title=spec["title"], session_id=session.id if session is not None else None,
                                   speaker_id=speaker.id if speaker else None, release=spec["release"],
                                   embargo_until_dt=embargo),
                 stream=io.BytesIO(pdf), filename=f"{spec['title']}.pdf", by=organizer, now=uploaded)


def _take_part(activity: Activity, part: dict[str, Any], registration: Registration, users: dict[str, User],
               now: datetime, created: Counter) -> datetime | None:
    """Attendance, evaluation and claims of one participant; returns when they claimed (None: no claim)."""
    user = registration.user
    done = activity.end_dt
    if part.get("checked_in"):
        check_in(registration, by=users["organizer"], now=activity.start_dt - CHECK_IN_BEFORE_START)
        created["attendance records"] += 1
    if "watched_minutes" in part:
        start = activity.start_dt
        if activity.is_on_demand:
            day = local_today(now, activity.time_zone) + timedelta(days=part["watch_day"])
            start = _at(day, part["watch_from"], activity.time_zone)
        for second in range(0, part["watched_minutes"] * 60 + 1, HEARTBEAT_SECONDS):
            heartbeat(user, activity, now=start + timedelta(seconds=second))
        created["attendance records"] += 1
        if activity.is_on_demand:
            done = start + timedelta(minutes=part["watched_minutes"])
    # After a live activity learners come back the next days; on demand, right after watching.
    step = timedelta(minutes=5) if activity.is_on_demand else timedelta(days=1)
    if "evaluation" in part:
        questions = evaluation_questions(activity)
        submit_evaluation(user, activity, {q.key: answer for q, answer in zip(questions, part["evaluation"])},
                          now=done + step)
        created["evaluations"] += 1
    questions = post_test_questions(activity) if "post_test" in part else []
    for n, picked in enumerate(part.get("post_test", []), start=1):
        submit_post_test(user, activity, {q.id: q.choices.index(choice) for q, choice in zip(questions, picked)},
                         now=done + step + timedelta(minutes=n))
        created["post-test attempts"] += 1
    if not part.get("claims"):
        return None
    claimed = done + 2 * step
    limits = claim_status(user, activity, now=claimed).limits
    records = claim_credit(user, activity, {t: limits[t] for t in part["claims"]}, attested=True, now=claimed)
    created["credit records"] += len(records)
    return claimed


def _seed_news(articles: list[dict[str, Any]], now: datetime, created: Counter) -> None:
    """The news library's articles (issue 15, point 7), each written the day after its review or publication
    (whichever is later; today at the latest), through the service the organizers' form uses."""
    today = news_today(now)
    existing = set(db.session.scalars(select(NewsArticle.uuid).where(
        NewsArticle.uuid.in_([demo_uuid(f"news/{spec['key']}") for spec in articles]))))
    for spec in articles:
        if demo_uuid(f"news/{spec['key']}") in existing:
            continue
        published, reviewed = today + timedelta(days=spec["day"]), today + timedelta(days=spec["reviewed_day"])
        citation = spec.get("citation", {})
        create_article(ArticleData(
            title=spec["title"], source=spec["source"], summary=spec["summary"], body=spec["body"],
            publication_date=published, is_published=spec.get("published", True), reviewed_on=reviewed,
            topics=tuple(spec["topics"]), citation_journal=citation.get("journal", ""),
            citation_year=citation.get("year"), citation_volume=citation.get("volume", ""),
            citation_issue=citation.get("issue", ""), citation_pages=citation.get("pages", ""),
            doi=citation.get("doi", ""), pmid=citation.get("pmid", "")),
            uuid=demo_uuid(f"news/{spec['key']}"),
            now=min(now, publication_instant(max(published, reviewed) + timedelta(days=1))))
        created["news articles"] += 1
def _seed_abstracts(spec: dict[str, Any], now: datetime, created: Counter) -> None:
    """The abstracts presented at a past activity (issue 15, point 5), written up the week after it ended; one
    already there (by title) is left as it is."""
    if not spec.get("abstracts"):
        return
    activity = db.session.scalar(select(Activity).where(Activity.uuid == demo_uuid(spec["key"])))
    if activity is None or not activity.is_published:
        return
    sessions = {session.title: session.id for session in activity.sessions}
    written = min(activity.end_dt + timedelta(days=7), now)
    for n, item in enumerate(spec["abstracts"]):
        if find_by_title(activity, item["title"]) is not None:
            continue
        create_abstract(activity, AbstractFields(
            title=item["title"], authors=[parse_author(author) for author in item["authors"]],
            background=item["background"], methods=item["methods"], results=item["results"],
            conclusions=item["conclusions"], presentation_type=item["type"],
            keywords=parse_keywords(item.get("keywords", "")),
            session_id=sessions[item["session"]] if "session" in item else None, topic=item.get("topic", ""),
            is_published=item.get("published", True)), now=written + timedelta(minutes=n))
        created["abstracts"] += 1


def _seed_highlights(specs: list[dict[str, Any]], now: datetime, created: Counter) -> None:
    """Conference highlights of past activities (issue 15, point 6), written a week after each ended (and reviewed
    `reviewed` days later) through the organizers' service; an activity with highlights already is left as it is."""
    for spec in specs:
        activity = db.session.scalar(select(Activity).where(Activity.uuid == demo_uuid(spec["activity"])))
        if activity is None or not activity.is_published or activity_highlights(activity):
            continue
        written = min(activity.end_dt + timedelta(days=7), now)
        reviewed = min(written + timedelta(days=spec.get("reviewed", 0)), now)
        abstracts = tuple(find_by_title(activity, title).id for title in spec.get("abstracts", ()))
        create_highlight(activity, HighlightData(
            title=spec["title"], body=spec["body"], publication_date=library_today(written), is_published=True,
            reviewed_on=library_today(reviewed), abstract_ids=abstracts), now=reviewed)
        created["highlights"] += 1


def seed_demo(*, now: datetime | None = None) -> str:
    """Create the demo accounts and catalog that do not exist yet; flush, and return a summary."""
    now = now or now_utc()
    if now.tzinfo is None:
        raise ValueError("seed_demo needs an aware `now`")
    data = load_demo_data()
    created: Counter = Counter()
    emails = [account["email"] for account in data["accounts"].values()]
    walk_ins = [person["email"] for spec in data["activities"] for person in spec.get("walk_ins", [])]
    last_mail_id = db.session.scalar(select(func.max(OutboxMessage.id))) or 0

    users = _seed_accounts(data["accounts"], created)
    existing = set(db.session.scalars(select(Activity.uuid).where(
        Activity.uuid.in_([demo_uuid(spec["key"]) for spec in data["activities"]]))))
    for spec in data["activities"]:
        if demo_uuid(spec["key"]) not in existing:  # an existing one is left as it is, with its registrations
            _seed_activity(spec, data, users, now, created)
    _seed_news(data.get("news", []), now, created)

    for spec in data["activities"]:  # also into a demo seeded before abstracts existed
        _seed_abstracts(spec, now, created)
    _seed_highlights(data.get("highlights", []), now, created)

    db.session.flush()
    # The mail the seeding queued describes the past (confirmations, certificates): it goes. Reminders of what
    # is still to come stay, so demo registrants are reminded as real ones would be.
    upcoming_reminder = OutboxMessage.kind.in_(("reminder_meeting", "reminder_webcast")) & (
        OutboxMessage.send_after_dt > now_utc())
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.id > last_mail_id,
                                                   OutboxMessage.recipient.in_(emails + walk_ins),
                                                   ~upcoming_reminder))
    db.session.flush()

    others = ", ".join(email for key, email in zip(data["accounts"], emails)
                       if data["accounts"][key].get("role", "provider") == "provider" and email != PROVIDER_EMAIL)
    counts = ", ".join(f"{n} {what}" for what, n in created.items())
    return "\n".join([
        f"Demo organizer: {ORGANIZER_EMAIL} / {DEMO_PASSWORD}",
        f"Demo provider: {PROVIDER_EMAIL} / {DEMO_PASSWORD}",
        f"Demo admin: {ADMIN_EMAIL} / {DEMO_PASSWORD}",
        f"Other demo providers (same password): {others}",
        f"Created: {counts}." if created else "Created nothing: the demo data was already there.",
    ])
