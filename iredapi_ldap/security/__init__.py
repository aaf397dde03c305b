"""Who may reach the API and how often: client address, allow-list, rate limits, API tokens."""

# Private internals of flask relied on (setup.cfg pins flask to 3.1.x;
# tests/unit/test_library_internals.py checks every name below):
# - g.__dict__ -- the request state is dropped from g's instance dict in one lookup. Changed,
#   the previous request's user, token and address are not forgotten.
# Private internals of flask-login relied on (setup.cfg pins flask-login to 0.6.x;
# tests/unit/test_library_internals.py checks every name below):
# - g._login_user -- where flask-login keeps the loaded user; dropping it makes the next
#   current_user load again. Renamed, a request under an enclosing app context (tests,
#   scripts) inherits the previous request's login.

from __future__ import annotations

from flask import Flask
from flask import g

from . import client
from . import ratelimit
from . import tokens
from .client import client_address

__all__ = ["client_address", "forget_previous_request", "init_app"]

# Per-request state kept in `g`: flask-login's user, then this project's.
REQUEST_STATE = (
    "_login_user",
    "_iredapi_policy_checked",
    "_iredapi_client_address",
    "_iredapi_token",
    "_iredapi_result_code",
    "_iredapi_audit",
    "_iredapi_session_admin",
    "_iredapi_audit_always",
    "_flask_babel",  # Flask-Babel's cache of the request's language (api/language.py)
)


def init_app(app: Flask) -> None:
    """Parse the [api] access and [security] options (ConfigError if bad); build the limiter."""
    client.init_app(app)
    ratelimit.init_app(app)
    tokens.init_app(app)


def forget_previous_request() -> None:
    """before_request, first of all: drop what `g` may still hold of an earlier request."""
    # Under an enclosing app context (tests, scripts) `g` outlives a request; every request
    # must authenticate itself and never inherit the previous one's user, token or address.
    state = g._get_current_object().__dict__
    for name in REQUEST_STATE:
        state.pop(name, None)
