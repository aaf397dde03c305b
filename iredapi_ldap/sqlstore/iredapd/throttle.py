"""Throttle rules (`throttle`) and iRedAPD's counters for them (`throttle_tracking`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from .base import PolicyRows
from .base import upsert
from .tables import throttle
from .tables import throttle_tracking

# Only PostgreSQL's throttle table lacks UNIQUE (account, kind); the others upsert on it.
UNKEYED = ("postgresql",)
RULE_COLUMNS = ("priority", "period", "msg_size", "max_msgs", "max_quota")


class ThrottleRows(PolicyRows):
    """One rule per (account, kind), upserted race-free on every database."""

    def throttle_rule(
        self, account: str, kind: str, tracked: str | None = None
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Return the rule of (account, kind) and its counter row for `tracked`, if any."""
        with self._read() as conn:
            rule = _rules(conn, account, kind).first()
            if rule is None or tracked is None:
                return (dict(rule) if rule else None), None
            counter = (
                conn.execute(
                    sa.select(throttle_tracking)
                    .where(throttle_tracking.c.tid == rule["id"])
                    .where(throttle_tracking.c.account == tracked)
                    .order_by(throttle_tracking.c.id)
                )
                .mappings()
                .first()
            )
        return dict(rule), (dict(counter) if counter else None)

    def save_throttle(self, account: str, kind: str, values: dict[str, int]) -> dict[str, Any]:
        """Create or update the rule of (account, kind); return the stored row.

        Only RULE_COLUMNS change: `max_rcpts` (not part of the API) keeps its value, and
        iRedAPD's counters are kept. MySQL/MariaDB and SQLite upsert on their unique key
        (account, kind). PostgreSQL's table from iRedMail has no such key: there the
        writers of one (account, kind) take turns on an advisory lock, then update the
        oldest row (removing duplicates an earlier, unlocked writer left) or insert one.
        """
        changes = {column: values[column] for column in RULE_COLUMNS}
        with self._write("throttle", account, kind, lock_on=UNKEYED) as conn:
            if conn.dialect.name == "postgresql":
                ids = _rules(conn, account, kind, for_update=True).scalars().all()
                if ids:
                    conn.execute(sa.update(throttle).where(throttle.c.id == ids[0]).values(changes))
                    delete_rules(conn, ids[1:])
                else:
                    conn.execute(sa.insert(throttle).values(account=account, kind=kind, **changes))
            else:
                row = {"account": account, "kind": kind, **changes}
                upsert(conn, throttle, [row], keys=("account", "kind"), update=RULE_COLUMNS)
            return dict(_rules(conn, account, kind).one())

    def delete_throttle(self, account: str, kind: str) -> int:
        """Delete the rule(s) of (account, kind) and their counters; return how many rules."""
        with self._write("throttle", account, kind, lock_on=UNKEYED) as conn:
            return delete_rules(conn, _rules(conn, account, kind, for_update=True).scalars().all())


def _rules(conn: sa.Connection, account: str, kind: str, for_update: bool = False) -> Any:
    """Select the rows of (account, kind), oldest first: ids only when locking them."""
    query = sa.select(throttle.c.id) if for_update else sa.select(throttle)
    query = query.where(throttle.c.account == account, throttle.c.kind == kind)
    if for_update:
        # iRedAPD's counter insert checks the foreign key under a shared lock of the rule,
        # so it waits for this transaction instead of referring to a rule being deleted.
        query = query.with_for_update()
    result = conn.execute(query.order_by(throttle.c.id))
    return result if for_update else result.mappings()


def delete_rules(conn: sa.Connection, ids: Sequence[int]) -> int:
    """Delete rules by id, their counters first (the foreign key has no cascade)."""
    if not ids:
        return 0
    conn.execute(sa.delete(throttle_tracking).where(throttle_tracking.c.tid.in_(ids)))
    conn.execute(sa.delete(throttle).where(throttle.c.id.in_(ids)))
    return len(ids)
