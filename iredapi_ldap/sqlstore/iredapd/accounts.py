"""Policy rows of mail accounts that are deleted or renamed (reference policy-store §6.5)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence

import sqlalchemy as sa

from .base import PolicyRows
from .tables import greylisting
from .tables import greylisting_tracking
from .tables import greylisting_whitelists
from .tables import throttle
from .tables import throttle_tracking
from .throttle import delete_rules

# The account (local side) column of each table that names mail accounts, children first:
# throttle_tracking refers to throttle.id without ON DELETE CASCADE.
ACCOUNT_COLUMNS = (
    throttle_tracking.c.account,
    throttle.c.account,
    greylisting.c.account,
    greylisting_whitelists.c.account,
    greylisting_tracking.c.recipient,
)


def _owned(column: sa.Column, users: Sequence[str], domains: Sequence[str]) -> sa.ColumnElement:
    """Match the users' rows, and those of the domains: '@domain' and every 'x@domain'."""
    clauses = [column.in_(users)] if users else []
    clauses += [column.endswith(f"@{domain}", autoescape=True) for domain in domains]
    return sa.or_(sa.false(), *clauses)


class AccountRows(PolicyRows):
    """Deletes and renames follow the directory, so no rule outlives or misses its account."""

    def delete_account_rows(self, users: Sequence[str] = (), domains: Sequence[str] = ()) -> None:
        """Delete the policy rows of these users and of everything in these domains."""
        if users or domains:
            with self._write() as conn:
                _delete_owned(conn, users, domains)

    def rename_account_rows(self, old: str, new: str, domain: bool = False) -> None:
        """Move a user's (or, with domain, a domain's) rows to the new name.

        Rows left under the new name by an account removed earlier are deleted first:
        they would break the unique keys, or apply old rules to the renamed account.
        """
        if old == new:
            return
        if domain:
            users, domains = (), (old,)

            def rewrite(value: str) -> str:
                return f"{value.rpartition('@')[0]}@{new}"

        else:
            users, domains = (old,), ()

            def rewrite(value: str) -> str:
                return new

        with self._write() as conn:
            if domain:
                _delete_owned(conn, (), (new,))
            else:
                _delete_owned(conn, (new,), ())
            for column in ACCOUNT_COLUMNS:
                _rewrite(conn, column, _owned(column, users, domains), rewrite)
            if domain:
                tracking = greylisting_tracking
                conn.execute(
                    sa.update(tracking).where(tracking.c.rcpt_domain == old).values(rcpt_domain=new)
                )


def _delete_owned(conn: sa.Connection, users: Sequence[str], domains: Sequence[str]) -> None:
    rules = (
        conn.execute(
            sa.select(throttle.c.id)
            .where(_owned(throttle.c.account, users, domains))
            .with_for_update()
        )
        .scalars()
        .all()
    )
    delete_rules(conn, rules)
    for column in ACCOUNT_COLUMNS:
        conn.execute(sa.delete(column.table).where(_owned(column, users, domains)))
    if domains:
        tracking = greylisting_tracking
        conn.execute(sa.delete(tracking).where(tracking.c.rcpt_domain.in_(domains)))


def _rewrite(
    conn: sa.Connection, column: sa.Column, match: sa.ColumnElement, rewrite: Callable[[str], str]
) -> None:
    """Set column to rewrite(value) on every matching row (one executemany)."""
    table = column.table
    rows = conn.execute(sa.select(table.c.id, column).where(match)).all()
    if rows:
        statement = (
            sa.update(table)
            .where(table.c.id == sa.bindparam("row_id"))
            .values({column.name: sa.bindparam("value")})
        )
        conn.execute(statement, [{"row_id": row[0], "value": rewrite(row[1])} for row in rows])
