"""The audit log's rows: written one per audited request, read a page at a time, purged by age."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from .engine import MYSQL_UTC_SESSION
from .engine import SqlState
from .errors import translate_errors
from .tables import audit_log
from .tables import iredadmin_log
from .tables import utc_now

# Built once: a new insert construct per request cost more than the row it wrote.
INSERT = sa.insert(audit_log)
IREDADMIN_INSERT = sa.insert(iredadmin_log)
# The length of each text column: audit.py cuts values to fit.
LIMITS = {column.name: getattr(column.type, "length", None) for column in audit_log.columns}
IREDADMIN_LIMITS = {
    column.name: getattr(column.type, "length", None) for column in iredadmin_log.columns
}


class AuditLog:
    """The audit_log table of one app's SQL store."""

    def __init__(self, state: SqlState) -> None:
        self._state = state

    def insert(self, row: dict[str, Any]) -> None:
        """Write one row (the keys are column names)."""
        with translate_errors(), self._state.engine().begin() as conn:
            conn.execute(INSERT, [row])

    def purge(self, keep_days: int) -> int:
        """Delete the rows older than keep_days days; return how many."""
        if keep_days <= 0:
            raise ValueError(f"keep_days must be a whole number of days >= 1, not {keep_days!r}")
        cutoff = utc_now() - timedelta(days=keep_days)
        with translate_errors(), self._state.engine().begin() as conn:
            return conn.execute(sa.delete(audit_log).where(audit_log.c.timestamp < cutoff)).rowcount

    def page(
        self,
        offset: int,
        limit: int,
        admin: str | None = None,
        domain: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        action: str | None = None,
        resource: str | None = None,
        visible_to: tuple[str, Iterable[str]] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Return one page of rows, newest first, and how many match in all.

        `visible_to` = (admin, its domains) limits the answer to rows about those domains,
        by the admin, or about the admin's own account; None means every row.
        """
        conditions = []
        if visible_to is not None:
            own, domains = visible_to
            conditions.append(
                sa.or_(
                    audit_log.c.domain.in_(sorted({d.lower() for d in domains})),
                    audit_log.c.admin == own.lower(),
                    audit_log.c.object == own.lower(),
                )
            )
        if admin:
            conditions.append(audit_log.c.admin == admin.lower())
        if domain:
            conditions.append(audit_log.c.domain == domain.lower())
        if since:
            conditions.append(audit_log.c.timestamp >= _naive_utc(since))
        if until:
            conditions.append(audit_log.c.timestamp <= _naive_utc(until))
        if action:
            conditions.append(audit_log.c.action == action.lower())
        if resource:
            conditions.append(audit_log.c.resource == resource.lower())
        where = sa.and_(sa.true(), *conditions)
        query = (
            sa.select(audit_log)
            .where(where)
            .order_by(audit_log.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        count = sa.select(sa.func.count()).select_from(audit_log).where(where)
        with translate_errors(), self._state.engine().connect() as conn:
            total = conn.execute(count).scalar_one()
            rows = conn.execute(query).mappings().all()
        return [dict(row) for row in rows], total


class IRedAdminLog:
    """iRedAdmin's admin log (its `log` table), for hosts where iRedAdmin shares the database."""

    def __init__(self, state: SqlState) -> None:
        self._state = state

    def insert(self, row: dict[str, Any]) -> None:
        """Write one row (the keys are iRedAdmin's column names)."""
        with translate_errors(), self._state.engine().begin() as conn:
            mysql = conn.dialect.name in ("mysql", "mariadb")
            if mysql:
                # iRedAdmin writes its UTC time string in the server's own session zone and
                # reads it back there; written from our UTC session, TIMESTAMP would convert
                # it, and iRedAdmin would show the row shifted by the server's offset.
                conn.execute(sa.text("SET time_zone = @@global.time_zone"))
            try:
                conn.execute(IREDADMIN_INSERT, [row])
            finally:
                if mysql:
                    conn.execute(sa.text(MYSQL_UTC_SESSION))


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)
