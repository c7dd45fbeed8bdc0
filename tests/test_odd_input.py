"""No odd URL gives a 500 (issue 13, point 6): every GET route of the URL map is requested over the demo with odd
values in each URL parameter in turn (the others real), and the pages that read the query string with odd page
numbers, dates, months and search terms (NUL bytes, huge values), as an anonymous visitor, an organizer and an
admin. Ids are bounded to what an Integer column holds (`<id:...>`), so ids out of range are 404."""
from __future__ import annotations

import re
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from cme.accounts.identity import StateLicence
from cme.accounts.models import User
from cme.activities.models import Activity
from cme.activities.reporting_data import MocRegistration
from cme.calendar.service import feed_token
from cme.certificates.models import Certificate
from cme.credit.evaluation_models import PostTestQuestion
from cme.demo import ADMIN_EMAIL, DEMO_PASSWORD, ORGANIZER_EMAIL, PROVIDER_EMAIL
from cme.extensions import db as _db
from cme.library.abstracts.models import Abstract
from cme.library.highlights.models import Highlight
from cme.library.materials.models import Material
from cme.library.news.models import NewsArticle
from cme.formtools import MAX_PAGE, page_arg
from cme.registration.models import Registration
from cme.urls import MAX_ID, IdConverter

ODD_VALUES = ["0", "-1", str(2**31), str(2**63), str(10**30), "abc", "\x00", "a\x00b", "9" * 5000, "x" * 3000]
ARGUMENT = re.compile(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>")

ODD_QUERIES = [
    {"page": "99999999999999999999"}, {"page": "0"}, {"page": "-1"}, {"page": "abc"}, {"page": "1e9"},
    {"page": "\x00"}, {"page": str(MAX_PAGE)},
    {"date_to": "9999-12-31"}, {"date_from": "9999-12-31"}, {"date_from": "0001-01-01"}, {"date_to": "0001-01-01"},
    {"date_from": "0001-01-01", "date_to": "9999-12-31"}, {"date_to": "10000-01-01"}, {"date_from": "2026-02-30"},
    {"date_from": "\x00"}, {"when": "past", "date_from": "0001-01-01"},
    {"month": "9999-12"}, {"month": "0001-01"}, {"month": "2026-13"}, {"month": "2026-00"}, {"month": "abc"},
    {"month": "\x00"}, {"month": "\u0662\u0660\u0662\u0666-\u0660\u0661"}, {"month": "2999-12"}, {"month": "1901-01"},
    {"start": "\x00", "end": "2026-01-01"}, {"start": "0001-01-01", "end": "9999-12-31"}, {"start": "2026-02-30"},
    {"q": "a\x00b"}, {"q": "\x00"}, {"q": "%_\\"}, {"q": "x" * 5000}, {"format": "\x00"}, {"specialty": "\x00"},
    {"credit_type": "\x00"}, {"next": "\x00"},
    {"code": "\x00"}, {"code": "x" * 10_000}, {"code": "https://cme.example.org/verify/A%00B"}, {"code": "名😀"},
    {"activity": "\x00"}, {"activity": "99999999999999999999"}, {"activity": "-1"}, {"topic": "\x00"},
    {"topic": "x" * 5000}, {"type": "\x00"}, {"type": "poster", "activity": "abc", "page": "9999"},
]


def _real_values(app: Flask) -> dict:
    """Real URL values: an activity the demo organizer runs, one of its registrations, the provider's certificate."""
    with app.app_context():
        organizer = _db.session.scalar(select(User).where(User.email == ORGANIZER_EMAIL))
        provider = _db.session.scalar(select(User).where(User.email == PROVIDER_EMAIL))
        activity = _db.session.scalar(select(Activity).where(Activity.organizers.contains(organizer))
                                      .where(Activity.sessions.any()).order_by(Activity.id))
        registration = _db.session.scalar(select(Registration).where(Registration.activity_id == activity.id)
                                          .order_by(Registration.id))
        certificate = _db.session.scalar(select(Certificate).order_by(Certificate.id))
        values = {"activity_id": activity.id, "slug": "a-title", "registration_id": registration.id,
                  "certificate_id": certificate.id, "session_id": activity.sessions[0].id,
                  "faculty_id": activity.faculty[0].id if activity.faculty else 1, "user_id": provider.id,
                  "token": feed_token(provider), "filename": "css/app.css",
                  "question_id": _db.session.scalar(select(PostTestQuestion.id).limit(1)),
                  "code": registration.checkin_code,
                  "abstract_id": _db.session.scalar(select(Abstract.id).where(Abstract.activity_id == activity.id)
                                                    .order_by(Abstract.id).limit(1)) or 1,
                  "article_id": _db.session.scalar(select(func.min(NewsArticle.id))) or 1,
                  "highlight_id": _db.session.scalar(select(func.min(Highlight.id))) or 1,
                  "topic_slug": "hepatitis-c",
                  "material_id": _db.session.scalar(select(func.min(Material.id))) or 1,
                  "moc_id": _db.session.scalar(select(MocRegistration.id).where(
                      MocRegistration.activity_id == activity.id)) or 1,
                  "licence_id": _db.session.scalar(select(func.min(StateLicence.id))) or 1,
                  "kind": "pars", "fmt": "tab", "batch_id": 1}
        _db.session.remove()
    return values


def _path(rule, values: dict) -> str:
    def fill(match: re.Match) -> str:
        if match[1] not in values:
            pytest.fail(f"The odd-input sweep cannot fill <{match[1]}> in {rule.rule}: teach it what it names.")
        return quote(str(values[match[1]]), safe="/")
    return ARGUMENT.sub(fill, rule.rule)


def _visit(app: Flask, email: str | None, urls: list[str]) -> list[str]:
    client = app.test_client()
    if email:
        assert client.post("/account/login", data={"email": email, "password": DEMO_PASSWORD}).status_code == 302
    failures = []
    for url in urls:
        try:  # the test app propagates exceptions: one that reaches here would be a 500
            with client.get(url) as response:
                status = response.status_code
        except Exception as error:  # noqa: BLE001  (every failure is listed, not only the first)
            status = f"500 ({type(error).__name__})"
        if not isinstance(status, int) or status >= 500:
            failures.append(f"{email or 'anonymous'} GET {url[:120]}: {status}")
    return failures


def test_odd_url_values_never_give_a_server_error(demo_app: Flask):
    real = _real_values(demo_app)
    rules = [rule for rule in demo_app.url_map.iter_rules() if "GET" in rule.methods and rule.arguments]
    urls = sorted({_path(rule, {**real, name: odd}) for rule in rules for name in rule.arguments
                   for odd in ODD_VALUES})
    failures = [f for email in (None, ORGANIZER_EMAIL) for f in _visit(demo_app, email, urls)]
    assert len(rules) > 25 and len(urls) > 250
    assert failures == []


def test_odd_query_strings_never_give_a_server_error(demo_app: Flask):
    real = _real_values(demo_app)
    pages = ["/", "/activities/", "/activities/calendar", "/calendar/activities.ics", "/organize/", "/admin/users",
             f"/organize/activities/{real['activity_id']}/roster", f"/organize/activities/{real['activity_id']}/checkin",
             "/library/abstracts", "/library/search", "/organize/reporting"]
    pages.append("/verify")  # the certificate code box (its misses count: a few, within the throttle's limit)
    urls = [f"{page}?{urlencode(query)}" for page in pages for query in ODD_QUERIES]
    failures = [f for email in (None, ORGANIZER_EMAIL, ADMIN_EMAIL) for f in _visit(demo_app, email, urls)]
    assert failures == []


@pytest.mark.parametrize("path", ["/activities/9223372036854775808", "/activities/99999999999",
                                  f"/activities/{2**31}", "/activities/0", f"/activities/{2**31}.ics",
                                  f"/organize/activities/{2**63}/roster", "/verify/%00", "/verify/A%00B"])
def test_ids_past_the_column_and_nul_codes_are_not_found(demo_app: Flask, path: str):
    assert demo_app.test_client().get(path).status_code == 404


def test_the_largest_id_a_column_holds_still_routes(demo_app: Flask):
    """2^31 - 1 matches the route (and names nothing): the bound is the column's, not a guess below it."""
    with demo_app.test_request_context():
        assert demo_app.url_for("activities.detail", activity_id=MAX_ID) == f"/activities/{MAX_ID}"
    assert demo_app.url_map.bind("localhost").match(f"/activities/{MAX_ID}")[1] == {"activity_id": MAX_ID}


@pytest.mark.parametrize("query, page", [("", 1), ("page=3", 3), ("page=0", 1), ("page=-1", 1), ("page=abc", 1),
                                         ("page=99999999999999999999", MAX_PAGE), (f"page={MAX_PAGE + 1}", MAX_PAGE)])
def test_page_numbers_are_clamped(demo_app: Flask, query: str, page: int):
    with demo_app.test_request_context(f"/?{query}"):
        assert page_arg() == page


def test_a_date_the_catalog_cannot_use_is_ignored_and_shown_as_an_error(demo_app: Flask):
    client = demo_app.test_client()
    response = client.get("/activities/?date_to=9999-12-31")
    assert response.status_code == 200
    assert "Choose a date between 1901 and 2999." in response.get_data(as_text=True)
    assert client.get("/activities/?date_from=2999-12-31&when=past").status_code == 200


def test_every_route_id_is_bounded(demo_app: Flask):
    """A route that takes an integer takes it through `<id:...>` (plain `<int:...>` has no upper bound)."""
    unbounded = [rule.rule for rule in demo_app.url_map.iter_rules() for converter in rule._converters.values()
                 if isinstance(converter, IntegerConverter) and not isinstance(converter, IdConverter)]
    assert unbounded == []


def test_a_next_with_a_line_break_is_not_followed(client, make_user, auth):
    make_user("ada@example.org")
    response = auth.login("ada@example.org", query_string={"next": "/\r\nSet-Cookie: x=1"})
    assert response.status_code == 302 and "\n" not in response.location and "Set-Cookie" not in response.location


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_a_designation_amount_that_is_not_a_number_is_a_field_error(client, make_user, make_activity, auth, amount):
    organizer = make_user("org@example.org", role="organizer")
    activity = make_activity(organizers=[organizer], status="draft")
    auth.login("org@example.org")
    response = client.post(f"/organize/activities/{activity.id}/designations",
                           data={"credit_type": "ancc", "max_amount": amount})
    assert response.status_code == 422 and "Enter a number such as 1.5." in response.get_data(as_text=True)


def test_nul_characters_in_form_fields_are_dropped_not_a_server_error(client, db, make_user, make_activity, auth):
    """PostgreSQL refuses NUL in text: every form (cme.formtools.Form) drops them before validation."""
    organizer = make_user("org@example.org", role="organizer")
    activity = make_activity(organizers=[organizer], status="draft")
    auth.login("org@example.org")
    response = client.post(f"/organize/activities/{activity.id}/faculty",
                           data={"full_name": "Ada\x00 Lovelace", "degree": "MD\x00", "role": "faculty",
                                 "affiliation": "\x00"})
    assert response.status_code == 302
    db.session.expire_all()
    assert [(p.full_name, p.degree) for p in activity.faculty] == [("Ada Lovelace", "MD")]
    searched = client.get(f"/organize/activities/{activity.id}/roster", query_string={"q": "a\x00b"})
    assert searched.status_code == 200
