"""No form gives a 500 (issue 13, point 6): every POST route of the URL map is posted over the demo, as the role
that may use it, with odd values in the fields of the forms its view builds (found by recording the forms that
read the request) and in the fields views read directly. Each odd value goes into every field at once; the
fields that refuse it are set back to valid values and the form posted again, until no field refuses, so the
values a form takes reach the service and the database. A valid post follows, then one with a line break in
every text field. Afterwards every GET page and every queued mail is rendered over what was saved."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, update

from cme.accounts.identity import licences_of
from cme.accounts.models import User
from cme.accounts.service import (
    SET_PASSWORD, create_user, make_email_change_token, make_reset_token, make_verification_token, request_email_change,
)
from cme.activities.models import Activity
from cme.activities.reporting_data import MocRegistration
from cme.activities.reporting_data_service import save_moc_registration
from cme.activities.service import add_commercial_support
from cme.alerts.service import AlertFilters, create_alert, unsubscribe_token
from cme.attendance.service import HEARTBEAT_SECONDS, heartbeat
from cme.calendar.service import feed_token
from cme.certificates.models import Certificate
from cme.credit import evaluation as evaluations
from cme.credit.evaluation_models import EvaluationResponse
from cme.credit.models import CreditRecord
from cme.demo import ADMIN_EMAIL, DEMO_PASSWORD, ORGANIZER_EMAIL, PROVIDER_EMAIL, demo_uuid
from cme.extensions import db as _db
from cme.formtools import Form
from cme.library.news.models import NewsArticle
from cme.library.abstracts.models import Abstract
from cme.library.highlights.models import Highlight
from cme.library.materials.models import Material
from cme.mail.models import OutboxMessage, OutboxStatus
from cme.mail.service import NotNeeded, message_text
from cme.registration import service as registrations
from cme.registration.models import Registration
from cme.timeutil import now_utc, utc_to_local

ARGUMENT = re.compile(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>")
NEW_PASSWORD = "correct horse battery staple"

# Each odd value is made from the field's valid value (so a long one is a long URL in a URL field, a long
# address in an email field, a huge number in a number field).
ODD_VALUES = {
    "10,000 characters": lambda valid: valid + "9" * 10_000,
    "line breaks": lambda valid: f"{valid}\r\n{valid}\n\x0b\x1f{valid}",
    "NUL": lambda valid: f"{valid}\x00",
    "non-ASCII": lambda valid: f"zoë名😀{valid}",
    "-1": lambda valid: "-1",
    "2147483648": lambda valid: "2147483648",
    "1e999999": lambda valid: "1e999999",
    "NaN": lambda valid: "NaN",
    "sNaN": lambda valid: "sNaN",
    "empty": lambda valid: "",
}
# A form that refuses some fields' odd values is posted again with those fields valid, so the values it takes
# reach the service and the database together (at most this many posts per form and odd value).
MAX_PASSES = 3
SKIPPED_TYPES = {"CSRFTokenField", "SubmitField"}
# Forms posted nowhere: the catalog's filters and the certificate code box are GET forms (tests/test_odd_input.py,
# tests/test_verify_form.py).
GET_FORMS = {"CatalogFilterForm", "AuditFilterForm", "VerifyForm", "AbstractFilterForm", "SearchForm", "RangeForm"}
# Last, in this order, so that nothing the sweep needs is gone before it is swept.
LAST = ("/delete", "/cancel", "/unpublish", "/account/close", "/logout-everywhere", "/logout")  # closing: near the end


def _fields_views_read() -> set[str]:
    """The request.form keys views read without a form (the check-in desk's `q`, `session_id`...)."""
    sources = Path(__file__).resolve().parent.parent.joinpath("cme").rglob("*views.py")
    return {key for path in sources for key in re.findall(r"request\.form\.get\(\"(\w+)\"", path.read_text())}


def _local(dt, zone_name: str) -> str:
    return utc_to_local(dt, zone_name).strftime("%Y-%m-%dT%H:%M")


def _by_key(key: str) -> Activity:
    return _db.session.scalar(select(Activity).where(Activity.uuid == demo_uuid(key)))


def _user(email: str) -> User:
    return _db.session.scalar(select(User).where(User.email == email))


def _prepare(app: Flask) -> dict:
    """What the sweep needs beyond the demo, made through the services (the provider watches the on-demand
    webcast, which gets a post-test and a custom evaluation question), and the URL values and valid field
    values of each target."""
    with app.app_context():
        provider, organizer = _user(PROVIDER_EMAIL), _user(ORGANIZER_EMAIL)
        other = _user("jordan.ellis@demo.example.org")
        on_demand, past, upcoming = (_by_key("simplified-hcv-on-demand"), _by_key("transplant-care-team-seattle"),
                                     _by_key("hcv-elimination-summit-nyc"))
        if registrations.active_registration(provider, on_demand.id) is None:  # the demo may have registered her
            registrations.register(provider, on_demand.id, registrations.Answers.from_profile(
                provider, attested_professional=True))
        start = now_utc().replace(microsecond=0) - timedelta(minutes=80)
        for second in range(0, 70 * 60 + 1, HEARTBEAT_SECONDS):
            heartbeat(provider, on_demand, now=start + timedelta(seconds=second))
        if not evaluations.has_post_test(on_demand):  # the demo's module has one, which the provider passed
            evaluations.add_post_test_question(on_demand, prompt="Which test?", choices=["FIB-4", "None"],
                                               correct_index=0)
        forget_evaluation(provider, on_demand)()  # the demo's provider evaluated it: the sweep submits it anew
        add_commercial_support(past, company="Odd Pharma", kind="monetary", amount=Decimal(1000))
        save_moc_registration(past, None, board="abim", points=Decimal(1), credit_types=["Medical Knowledge"],
                              practice_areas=["Transplant hepatology"], claim_deadline=None)
        for activity in (on_demand, past):
            evaluations.add_evaluation_question(activity, kind="text", prompt="Anything else?", choices=[],
                                                required=False)
        _db.session.commit()

        def organizer_target(activity: Activity) -> dict:
            registration = _db.session.scalar(select(Registration).where(Registration.activity_id == activity.id)
                                              .order_by(Registration.id))
            record = _db.session.scalar(select(CreditRecord).where(CreditRecord.activity_id == activity.id)
                                        .order_by(CreditRecord.id))
            certificate = _db.session.scalar(select(Certificate).where(Certificate.activity_id == activity.id)
                                             .order_by(Certificate.id))
            disclosures = [d for person in activity.faculty for d in person.disclosures]
            questions = evaluations.post_test_questions(activity)
            custom = [q for q in evaluations.evaluation_questions(activity) if q.key.startswith("q")]
            zone_name = activity.time_zone
            values = {"activity_id": activity.id,
                      "registration_id": registration.id if registration else None,
                      "certificate_id": certificate.id if certificate else None,
                      "session_id": activity.sessions[0].id if activity.sessions else None,
                      "faculty_id": activity.faculty[0].id if activity.faculty else None,
                      "designation_id": activity.credit_designations[0].id,
                      "disclosure_id": disclosures[0].id if disclosures else None,
                      "support_id": activity.commercial_supports[0].id if activity.commercial_supports else None,
                      "question_id": (questions[0].id if questions else int(custom[0].key[1:])),
                      "article_id": _db.session.scalar(select(func.min(NewsArticle.id))),
                      "abstract_id": _db.session.scalar(select(Abstract.id).where(
                          Abstract.activity_id == activity.id).order_by(Abstract.id).limit(1)),
                      "highlight_id": _db.session.scalar(select(Highlight.id).where(
                          Highlight.activity_id == activity.id).order_by(Highlight.id).limit(1)),
                      "material_id": _db.session.scalar(select(Material.id).where(
                          Material.activity_id == activity.id).order_by(Material.id)),
                      "moc_id": _db.session.scalar(select(MocRegistration.id).where(
                          MocRegistration.activity_id == activity.id))}
            valid = {"record_id": str(record.id) if record else "1", "code": registration.checkin_code,
                     "email": "daniel.brooks@demo.example.org", "accreditation_kind": activity.accreditation_kind,
                     "start_local": _local(activity.start_dt, zone_name),
                     "end_local": _local(activity.start_dt + timedelta(hours=1), zone_name),
                     "registration_opens_local": _local(activity.start_dt - timedelta(days=20), zone_name),
                     "registration_closes_local": _local(activity.start_dt - timedelta(hours=1), zone_name),
                     "claim_deadline_local": _local(activity.end_dt + timedelta(days=60), zone_name),
                     "time_zone": zone_name, "format": activity.format,
                     # Reporting data (issue 16): IDs PARS takes, and an ABIM registration (the demo's has one).
                     "accme_activity_id": "200123456", "accme_provider_id": "0001234", "board": "abim",
                     "credit_types": "Medical Knowledge"}
            return {"values": values, "valid": valid}

        resetting = _user("grace.nakamura@demo.example.org")
        provider_registration = _db.session.scalar(select(Registration).where(
            Registration.user_id == provider.id, Registration.activity_id == _by_key("hcc-tumor-board-la").id))
        provider_certificate = _db.session.scalar(select(Certificate).where(Certificate.user_id == provider.id))
        # `only`/`skip`: the rules a target is (not) for; `undo`: run after each post to a rule ending so.
        walk_in = _user("teresa.okonjo@demo.example.org")  # made at the desk: chooses her password by a link
        newcomer = create_user("odd.newcomer@example.org", DEMO_PASSWORD, full_name="Odd Newcomer", verified=False)
        request_email_change(provider, "provider.odd@example.org", DEMO_PASSWORD)
        change = make_email_change_token(provider, old_email=provider.email, new_email=provider.pending_email,
                                         requested_dt=provider.pending_email_dt)
        alert = create_alert(provider, AlertFilters(specialty="Hepatology"))
        _db.session.commit()
        targets = {
            "anonymous": [{"values": {"token": make_reset_token(resetting)},
                           "valid": {"email": "odd.forms@example.org", "current_password": DEMO_PASSWORD},
                           "skip": "/welcome/",
                           "undo": {"/reset/<token>": restore_password(resetting)}},
                          {"values": {"token": make_reset_token(walk_in, link=SET_PASSWORD)},
                           "valid": {"password": DEMO_PASSWORD, "confirm": DEMO_PASSWORD}, "only": "/welcome/",
                           "undo": {"/welcome/<token>": restore_password(walk_in)}}],
            "provider": [{"values": {"activity_id": on_demand.id, "registration_id": provider_registration.id,
                                     "certificate_id": provider_certificate.id},
                          "valid": {"email": provider.email, "current_password": DEMO_PASSWORD,
                                    "password": DEMO_PASSWORD, "confirm": DEMO_PASSWORD},
                          "skip": ("/register", "/account/close"),
                          "undo": {"/account/password": restore_password(provider),
                                   "/evaluation": forget_evaluation(provider, on_demand)}},
                         {"values": {"activity_id": upcoming.id}, "valid": {}, "only": "/register"},
                         {"values": {"token": make_verification_token(newcomer)}, "valid": {}, "only": "/verify/"},
                         # Closing is swept with a wrong password: it refuses every post, so each odd value reaches
                         # the form (a right one would close the account at the first post the sweep corrects).
                         {"values": {}, "valid": {"current_password": "not the password"}, "only": "/account/close"},
                         {"values": {"token": change}, "valid": {}, "only": "/email/confirm/",
                          "undo": {"/email/confirm/<token>": restore_email_change(provider)}},
                         {"values": {"alert_id": alert.id}, "valid": {}, "only": "/alerts/<"},
                         # Issue 16: one of the provider's licences (changed, then removed last).
                         {"values": {"licence_id": licences_of(provider)[0].id}, "valid": {},
                          "only": "/account/licences/<"},
                         {"values": {"token": unsubscribe_token(provider.id, [alert.id])}, "valid": {},
                          "only": "/alerts/unsubscribe/"}],
            "organizer": [{**organizer_target(past), "skip": "/post-test/",
                            "undo": {"/enduring": forget_enduring(past)}},
                          {**organizer_target(on_demand), "only": "/post-test/"}],
            "admin": [{"values": {"user_id": other.id}, "valid": {}}],
        }
        assert organizer in on_demand.organizers and organizer in past.organizers
        _db.session.remove()
    return targets


def restore_password(user: User):
    """Put the password back (a reset link works until the password changes; the provider logs in again)."""
    user_id, password_hash = user.id, user.password_hash
    return lambda: _db.session.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))


