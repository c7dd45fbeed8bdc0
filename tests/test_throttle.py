"""Throttling that holds across workers and hosts (issue 13, point 3): log-in failures per account and per client
address, reset requests per email and per client, sign-ups per client, check-in and verification codes that miss;
a 429 with Retry-After and a clear message, alike for known and unknown accounts; counters in the database,
expiring with their window, shared by several gunicorn workers."""
from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import g
from sqlalchemy import func, select

from cme.accounts import throttle
from cme.accounts.models import ThrottleCounter, User
from cme.accounts.service import AccountError, log_in, make_reset_token, request_password_reset
from cme.certificates.service import issue_certificate
from cme.credit.models import CreditRecord
from cme.timeutil import now_utc
from tests.helpers import TEST_PASSWORD, base_config, free_port, outbox

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2030, 3, 1, 9, tzinfo=timezone.utc)
WRONG = "not the password"
SIGNUP = {"password": "long enough password", "confirm": "long enough password", "full_name": "Jane Doe",
          "degree": "NP", "profession": "nurse_practitioner", "time_zone": "America/New_York"}


@pytest.fixture
def app_config(database_url, tmp_path, request) -> dict:
    """The suite's settings; `indirect` parametrization sets CME_PROXY_HOPS."""
    return base_config(database_url, tmp_path / "instance", CME_PROXY_HOPS=getattr(request, "param", 0))


@pytest.fixture(autouse=True)
def _user_loaded_per_request(app):
    """The tests' app context outlives requests, and Flask-Login keeps the user in `g`: load it at every request, as
    a server does, so each client is judged by its own cookies."""
    @app.before_request
    def forget_the_last_user() -> None:
        g.pop("_login_user", None)


def set_limits(app, **limits: tuple[int, int]) -> None:
    app.config["THROTTLE_LIMITS"] = {**app.config["THROTTLE_LIMITS"], **limits}


