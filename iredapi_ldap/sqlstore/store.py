"""Store: the non-LDAP state the API keeps in SQL."""

from __future__ import annotations

import time
from collections.abc import Iterable
from collections.abc import Mapping
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .audit import AuditLog
from .audit import IRedAdminLog
from .engine import SqlState
from .errors import translate_errors
from .jobs import Jobs
from .tables import ACCOUNT_TABLES
from .tables import deleted_mailboxes
from .tables import utc_now
from .token_usage import TokenUsage

SECONDS_PER_DAY = 24 * 60 * 60


def delete_date_for(keep_days: int, now: float | None = None) -> date | None:
    """Return the local date keep_days from now, or None (keep forever) for 0."""
    if isinstance(keep_days, bool) or not isinstance(keep_days, int) or keep_days < 0:
        raise ValueError(f"keep_days must be a whole number of days >= 0, not {keep_days!r}")
    if keep_days == 0:
        return None
    # As iRedAdmin: local time now plus N * 86400 seconds, as a date.
    moment = (time.time() if now is None else now) + keep_days * SECONDS_PER_DAY
    return datetime.fromtimestamp(moment).date()


def domain_part(address: str) -> str:
    """Return the part after the last '@', lower-cased."""
    return address.rpartition("@")[2].lower()


class Store:
    """Reads and writes the SQL tables of one app; cheap to create, share the engine."""

    def __init__(self, state: SqlState) -> None:
        self._state = state

    @property
    def engine(self) -> Engine:
        """The app's SQLAlchemy engine, tables created (for tests and tools reading rows)."""
        with translate_errors():
            return self._state.engine()

    @property
    def audit(self) -> AuditLog:
        """The audit log's rows."""
        return AuditLog(self._state)

    @property
    def iredadmin_log(self) -> IRedAdminLog:
        """iRedAdmin's own admin log (`log`), written as well with [sql] iredadmin_log."""
        return IRedAdminLog(self._state)

    @property
    def jobs(self) -> Jobs:
        """The background jobs' rows."""
        return Jobs(self._state)

    @property
    def token_usage(self) -> TokenUsage:
        """When and from where each API token was last used."""
        return TokenUsage(self._state)

    def record_deleted_mailboxes(self, rows: list[Mapping[str, Any]]) -> int:
        """Log mailboxes for later removal; keys username, domain, maildir, admin, keep_days."""
        values = [self._deleted_mailbox_row(row) for row in rows]
        if not values:
            return 0
        with translate_errors(), self._state.engine().begin() as conn:
            conn.execute(sa.insert(deleted_mailboxes), values)
        return len(values)

    @staticmethod
    def _deleted_mailbox_row(row: Mapping[str, Any]) -> dict[str, Any]:
        username = str(row["username"]).strip().lower()
        return {
            # Whole seconds like iRedAdmin's CURRENT_TIMESTAMP: the column is TIMESTAMP(0) on
            # MySQL, which would round (and so may move into the future) what it cannot keep.
            "timestamp": utc_now().replace(microsecond=0),
            "username": username,
            "domain": str(row.get("domain") or domain_part(username)).strip().lower(),
            "maildir": str(row["maildir"]),
            "admin": str(row.get("admin") or "").strip().lower(),
            "delete_date": delete_date_for(row["keep_days"]),
        }

    def deleted_mailboxes(
        self, domain: str | None = None, username: str | None = None
    ) -> list[dict[str, Any]]:
        """Return logged mailboxes, oldest first; timestamp is an aware UTC datetime."""
        query = sa.select(deleted_mailboxes).order_by(deleted_mailboxes.c.id)
        if domain is not None:
            query = query.where(deleted_mailboxes.c.domain == domain.strip().lower())
        if username is not None:
            query = query.where(deleted_mailboxes.c.username == username.strip().lower())
        with translate_errors(), self._state.engine().connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_with_utc(dict(row)) for row in rows]

    def rename_account(self, old: str, new: str) -> None:
        """Move an account's quota and last-login rows to its new address."""
        old, new = old.strip().lower(), new.strip().lower()
        if old == new:
            return
        with translate_errors(), self._state.engine().begin() as conn:
            for table in ACCOUNT_TABLES:
                # A leftover row of a removed account must not block the key.
                conn.execute(sa.delete(table).where(table.c.username == new))
                conn.execute(
                    sa.update(table)
                    .where(table.c.username == old)
                    .values(username=new, domain=domain_part(new))
                )

    def forget_accounts(self, usernames: Iterable[str]) -> None:
        """Drop quota and last-login rows of removed accounts."""
        names = sorted({name.strip().lower() for name in usernames})
        if not names:
            return
        with translate_errors(), self._state.engine().begin() as conn:
            for table in ACCOUNT_TABLES:
                conn.execute(sa.delete(table).where(table.c.username.in_(names)))

    def forget_domains(self, domains: Iterable[str]) -> None:
        """Drop quota and last-login rows of every account in removed domains."""
        names = sorted({name.strip().lower() for name in domains})
        if not names:
            return
        with translate_errors(), self._state.engine().begin() as conn:
            for table in ACCOUNT_TABLES:
                # `domain` is filled by a trigger iRedMail adds; without it, match the address.
                in_domain = sa.or_(
                    table.c.domain.in_(names),
                    *(table.c.username.endswith(f"@{name}", autoescape=True) for name in names),
                )
                conn.execute(sa.delete(table).where(in_domain))


def _with_utc(row: dict[str, Any]) -> dict[str, Any]:
    stamp = row.get("timestamp")
    if isinstance(stamp, datetime) and stamp.tzinfo is None:
        row["timestamp"] = stamp.replace(tzinfo=UTC)
    return row
