"""The public catalog: list with filters, month view, and the activity page."""
from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_login import current_user

from cme.activities import catalog as public
from cme.activities.forms import CatalogFilterForm
from cme.activities.reporting_data_service import covered_topics
from cme.activities.statements import activity_statements, designation_statement_html, format_amount
from cme.formtools import page_arg
from cme.calendar import service as calendar_service
from cme.certificates.service import current_certificate
from cme.credit.service import learner_progress
from cme.library.abstracts.service import public_count as abstract_count
from cme.library.materials import service as materials
from cme.library.highlights import service as highlights
from cme.library.topic_pages import topics_of
from cme.registration.counts import taken_count, taken_counts
from cme.registration.overlaps import overlapping_registrations
from cme.registration.service import (
    active_registration, active_registrations_of, registrant_problem, registration_problem,
)
from cme.timeutil import now_utc, utc_to_local
from cme.urls import absolute_url

bp = Blueprint("activities", __name__)


def viewer_zone() -> str:
    return current_user.time_zone if current_user.is_authenticated else public.DEFAULT_ZONE


def _filters() -> tuple[CatalogFilterForm, public.CatalogFilters]:
    return public.parse_filters(request.args, zone_name=viewer_zone())


@bp.get("/")
@bp.get("/activities/")
def catalog():
    form, filters = _filters()
    page = public.catalog_page(filters, page=page_arg(), seats_taken=taken_count)
    now = now_utc()
    seat_states = {a.id: public.seat_state(a, a.seats_taken, now=now) for a in page.items}
    mine = active_registrations_of(current_user, [a.id for a in page.items])
    return render_template("activities/catalog.html", page=page, form=form, filters=filters, seat_states=seat_states,
                           mine=mine)


MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@bp.get("/activities/calendar")
def month():
    form, filters = _filters()
    match = MONTH.match(request.args.get("month", ""))
    today = utc_to_local(now_utc(), viewer_zone()).date()
    year, month_number = (int(match[1]), int(match[2])) if match else (today.year, today.month)
    if not (1 <= month_number <= 12 and 1900 < year < 3000):
        abort(404)
    view = public.month_view(year, month_number, filters)
    shown = {a.id: a for week in view.weeks for day in week for a, _ in day.entries}
    seats_taken = taken_counts(list(shown))
    seat_states = {a.id: public.seat_state(a, seats_taken[a.id]) for a in shown.values()}
    mine = active_registrations_of(current_user, list(seat_states))
    return render_template("activities/month.html", view=view, form=form, filters=filters, today=today,
                           seat_states=seat_states, mine=mine)


@bp.get("/activities/<id:activity_id>")
@bp.get("/activities/<id:activity_id>-<slug>")
def detail(activity_id: int, slug: str | None = None):
    activity = public.public_activity(activity_id)
    preview = False
    if activity is None and current_user.is_authenticated and current_user.is_organizer:
        activity = public.draft_for_preview(activity_id, current_user)
        preview = activity is not None
    if activity is None:
        abort(404)
    taken = taken_counts([activity.id])[activity.id]
    provider = current_app.config["CME_PROVIDER_NAME"]
    statements = [(d, designation_statement_html(d.credit_type, d.max_amount, provider=provider,
                                                 activity_format=activity.format,
                                                 accreditation=activity.accreditation_kind, acpe_uan=activity.acpe_uan))
                  for d in activity.designations]
    zone_name = viewer_zone() if current_user.is_authenticated else None
    my_registration = active_registration(current_user, activity.id) if current_user.is_authenticated else None
    now = now_utc()
    # Once it has ended, the page offers what still applies: the evaluation, the claim, the certificate.
    ended = activity.has_ended(now) and not activity.is_cancelled and not preview
    progress = learner_progress(current_user, activity, now=now) if ended and current_user.is_authenticated else None
    certificate = current_certificate(current_user, activity) if progress and progress.claim.records else None
    registration_open = registration_problem(activity, now=now) is None
    who_cannot = registrant_problem(current_user) if current_user.is_authenticated else None
    # Before they register: what else they are registered for at the same time (a warning, not a refusal).
    overlaps = overlapping_registrations(current_user, activity, now=now) if (
        registration_open and not preview and not my_registration and not who_cannot) else []
    calendar_links = None if preview else {
        "download": url_for("calendar.activity_ics", activity_id=activity.id),
        "google": calendar_service.google_add_url(activity), "outlook": calendar_service.outlook_add_url(activity),
        "feed": calendar_service.subscribe_links(absolute_url("calendar.public_feed"))}
    return render_template("activities/detail.html", activity=activity,
                           seat_state=public.seat_state(activity, taken, now=now),
                           calendar_links=calendar_links, ended=ended, progress=progress, certificate=certificate,
                           seats_taken=taken, statements=statements,
                           accreditation=activity_statements(activity, provider=provider),
                           viewer_zone=zone_name, preview=preview, my_registration=my_registration,
                           registration_open=registration_open, registrant_problem=who_cannot, overlaps=overlaps,
                           abstract_count=0 if preview else abstract_count(activity),
                           **({} if preview else highlights.activity_page_links(activity)),
                           library_topics=topics_of(activity), covers=covered_topics(activity),
                           agenda=agenda_by_day(activity, activity.time_zone),
                           materials=materials.listing(activity, current_user, now=now),
                           viewer_agenda=agenda_by_day(activity, zone_name) if zone_name and activity.is_webcast
                           and zone_name != activity.time_zone else None)


def agenda_by_day(activity, zone_name: str) -> list[tuple[date, list]]:
    """Sessions grouped by their local day in `zone_name`."""
    days: dict[date, list] = {}
    for session in activity.sessions:
        days.setdefault(utc_to_local(session.start_dt, zone_name).date(), []).append(session)
    return sorted(days.items())


@bp.app_template_filter("slugify")
def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


@bp.app_template_filter("credit")
def credit_filter(amount) -> str:
    return format_amount(amount)
