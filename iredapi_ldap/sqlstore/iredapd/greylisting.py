"""Greylisting switches (`greylisting`), their whitelists and the SPF-whitelisted domains."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from .base import PolicyRows
from .base import upsert
from .tables import greylisting
from .tables import greylisting_whitelist_domain_spf
from .tables import greylisting_whitelist_domains
from .tables import greylisting_whitelists

# The sender of an account's own switch: every sender (iRedAPD's catch-all form).
ANY_SENDER = "@."
# What iRedAPD's tools/spf_to_greylist_whitelists.py writes into `comment`: prefix + domain.
SPF_PREFIX = "AUTO-UPDATE: "


class GreylistingRows(PolicyRows):
    """Rows keyed by (account, sender): UNIQUE on every database, so plain upserts."""

    def greylisting_switch(self, account: str) -> dict[str, Any] | None:
        """Return the row (account, '@.'), which switches greylisting for all senders."""
        query = sa.select(greylisting).where(
            greylisting.c.account == account, greylisting.c.sender == ANY_SENDER
        )
        with self._read() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def save_greylisting_switch(self, account: str, priority: int, active: bool) -> None:
        """Create or update the row (account, '@.') with the account's priority."""
        row = {
            "account": account,
            "priority": priority,
            "sender": ANY_SENDER,
            "sender_priority": 0,
            "active": int(active),
        }
        with self._write() as conn:
            upsert(
                conn, greylisting, [row], keys=("account", "sender"),
                update=("priority", "sender_priority", "active"),
            )  # fmt: skip

    def delete_greylisting(self, account: str) -> int:
        """Delete every greylisting row of the account; return how many."""
        with self._write() as conn:
            return conn.execute(
                sa.delete(greylisting).where(greylisting.c.account == account)
            ).rowcount

    def greylisting_page(self, after: tuple[str, str] | None, limit: int) -> list[dict[str, Any]]:
        """Return up to limit rows ordered by (account, sender), those after the key given."""
        columns = greylisting.c
        query = (
            sa.select(columns.account, columns.sender, columns.active)
            .order_by(columns.account, columns.sender)
            .limit(limit)
        )
        if after is not None:
            account, sender = after
            query = query.where(
                sa.or_(
                    columns.account > account,
                    sa.and_(columns.account == account, columns.sender > sender),
                )
            )
        with self._read() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def count_greylisting(self) -> int:
        """Return how many greylisting rows there are."""
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(greylisting)).scalar())

    def whitelists(self, account: str) -> list[str]:
        """Return the senders whitelisted for the account, sorted."""
        table = greylisting_whitelists
        with self._read() as conn:
            senders = conn.execute(sa.select(table.c.sender).where(table.c.account == account))
            return sorted(senders.scalars())

    def change_whitelists(
        self,
        account: str,
        replace: Sequence[str] | None = None,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
    ) -> None:
        """Replace the account's whitelist, or add and remove senders, in one transaction."""
        table = greylisting_whitelists
        # Two replacements at once must not end as their union: writers of one list take turns.
        lock = ("greylisting_whitelists", account) if replace is not None else ()
        with self._write(*lock) as conn:
            mine = table.c.account == account
            if replace is not None:
                conn.execute(sa.delete(table).where(mine))
                add = replace
            elif remove:
                conn.execute(sa.delete(table).where(mine, table.c.sender.in_(remove)))
            rows = [{"account": account, "sender": sender} for sender in add]
            upsert(conn, table, rows, keys=("account", "sender"))

    def whitelist_domains(self) -> list[str]:
        """Return the domains whose SPF/MX hosts iRedAPD's cron job whitelists, sorted."""
        table = greylisting_whitelist_domains
        with self._read() as conn:
            return sorted(conn.execute(sa.select(table.c.domain)).scalars())

    def change_whitelist_domains(
        self,
        replace: Sequence[str] | None = None,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
    ) -> None:
        """Replace, or add to and remove from, the SPF-whitelisted domains.

        The addresses the cron job derived from a removed domain go too: the job only
        refreshes listed domains, so they would otherwise stay whitelisted for ever.
        """
        table = greylisting_whitelist_domains
        if replace is not None:
            gone = table.c.domain.not_in(replace)
            add = replace
        else:
            gone = table.c.domain.in_(remove)
        derived_from_gone = sa.select(sa.literal(SPF_PREFIX) + table.c.domain).where(gone)
        with self._write("greylisting_whitelist_domains") as conn:
            # Derived rows first, while the domains they name are still listed.
            for derived in (greylisting_whitelist_domain_spf, greylisting_whitelists):
                conn.execute(sa.delete(derived).where(derived.c.comment.in_(derived_from_gone)))
            conn.execute(sa.delete(table).where(gone))
            upsert(conn, table, [{"domain": domain} for domain in add], keys=("domain",))
