"""The app when the database goes away (issue 13, point 7): pooled connections are pinged, a read whose connection
drops is run once more, a write is never run again, and during an outage every page is the site's own 503 with
Retry-After, rendered without the database. Real PostgreSQL backends are ended with pg_terminate_backend; a
total outage is a TCP proxy in front of PostgreSQL, cut."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from cme import create_app
from cme.extensions import db as _db
from tests.helpers import TEST_PASSWORD, base_config



@pytest.mark.postgresql
def test_a_read_whose_connection_is_ended_mid_request_is_run_again_not_a_500(client, provider, make_activity,
                                                                             register, terminate_backend, caplog):
    register(provider, make_activity(title="Portal hypertension update"))
    seen = terminate_backend(before="^SELECT")  # the request's first query meets a dead connection
    response = client.get("/my/schedule")
    assert seen.ended and response.status_code == 200
    assert "Portal hypertension update" in response.get_data(as_text=True)
    assert "retrying once" in caplog.text


@pytest.mark.postgresql
def test_a_pooled_connection_the_server_ended_is_replaced_before_use(client, provider, db, caplog):
    assert client.get("/my/schedule").status_code == 200
    db.session.remove()  # the connection goes back to the pool (the test and its requests share one session)
    admin = sa.create_engine(db.engine.url, poolclass=NullPool)
    with admin.connect() as connection:  # end the idle backends of the test database: the pooled ones
        ended = connection.scalar(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'"))
    admin.dispose()
    assert ended
    assert client.get("/my/schedule").status_code == 200
    assert "retrying once" not in caplog.text  # the pre-ping replaced it before the request used it


@pytest.mark.postgresql
def test_a_post_whose_connection_is_ended_is_not_run_again_and_says_nothing_was_saved(client, provider, db,
                                                                                      terminate_backend):
    seen = terminate_backend(before="^UPDATE")
    response = client.post("/account/profile", data={"email": provider.email, "full_name": "Ada Byron",
                                                     "degree": "MD", "profession": "physician"})
    text = response.get_data(as_text=True)
    assert seen.ended and response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "nothing was saved" in text
    assert len([s for s in seen.statements if s.startswith("UPDATE")]) == 1  # never run again
    db.session.expire_all()
    assert provider.full_name == "Ada Lovelace"


@pytest.mark.postgresql
def test_a_post_whose_connection_is_lost_while_committing_says_it_cannot_confirm_the_save(client, provider,
                                                                                         terminate_backend):
    seen = terminate_backend(at_commit=True)
    response = client.post("/account/profile", data={"email": provider.email, "full_name": "Ada Byron",
                                                     "degree": "MD", "profession": "physician"})
    assert seen.ended and response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "cannot confirm that your change was saved" in response.get_data(as_text=True)


@pytest.mark.postgresql
def test_during_a_database_outage_every_page_is_the_sites_own_503_with_retry_after(make_user, postgres_proxy,
                                                                                  tmp_path):
    make_user("ada@example.org", full_name="Ada Lovelace")
    app = create_app(base_config(postgres_proxy.url, tmp_path / "proxied"))  # reaches PostgreSQL through the proxy
    client = app.test_client()
    assert client.post("/account/login", data={"email": "ada@example.org", "password": TEST_PASSWORD}
                       ).status_code == 302
    assert "Ada Lovelace" in client.get("/").get_data(as_text=True)

    postgres_proxy.cut()
    page = client.get("/my/schedule")
    text = page.get_data(as_text=True)
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert "Temporarily unavailable" in text and "Please try again in a minute." in text
    assert "/static/css/app.css" in text and 'class="error-page"' in text  # the site's page, styled
    assert "Ada Lovelace" not in text and "Log in" not in text  # who is logged in needs the database
    saved = client.post("/account/profile", data={"email": "ada@example.org", "full_name": "Ada Byron"})
    assert saved.status_code == 503 and "nothing was saved" in saved.get_data(as_text=True)
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "Page not found" in missing.get_data(as_text=True)

    postgres_proxy.restore()
    back = client.get("/my/schedule")
    assert back.status_code == 200 and "Ada Lovelace" in back.get_data(as_text=True)
    with app.app_context():
        _db.engine.dispose()


def test_a_database_that_cannot_be_opened_gives_the_503_page_too(tmp_path):
    """SQLite's outage: the file cannot be opened."""
    app = create_app(base_config(f"sqlite:///{tmp_path / 'no-such-folder' / 'cme.sqlite3'}", tmp_path / "instance"))
    page = app.test_client().get("/")
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert "Temporarily unavailable" in page.get_data(as_text=True)
    with app.app_context():
        _db.engine.dispose()
