"""When and from where each API token was last used, in the SQL store, written at most once a minute.

Tokens live in LDAP, but a write to the directory on every authenticated request would
cost a disk sync each; a row per token in SQL, updated by each worker at most every
RECORD_EVERY_SECONDS per token, costs almost nothing. So `last_used` is exact to a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ..errors import ApiError
from ..sqlstore import TABLE_OPTIONS
from ..sqlstore import UTC_TIME
from ..sqlstore import get_store
from ..sqlstore import iso_utc
from ..sqlstore import metadata
from ..sqlstore import translate_errors
from ..sqlstore import utc_now
from .client import client_address

log = logging.getLogger(__name__)

RECORD_EVERY_SECONDS = 60
EXTENSION_KEY = "iredapi_token_usage"

token_usage = sa.Table(
    "iredapi_token_usage",
    metadata,
    sa.Column("token_id", sa.String(16), primary_key=True),
    sa.Column("last_used", UTC_TIME, nullable=False),
    sa.Column("client_address", sa.String(64), nullable=False, server_default=""),
    **TABLE_OPTIONS,
)


class Recent:
    """Keys this worker acted on lately, and when (monotonic seconds): at most once per `every`."""

    def __init__(self, every: float = RECORD_EVERY_SECONDS) -> None:
        self.every = every
        self.lock = threading.Lock()
        self.written: dict[Any, float] = {}

    def due(self, key: Any) -> bool:
        """Tell whether the key should be acted on now, and note that it is."""
        now = time.monotonic()
        with self.lock:
            last = self.written.get(key)
            if last is not None and now - last < self.every:
                return False
            if len(self.written) > 4096:
                self.written.clear()
            self.written[key] = now
            return True


def note_use(token_id: str) -> None:
    """Record that a token authenticated this request (at most once a minute per worker); never raises."""
    recent = current_app.extensions.setdefault(EXTENSION_KEY, Recent())
    if not recent.due(token_id):
        return
    values = {"last_used": utc_now(), "client_address": client_address()[:64]}
    try:
        with translate_errors(), get_store().engine.begin() as conn:
            updated = conn.execute(
                sa.update(token_usage).where(token_usage.c.token_id == token_id).values(**values)
            ).rowcount
            if not updated:
                conn.execute(sa.insert(token_usage).values(token_id=token_id, **values))
    except ApiError as exc:
        # Another worker inserted the same new row meanwhile, or the store is down: not worth a failure.
        log.warning("Token %s: last use not recorded: %s", token_id, exc.detail)


def last_uses(token_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Return {token_id: {"last_used": ISO 8601 UTC, "last_used_from": address}} for the used ones."""
    wanted = list(token_ids)
    if not wanted:
        return {}
    with translate_errors(), get_store().engine.connect() as conn:
        rows = (
            conn.execute(sa.select(token_usage).where(token_usage.c.token_id.in_(wanted)))
            .mappings()
            .all()
        )
    return {
        row["token_id"]: {
            "last_used": iso_utc(row["last_used"], "seconds"),
            "last_used_from": row["client_address"],
        }
        for row in rows
    }


def forget(token_id: str) -> None:
    """Drop a revoked token's row; never raises."""
    try:
        with translate_errors(), get_store().engine.begin() as conn:
            conn.execute(sa.delete(token_usage).where(token_usage.c.token_id == token_id))
    except ApiError as exc:
        log.warning("Token %s: usage row not deleted: %s", token_id, exc.detail)