def restore_email_change(user: User):
    """Put the address and its pending change back (a confirmed change ends the link), so that each post reaches
    the confirmation again; the session goes on (the change keeps the session that confirms it)."""
    values = {"email": user.email, "pending_email": user.pending_email, "pending_email_dt": user.pending_email_dt,
              "password_hash": user.password_hash}
    return lambda: _db.session.execute(update(User).where(User.id == user.id).values(**values))


def forget_evaluation(user: User, activity: Activity):
    """Take back a submitted evaluation, so that the next post reaches the form again."""
    user_id, activity_id = user.id, activity.id
    return lambda: _db.session.execute(delete(EvaluationResponse).where(
        EvaluationResponse.user_id == user_id, EvaluationResponse.activity_id == activity_id))


def forget_enduring(activity: Activity):
    """Unlink the enduring material a highlight of the activity was offered as, so that the next post reaches the
    form again (the draft made stays, unlinked)."""
    activity_id = activity.id
    return lambda: _db.session.execute(update(Highlight).where(Highlight.activity_id == activity_id)
                                       .values(enduring_activity_id=None))


def _role(rule: str) -> str:
    if rule in ("/account/login", "/account/signup", "/account/reset", "/account/reset/<token>",
                "/account/welcome/<token>"):
        return "anonymous"
    if rule.startswith("/organize/"):
        return "organizer"
    if rule.startswith("/admin/"):
        return "admin"
    return "provider"


