"""The token usage rows: when and from where each API token was last used."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .engine import SqlState
from .errors import translate_errors
from .tables import iso_utc
from .tables import token_usage


class TokenUsage:
    """The token usage table of one app's SQL store."""

    def __init__(self, state: SqlState) -> None:
        self._state = state

    def note(self, token_id: str, when: datetime, client_address: str) -> None:
        """Record a use of a token (update its row, or insert the first one)."""
        values = {"last_used": when, "client_address": client_address[:64]}
        with translate_errors(), self._state.engine().begin() as conn:
            updated = conn.execute(
                sa.update(token_usage).where(token_usage.c.token_id == token_id).values(**values)
            ).rowcount
            if not updated:
                conn.execute(sa.insert(token_usage).values(token_id=token_id, **values))

    def last_uses(self, token_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Return {token_id: {"last_used": ISO 8601 UTC, "last_used_from": address}} of used ones."""
        wanted = list(token_ids)
        if not wanted:
            return {}
        query = sa.select(token_usage).where(token_usage.c.token_id.in_(wanted))
        with translate_errors(), self._state.engine().connect() as conn:
            rows = conn.execute(query).mappings().all()
        return {
            row["token_id"]: {
                "last_used": iso_utc(row["last_used"], "seconds"),
                "last_used_from": row["client_address"],
            }
            for row in rows
        }

    def forget(self, token_id: str) -> None:
        """Drop a token's row."""
        with translate_errors(), self._state.engine().begin() as conn:
            conn.execute(sa.delete(token_usage).where(token_usage.c.token_id == token_id))
