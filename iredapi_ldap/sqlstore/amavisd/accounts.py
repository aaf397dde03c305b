"""Amavisd rows of mail accounts that are deleted or renamed (reference policy-store §6.5)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import sqlalchemy as sa

from .rows import AmavisdRows
from .rows import chunked
from .rows import drop_orphans
from .spampolicy import delete_policies
from .spampolicy import unlink
from .tables import outbound_wblist
from .tables import policy
from .tables import users
from .tables import wblist


def belongs(email: str, accounts: Sequence[str], domains: Sequence[str]) -> bool:
    """Tell whether email is one of the accounts, or `@domain` or `x@domain` of the domains."""
    return email in accounts or any(email.endswith(f"@{domain}") for domain in domains)


def _matching(column: sa.Column, accounts: Sequence[str], domains: Sequence[str]):
    """A WHERE clause that finds at least the rows of belongs() (LIKE may find more)."""
    clauses = [column.in_(accounts)] if accounts else []
    # op("LIKE"): SQLAlchemy 2.1 lists no LIKE for binary types, yet every server has one.
    clauses += [column.op("LIKE")(f"%@{domain}") for domain in domains]
    return sa.or_(sa.false(), *clauses)


class AccountRows(AmavisdRows):
    """Deletes and renames follow the directory, so no list or policy outlives its account."""

    def delete_account_rows(self, users: Sequence[str] = (), domains: Sequence[str] = ()) -> None:
        """Delete the rows of these users and of everything in these domains.

        Their `users` rows, their inbound and outbound pairs, the policies named after
        them (with the alias-domain rows linked to those), and `mailaddr` rows that
        nothing refers to any more.
        """
        if users or domains:
            self._transaction(partial(_delete_owned, accounts=users, domains=domains))

    def rename_account_rows(self, old: str, new: str, domain: bool = False) -> None:
        """Move a user's (or, with domain, a domain's) rows and policies to the new name.

        Rows an earlier account of the new name left behind are deleted first. A user
        keeps its alias-domain rows under the new local part, or loses them when it moves
        to another domain (the caller links the new domain's alias forms again).
        """
        if old == new:
            return
        before, after = ((), (old,)), ((), (new,))
        if not domain:
            before, after = ((old,), ()), ((new,), ())

        def rewrite(value: str) -> str:
            return f"{value.rpartition('@')[0]}@{new}" if domain else new

        def work(conn: sa.Connection) -> None:
            owned = _owned(conn, *before)
            renamed = {row_id: rewrite(email) for row_id, email in owned.items()}
            if not domain:
                mirrors = _mirrors(conn, old)
                if old.rpartition("@")[2] == new.rpartition("@")[2]:
                    local = new.rpartition("@")[0]
                    renamed |= {i: f"{local}@{m.rpartition('@')[2]}" for i, m in mirrors.items()}
                else:
                    unlink(conn, list(mirrors))
            leftovers = ((), after[1]) if domain else (sorted({new, *renamed.values()}), ())
            _delete_owned(conn, *leftovers)
            _set(conn, users, users.c.email, renamed)
            names = conn.execute(
                sa.select(policy.c.id, policy.c.policy_name).where(
                    _matching(policy.c.policy_name, *before)
                )
            ).all()
            _set(conn, policy, policy.c.policy_name,
                 {row_id: rewrite(name) for row_id, name in names if belongs(name, *before)})  # fmt: skip

        self._transaction(work)


def _owned(conn: sa.Connection, accounts: Sequence[str], domains: Sequence[str]) -> dict[int, str]:
    """Lock the `users` rows of the accounts and domains; return {id: email}."""
    match = _matching(users.c.email, accounts, domains)
    # Locks first (rows.py): writers of these accounts wait here.
    conn.execute(sa.update(users).where(match).values(priority=users.c.priority))
    rows = conn.execute(sa.select(users.c.id, users.c.email).where(match))
    return {row_id: email for row_id, email in rows if belongs(email, accounts, domains)}


def _mirrors(conn: sa.Connection, account: str) -> dict[int, str]:
    """Return {id: email} of the alias-domain rows linked to the account's own policy."""
    own = sa.select(policy.c.id).where(policy.c.policy_name == account).scalar_subquery()
    rows = conn.execute(
        sa.select(users.c.id, users.c.email).where(
            users.c.policy_id == own, users.c.email != account
        )
    )
    return dict(rows.all())


def _delete_owned(conn: sa.Connection, accounts: Sequence[str], domains: Sequence[str]) -> None:
    owned = sorted(_owned(conn, accounts, domains))
    addresses: set[int] = set()
    for part in chunked(owned):
        inbound = sa.select(wblist.c.sid).where(wblist.c.rid.in_(part))
        outbound = sa.select(outbound_wblist.c.rid).where(outbound_wblist.c.sid.in_(part))
        addresses |= set(conn.execute(sa.union(inbound, outbound)).scalars())
        conn.execute(sa.delete(wblist).where(wblist.c.rid.in_(part)))
        conn.execute(sa.delete(outbound_wblist).where(outbound_wblist.c.sid.in_(part)))
    names = conn.execute(
        sa.select(policy.c.id, policy.c.policy_name).where(
            _matching(policy.c.policy_name, accounts, domains)
        )
    ).all()
    delete_policies(conn, [row_id for row_id, name in names if belongs(name, accounts, domains)])
    for part in chunked(owned):
        conn.execute(sa.delete(users).where(users.c.id.in_(part)))
    drop_orphans(conn, address_ids=addresses)


def _set(conn: sa.Connection, table: sa.Table, column: sa.Column, values: dict[int, str]) -> None:
    """Set column per row id (one executemany)."""
    if values:
        statement = (
            sa.update(table)
            .where(table.c.id == sa.bindparam("row_id"))
            .values({column.name: sa.bindparam("value", type_=column.type)})
        )
        conn.execute(statement, [{"row_id": k, "value": v} for k, v in values.items()])