def _path(rule: str, values: dict) -> str | None:
    """The rule filled with the target's values; None when the target has no such thing (e.g. no session)."""
    names = ARGUMENT.findall(rule)
    if any(values.get(name) is None for name in names):
        return None
    return ARGUMENT.sub(lambda m: quote(str(values[m[1]]), safe="/"), rule)


def _choices(field) -> list[str]:
    return [str(choice[0]) for choice in field.iter_choices() if str(choice[0]) != ""]


def _valid_value(field, valid: dict) -> str:
    name, kind = field.short_name, field.type
    if name in valid:
        return valid[name]
    if kind in ("SelectField", "RadioField", "SelectMultipleField", "MultiCheckboxField"):
        return (_choices(field) or [""])[0]
    return {"BooleanField": "y", "IntegerField": "1", "DecimalField": "1", "EmailField": "odd.forms@example.org",
            "URLField": "https://webcast.example.org/join", "PasswordField": NEW_PASSWORD,
            "DateTimeLocalField": "2031-06-10T09:00", "DateField": "2031-06-10"}.get(kind, {
                "npi": "1583920479", "abim_id": "123456", "acpe_uan": "0871-0000-26-007-L01-P", "choices": "Yes\nNo",
                "correct": "1", "passing_score": "70", "licence_number": "A158392"}.get(name, "Text"))


