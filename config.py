"""Configuration: defaults, overridden by the environment.

`Config` is the development default (SQLite under instance/, a generated
secret key kept under instance/). `ProductionConfig` refuses to start without
a real SECRET_KEY and sets secure cookie flags. Select it with CME_ENV=production.
"""
from __future__ import annotations

import os
from datetime import timedelta
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("CME_INSTANCE_PATH", BASE_DIR / "instance"))


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(url: str | None) -> str:
    """Default to SQLite under instance/; make postgresql:// URLs use psycopg 3."""
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'cme.sqlite3'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _limit(scope: str, hits: int, seconds: int) -> tuple[int, int]:
    """A throttle's limit, (hits, seconds), from CME_THROTTLE_<SCOPE>="HITS/SECONDS" when set."""
    value = os.environ.get(f"CME_THROTTLE_{scope.upper()}")
    if not value:
        return hits, seconds
    count, _, window = value.partition("/")
    return int(count), int(window)


def development_secret_key(instance_dir: Path = INSTANCE_DIR) -> str:
    """A random key generated once and kept in instance/secret_key."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


class Config:
    ENV_NAME = "development"
    INSTANCE_PATH = str(INSTANCE_DIR)
    SECRET_KEY = os.environ.get("SECRET_KEY")  # filled in by create_app when absent
    SQLALCHEMY_DATABASE_URI = _database_url(os.environ.get("DATABASE_URL"))
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    # Mail: with no MAIL_SERVER, `flask cme send-mail` writes .eml files to MAIL_OUTBOX_DIR.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "15"))  # seconds per SMTP command
    # The address mail comes from; its display name is always CME_PROVIDER_NAME (cme.mail.service.from_address).
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "cme@example.org")
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR") or str(INSTANCE_DIR / "outbox")
    MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", "8"))
    MAIL_RETRY_BASE_SECONDS = int(os.environ.get("MAIL_RETRY_BASE_SECONDS", "60"))
    # Issue 13, point 7: a worker claims MAIL_CLAIM_BATCH due messages at a time, for MAIL_CLAIM_LEASE_SECONDS,
    # and renews its claim right before each send. The lease must outlast one message's SMTP exchange (a few
    # commands of MAIL_TIMEOUT each; PostgreSQL also locks the row while it is sent); it is how long another host
    # waits before taking over a crashed worker's messages (a worker on the same host takes them over at once).
    MAIL_CLAIM_LEASE_SECONDS = int(os.environ.get("MAIL_CLAIM_LEASE_SECONDS", "60"))
    MAIL_CLAIM_BATCH = int(os.environ.get("MAIL_CLAIM_BATCH", "10"))

    # Absolute links in mail and calendar feeds.
    CME_BASE_URL = os.environ.get("CME_BASE_URL", "http://127.0.0.1:5000")
    CME_PROVIDER_NAME = os.environ.get("CME_PROVIDER_NAME", "The Liver Education Foundation")
    # Issue 16, point 2: the provider's ACCME provider ID (4 to 10 digits, as PARS shows it), the default of each
    # activity's reporting data. Unset: organizers type it on each activity's Reporting data page.
    CME_ACCME_PROVIDER_ID = os.environ.get("CME_ACCME_PROVIDER_ID") or None
    # Whom learners write to with questions about credit and certificates (the help page, every page's footer).
    CME_CONTACT_EMAIL = os.environ.get("CME_CONTACT_EMAIL") or MAIL_DEFAULT_SENDER
    # werkzeug's method string; tests use a cheaper one, production keeps scrypt.
    PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")
    PASSWORD_RESET_MAX_AGE = int(os.environ.get("PASSWORD_RESET_MAX_AGE", "3600"))
    # Issue 13, point 2: how long (seconds) the link confirming a new address, and the one verifying a new
    # account's address, work.
    EMAIL_CHANGE_MAX_AGE = int(os.environ.get("EMAIL_CHANGE_MAX_AGE", str(24 * 3600)))
    EMAIL_VERIFICATION_MAX_AGE = int(os.environ.get("EMAIL_VERIFICATION_MAX_AGE", str(7 * 24 * 3600)))
    # Issue 14, point 13: the "choose your password" link mailed to someone registered at the desk lasts longer.
    SET_PASSWORD_MAX_AGE = int(os.environ.get("SET_PASSWORD_MAX_AGE", str(14 * 24 * 3600)))
    # Issue 14, point 14: how long (seconds) the link in an alert digest that turns its alerts off works.
    ALERT_UNSUBSCRIBE_MAX_AGE = int(os.environ.get("ALERT_UNSUBSCRIBE_MAX_AGE", str(180 * 24 * 3600)))

    WTF_CSRF_TIME_LIMIT = None  # tie CSRF tokens to the session, not the clock
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Issue 13, point 1: a session ends after this much inactivity; "keep me logged in" lasts this many days.
    CME_SESSION_IDLE_MINUTES = int(os.environ.get("CME_SESSION_IDLE_MINUTES", str(8 * 60)))
    REMEMBER_COOKIE_DURATION = timedelta(days=int(os.environ.get("CME_REMEMBER_DAYS", "30")))
    # Issue 13, point 3: throttles (cme/accounts/throttle.py), counted in the database so every worker and host
    # shares them: at most HITS in a window of SECONDS that opens at the first hit, per scope.
    THROTTLE_LIMITS = {
        "login_account": _limit("login_account", 5, 15 * 60),  # wrong log-ins per account (known or not)
        "login_client": _limit("login_client", 20, 15 * 60),  # wrong log-ins per client address
        "reset_email": _limit("reset_email", 5, 60 * 60),  # reset requests per email address
        "reset_client": _limit("reset_client", 20, 60 * 60),  # reset requests per client address
        "signup_client": _limit("signup_client", 10, 60 * 60),  # sign-ups per client address
        "checkin_client": _limit("checkin_client", 30, 10 * 60),  # check-in codes that match nobody
        "verify_client": _limit("verify_client", 60, 60),  # verification codes that match no certificate
    }
    # How many reverse proxies stand before the app and set X-Forwarded-For/-Proto (werkzeug's ProxyFix): the
    # client address the throttles count is then the one the nearest proxy saw. 0: the connection's own address.
    CME_PROXY_HOPS = int(os.environ.get("CME_PROXY_HOPS", "0"))
    # Issue 15, point 5: the largest CSV file of abstracts an organizer may import at once (bytes).
    CME_ABSTRACTS_CSV_MAX_BYTES = int(os.environ.get("CME_ABSTRACTS_CSV_MAX_BYTES", str(2 * 1024 * 1024)))
    # Strict-Transport-Security (cme/security.py): only where the site is served over https.
    SECURITY_HSTS = False

    # Issue 15: session materials. Files are kept under CME_STORAGE_DIR (unset: the instance folder's storage/),
    # named by their SHA-256. An upload may have CME_UPLOAD_MAX_BYTES; a presentation may unpack to at most
    # CME_UPLOAD_MAX_UNPACKED_BYTES (the zip-bomb guard). A request larger than the upload limit and 1 MB for the
    # rest of its form is answered 413 before it is read (MAX_CONTENT_LENGTH, set from it by create_app).
    CME_STORAGE_DIR = os.environ.get("CME_STORAGE_DIR") or None
    CME_UPLOAD_MAX_BYTES = int(os.environ.get("CME_UPLOAD_MAX_BYTES", str(50 * 2**20)))
    CME_UPLOAD_MAX_UNPACKED_BYTES = int(os.environ.get("CME_UPLOAD_MAX_UNPACKED_BYTES", str(300 * 2**20)))


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    SECURITY_HSTS = True

    @staticmethod
    def check(config: dict) -> None:
        key = config.get("SECRET_KEY") or ""
        if len(key) < 32 or key in {"dev", "changeme", "secret"}:
            raise RuntimeError(
                "SECRET_KEY must be set to a random value of at least 32 characters in production "
                "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')."
            )


def config_for_environment() -> type[Config]:
    return ProductionConfig if os.environ.get("CME_ENV") == "production" else Config
