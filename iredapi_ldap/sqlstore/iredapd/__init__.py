"""iRedAPD's SQL database (`[iredapd] url`): throttle and greylisting rows it reads at mail time."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from ..engine import AppDatabase
from .store import PolicyState
from .store import PolicyStore

__all__ = ["PolicyStore", "dispose", "get_policy_store", "init_app"]

# Empty `[iredapd] url`: var/iredapd.sqlite below the working directory.
DATABASE = AppDatabase(
    "iredapi_ldap_iredapd", "IREDAPD_URL", "[iredapd] url", Path("var") / "iredapd.sqlite",
    PolicyState,
)  # fmt: skip
init_app = DATABASE.init_app
dispose = DATABASE.dispose


def get_policy_store(app: Flask | None = None) -> PolicyStore:
    """Return a PolicyStore over the app's iRedAPD engine (the current app by default)."""
    return PolicyStore(DATABASE.state(app))
