"""New-activity alerts (issue 14, point 14): saving the catalog's filters, the weekly digest (matching through the
catalog's own query, a watermark and a record of what each alert mailed, one mail per learner per week gathering
all their alerts, nothing when nothing is new, nobody closed or unconfirmed), the mail as the SMTP server gets it
(with the RFC 8058 one-click headers), the unsubscribe link (GET asks, POST does; forged and expired links refused;
no CSRF token needed there and only there), the forms with odd input, and ownership."""
from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from email import message_from_string, policy
from urllib.parse import unquote, urlsplit

import pytest
from sqlalchemy import func, select

from cme.accounts.service import make_reset_token
from cme.activities.models import Activity, Faculty
from cme.alerts import service
from cme.alerts.digest import send_digests
from cme.alerts.models import ActivityAlert, AlertMailing
from cme.alerts.service import AlertError, AlertFilters, create_alert, unsubscribe_token
from cme.mail.models import OutboxMessage
from cme.mail.service import NotNeeded, deliver_pending, message_text
from cme.privacy.service import close_account
from cme.timeutil import now_utc
from tests.helpers import TEST_PASSWORD, outbox, wait_until

WRITES = ("INSERT", "UPDATE", "DELETE")
NOW = now_utc().replace(microsecond=0)
WEEK = timedelta(days=7)


@pytest.fixture
def ada(make_user):
    return make_user("ada@example.org", full_name="Ada Lovelace", specialty="Hepatology")


@pytest.fixture
def published(make_activity):
    """published(title, at=NOW, **fields): an upcoming activity published at `at` (a month ahead by default, in
    Hepatology)."""

    def make(title: str, *, at=NOW, **fields):
        fields.setdefault("start_dt", NOW + timedelta(days=30))
        fields.setdefault("specialty", "Hepatology")
        return make_activity(title=title, published_dt=at, **fields)

    return make


def alert(db, user, *, at=NOW, **fields) -> ActivityAlert:
    made = create_alert(user, AlertFilters(**fields), now=at)
    db.session.commit()
    return made


def digest_titles(db, message: OutboxMessage) -> dict[str, list[str]]:
    """{alert name: [activity titles]} as the queued digest lists them."""
    payload = json.loads(message.payload)
    names = {a.id: a.name for a in db.session.scalars(select(ActivityAlert))}
    return {names[s["alert_id"]]: [db.session.get(Activity, i).title for i in s["activity_ids"]]
            for s in payload["sections"]}


def plain_text(message: OutboxMessage) -> str:
    """The digest's plain text, as the worker composes it."""
    return message_from_string(message_text(message), policy=policy.default).get_body(("plain",)).get_content()


# ---------------------------------------------------------------- matching: the catalog's own filters

def test_an_alert_matches_what_the_catalog_matches_for_the_same_filters(db, ada, published, make_activity):
    hepatology = alert(db, ada, at=NOW - WEEK, specialty="Hepatology")
    webcasts = alert(db, ada, at=NOW - WEEK, format="webcast", credit_type="abim_moc")
    denver = alert(db, ada, at=NOW - WEEK, q="denver")
    published("Liver summit", at=NOW - timedelta(days=2), specialty="Hepatology")
    published("Topics only", at=NOW - timedelta(days=2), specialty="Internal medicine", topics="hepatology, HCV")
    published("MOC webcast", at=NOW - timedelta(days=2), format="on_demand_webcast", specialty="Oncology",
              credits={"ama_pra_1": "1.00", "abim_moc": "1.00"}, start_dt=NOW + timedelta(days=2),
              end_dt=NOW + timedelta(days=90))
    published("AMA-only webcast", at=NOW - timedelta(days=2), format="live_webcast", specialty="Oncology")
    published("Rockies course", at=NOW - timedelta(days=2), city="Denver", state="CO", specialty="Oncology")
    for target in (hepatology, webcasts, denver):
        db.session.refresh(target)
    assert [a.title for a in service.new_activities(hepatology, now=NOW)] == ["Liver summit", "Topics only"]
    assert [a.title for a in service.new_activities(webcasts, now=NOW)] == ["MOC webcast"]
    assert [a.title for a in service.new_activities(denver, now=NOW)] == ["Rockies course"]


