"""Non-LDAP state in one SQL database (SQLite, PostgreSQL or MySQL/MariaDB) via SQLAlchemy Core."""

from __future__ import annotations

import logging

from flask import Flask
from flask import current_app

from . import amavisd
from . import iredapd
from .engine import SqlState
from .engine import describe
from .engine import resolve_url
from .errors import AmavisdStoreUnavailable
from .errors import PolicyStoreUnavailable
from .errors import StoreError
from .errors import StoreUnavailable
from .errors import translate_errors
from .ratelimit import resolve_storage_uri
from .store import Store
from .store import delete_date_for
from .tables import TABLES
from .tables import deleted_mailboxes
from .tables import iso_utc
from .tables import last_login
from .tables import metadata
from .tables import used_quota
from .tables import utc_now

__all__ = [
    "AmavisdStoreUnavailable",
    "ID",
    "TABLE_OPTIONS",
    "PolicyStoreUnavailable",
    "UTC_TIME",
    "TABLES",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "delete_date_for",
    "deleted_mailboxes",
    "dispose",
    "get_store",
    "amavisd",
    "init_app",
    "iredapd",
    "iso_utc",
    "last_login",
    "resolve_storage_uri",
    "metadata",
    "translate_errors",
    "used_quota",
    "utc_now",
]

EXTENSION_KEY = "iredapi_ldap_sql"

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Check [sql] url and the policy databases' URLs (ConfigError if unusable); engines come at first use."""
    url = resolve_url(app.config.get("SQL_URL") or "")
    app.config["SQL_URL"] = url.render_as_string(hide_password=False)
    app.extensions[EXTENSION_KEY] = SqlState(url, echo=bool(app.config.get("SQL_ECHO")))
    log.debug("SQL store: %s", describe(url))
    iredapd.init_app(app)
    amavisd.init_app(app)


def get_store(app: Flask | None = None) -> Store:
    """Return a Store over the app's engine (the current app by default)."""
    return Store((app or current_app).extensions[EXTENSION_KEY])


def dispose(app: Flask | None = None) -> None:
    """Close the app's pooled SQL connections, iRedAPD's and Amavisd's included (tests, shutdown)."""
    state = (app or current_app).extensions.get(EXTENSION_KEY)
    if state is not None:
        state.dispose()
    iredapd.dispose(app)
    amavisd.dispose(app)
