"""What the Amavisd store's parts share: account and address rows, and removing orphans.

Every key here is unique on every database (`users.email`, `mailaddr.email`, the
(rid, sid) primary keys, `policy.policy_name`), so writes are upserts and need no
advisory lock. Races are settled by row locks, always taken in one order:

1. A transaction that writes an account's rows first locks its `users` row (an upsert
   when adding, an UPDATE that changes nothing when removing). Writers of one account
   take turns there; on SQLite that first statement is a write, which takes the
   database's write lock before anything is read.
2. Adders then upsert their `mailaddr` rows in one sorted statement, which locks them.
3. A row that loses its last reference is deleted only after it has been locked
   (SKIP LOCKED: a row another writer holds is about to gain a reference, so it stays),
   and the references are counted afresh after the lock. So no pair ever refers to a
   deleted row, and no writer waits for a cleanup that waits for it.

InnoDB can still report a deadlock when several writers insert a key another one is
deleting (each waits for a shared lock, then for an exclusive one). Writers of one
account therefore take turns on a named lock there first; a deadlock over a shared
`mailaddr` row rolls the transaction back, and it runs again (MySQL's own advice):
every write here can be repeated.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import TypeVar

import sqlalchemy as sa

from ..errors import AmavisdStoreUnavailable
from ..iredapd.base import PolicyRows
from ..iredapd.base import upsert
from .tables import MYSQL
from .tables import mailaddr
from .tables import outbound_wblist
from .tables import policy
from .tables import users
from .tables import wblist

# Rows per statement: SQLite allows 32766 parameters, PostgreSQL 65535.
CHUNK = 1000
T = TypeVar("T")
# Runs of a transaction that ends in a deadlock, and what marks one: MySQL/MariaDB's
# ER_LOCK_DEADLOCK, PostgreSQL's deadlock_detected and serialization_failure.
ATTEMPTS = 5
DEADLOCK_CODES = (1213,)
DEADLOCK_STATES = ("40P01", "40001")


class AmavisdRows(PolicyRows):
    """Transactions on Amavisd's database; its failures are 503 naming Amavisd."""

    unavailable = AmavisdStoreUnavailable

    def _transaction(self, work: Callable[[sa.Connection], T], account: str = "") -> T:
        """Run work(conn) in one transaction; run it again (up to ATTEMPTS) after a deadlock.

        With an account, writers of that account on MySQL/MariaDB first take turns on a
        named lock, so that they never meet in InnoDB's insert of its `users` row.
        """
        lock = ("amavisd", account) if account else ()
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self._write(*lock, lock_on=MYSQL) as conn:
                    return work(conn)
            except AmavisdStoreUnavailable as exc:
                if attempt == ATTEMPTS or not _deadlock(exc):
                    raise
                time.sleep(random.uniform(0, 0.02 * attempt))
        raise AssertionError("unreachable")


def _deadlock(exc: BaseException) -> bool:
    """Tell whether the database error behind exc is a deadlock (the transaction was undone)."""
    orig = getattr(exc.__cause__, "orig", None)
    if getattr(orig, "sqlstate", None) in DEADLOCK_STATES:
        return True
    args = getattr(orig, "args", ())
    return bool(args) and args[0] in DEADLOCK_CODES


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """Yield items in slices of at most size."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def lock_account(conn: sa.Connection, account: str) -> int | None:
    """Lock the account's `users` row by an UPDATE that changes nothing; return its id."""
    conn.execute(sa.update(users).where(users.c.email == account).values(priority=users.c.priority))
    return conn.execute(sa.select(users.c.id).where(users.c.email == account)).scalar()


def ensure_users(conn: sa.Connection, rows: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Upsert `users` rows (email, priority), new ones linked to no policy; return their ids.

    An existing row keeps its policy link; its priority is set to the scale's.
    """
    values = [{"email": e, "priority": p, "policy_id": 0} for e, p in sorted(dict(rows).items())]
    upsert(conn, users, values, keys=("email",), update=("priority",))
    return ids_of(conn, users, [value["email"] for value in values])


def ensure_addresses(conn: sa.Connection, rows: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Upsert `mailaddr` rows (email, priority), in email order; return their ids."""
    ordered = sorted(dict(rows).items())
    found: dict[str, int] = {}
    for part in chunked(ordered):
        values = [{"email": email, "priority": priority} for email, priority in part]
        upsert(conn, mailaddr, values, keys=("email",), update=("priority",))
        found.update(ids_of(conn, mailaddr, [email for email, _priority in part]))
    return found


def ids_of(conn: sa.Connection, table: sa.Table, emails: Sequence[str]) -> dict[str, int]:
    """Return {email: id} of the rows of users or mailaddr with these emails."""
    found: dict[str, int] = {}
    for part in chunked(list(emails)):
        query = sa.select(table.c.email, table.c.id).where(table.c.email.in_(part))
        found.update({email: row_id for email, row_id in conn.execute(query)})
    return found


def drop_orphans(
    conn: sa.Connection, user_ids: Iterable[int] = (), address_ids: Iterable[int] = ()
) -> None:
    """Delete these `users` and `mailaddr` rows where nothing refers to them any more."""
    _drop(conn, users, sorted(set(user_ids)), _user_references)
    _drop(conn, mailaddr, sorted(set(address_ids)), _address_references)


def skip_locked(conn: sa.Connection) -> bool:
    """Tell whether the server knows SKIP LOCKED (not MariaDB before 10.6 nor MySQL 5.7)."""
    dialect = conn.dialect
    if dialect.name not in MYSQL:
        return True  # PostgreSQL 9.5 and later; SQLite has no row locks at all
    version = dialect.server_version_info or (0,)
    return version >= ((10, 6) if getattr(dialect, "is_mariadb", False) else (8, 0, 1))


def _drop(conn: sa.Connection, table: sa.Table, ids: list[int], referenced) -> None:
    # Without SKIP LOCKED the cleanup waits for the writer; a deadlock that may end in
    # is undone and run again (AmavisdRows._transaction).
    skip = skip_locked(conn)
    for part in chunked(ids):
        locked = (
            conn.execute(
                sa.select(table.c.id)
                .where(table.c.id.in_(part))
                .order_by(table.c.id)
                .with_for_update(skip_locked=skip)
            )
            .scalars()
            .all()
        )
        # A fresh statement: under READ COMMITTED it sees what committed while we waited.
        unused = set(locked) - referenced(conn, locked)
        if unused:
            conn.execute(sa.delete(table).where(table.c.id.in_(sorted(unused))))


def _user_references(conn: sa.Connection, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    linked = sa.select(users.c.id).where(
        users.c.id.in_(ids),
        users.c.policy_id != 0,
        sa.exists().where(policy.c.id == users.c.policy_id),
    )
    inbound = sa.select(wblist.c.rid).where(wblist.c.rid.in_(ids))
    outbound = sa.select(outbound_wblist.c.sid).where(outbound_wblist.c.sid.in_(ids))
    return set(conn.execute(sa.union(linked, inbound, outbound)).scalars())


def _address_references(conn: sa.Connection, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    inbound = sa.select(wblist.c.sid).where(wblist.c.sid.in_(ids))
    outbound = sa.select(outbound_wblist.c.rid).where(outbound_wblist.c.rid.in_(ids))
    return set(conn.execute(sa.union(inbound, outbound)).scalars())
