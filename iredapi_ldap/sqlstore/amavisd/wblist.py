"""White/blacklists: `wblist` (inbound, read by Amavisd and iRedAPD) and `outbound_wblist`.

An inbound pair is (rid = the account's `users.id`, sid = the sender's `mailaddr.id`);
an outbound pair is the other way round (rid = the recipient's `mailaddr.id`, sid = the
account's `users.id`). `wb` is W or B. The primary key (rid, sid) holds one pair per
address and direction, so adding an address to one list of an account moves it there
from the other list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa

from ..iredapd.base import upsert
from .rows import AmavisdRows
from .rows import chunked
from .rows import drop_orphans
from .rows import ensure_addresses
from .rows import ensure_users
from .rows import ids_of
from .rows import lock_account
from .tables import mailaddr
from .tables import outbound_wblist
from .tables import users
from .tables import wblist


class Pairs(NamedTuple):
    """A direction's table, its column naming the account and the one naming the address."""

    table: sa.Table
    account: sa.Column
    address: sa.Column


DIRECTIONS = {
    "inbound": Pairs(wblist, wblist.c.rid, wblist.c.sid),
    "outbound": Pairs(outbound_wblist, outbound_wblist.c.sid, outbound_wblist.c.rid),
}


class WblistRows(AmavisdRows):
    """Add, list and remove the addresses of one account's list (direction, W or B)."""

    def _listed(self, account: str, direction: str, wb: str) -> sa.Select:
        pairs = DIRECTIONS[direction]
        return (
            sa.select(mailaddr.c.email)
            .join(pairs.table, pairs.address == mailaddr.c.id)
            .join(users, users.c.id == pairs.account)
            .where(users.c.email == account, pairs.table.c.wb == wb)
        )

    def wblist_window(
        self, account: str, direction: str, wb: str, offset: int, limit: int
    ) -> tuple[list[str], int]:
        """Return the addresses from offset (at most limit, in byte order) and how many there are."""
        query = self._listed(account, direction, wb)
        with self._read() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar()
            page = conn.execute(
                query.order_by(mailaddr.c.email).offset(offset).limit(limit)
            ).scalars()
            return list(page), int(total or 0)

    def wblist_page(
        self, account: str, direction: str, wb: str, after: str | None, limit: int
    ) -> list[str]:
        """Return up to limit addresses in byte order, those after the one given (keyset)."""
        query = self._listed(account, direction, wb).order_by(mailaddr.c.email).limit(limit)
        if after is not None:
            query = query.where(mailaddr.c.email > after)
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    def add_wblist(
        self,
        account: tuple[str, int],
        direction: str,
        wb: str,
        addresses: Sequence[tuple[str, int]],
    ) -> None:
        """List addresses (email, priority) for the account (email, priority) in one transaction.

        An address on the account's other list of this direction moves to this one.
        """
        pairs = DIRECTIONS[direction]

        def work(conn: sa.Connection) -> None:
            user_id = ensure_users(conn, [account])[account[0]]
            ids = ensure_addresses(conn, addresses)
            rows = [
                {pairs.account.name: user_id, pairs.address.name: address_id, "wb": wb}
                for address_id in sorted(ids.values())
            ]
            for part in chunked(rows):
                upsert(conn, pairs.table, part, keys=("rid", "sid"), update=("wb",))

        self._transaction(work, account[0])

    def remove_wblist(
        self, account: str, direction: str, wb: str, addresses: Sequence[str] | None
    ) -> int:
        """Take addresses (None: all) off the account's list; return how many were listed.

        Rows that no longer serve anything go: the account's `users` row without lists
        or policy, and `mailaddr` rows nothing refers to.
        """
        pairs = DIRECTIONS[direction]

        def work(conn: sa.Connection) -> int:
            user_id = lock_account(conn, account)
            if user_id is None:
                return 0
            mine = sa.and_(pairs.account == user_id, pairs.table.c.wb == wb)
            if addresses is None:
                listed = conn.execute(sa.select(pairs.address).where(mine)).scalars().all()
            else:
                known = ids_of(conn, mailaddr, addresses).values()
                listed = []
                for part in chunked(sorted(known)):
                    listed += (
                        conn.execute(sa.select(pairs.address).where(mine, pairs.address.in_(part)))
                        .scalars()
                        .all()
                    )
            for part in chunked(sorted(listed)):
                conn.execute(sa.delete(pairs.table).where(mine, pairs.address.in_(part)))
            drop_orphans(conn, [user_id], listed)
            return len(listed)

        return self._transaction(work, account)
