"""Amavisd's SQL database (`[amavisd] url`): white/blacklists and spam policies it and iRedAPD read."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from ..engine import AppDatabase
from .store import AmavisdState
from .store import AmavisdStore

__all__ = ["AmavisdStore", "dispose", "get_amavisd_store", "init_app"]

# Empty `[amavisd] url`: var/amavisd.sqlite below the working directory.
DATABASE = AppDatabase(
    "iredapi_ldap_amavisd", "AMAVISD_URL", "[amavisd] url", Path("var") / "amavisd.sqlite",
    AmavisdState,
)  # fmt: skip
init_app = DATABASE.init_app
dispose = DATABASE.dispose


def get_amavisd_store(app: Flask | None = None) -> AmavisdStore:
    """Return an AmavisdStore over the app's Amavisd engine (the current app by default)."""
    return AmavisdStore(DATABASE.state(app))