def test_a_faculty_members_name_finds_activities_as_the_catalog_search_does(db, ada, published):
    watching = alert(db, ada, at=NOW - WEEK, q="Okonkwo")
    activity = published("Transplant update", at=NOW - timedelta(days=1))
    activity.faculty.append(Faculty(full_name="Chidi Okonkwo", degree="MD", role="faculty"))
    db.session.commit()
    assert [a.title for a in service.new_activities(watching, now=NOW)] == ["Transplant update"]


def test_only_activities_published_since_the_watermark_that_are_still_open_are_new(db, ada, published):
    watching = alert(db, ada, at=NOW - WEEK)
    published("Before the alert", at=NOW - WEEK - timedelta(hours=1))
    published("After the alert", at=NOW - timedelta(days=3))
    published("Cancelled", at=NOW - timedelta(days=3), status="cancelled")
    published("Draft", at=None, status="draft")
    published("Registration closed", at=NOW - timedelta(days=3),
              registration_closes_dt=NOW - timedelta(hours=1))
    published("Already over", at=NOW - timedelta(days=3), start_dt=NOW - timedelta(days=1),
              end_dt=NOW - timedelta(hours=20))
    published("Published after this run", at=NOW + timedelta(minutes=5))
    assert [a.title for a in service.new_activities(watching, now=NOW)] == ["After the alert"]


# ---------------------------------------------------------------- the weekly cadence, the watermark, idempotence

def test_a_digest_comes_a_week_after_the_alert_and_lists_each_activity_once(db, ada, published):
    watching = alert(db, ada, at=NOW, specialty="Hepatology")
    published("First", at=NOW + timedelta(days=1))
    assert send_digests(now=NOW + timedelta(days=6)).queued == []  # not due before a week
    first = send_digests(now=NOW + WEEK)
    assert len(first.queued) == 1
    [mail] = outbox(db, "alert_digest")
    assert mail.recipient == "ada@example.org" and mail.subject == "1 new activity for your alert “Hepatology”"
    assert digest_titles(db, mail) == {"Hepatology": ["First"]}

    published("Second", at=NOW + WEEK + timedelta(days=2))
    assert send_digests(now=NOW + WEEK + timedelta(days=6)).queued == []  # the next week is not over
    assert len(send_digests(now=NOW + 2 * WEEK).queued) == 1
    second = outbox(db, "alert_digest")[-1]
    assert digest_titles(db, second) == {"Hepatology": ["Second"]}  # "First" is not mailed again
    db.session.refresh(watching)
    assert watching.watermark_dt == NOW + 2 * WEEK and watching.next_digest_dt == NOW + 3 * WEEK
    assert watching.last_sent_dt == NOW + 2 * WEEK


def test_running_the_digests_twice_sends_nothing_twice(app, db, ada, published):
    alert(db, ada, at=NOW - WEEK)
    published("Liver summit", at=NOW - timedelta(days=1))
    assert len(send_digests(now=NOW).queued) == 1
    assert send_digests(now=NOW).queued == [] and send_digests(now=NOW + timedelta(hours=1)).queued == []
    result = app.test_cli_runner().invoke(args=["cme", "send-digests"])
    assert result.exit_code == 0 and "0 mail(s) queued" in result.output, result.output
    assert len(outbox(db, "alert_digest")) == 1


def test_two_runs_at_once_queue_one_digest(app, db, ada, make_user, published):
    """Two workers running the digests at the same moment: each learner's is queued once (their alerts are read
    locked, and the second run finds them no longer due)."""
    bea = make_user("bea@example.org", full_name="Bea")
    for user in (ada, bea):
        alert(db, user, at=NOW - WEEK)
    published("Liver summit", at=NOW - timedelta(days=1))
    barrier = threading.Barrier(2)
    errors = []

    def run():
        with app.app_context():
            try:
                barrier.wait()
                send_digests(now=NOW)
            except Exception as error:  # noqa: BLE001
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(m.recipient for m in outbox(db, "alert_digest")) == ["ada@example.org", "bea@example.org"]
    assert db.session.scalar(select(func.count()).select_from(AlertMailing)) == 2


