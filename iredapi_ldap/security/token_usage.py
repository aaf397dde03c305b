"""When and from where each API token was last used, in the SQL store, written at most once a minute.

Tokens live in LDAP, but a write to the directory on every authenticated request would
cost a disk sync each; a row per token in SQL, updated by each worker at most every
RECORD_EVERY_SECONDS per token, costs almost nothing. So `last_used` is exact to a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import current_app

from ..errors import ApiError
from ..sqlstore import get_store
from ..sqlstore import utc_now
from .client import client_address

log = logging.getLogger(__name__)

RECORD_EVERY_SECONDS = 60
EXTENSION_KEY = "iredapi_token_usage"


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
    try:
        get_store().token_usage.note(token_id, utc_now(), client_address())
    except ApiError as exc:
        # Another worker inserted the same new row meanwhile, or the store is down: not worth a failure.
        log.warning("Token %s: last use not recorded: %s", token_id, exc.detail)


def forget(token_id: str) -> None:
    """Drop a revoked token's row; never raises."""
    try:
        get_store().token_usage.forget(token_id)
    except ApiError as exc:
        log.warning("Token %s: usage row not deleted: %s", token_id, exc.detail)
