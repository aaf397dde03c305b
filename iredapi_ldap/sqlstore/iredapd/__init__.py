"""iRedAPD's SQL database (`[iredapd] url`): throttle and greylisting rows it reads at mail time."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from flask import current_app

from ..engine import describe
from ..engine import resolve_url
from .store import PolicyState
from .store import PolicyStore

__all__ = ["PolicyStore", "dispose", "get_policy_store", "init_app"]

EXTENSION_KEY = "iredapi_ldap_iredapd"
OPTION = "[iredapd] url"
DEFAULT_SQLITE_FILE = Path("var") / "iredapd.sqlite"

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Check [iredapd] url (ConfigError if unusable); nothing connects until first use."""
    url = resolve_url(
        app.config.get("IREDAPD_URL") or "", option=OPTION, default_file=DEFAULT_SQLITE_FILE
    )
    app.config["IREDAPD_URL"] = url.render_as_string(hide_password=False)
    app.extensions[EXTENSION_KEY] = PolicyState(url, echo=bool(app.config.get("SQL_ECHO")))
    log.debug("iRedAPD policy database: %s", describe(url))


def get_policy_store(app: Flask | None = None) -> PolicyStore:
    """Return a PolicyStore over the app's iRedAPD engine (the current app by default)."""
    return PolicyStore((app or current_app).extensions[EXTENSION_KEY])


def dispose(app: Flask | None = None) -> None:
    """Close the app's pooled connections to iRedAPD's database (tests, shutdown)."""
    state = (app or current_app).extensions.get(EXTENSION_KEY)
    if state is not None:
        state.dispose()
