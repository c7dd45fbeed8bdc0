"""Throttling in HTTP terms, for the views of every capability: who the client is, and a throttled answer."""
from __future__ import annotations

from flask import request

from cme.accounts.throttle import Throttled, client_network
from cme.errors import DomainError


def client_address() -> str:
    """The client the throttles count: the connection's address, or the one the nearest reverse proxy saw when
    CME_PROXY_HOPS says proxies stand in front (werkzeug's ProxyFix, installed by create_app), as a /64 for IPv6."""
    return client_network(request.remote_addr)


def form_answer(body: str, error: DomainError | None = None) -> tuple:
    """A form page's answer: 200 for a GET; after a refused POST 429 with Retry-After when throttled, else 422."""
    if isinstance(error, Throttled):
        return body, 429, {"Retry-After": str(error.retry_after)}
    return body, 200 if request.method == "GET" else 422