def test_one_mail_a_week_gathers_all_of_a_learners_alerts(db, ada, published):
    alert(db, ada, at=NOW - WEEK, specialty="Hepatology")
    later = alert(db, ada, at=NOW - timedelta(days=2), format="live_webcast", name="Webcasts")
    assert later.next_digest_dt == NOW  # joins the digest already due: one mail for both
    published("Liver summit", at=NOW - timedelta(days=1), specialty="Hepatology")
    published("Evening webcast", at=NOW - timedelta(days=1), format="live_webcast", specialty="Oncology")
    published("Both", at=NOW - timedelta(days=1), format="live_webcast", specialty="Hepatology")
    send_digests(now=NOW)
    [mail] = outbox(db, "alert_digest")
    assert mail.subject == "3 new activities for your 2 alerts"
    assert digest_titles(db, mail) == {"Hepatology": ["Liver summit", "Both"], "Webcasts": ["Evening webcast", "Both"]}


def test_nothing_is_sent_in_a_week_with_nothing_new_and_the_week_still_counts(db, ada, published):
    watching = alert(db, ada, at=NOW - WEEK, specialty="Oncology")
    published("Liver summit", at=NOW - timedelta(days=1), specialty="Hepatology")
    run = send_digests(now=NOW)
    assert run.due == 1 and run.queued == [] and outbox(db, "alert_digest") == []
    db.session.refresh(watching)
    assert watching.next_digest_dt == NOW + WEEK and watching.watermark_dt == NOW and watching.last_sent_dt is None


def test_a_digest_missed_for_weeks_runs_once_and_the_next_is_a_week_later(db, ada, published):
    watching = alert(db, ada, at=NOW - 5 * WEEK)
    published("Liver summit", at=NOW - 3 * WEEK)
    send_digests(now=NOW)
    db.session.refresh(watching)
    assert len(outbox(db, "alert_digest")) == 1 and watching.next_digest_dt == NOW + WEEK


def test_a_digest_lists_ten_activities_per_alert_and_links_to_the_rest(db, ada, published):
    alert(db, ada, at=NOW - WEEK, specialty="Hepatology")
    for n in range(12):
        published(f"Course {n:02d}", at=NOW - timedelta(days=1), start_dt=NOW + timedelta(days=10 + n))
    send_digests(now=NOW)
    [mail] = outbox(db, "alert_digest")
    assert mail.subject == "12 new activities for your alert “Hepatology”"
    assert digest_titles(db, mail)["Hepatology"] == [f"Course {n:02d}" for n in range(10)]
    assert "And 2 more: http://cme.test/activities/?specialty=Hepatology" in plain_text(mail)
    assert db.session.scalar(select(func.count()).select_from(AlertMailing)) == 12  # all twelve told of


def test_an_activity_published_again_is_not_mailed_twice_by_one_alert(db, ada, published):
    alert(db, ada, at=NOW - WEEK)
    activity = published("Liver summit", at=NOW - timedelta(days=1))
    send_digests(now=NOW)
    activity.status, activity.published_dt = "draft", None  # unpublished (as activities.service.unpublish does)
    db.session.commit()
    activity.status, activity.published_dt = "published", NOW + timedelta(days=2)  # and published again
    db.session.commit()
    assert send_digests(now=NOW + WEEK).queued == []
    assert len(outbox(db, "alert_digest")) == 1


def test_closed_unconfirmed_and_deactivated_accounts_get_no_digest(db, make_user, published):
    closing = make_user("closing@example.org")
    unconfirmed = make_user("new@example.org", verified=False)
    deactivated = make_user("off@example.org")
    for user in (closing, unconfirmed, deactivated):
        alert(db, user, at=NOW - WEEK)
    deactivated.is_active_account = False
    close_account(closing, TEST_PASSWORD)
    db.session.commit()
    published("Liver summit", at=NOW - timedelta(days=1))
    assert send_digests(now=NOW).due == 0 and outbox(db, "alert_digest") == []
    assert db.session.scalar(select(ActivityAlert).where(ActivityAlert.user_id == closing.id)) is None
    # once the address is confirmed, the week's news comes
    unconfirmed.email_verified_dt = NOW
    db.session.commit()
    assert len(send_digests(now=NOW).queued) == 1


