"""Amavisd's SQL database (`[amavisd] url`): white/blacklists and spam policies it and iRedAPD read."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from flask import current_app

from ..engine import describe
from ..engine import resolve_url
from .store import AmavisdState
from .store import AmavisdStore

__all__ = ["AmavisdStore", "dispose", "get_amavisd_store", "init_app"]

EXTENSION_KEY = "iredapi_ldap_amavisd"
OPTION = "[amavisd] url"
DEFAULT_SQLITE_FILE = Path("var") / "amavisd.sqlite"

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Check [amavisd] url (ConfigError if unusable); nothing connects until first use."""
    url = resolve_url(
        app.config.get("AMAVISD_URL") or "", option=OPTION, default_file=DEFAULT_SQLITE_FILE
    )
    app.config["AMAVISD_URL"] = url.render_as_string(hide_password=False)
    app.extensions[EXTENSION_KEY] = AmavisdState(url, echo=bool(app.config.get("SQL_ECHO")))
    log.debug("Amavisd policy database: %s", describe(url))


def get_amavisd_store(app: Flask | None = None) -> AmavisdStore:
    """Return an AmavisdStore over the app's Amavisd engine (the current app by default)."""
    return AmavisdStore((app or current_app).extensions[EXTENSION_KEY])


def dispose(app: Flask | None = None) -> None:
    """Close the app's pooled connections to Amavisd's database (tests, shutdown)."""
    state = (app or current_app).extensions.get(EXTENSION_KEY)
    if state is not None:
        state.dispose()