class Sweep:
    """Posts as one role and keeps what failed (status 500 or an exception) and what was covered."""

    def __init__(self, app: Flask, role: str, built: list):
        self.app, self.role, self.built = app, role, built
        self.client = app.test_client()
        self.failures: list[str] = []
        self.covered: set[tuple[str, str]] = set()  # (form class, odd value)
        self.requests = 0
        if role != "anonymous":
            email = {"provider": PROVIDER_EMAIL, "organizer": ORGANIZER_EMAIL, "admin": ADMIN_EMAIL}[role]
            response = self.client.post("/account/login", data={"email": email, "password": DEMO_PASSWORD})
            assert response.status_code == 302, f"{role} cannot log in"

    def post(self, path: str, data: dict, what: str, odd: str | None = None, undo=None) -> list:
        self.built.clear()
        self.requests += 1
        try:
            with self.client.post(path, data=data) as response:
                status = response.status_code
        except Exception as error:  # noqa: BLE001  (every failure is listed, not only the first)
            status = f"500 ({type(error).__name__}: {str(error).splitlines()[0][:160] if str(error) else ''})"
        if not isinstance(status, int) or status >= 500:
            self.failures.append(f"{self.role} POST {path} {what}: {status}")
        forms = list(self.built)
        if undo is not None:
            with self.app.app_context():
                undo()
                _db.session.commit()
        if odd is not None:
            self.covered.update((type(form).__name__, odd) for form in forms)
        return forms

    def sweep(self, path: str, valid: dict, raw_keys: set[str], undo=None) -> None:
        """Post odd values to `path`; `undo()` runs after each post but the last (line breaks in every text field),
        for a form that a success closes (an evaluation is submitted once)."""
        if self.role == "anonymous":
            self.client = self.app.test_client()  # a reset link logs its user in
        forms = self.post(path, {"_probe": "1"}, "(finding its forms)")
        fields = [field for form in forms for field in form if field.type not in SKIPPED_TYPES]
        good = {field.name: _valid_value(field, valid) for field in fields}
        for odd, make in ODD_VALUES.items():
            data = {name: make(value) for name, value in good.items()}
            data.update({key: make("1") for key in raw_keys})
            refused: set[str] = set()
            for _ in range(MAX_PASSES):
                what = f"every field {odd!r}" + (f" but {sorted(refused)}" if refused else "")
                forms = self.post(path, {**data, **{name: good[name] for name in refused if name in good}}, what, odd, undo)
                newly = {field.name for form in forms for field in form if field.errors} - refused
                if not newly:
                    break
                refused |= newly
        if not fields:
            return  # a button (ConfirmForm): the valid post is the probe's
        self.post(path, good, "valid", undo=undo)
        broken = {name: f"{value}\r\n{value}" if field.type in ("StringField", "TextAreaField") else value
                  for field in fields for name, value in [(field.name, good[field.name])]}
        self.post(path, broken, "line breaks in every text field")


