"""The cme application factory."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, abort, render_template
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from config import ProductionConfig, config_for_environment, development_secret_key
from cme.extensions import csrf, db, login_manager, migrate

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    config_class = config_for_environment()
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="static",
        instance_path=(config or {}).get("INSTANCE_PATH", config_class.INSTANCE_PATH),
    )
    app.config.from_object(config_class)
    if config:
        app.config.update(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # issue 15: an upload and the rest of its form
        app.config["MAX_CONTENT_LENGTH"] = int(app.config["CME_UPLOAD_MAX_BYTES"]) + 2**20

    if config_class is ProductionConfig:
        ProductionConfig.check(app.config)
    elif not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = development_secret_key(Path(app.instance_path))

    from cme.urls import IdConverter

    app.url_map.converters["id"] = IdConverter  # before the blueprints: every route id is `<id:...>`
    _trust_proxies(app)
    _init_extensions(app)
    register_mail_composers(app)
    _register_blueprints(app)
    _register_url_guards(app)
    _register_error_pages(app)
    _register_outage_handling(app)
    _register_template_helpers(app)
    _register_security_headers(app)

    from cme.cli import cme_cli

    app.cli.add_command(cme_cli)
    logging.getLogger("cme").setLevel(logging.INFO)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind CME_PROXY_HOPS reverse proxies, take the client's address and scheme from X-Forwarded-For and
    -Proto as the nearest proxy set them (what the throttles count); with none, those headers are ignored, so a
    client cannot pose as another by sending them."""
    hops = int(app.config.get("CME_PROXY_HOPS") or 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, compare_type=True, render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"

    from cme import models  # noqa: F401  (registers every table on db.metadata)
    from cme.accounts.sessions import init_sessions
    from cme.audit import recording as audit_recording
    from cme.calendar import fragments
    from cme.library import search as library_search

    fragments.register()
    init_sessions(app)  # issue 13, point 1: sessions the server can revoke
    audit_recording.register()  # issue 13, point 8: the audit log, written by flush listeners
    library_search.register()  # issue 15, point 9: the library's search index, kept by flush listeners


# How much of an SQLite database file is read through a memory map (address space, not memory: the pages are the
# operating system's file cache, shared by every connection).
SQLITE_MMAP_BYTES = 256 * 1024 * 1024


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL for concurrent readers, foreign keys enforced, a wait instead of 'database is locked', and reads through
    a memory map: a scan (the catalog search's capped count reads every activity's row, bench/catalog.py) otherwise
    copies each page with a system call once the tables outgrow SQLite's 2 MB page cache, half the scan's time."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.close()


def register_mail_composers(app: Flask) -> None:
    """Every mail is queued as a deferred row and composed by the `send-mail` worker with a composer named in
    it. This is the one place that registers them: an explicit import per capability, never a side effect of
    importing a views module (composing needs no view imported)."""
    from cme.accounts import mail as accounts_mail
    from cme.alerts import mail as alerts_mail
    from cme.certificates import mail as certificates_mail
    from cme.mail.service import register_composers
    from cme.registration import mail as registration_mail
    from cme.reporting import mail as reporting_mail

    for composers in (accounts_mail.COMPOSERS, certificates_mail.COMPOSERS, registration_mail.COMPOSERS,
                      alerts_mail.COMPOSERS, reporting_mail.COMPOSERS):
        register_composers(app, composers)


def _register_blueprints(app: Flask) -> None:
    from cme.accounts.views import admin_bp, bp as accounts_bp
    from cme.activities.organize_views import bp as organize_bp
    from cme.activities.reporting_data_views import bp as reporting_data_bp
    from cme.activities.views import bp as activities_bp
    from cme.alerts.views import bp as alerts_bp
    from cme.attendance.views import bp as attendance_bp
    from cme.audit.views import bp as audit_bp
    from cme.calendar.views import bp as calendar_bp
    from cme.certificates.views import bp as certificates_bp
    from cme.credit.views import bp as credit_bp
    from cme.library.news.views import bp as news_bp
    from cme.library.abstracts.views import bp as abstracts_bp
    from cme.library.highlights.views import bp as highlights_bp
    from cme.library.views import bp as library_bp
    from cme.library.materials.views import bp as materials_bp
    from cme.library.search_views import bp as search_bp
    from cme.privacy.views import bp as privacy_bp
    from cme.reporting.pars_activities_views import bp as pars_activities_bp
    from cme.registration.views import bp as registration_bp
    from cme.reporting.analytics_views import bp as analytics_bp
    from cme.reporting.views import bp as reporting_bp

    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(activities_bp)
    app.register_blueprint(organize_bp)
    app.register_blueprint(reporting_data_bp)
    app.register_blueprint(pars_activities_bp)
    app.register_blueprint(registration_bp)
    app.register_blueprint(attendance_bp)
    app.register_blueprint(credit_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(certificates_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(news_bp)
    app.register_blueprint(abstracts_bp)
    app.register_blueprint(library_bp)
    app.register_blueprint(alerts_bp)
    app.register_blueprint(highlights_bp)
    app.register_blueprint(materials_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(analytics_bp)
    app.register_blueprint(reporting_bp)


def _register_url_guards(app: Flask) -> None:
    """A NUL in a URL path value (a verification or check-in code, a token, a slug) names nothing: 404, before
    any lookup (PostgreSQL refuses NUL in a string parameter). Issue 13, point 6."""

    @app.url_value_preprocessor
    def _refuse_nul(_endpoint, values) -> None:
        if values and any(isinstance(v, str) and "\x00" in v for v in values.values()):
            abort(404)


def _register_error_pages(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError
    from sqlalchemy.exc import DBAPIError

    from cme import outages

    from cme.accounts.throttle import Throttled

    messages = {
        400: ("Bad request", "The request could not be understood. Please go back and try again."),
        403: ("Not allowed", "Your account does not have access to this page."),
        404: ("Page not found", "We could not find that page. It may have moved or never existed."),
        405: ("Method not allowed", "That action is not available on this page."),
        413: ("File too large", "What you sent is larger than this site accepts. Nothing was saved."),
        429: ("Too many requests", "Too many requests came from your network. Please wait a minute and try again."),
        500: ("Something went wrong", "An unexpected error happened on our side. Nothing you entered was saved; please try again."),
    }

    def render_error(code: int, detail: str | None = None):
        title, text = messages[code]
        try:
            return render_template("errors/error.html", code=code, title=title, text=detail or text), code
        except DBAPIError:  # the header needs the logged-in user, and the database cannot give it now
            outages.rollback_quietly()
            return outages.render_without_database("errors/error.html", code=code, title=title,
                                                   text=detail or text), code

    for code in messages:
        app.register_error_handler(code, lambda e, code=code: render_error(code))

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(400, "This form expired or was sent from another site. Please reload the page and try again.")

    @app.errorhandler(413)
    def too_large(_error):
        from cme.library.materials.checks import megabytes

        limit = megabytes(int(app.config["CME_UPLOAD_MAX_BYTES"]))
        return render_error(413, f"The file is larger than the {limit} this site accepts, so nothing was saved. "
                                 "Please go back and choose a smaller file.")

    @app.errorhandler(Throttled)
    def throttled(error: Throttled):
        """A throttled lookup without a form to re-render (verification, a scanned check-in code)."""
        body, code = render_error(429, error.message)
        return body, code, {"Retry-After": str(error.retry_after)}

    @app.errorhandler(500)
    def server_error(_error):
        outages.rollback_quietly()
        return render_error(500)


def _register_outage_handling(app: Flask) -> None:
    """Issue 13, point 7: reads retried once on a dropped connection, 503 pages during a database outage."""
    from cme import outages

    outages.register(app)


def _register_security_headers(app: Flask) -> None:
    from cme import security

    security.register(app)


def _register_template_helpers(app: Flask) -> None:
    from cme.timeutil import format_local, format_span

    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["local"] = format_local
    app.jinja_env.filters["span"] = lambda activity, zone_name=None: format_span(
        activity.start_dt, activity.end_dt, zone_name or activity.time_zone)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions

    @app.context_processor
    def inject_globals() -> dict[str, Any]:
        return {"provider_name": app.config["CME_PROVIDER_NAME"]}
