"""Who may reach the API and how often: client address, allow-list, rate limits, API tokens."""

from __future__ import annotations

from flask import Flask
from flask import g

from . import client
from . import ratelimit
from . import tokens
from .client import client_address

__all__ = ["client_address", "init_app"]

# Per-request state kept in `g`: flask-login's user, then this project's.
REQUEST_STATE = (
    "_login_user",
    "_iredapi_policy_checked",
    "_iredapi_client_address",
    "_iredapi_token",
    "_iredapi_result_code",
    "_iredapi_audit",
    "_iredapi_session_admin",
)


def init_app(app: Flask) -> None:
    """Parse the [api] access and [security] options and install the gates (ConfigError if bad)."""
    client.init_app(app)
    ratelimit.init_app(app)
    tokens.init_app(app)
    app.before_request_funcs.setdefault(None, []).insert(0, _forget_previous_request)


def _forget_previous_request() -> None:
    # Under an enclosing app context (tests, scripts) `g` outlives a request; every request
    # must authenticate itself and never inherit the previous one's user, token or address.
    state = g._get_current_object().__dict__
    for name in REQUEST_STATE:
        state.pop(name, None)