def test_a_digest_queued_before_the_account_closed_is_never_sent(db, ada, published, smtp):
    alert(db, ada, at=NOW - WEEK)
    published("Liver summit", at=NOW - timedelta(days=1))
    send_digests(now=NOW)
    close_account(ada, TEST_PASSWORD)
    db.session.commit()
    deliver_pending()
    assert smtp.messages == [] and outbox(db, "alert_digest") == []


def test_an_alert_turned_off_sends_nothing_and_back_on_tells_only_of_what_comes_after(db, ada, published):
    watching = alert(db, ada, at=NOW - WEEK, specialty="Hepatology")
    service.stop_alert(watching, now=NOW - timedelta(days=3))
    db.session.commit()
    published("While off", at=NOW - timedelta(days=2))
    assert send_digests(now=NOW).due == 0
    service.resume_alert(watching, now=NOW)
    db.session.commit()
    assert watching.next_digest_dt == NOW + WEEK
    published("After", at=NOW + timedelta(days=1))
    send_digests(now=NOW + WEEK)
    [mail] = outbox(db, "alert_digest")
    assert digest_titles(db, mail) == {"Hepatology": ["After"]}


# ---------------------------------------------------------------- the mail, through the real SMTP server

def _one_click_url(message) -> str:
    """The List-Unsubscribe URL, as the message carries it: one line, not folded, not an encoded-word."""
    raw = dict(message.raw_items())["List-Unsubscribe"]
    match = re.fullmatch(r"<(http://cme\.test/alerts/unsubscribe/[A-Za-z0-9_.\-]+)>", raw)
    assert match, raw
    return match[1]


