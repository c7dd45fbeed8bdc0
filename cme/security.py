"""Security headers on every response (issue 13, point 5), set once here and registered by the app factory.

- Content-Security-Policy: scripts, styles and images from this site only (templates have no inline script or
  style; QR codes are SVG responses of this site; data: images stay allowed for small inline icons); frames only
  from https (the watch page embeds the webcast player from the activity's https join URL); no plugins; the app
  itself may not be framed, forms post only here.
- X-Content-Type-Options, X-Frame-Options (for browsers without frame-ancestors), Referrer-Policy.
- Strict-Transport-Security only where config says so (ProductionConfig: served over https).
- Cache-Control: a view that sets Cache-Control itself decides (the public feeds' `public, max-age` with ETag,
  the personal feed's `private, max-age` with ETag — calendar apps fetch it without a cookie, its token in the
  URL is the credential, and revalidating with the ETag is what keeps it cheap —, the CSV and PDF downloads'
  `private, no-store`, static files). Any other response to a logged-in user (every HTML page, redirect, JSON
  answer and error page) is `private, no-store`: what a logged-in user sees is personal (schedule, credit,
  profile, organizer pages) and must not stay in a shared or back-button cache after logout. Pages for an
  anonymous visitor are public and keep no Cache-Control.
"""
from __future__ import annotations

from flask import Flask, Response, session

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src https:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'")
HSTS = "max-age=31536000; includeSubDomains"
PERSONAL_CACHE = "private, no-store"

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def add_security_headers(response: Response, *, hsts: bool) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if hsts:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    # Logged in = Flask-Login's user id in the session (set by login and by a remember cookie's first use, gone at
    # logout): read from the session rather than through current_user, which would load the user in every
    # after-request hook (and recurse after a view's login_user(current_user), see accounts.change_password).
    if "Cache-Control" not in response.headers and "_user_id" in session:
        response.headers["Cache-Control"] = PERSONAL_CACHE
    return response


def register(app: Flask) -> None:
    hsts = bool(app.config.get("SECURITY_HSTS"))
    app.after_request(lambda response: add_security_headers(response, hsts=hsts))
