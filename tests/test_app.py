"""Configuration, the base page, error pages, CSRF and escaping."""
from __future__ import annotations

import re
import sqlite3

import pytest
from werkzeug.routing import Rule

import config as config_module
from cme import create_app


def test_default_database_is_sqlite_under_instance():
    assert config_module._database_url(None).startswith("sqlite:///")
    assert config_module._database_url(None).endswith("instance/cme.sqlite3")


@pytest.mark.parametrize("given, expected", [
    ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
    ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_database_url_switches_to_psycopg3(given, expected):
    assert config_module._database_url(given) == expected


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    from cme.extensions import db

    app = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'w.db'}"})
    with app.app_context(), db.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert isinstance(raw, sqlite3.Connection)
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with app.app_context():
        db.engine.dispose()


def test_sqlite_reads_its_file_through_a_memory_map(tmp_path):
    """A scan past SQLite's 2 MB page cache (the catalog search's count) reads pages in place, not by a system call
    each (bench/catalog.py)."""
    from cme.extensions import db

    app = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}"})
    with app.app_context(), db.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw.execute("PRAGMA mmap_size").fetchone()[0] >= 64 * 1024 * 1024
    with app.app_context():
        db.engine.dispose()


def test_a_postgresql_database_url_is_driven_by_psycopg3(tmp_path):
    """Configured, not connected: a plain postgresql:// DATABASE_URL gets psycopg 3, never psycopg2."""
    import psycopg

    from cme.extensions import db

    app = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": config_module._database_url(
        "postgresql://cme@db.invalid:5432/cme")})
    with app.app_context():
        assert db.engine.dialect.driver == "psycopg" and db.engine.dialect.dbapi is psycopg
        db.engine.dispose()


@pytest.mark.postgresql
def test_the_test_database_on_postgresql_is_driven_by_psycopg3(app, db):
    import psycopg

    with db.engine.connect() as connection:
        assert isinstance(connection.connection.dbapi_connection, psycopg.Connection)


def test_development_secret_key_is_generated_once_and_kept(tmp_path):
    instance = tmp_path / "instance"
    first = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": None,
                        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.db'}"})
    second = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": None,
                         "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.db'}"})
    key = (instance / "secret_key").read_text()
    assert len(key) >= 64 and first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key
    assert (instance / "secret_key").stat().st_mode & 0o077 == 0


def test_secret_key_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setattr(config_module.Config, "SECRET_KEY", "from-the-environment-" + "x" * 20)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] == "from-the-environment-" + "x" * 20
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("key", [None, "", "dev", "short"])
def test_production_refuses_to_start_without_a_real_secret_key(monkeypatch, tmp_path, key):
    monkeypatch.setenv("CME_ENV", "production")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": key, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_sets_secure_cookie_flags(monkeypatch, tmp_path):
    monkeypatch.setenv("CME_ENV", "production")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k" * 64, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_base_page_has_the_navigation_and_local_css_only(client, make_user, auth):
    page = client.get("/").get_data(as_text=True)
    for label in ("Live meetings", "Webcasts", "My schedule", "My credit"):
        assert f">{label}</a>" in page
    assert ">Organize</a>" not in page  # only organizers see it
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert stylesheets == ["/static/css/app.css"]
    external = [u for u in re.findall(r'(?:src|href)="([^"]+)"', page) if u.startswith(("http:", "https:", "//"))]
    assert external == []  # no CDN: hospital networks block them
    with client.get(stylesheets[0]) as css:
        assert css.status_code == 200 and css.mimetype == "text/css"
    make_user("org@example.org", role="organizer")
    auth.login("org@example.org")
    assert ">Organize</a>" in client.get("/").get_data(as_text=True)


def test_flash_messages_show_on_the_next_page(client, make_user, auth):
    make_user("ada@example.org")
    page = auth.login("ada@example.org", follow_redirects=True).get_data(as_text=True)
    assert 'class="flash flash-success"' in page and "You are logged in." in page


@pytest.mark.parametrize("path", ["/no/such/page", "/activities/999999", "/activities/abc", "/activities/999999-slug",
                                  "/admin/users/999999/role"])
def test_unknown_urls_are_404_pages_in_the_layout(client, path):
    response = client.get(path)
    assert response.status_code in (404, 405)
    page = response.get_data(as_text=True)
    assert 'class="site-header"' in page and "Browse activities" in page


def test_draft_activities_are_404_to_the_public(client, make_activity):
    draft = make_activity(status="draft")
    assert client.get(f"/activities/{draft.id}").status_code == 404


def test_a_server_error_shows_the_500_page_in_the_layout(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def boom():
        raise RuntimeError("boom")

    app.add_url_rule("/boom", "boom", boom)
    response = client.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)


def test_every_form_post_is_protected_by_csrf(app, client, make_user, auth):
    """With CSRF on (as in production), every POST without a token is refused with 400, but the one-click
    unsubscribe of a digest (RFC 8058: the mail client posts without a session; its signed token is the authority,
    and a forged one changes nothing: tests/test_alerts.py)."""
    make_user("admin@example.org", role="admin")
    auth.login("admin@example.org")  # CSRF is still off here
    app.config["WTF_CSRF_ENABLED"] = True
    post_rules: list[Rule] = [r for r in app.url_map.iter_rules() if "POST" in (r.methods or set())]
    assert len(post_rules) >= 8
    for rule in post_rules:
        path = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "1", rule.rule)
        response = client.post(path, data={})
        if rule.endpoint == "alerts.unsubscribe":
            assert response.status_code == 404, rule.rule  # not a signed token
            continue
        assert response.status_code == 400, rule.rule
        assert "This form expired" in response.get_data(as_text=True)


def test_forms_render_a_csrf_token_when_enabled(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    for path in ("/account/signup", "/account/login", "/account/reset"):
        assert 'name="csrf_token"' in client.get(path).get_data(as_text=True)


def test_user_text_is_escaped_in_pages(client, make_activity):
    activity = make_activity(title='<img src=x onerror="alert(1)">', summary="<b>bold</b>")
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x" in page and "<b>bold</b>" not in page


def test_cancelled_activities_show_a_banner(client, make_activity):
    activity = make_activity(status="cancelled")
    assert "Cancelled." in client.get(f"/activities/{activity.id}").get_data(as_text=True)


def test_form_fields_never_render_python_none_as_attribute_values(client):
    for path in ("/account/signup", "/account/login", "/activities/"):
        page = client.get(path).get_data(as_text=True)
        assert '="None"' not in page, path
    signup = client.get("/account/signup").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="email"[^>]*required', signup)
    assert not re.search(r'<input[^>]*id="specialty"[^>]*required', signup)


def test_no_two_endpoints_answer_the_same_url_and_method(tmp_path):
    """Two blueprints that pick the same path for different pages hide one of them (the reporting data page and the
    exports page did, issue 16): every (path shape, method) has one endpoint."""
    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 32,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'routes.sqlite3'}"})
    owners: dict[tuple[str, str], set[str]] = {}
    for rule in app.url_map.iter_rules():
        shape = re.sub(r"<(?:(\w+):)?\w+>", lambda m: f"<{m.group(1) or 'default'}>", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            owners.setdefault((shape, method), set()).add(rule.endpoint)
    assert {key: names for key, names in owners.items() if len(names) > 1} == {}