def _form_classes() -> set[str]:
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)
    return {cls.__name__ for cls in subclasses(Form) if cls.__module__.startswith("cme.")} - GET_FORMS


@pytest.fixture
def recorded_forms(monkeypatch) -> list:
    """The forms the views build from the request's data, in order: what each POST route reads. (An observer
    around the base form's `wrap_formdata`; the data it returns is unchanged.)"""
    built: list = []
    wrap = Form.Meta.wrap_formdata

    def recording(meta, form, formdata):
        data = wrap(meta, form, formdata)
        if data is not None:
            built.append(form)
        return data

    monkeypatch.setattr(Form.Meta, "wrap_formdata", recording)
    return built


def _skips(target: dict) -> tuple[str, ...]:
    skip = target.get("skip", ())
    return (skip,) if isinstance(skip, str) else skip


def _order(rule: str) -> tuple:
    last = next((n for n, tail in enumerate(LAST) if rule.endswith(tail)), -1)
    return (last, rule)


def test_odd_values_in_every_form_never_give_a_server_error(demo_app: Flask, recorded_forms: list):
    targets = _prepare(demo_app)
    raw_keys = _fields_views_read()
    rules = sorted((rule.rule for rule in demo_app.url_map.iter_rules() if "POST" in rule.methods), key=_order)
    sweeps = {role: Sweep(demo_app, role, recorded_forms) for role in targets}
    unswept = []
    for rule in rules:
        sweep = sweeps[_role(rule)]
        chosen = [target for target in targets[sweep.role] if target.get("only", "") in rule
                  and not any(skip in rule for skip in _skips(target)) and _path(rule, target["values"])]
        if not chosen:
            unswept.append(rule)
        for target in chosen:
            undo = next((undo for tail, undo in target.get("undo", {}).items() if rule.endswith(tail)), None)
            sweep.sweep(_path(rule, target["values"]), target["valid"], raw_keys, undo)
    failures = [failure for sweep in sweeps.values() for failure in sweep.failures]
    covered = set().union(*(sweep.covered for sweep in sweeps.values()))
    missing = {(name, odd) for name in _form_classes() | {"EvaluationForm", "PostTestForm", "ClaimForm"}
               for odd in ODD_VALUES} - covered
    assert unswept == []
    assert failures == []
    assert sorted(missing) == []
    assert sum(sweep.requests for sweep in sweeps.values()) > 500
    assert _rendered_over_what_was_saved(demo_app, targets) == []


def _rendered_over_what_was_saved(app: Flask, targets: dict) -> list[str]:
    """Every GET page (as each role) and every queued mail, over the odd values the sweep saved."""
    failures = []
    with app.app_context():
        provider = _user(PROVIDER_EMAIL)
        values = {**targets["organizer"][0]["values"], "slug": "a", "filename": "css/app.css",
                  "token": feed_token(provider), "user_id": provider.id}
        values["code"] = _db.session.get(Registration, values["registration_id"]).checkin_code
        for message in _db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)):
            try:
                message_text(message)
            except NotNeeded:
                pass
            except Exception as error:  # noqa: BLE001
                failures.append(f"mail {message.kind} to {message.recipient}: {type(error).__name__}: {error}")
        _db.session.rollback()
        _db.session.remove()
    urls = [path for rule in app.url_map.iter_rules() if "GET" in rule.methods
            and (path := _path(rule.rule, values))]
    for role in ("provider", "organizer", "admin"):  # the public pages are theirs too
        sweep = Sweep(app, role, [])
        for url in urls:
            try:
                with sweep.client.get(url) as response:
                    status = response.status_code
            except Exception as error:  # noqa: BLE001
                status = f"500 ({type(error).__name__}: {error})"
            if not isinstance(status, int) or status >= 500:
                failures.append(f"{role} GET {url}: {status}")
    return failures
