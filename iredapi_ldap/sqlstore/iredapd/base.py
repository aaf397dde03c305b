"""What the policy store's parts share: transactions, per-key locks and portable upserts."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from ..engine import SqlState
from ..errors import PolicyStoreUnavailable
from ..errors import StoreUnavailable
from ..errors import translate_errors

# Seconds a writer waits for another writer of the same key (MySQL/MariaDB GET_LOCK).
LOCK_TIMEOUT = 30
SERVERS = ("postgresql", "mysql", "mariadb")


def lock_key(*parts: str) -> int:
    """Return a stable signed 64-bit key for parts (Python's hash() differs per process)."""
    digest = hashlib.blake2b("\0".join(("iredapi-ldap", *parts)).encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


class PolicyRows:
    """The engine of a policy database, and transactions whose errors become API errors."""

    # What an unreachable or busy database raises (503): iRedAPD's, or Amavisd's.
    unavailable: type[StoreUnavailable] = PolicyStoreUnavailable

    def __init__(self, state: SqlState) -> None:
        self._state = state

    @property
    def engine(self) -> sa.Engine:
        """The engine, the database's tables present (for tests and tools)."""
        with translate_errors(self.unavailable):
            return self._state.engine()

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        """Yield a connection for reads; SQL failures become 503/500 API errors."""
        with translate_errors(self.unavailable), self._state.engine().connect() as conn:
            yield conn

    @contextmanager
    def _write(self, *lock: str, lock_on: tuple[str, ...] = SERVERS) -> Iterator[sa.Connection]:
        """Yield a connection in one transaction; with lock parts, one writer per key at a time.

        The lock is taken on the databases named in lock_on: PostgreSQL takes a
        transaction-level advisory lock, MySQL/MariaDB a named lock released after the
        transaction ends. SQLite needs none: its first write locks the whole database
        until commit, and every locked write here starts with a write.
        """
        with translate_errors(self.unavailable), self._state.engine().connect() as conn:
            name = conn.dialect.name
            locked = bool(lock) and name in lock_on
            if locked and name in ("mysql", "mariadb"):
                with _named_lock(conn, lock, self.unavailable), conn.begin():
                    yield conn
                return
            with conn.begin():
                if locked and name == "postgresql":
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_key(*lock))))
                yield conn


@contextmanager
def _named_lock(
    conn: sa.Connection, parts: tuple[str, ...], unavailable: type[StoreUnavailable]
) -> Iterator[None]:
    """Hold MySQL's GET_LOCK for parts on this session (names are at most 64 characters)."""
    name = f"iredapi-ldap:{lock_key(*parts) & 0xFFFFFFFFFFFFFFFF:016x}"
    got = conn.execute(sa.select(sa.func.get_lock(name, LOCK_TIMEOUT))).scalar()
    conn.commit()
    if got != 1:
        raise unavailable("The policy database is busy; try again later.")
    try:
        yield
    finally:
        conn.execute(sa.select(sa.func.release_lock(name)))
        conn.commit()


def upsert(
    conn: sa.Connection,
    table: sa.Table,
    rows: Iterable[Mapping[str, Any]],
    keys: tuple[str, ...],
    update: tuple[str, ...] = (),
) -> None:
    """Insert rows; on a duplicate of the unique key `keys`, update `update` (or keep the row)."""
    values = [dict(row) for row in rows]
    if not values:
        return
    name = conn.dialect.name
    if name in ("mysql", "mariadb"):
        statement = mysql.insert(table).values(values)
        # ON DUPLICATE KEY UPDATE needs one assignment; "keep" rewrites a key to itself.
        changes = {column: statement.inserted[column] for column in update or keys[:1]}
        conn.execute(statement.on_duplicate_key_update(changes))
        return
    dialect = postgresql if name == "postgresql" else sqlite
    insert = dialect.insert(table).values(values)
    if update:
        statement = insert.on_conflict_do_update(
            index_elements=list(keys), set_={column: insert.excluded[column] for column in update}
        )
    else:
        statement = insert.on_conflict_do_nothing(index_elements=list(keys))
    conn.execute(statement)