def test_the_digest_arrives_with_its_activities_and_the_one_click_unsubscribe_headers(app, db, ada, published,
                                                                                      smtp, client):
    alert(db, ada, at=NOW - WEEK, specialty="Hepatology")
    alert(db, ada, at=NOW - WEEK, name="<b>Webcasts</b> & more", format="webcast")
    published("Liver summit", at=NOW - timedelta(days=1), specialty="Hepatology", capacity=80)
    published("HCV webcast", at=NOW - timedelta(days=1), format="on_demand_webcast",
              start_dt=NOW - timedelta(days=1), end_dt=NOW + timedelta(days=60))
    send_digests(now=NOW)
    assert deliver_pending().sent
    [message] = smtp.messages
    assert message["To"].addresses[0].addr_spec == "ada@example.org"
    assert str(message["Subject"]) == "2 new activities for your 2 alerts"
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    url = _one_click_url(message)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "== Hepatology ==" in text and "Liver summit" in text and "Seats: 80 seats left" in text
    assert "Credit: 3 AMA PRA Category 1 Credit™" in text and "HCV webcast" in text and "on demand until" in text
    assert "&lt;b&gt;Webcasts&lt;/b&gt; &amp; more" in html and "<b>Webcasts</b>" not in html
    stop_links = re.findall(r"Stop this alert: (\S+)", text)
    assert len(stop_links) == 2 and url not in stop_links  # one per alert; the header's stops both
    assert f"Stop every alert in this message: {url}" in text

    # The mail client's one-click POST: no session, no CSRF token, the body RFC 8058 prescribes.
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(urlsplit(url).path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "Alerts turned off" in response.get_data(as_text=True)
    assert all(not a.is_on for a in db.session.scalars(select(ActivityAlert)))


def test_a_digest_leaves_out_what_was_cancelled_or_turned_off_after_it_was_queued(db, ada, published):
    hepatology = alert(db, ada, at=NOW - WEEK, specialty="Hepatology")
    webcasts = alert(db, ada, at=NOW - WEEK, format="webcast", name="Webcasts")
    summit = published("Liver summit", at=NOW - timedelta(days=1), specialty="Hepatology")
    published("Liver course", at=NOW - timedelta(days=1), specialty="Hepatology")
    published("Evening webcast", at=NOW - timedelta(days=1), format="live_webcast", specialty="Oncology")
    send_digests(now=NOW)
    [mail] = outbox(db, "alert_digest")
    summit.status = "cancelled"
    service.stop_alert(webcasts)
    db.session.commit()
    text = plain_text(mail)
    assert "Liver course" in text and "Liver summit" not in text and "Evening webcast" not in text

    mail.raw_message = None
    service.stop_alert(hepatology)
    db.session.commit()
    with pytest.raises(NotNeeded):
        message_text(mail)


# ---------------------------------------------------------------- the unsubscribe link

def test_the_unsubscribe_page_asks_on_get_without_writing_and_stops_on_post(db, client, ada, count_queries):
    first = alert(db, ada, specialty="Hepatology")
    second = alert(db, ada, format="webcast")
    other = alert(db, ada, q="liver")
    path = f"/alerts/unsubscribe/{unsubscribe_token(ada.id, [first.id, second.id])}"
    with count_queries() as statements:
        page = client.get(path)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Stop these alerts?" in body and "All webcasts" in body
    assert "private, no-store" in page.headers["Cache-Control"]
    assert not [s for s in statements if s.lstrip().upper().startswith(WRITES)]
    assert all(a.is_on for a in db.session.scalars(select(ActivityAlert)))

    assert client.post(path).status_code == 200
    db.session.expire_all()
    assert (first.is_on, second.is_on, other.is_on) == (False, False, True)
    again = client.post(path)  # a second click, or the mail client's retry
    assert again.status_code == 200 and first.stopped_dt == db.session.get(ActivityAlert, first.id).stopped_dt
    assert "already off" in client.get(path).get_data(as_text=True)


@pytest.mark.parametrize("forge", ["tampered", "other_salt", "garbage"])
def test_a_forged_unsubscribe_link_changes_nothing(app, db, client, ada, forge):
    watching = alert(db, ada)
    token = unsubscribe_token(ada.id, [watching.id])
    forged = {"tampered": token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),
              "other_salt": make_reset_token(ada), "garbage": "not-a-token"}[forge]
    for method in (client.get, client.post):
        response = method(f"/alerts/unsubscribe/{forged}")
        assert response.status_code == 404 and "This link is not valid" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ActivityAlert, watching.id).is_on


def test_an_expired_unsubscribe_link_says_so_and_changes_nothing(app, db, client, ada):
    watching = alert(db, ada)
    max_age = app.config["ALERT_UNSUBSCRIBE_MAX_AGE"]
    old = unsubscribe_token(ada.id, [watching.id], signed_at=now_utc() - timedelta(seconds=max_age + 60))
    fresh_enough = unsubscribe_token(ada.id, [watching.id], signed_at=now_utc() - timedelta(seconds=max_age - 3600))
    response = client.post(f"/alerts/unsubscribe/{old}")
    assert response.status_code == 410 and "has expired" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ActivityAlert, watching.id).is_on
    assert client.post(f"/alerts/unsubscribe/{fresh_enough}").status_code == 200


def test_a_link_cannot_reach_another_learners_alert(db, client, ada, make_user):
    bea = make_user("bea@example.org")
    hers = alert(db, bea)
    forged_mix = unsubscribe_token(ada.id, [hers.id])  # signed, but names Ada with Bea's alert
    assert "Nothing to stop" in client.post(f"/alerts/unsubscribe/{forged_mix}").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ActivityAlert, hers.id).is_on


