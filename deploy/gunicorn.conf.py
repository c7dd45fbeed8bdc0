"""gunicorn settings of one cme web instance (`gunicorn -c deploy/gunicorn.conf.py app:app`), behind nginx
(deploy/nginx-cme.conf). Environment: CME_BIND (default 127.0.0.1:8001), CME_WEB_WORKERS (default two per core
plus one), plus the app's own (CME_ENV, SECRET_KEY, DATABASE_URL, MAIL_*, CME_PROXY_HOPS=1)."""
import multiprocessing
import os

bind = os.environ.get("CME_BIND", "127.0.0.1:8001")
workers = int(os.environ.get("CME_WEB_WORKERS", str(multiprocessing.cpu_count() * 2 + 1)))
worker_class = "sync"  # nginx buffers slow clients; each request is short and talks to PostgreSQL
timeout = 30  # a worker stuck this long is killed and replaced
graceful_timeout = 20  # SIGTERM (systemctl stop/restart): requests in progress finish first
keepalive = 2
# One mechanism for proxy headers: the app's ProxyFix (CME_PROXY_HOPS) takes the client's address and scheme from
# X-Forwarded-For and X-Forwarded-Proto; gunicorn's own reading of X-Forwarded-Proto is turned off.
secure_scheme_headers: dict[str, str] = {}
accesslog = os.environ.get("CME_ACCESS_LOG") or None  # nginx keeps the access log
errorlog = "-"
loglevel = os.environ.get("CME_LOG_LEVEL", "warning")
proc_name = f"cme-web-{bind.rsplit(':', 1)[-1]}"