def log_in_as(client, email: str, password: str = WRONG, address: str = "127.0.0.1"):
    return client.post("/account/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def answer(response, email: str) -> tuple:
    """What a visitor sees of a refused form (status, page), the typed address blanked, and Retry-After rounded to
    the minute the page states (two requests a moment apart may be a second apart)."""
    retry = response.headers.get("Retry-After")
    return (response.status_code, retry and -(-int(retry) // 60),
            response.get_data(as_text=True).replace(email, "EMAIL"))


def assert_throttled(response, *, window: int, says: str) -> None:
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= window
    page = response.get_data(as_text=True)
    assert says in page and "please wait" in page and "try again" in page


def counters(db, scope: str) -> int:
    return db.session.scalar(select(func.count()).select_from(ThrottleCounter).where(ThrottleCounter.scope == scope))


# ---------------------------------------------------------------- log-in

def test_wrong_log_ins_per_account_are_throttled_and_then_even_the_right_password_is_refused(app, client, make_user):
    make_user("ada@example.org")
    set_limits(app, login_account=(3, 900))
    for _ in range(3):
        assert log_in_as(client, "ada@example.org").status_code == 422
    refused = log_in_as(client, "ada@example.org")
    assert_throttled(refused, window=900, says="Too many log-in attempts.")
    assert 'value="ada@example.org"' in refused.get_data(as_text=True)  # the form keeps the typed email
    right = log_in_as(client, "ADA@example.org", TEST_PASSWORD)
    assert_throttled(right, window=900, says="Too many log-in attempts.")
    assert client.get("/account/profile").status_code == 302  # nobody logged in
    assert log_in_as(client, "bob@example.org").status_code == 422  # other accounts are not affected


def test_a_throttled_log_in_answers_alike_for_a_known_and_an_unknown_account(app, client, make_user):
    make_user("ada@example.org")
    set_limits(app, login_account=(2, 900))
    answers = {}
    for email in ("ada@example.org", "nobody@example.org"):
        answers[email] = [answer(log_in_as(client, email, password), email)
                          for password in (WRONG, WRONG, WRONG, TEST_PASSWORD)]
    assert answers["ada@example.org"] == answers["nobody@example.org"]
    assert [status for status, _retry, _page in answers["ada@example.org"]] == [422, 422, 429, 429]


def test_wrong_log_ins_per_client_address_are_throttled_across_accounts(app, client, make_user):
    make_user("ada@example.org")
    set_limits(app, login_client=(4, 900))
    for n in range(4):
        assert log_in_as(client, f"guess{n}@example.org", address="203.0.113.7").status_code == 422
    assert_throttled(log_in_as(client, "ada@example.org", TEST_PASSWORD, address="203.0.113.7"), window=900,
                     says="Too many log-in attempts.")
    assert log_in_as(client, "ada@example.org", TEST_PASSWORD, address="203.0.113.8").status_code == 302


def test_a_good_log_in_clears_the_accounts_failures(app, make_user):
    make_user("ada@example.org")
    set_limits(app, login_account=(3, 900))
    statuses = [log_in_as(app.test_client(), "ada@example.org", password).status_code
                for password in (WRONG, WRONG, TEST_PASSWORD, WRONG, WRONG, WRONG, TEST_PASSWORD)]
    assert statuses == [422, 422, 302, 422, 422, 422, 429]


def test_good_log_ins_count_as_no_failure_of_the_client_address(app, make_user):
    for n in range(6):
        make_user(f"user{n}@example.org")
    set_limits(app, login_client=(3, 900))
    assert [log_in_as(app.test_client(), f"user{n}@example.org", TEST_PASSWORD).status_code
            for n in range(6)] == [302] * 6
    assert [log_in_as(app.test_client(), "user0@example.org").status_code for _ in range(4)] == [422] * 3 + [429]


def test_log_in_failures_expire_with_their_window(app, db, make_user):
    user = make_user("ada@example.org")
    set_limits(app, login_account=(3, 900), login_client=(100, 900))
    for _ in range(3):
        with pytest.raises(AccountError, match="not correct"):
            log_in("ada@example.org", WRONG, client="203.0.113.7", now=T0)
    with pytest.raises(throttle.Throttled) as refused:
        log_in("ada@example.org", TEST_PASSWORD, client="203.0.113.7", now=T0 + timedelta(seconds=899))
    assert refused.value.retry_after == 1 and refused.value.code == "throttled"
    assert log_in("ada@example.org", TEST_PASSWORD, client="203.0.113.7", now=T0 + timedelta(seconds=900)) == user


def test_a_password_reset_clears_the_accounts_log_in_failures(app, client, db, make_user):
    user = make_user("ada@example.org")
    set_limits(app, login_account=(2, 900))
    for _ in range(3):
        log_in_as(client, "ada@example.org")
    assert log_in_as(client, "ada@example.org", TEST_PASSWORD).status_code == 429
    token = make_reset_token(user)
    reset = client.post(f"/account/reset/{token}", data={"password": "a brand new secret",
                                                         "confirm": "a brand new secret"})
    assert reset.status_code == 302
    client.post("/account/logout")
    assert log_in_as(client, "ada@example.org", "a brand new secret").status_code == 302


# ---------------------------------------------------------------- reset and sign-up

def test_reset_requests_per_email_address_are_throttled_alike_for_known_and_unknown_addresses(app, client, db,
                                                                                            make_user):
    make_user("ada@example.org")
    set_limits(app, reset_email=(2, 3600))
    answers = {}
    for email in ("ada@example.org", "nobody@example.org"):
        for _ in range(2):
            done = client.post("/account/reset", data={"email": email}, follow_redirects=True)
            assert "a reset link is on its way" in done.get_data(as_text=True)
        refused = client.post("/account/reset", data={"email": email.upper()})  # the same address
        assert_throttled(refused, window=3600, says="Too many password reset requests.")
        local, domain = email.upper().split("@")
        shown = f"{local}@{domain.lower()}"  # as typed, the domain as stored (EmailAddress: IDNA, lower case)
        assert 'value="' + shown + '"' in refused.get_data(as_text=True)
        answers[email] = answer(refused, shown)
    assert answers["ada@example.org"] == answers["nobody@example.org"]
    assert [row.recipient for row in outbox(db, "password_reset")] == ["ada@example.org"] * 2
    assert client.post("/account/reset", data={"email": "other@example.org"}).status_code == 302


def test_reset_requests_per_client_address_are_throttled(app, client, db, make_user):
    make_user("ada@example.org")
    set_limits(app, reset_client=(3, 3600))
    for n in range(3):
        assert client.post("/account/reset", data={"email": f"n{n}@example.org"}).status_code == 302
    refused = client.post("/account/reset", data={"email": "ada@example.org"})
    assert_throttled(refused, window=3600, says="Too many password reset requests.")
    assert outbox(db, "password_reset") == []
    other = client.post("/account/reset", data={"email": "ada@example.org"}, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 302 and len(outbox(db, "password_reset")) == 1


def test_sign_ups_per_client_address_are_throttled_alike_for_new_and_taken_addresses(app, client, db, make_user):
    make_user("taken@example.org")
    set_limits(app, signup_client=(2, 3600))
    for n in range(2):
        done = client.post("/account/signup", data={**SIGNUP, "email": f"new{n}@example.org"}, follow_redirects=True)
        assert "check your inbox" in done.get_data(as_text=True)
    taken = client.post("/account/signup", data={**SIGNUP, "email": "taken@example.org"})
    new = client.post("/account/signup", data={**SIGNUP, "email": "newest@example.org"})
    assert_throttled(new, window=3600, says="Too many sign-ups from your network.")
    assert answer(taken, "taken@example.org") == answer(new, "newest@example.org")
    assert 'value="Jane Doe"' in new.get_data(as_text=True)  # the form keeps what was typed
    assert db.session.scalar(select(func.count()).select_from(User)) == 3
    assert len(outbox(db, "signup_taken")) == 0


# ---------------------------------------------------------------- lookups by code

def test_check_in_codes_that_miss_are_throttled_per_client_and_then_every_lookup_is_refused(
        app, client, db, make_user, make_activity, organizer, register):
    activity = make_activity(organizers=[organizer], time_zone="UTC", start_dt=now_utc() - timedelta(hours=1),
                             end_dt=now_utc() + timedelta(hours=2))
    registration = register(make_user(full_name="Grace Hopper"), activity)
    set_limits(app, checkin_client=(3, 600))
    desk = f"/organize/activities/{activity.id}/checkin"
    for _ in range(5):  # codes that match count nothing
        assert client.post(desk, data={"code": registration.checkin_code}).status_code == 302
    assert counters(db, throttle.CHECKIN_CLIENT) == 0
    assert client.post(desk, data={"code": "NOPE1"}).status_code == 422
    assert client.get(f"{desk}/NOPE2").status_code == 404  # a scanned code that matches nobody counts too
    assert client.post(desk, data={"code": "NOPE3"}).status_code == 422
    refused = client.post(desk, data={"code": registration.checkin_code})
    assert_throttled(refused, window=600, says="Too many check-in codes that match no registration.")
    assert_throttled(client.get(f"{desk}/{registration.checkin_code}"), window=600,
                     says="Too many check-in codes that match no registration.")


def test_verification_codes_that_miss_are_throttled_per_client(app, client, db, make_user, make_activity):
    learner = make_user("ada@example.org")
    activity = make_activity(start_dt=now_utc() - timedelta(days=3), end_dt=now_utc() - timedelta(days=3, hours=-2))
    db.session.add(CreditRecord(user_id=learner.id, activity_id=activity.id, credit_type="ama_pra_1",
                                amount=Decimal("1"), attested=True))
    certificate, _ = issue_certificate(learner, activity)
    db.session.commit()
    code = certificate.verification_code
    set_limits(app, verify_client=(3, 60))
    for _ in range(5):  # a code that matches writes nothing
        assert client.get(f"/verify/{code}").status_code == 200
    assert counters(db, throttle.VERIFY_CLIENT) == 0
    for n in range(3):
        assert client.get(f"/verify/NOTACODE{n}").status_code == 404
    refused = client.get(f"/verify/{code}")
    assert_throttled(refused, window=60, says="Too many verification codes that match no certificate.")
    assert "Too many requests" in refused.get_data(as_text=True)
    assert client.get(f"/verify/{code}", environ_base={"REMOTE_ADDR": "198.51.100.4"}).status_code == 200


# ---------------------------------------------------------------- the counters

@pytest.mark.parametrize("scope", throttle.SCOPES)
def test_every_scope_counts_to_its_configured_limit_and_opens_a_new_window_when_it_ends(app, scope):
    set_limits(app, **{scope: (2, 600)})
    throttle.reserve((scope, "203.0.113.7"), now=T0)
    throttle.count(scope, "203.0.113.7", now=T0 + timedelta(seconds=100))
    with pytest.raises(throttle.Throttled) as refused:
        throttle.reserve((scope, "203.0.113.7"), now=T0 + timedelta(seconds=200))
    assert refused.value.retry_after == 400 and refused.value.message.startswith(throttle.REASONS[scope])
    with pytest.raises(throttle.Throttled):
        throttle.lookup(scope, "203.0.113.7", lambda: "found", now=T0 + timedelta(seconds=599))
    assert throttle.lookup(scope, "203.0.113.7", lambda: "found", now=T0 + timedelta(seconds=600)) == "found"
    throttle.reserve((scope, "203.0.113.7"), now=T0 + timedelta(seconds=600))  # the new window's first
    throttle.reserve((scope, "203.0.113.8"), now=T0)  # another key: its own count


def test_counters_name_no_address_or_email_and_expired_ones_are_purged(app, db):
    request_password_reset("ada@example.org", client="203.0.113.7", now=T0)
    request_password_reset("bob@example.org", client="203.0.113.7", now=T0 + timedelta(minutes=30))
    rows = list(db.session.scalars(select(ThrottleCounter)))
    assert {(row.scope, row.hits) for row in rows} == {("reset_client", 2), ("reset_email", 1)} and len(rows) == 3
    assert all(re.fullmatch(r"[0-9a-f]{64}", row.key_hash) for row in rows)
    assert throttle.purge_expired(now=T0 + timedelta(minutes=59)) == 0
    assert throttle.purge_expired(now=T0 + timedelta(minutes=60)) == 2  # ada's and the client's window ended
    db.session.expire_all()
    assert [row.scope for row in db.session.scalars(select(ThrottleCounter))] == ["reset_email"]
    result = app.test_cli_runner().invoke(args=["cme", "purge-throttle"])  # now, years before bob's window ends
    assert result.exit_code == 0 and "Deleted 0 expired throttle counter(s)." in result.output


def test_an_ipv6_client_counts_by_its_64_and_an_ipv4_mapped_one_as_ipv4():
    assert throttle.client_network("2001:db8:1:2:aaaa::1") == throttle.client_network("2001:db8:1:2:bbbb::9") \
        == "2001:db8:1:2::/64"
    assert throttle.client_network("2001:db8:1:3::1") != throttle.client_network("2001:db8:1:2::1")
    assert throttle.client_network("::ffff:203.0.113.7") == "203.0.113.7" == throttle.client_network("203.0.113.7")


@pytest.mark.parametrize("app_config", [0, 1], indirect=True, ids=["no proxy", "one proxy"])
def test_the_client_address_comes_from_x_forwarded_for_only_behind_a_configured_proxy(app, client, app_config):
    """Behind one proxy (CME_PROXY_HOPS=1) two clients are told apart by the address the proxy saw; without one,
    a client cannot escape its count by sending X-Forwarded-For itself."""
    set_limits(app, login_client=(2, 900))
    behind_proxy = app_config["CME_PROXY_HOPS"] == 1

    def attempt(forwarded_for: str):
        return client.post("/account/login", data={"email": "x@example.org", "password": WRONG},
                           headers={"X-Forwarded-For": forwarded_for}, environ_base={"REMOTE_ADDR": "10.0.0.2"})

    statuses = [attempt(f"198.51.100.{n}").status_code for n in range(1, 5)]
    assert statuses == ([422] * 4 if behind_proxy else [422, 422, 429, 429])
    assert [attempt("198.51.100.1").status_code for _ in range(2)] == ([422, 429] if behind_proxy else [429, 429])


# ---------------------------------------------------------------- several processes

def _request(port: int, method: str, path: str, *, body: dict | None = None, cookie: str = "") -> tuple:
    """One request over a fresh connection: (status, headers, text)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Cookie": cookie} if cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=urlencode(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


def test_several_gunicorn_workers_share_the_counters_and_try_exactly_the_limit(app, db, make_user, database_url,
                                                                                 tmp_path):
    """A real gunicorn with 3 workers on the test database: a burst of wrong log-ins for one account, sent at once
    over fresh connections, is answered by more than one worker, and exactly the limit of them is tried (422);
    every other one, and the right password after them, gets 429. Then one by one for another account: the
    request after the limit gets 429."""
    limit, burst = 4, 15
    make_user("ada@example.org")
    make_user("bob@example.org")
    port = free_port()
    log, errors = tmp_path / "access.log", (tmp_path / "errors.log").open("wb")
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "g" * 64,
           "CME_INSTANCE_PATH": str(tmp_path / "instance"), "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
           "CME_THROTTLE_LOGIN_ACCOUNT": f"{limit}/900", "CME_THROTTLE_LOGIN_CLIENT": "1000/900"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "3", "--bind", f"127.0.0.1:{port}", "--access-logfile",
         str(log), "--access-logformat", "%(p)s %(m)s %(U)s %(s)s", "app:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors)
    try:
        for _ in range(300):  # bounded wait for the workers to boot
            try:
                status, headers, page = _request(port, "GET", "/account/login")
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "errors.log").read_text()
                time.sleep(0.1)
        assert status == 200
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

        def attempt(email: str, password: str = WRONG) -> tuple:
            status, headers, _page = _request(port, "POST", "/account/login", cookie=cookie,
                                              body={"csrf_token": csrf, "email": email, "password": password})
            return status, headers.get("Retry-After")

        with ThreadPoolExecutor(max_workers=burst) as pool:
            answers = list(pool.map(lambda _: attempt("ada@example.org"), range(burst)))
        statuses = [status for status, _ in answers]
        assert statuses.count(422) == limit and statuses.count(429) == burst - limit
        assert all(0 < int(retry) <= 900 for status, retry in answers if status == 429)
        assert attempt("ada@example.org", TEST_PASSWORD)[0] == 429

        one_by_one = []
        while not one_by_one or one_by_one[-1] != 429:
            one_by_one.append(attempt("bob@example.org")[0])
            assert len(one_by_one) <= 2 * limit
        assert one_by_one == [422] * limit + [429]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
        errors.close()
    pids = {line.split()[0] for line in log.read_text().splitlines() if " POST /account/login " in line}
    print(f"gunicorn: {len(pids)} workers answered; burst {statuses.count(422)} tried, "
          f"{statuses.count(429)} refused; one by one {one_by_one.count(422)} tried before 429")
    assert len(pids) > 1