def test_only_the_unsubscribe_route_is_exempt_from_csrf(app, db, client, auth, ada):
    watching = alert(db, ada)
    app.config["WTF_CSRF_ENABLED"] = True
    auth.login("ada@example.org")
    assert client.post("/alerts/new", data={"specialty": "Oncology"}).status_code == 400
    assert client.post(f"/alerts/{watching.id}/delete").status_code == 400
    assert client.post(f"/alerts/{watching.id}/stop").status_code == 400
    token = unsubscribe_token(ada.id, [watching.id])
    assert client.post(f"/alerts/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    db.session.expire_all()
    assert not db.session.get(ActivityAlert, watching.id).is_on


# ---------------------------------------------------------------- the pages: from the catalog, managing, ownership

def test_the_catalog_offers_an_alert_for_its_filters_and_the_form_starts_from_them(db, client, auth, ada):
    auth.login("ada@example.org")
    catalog = client.get("/activities/?specialty=Oncology&format=webcast&q=immunotherapy&date_from=2030-01-01")
    link = re.search(r'href="(/alerts/new\?[^"]+)">Notify me of new activities like these', catalog.get_data(as_text=True))
    assert link, "the catalog offers the alert"
    assert "date_from" not in link[1]
    form = client.get(link[1].replace("&amp;", "&")).get_data(as_text=True)
    assert '<option selected value="Oncology">' in form and '<option selected value="webcast">' in form
    assert 'value="immunotherapy"' in form and 'placeholder="Oncology · All webcasts · “immunotherapy”"' in form
    response = client.post("/alerts/new", data={"specialty": "Oncology", "format": "webcast", "q": "immunotherapy"})
    assert response.status_code == 302 and response.headers["Location"] == "/alerts/"
    [saved] = db.session.scalars(select(ActivityAlert))
    assert (saved.name, saved.specialty, saved.format, saved.q) == (
        "Oncology · All webcasts · “immunotherapy”", "Oncology", "webcast", "immunotherapy")
    page = client.get("/alerts/").get_data(as_text=True)
    assert "Oncology · All webcasts · “immunotherapy”" in page and "Next digest:" in page


def test_a_new_alert_without_filters_suggests_the_profile_specialty(db, client, auth, make_user):
    make_user("known@example.org", specialty="hepatology")
    make_user("free@example.org", specialty="Transplant nursing")
    auth.login("known@example.org")
    assert '<option selected value="Hepatology">' in client.get("/alerts/new").get_data(as_text=True)
    auth.logout()
    auth.login("free@example.org")
    page = client.get("/alerts/new").get_data(as_text=True)
    assert 'value="Transplant nursing"' in page and '<option selected value="">Any specialty' in page


def test_the_profile_links_to_the_alerts(client, auth, ada):
    auth.login("ada@example.org")
    assert 'href="/alerts/"' in client.get("/account/profile").get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_log_in_and_back(client):
    response = client.get("/alerts/new?specialty=Oncology")
    assert response.status_code == 302
    assert unquote(response.headers["Location"]) == "/account/login?next=/alerts/new?specialty=Oncology"


def test_renaming_turning_off_on_and_deleting_from_the_alerts_page(db, client, auth, ada):
    watching = alert(db, ada)
    auth.login("ada@example.org")
    assert client.post(f"/alerts/{watching.id}/edit", data={"name": "My liver news", "specialty": "Hepatology",
                                                            "q": "  HCV   cure "}).status_code == 302
    db.session.expire_all()
    assert (watching.name, watching.q) == ("My liver news", "HCV cure")
    client.post(f"/alerts/{watching.id}/stop")
    db.session.expire_all()
    assert not watching.is_on and "Off since" in client.get("/alerts/").get_data(as_text=True)
    client.post(f"/alerts/{watching.id}/resume")
    db.session.expire_all()
    assert watching.is_on
    client.post(f"/alerts/{watching.id}/delete")
    assert db.session.scalar(select(func.count()).select_from(ActivityAlert)) == 0
    assert "You have no alerts yet" in client.get("/alerts/").get_data(as_text=True)


def test_one_learner_cannot_see_change_or_delete_anothers_alert(db, client, auth, ada, make_user):
    make_user("bea@example.org", full_name="Bea")
    hers = alert(db, ada, name="Ada's private interests")
    auth.login("bea@example.org")
    assert "Ada&#39;s private interests" not in client.get("/alerts/").get_data(as_text=True)
    assert client.get(f"/alerts/{hers.id}/edit").status_code == 404
    for action in ("edit", "stop", "resume", "delete"):
        assert client.post(f"/alerts/{hers.id}/{action}", data={"name": "Mine now"}).status_code == 404
    db.session.expire_all()
    kept = db.session.get(ActivityAlert, hers.id)
    assert kept is not None and kept.is_on and kept.name == "Ada's private interests"


@pytest.mark.parametrize("data, field", [
    ({"specialty": "Cardiology"}, "specialty"),
    ({"format": "podcast"}, "format"),
    ({"credit_type": "ama_pra_2"}, "credit_type"),
    ({"q": "liver " * 40}, "q"),
    ({"name": "N" * 121}, "name"),
    ({"q": "x\x00" * 201}, "q"),
])
def test_odd_values_are_refused_beside_their_field_and_nothing_is_saved(db, client, auth, ada, data, field):
    auth.login("ada@example.org")
    response = client.post("/alerts/new", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'class="error-summary"' in body and f'id="{field}-error"' in body
    assert db.session.scalar(select(func.count()).select_from(ActivityAlert)) == 0


def test_line_breaks_and_nul_in_text_are_kept_on_one_line(db, client, auth, ada):
    auth.login("ada@example.org")
    response = client.post("/alerts/new", data={"name": "Liver\r\nnews\x00 weekly", "q": "hcv\n\tcure\u2028now"})
    assert response.status_code == 302
    [saved] = db.session.scalars(select(ActivityAlert))
    assert (saved.name, saved.q) == ("Liver news weekly", "hcv cure now")


def test_a_second_alert_with_the_same_filters_and_the_twenty_first_are_refused(db, client, auth, ada):
    alert(db, ada, specialty="Hepatology", q="HCV")
    auth.login("ada@example.org")
    response = client.post("/alerts/new", data={"specialty": "Hepatology", "q": "hcv", "name": "Again"})
    assert response.status_code == 422 and "You already have an alert for these filters" in response.get_data(as_text=True)
    for n in range(service.MAX_ALERTS - 1):
        alert(db, ada, q=f"word{n}")
    with pytest.raises(AlertError) as refused:
        create_alert(ada, AlertFilters(q="one more"))
    assert refused.value.code == "too_many"
    assert "New alert</a>" not in client.get("/alerts/").get_data(as_text=True)


def test_the_download_of_personal_data_holds_the_alerts(client, auth, db, ada):
    alert(db, ada, specialty="Hepatology", name="Liver")
    auth.login("ada@example.org")
    data = client.post("/account/data", data={"current_password": TEST_PASSWORD}).get_json()
    assert [(a["name"], a["watches"], a["on"]) for a in data["alerts"]] == [("Liver", "Hepatology", True)]


def test_the_mail_worker_loop_sends_due_digests_by_itself(db, ada, published, smtp_server, mail_worker):
    """`flask cme send-mail --loop` runs the digests as housekeeping: a due digest reaches the SMTP server with no
    command run by anyone."""
    alert(db, ada, at=now_utc() - WEEK - timedelta(minutes=1), specialty="Hepatology")
    published("Liver summit", at=now_utc() - timedelta(hours=1))
    handler, port = smtp_server()
    mail_worker(port)
    wait_until(lambda: handler.messages, timeout=60, what="the digest")
    [message] = handler.messages
    assert str(message["Subject"]) == "1 new activity for your alert “Hepatology”" and message["List-Unsubscribe"]


def test_a_double_submit_saves_one_alert_and_never_fails(app, db, ada):
    """Two posts of the same new alert at the same moment (a double click): one alert; the other request is run
    again after the unique constraint stops it and answers as for any repeat."""
    barrier = threading.Barrier(2)
    statuses: list = [None, None]

    def post(n: int) -> None:
        client = app.test_client()
        client.post("/account/login", data={"email": "ada@example.org", "password": TEST_PASSWORD})
        barrier.wait(timeout=30)
        try:
            statuses[n] = client.post("/alerts/new", data={"specialty": "Hepatology", "q": "HCV"}).status_code
        except Exception as error:  # noqa: BLE001
            statuses[n] = repr(error)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302, 422], statuses
    assert db.session.scalar(select(func.count()).select_from(ActivityAlert)) == 1
