"""Spam policies: a `policy` row named after its account, linked from the account's `users` row.

Amavisd reads, per recipient, every `users` row whose email is one of the recipient's
keys, joined to `policy` on `policy_id`, most specific first. Mail to an alias domain
reaches Amavisd under the alias domain's name (on LDAP hosts Postfix does not rewrite
it), so the API also links `users` rows of the alias forms (`@alias`, `user@alias`) to
the same policy: "mirrors" of the account.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from functools import partial
from typing import Any

import sqlalchemy as sa

from ..iredapd.base import upsert
from .rows import AmavisdRows
from .rows import drop_orphans
from .rows import ensure_users
from .rows import lock_account
from .tables import policy
from .tables import users


class SpamPolicyRows(AmavisdRows):
    """Read, write and delete the policy of an account and link its mirrors."""

    def spam_policy(self, account: str) -> dict[str, Any] | None:
        """Return the policy row the account's `users` row links to, with `users_id`."""
        query = (
            sa.select(policy, users.c.id.label("users_id"))
            .join(users, users.c.policy_id == policy.c.id)
            .where(users.c.email == account)
            .limit(1)
        )
        with self._read() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def save_spam_policy(
        self,
        account: tuple[str, int],
        values: Mapping[str, Any],
        mirrors: Sequence[tuple[str, int]] = (),
    ) -> None:
        """Create or update the policy named after the account and link it and its mirrors.

        Only the columns in values change: the others (the `*_lover` switches, say) keep
        what the installer or an administrator set. Mirrors no longer given are unlinked.
        """

        def work(conn: sa.Connection) -> None:
            # The account's row first (see rows.py: one lock order for every writer).
            linked = list(ensure_users(conn, [account]).values())
            linked += ensure_users(conn, mirrors).values()
            row = {"policy_name": account[0], **values}
            upsert(conn, policy, [row], keys=("policy_name",), update=tuple(values))
            policy_id = conn.execute(
                sa.select(policy.c.id).where(policy.c.policy_name == account[0])
            ).scalar_one()
            _link(conn, policy_id, linked)

        self._transaction(work, account[0])

    def delete_spam_policy(self, account: str) -> int:
        """Delete the policy named after the account, unlinking its rows; return how many."""

        def work(conn: sa.Connection) -> int:
            lock_account(conn, account)
            ids = (
                conn.execute(sa.select(policy.c.id).where(policy.c.policy_name == account))
                .scalars()
                .all()
            )
            delete_policies(conn, ids)
            return len(ids)

        return self._transaction(work, account)

    def relink_mirrors(self, owners: Iterable[tuple[str, Sequence[tuple[str, int]]]]) -> None:
        """Link each owner's policy to exactly the mirrors given, one owner per transaction."""
        for owner, mirrors in owners:
            self._transaction(partial(_relink, owner=owner, mirrors=mirrors), owner)

    def policy_owners(self, domain: str) -> list[str]:
        """Return the accounts of the domain (`@domain`, `user@domain`) that have a policy."""
        suffix = f"@{domain}"
        query = sa.select(policy.c.policy_name).where(policy.c.policy_name.like(f"%{suffix}"))
        with self._read() as conn:
            return sorted(name for name in conn.execute(query).scalars() if name.endswith(suffix))


def _relink(conn: sa.Connection, owner: str, mirrors: Sequence[tuple[str, int]]) -> None:
    owner_id = lock_account(conn, owner)
    policy_id = conn.execute(sa.select(policy.c.id).where(policy.c.policy_name == owner)).scalar()
    if owner_id is not None and policy_id is not None:
        _link(conn, policy_id, [owner_id, *ensure_users(conn, mirrors).values()])


def _link(conn: sa.Connection, policy_id: int, linked: Sequence[int]) -> None:
    """Point the linked `users` rows at the policy; unlink (and drop if unused) the others."""
    conn.execute(sa.update(users).where(users.c.id.in_(linked)).values(policy_id=policy_id))
    stale = (
        conn.execute(
            sa.select(users.c.id).where(users.c.policy_id == policy_id, users.c.id.not_in(linked))
        )
        .scalars()
        .all()
    )
    unlink(conn, stale)


def unlink(conn: sa.Connection, ids: Sequence[int]) -> None:
    """Link these `users` rows to no policy; drop those that serve nothing else."""
    if ids:
        conn.execute(sa.update(users).where(users.c.id.in_(ids)).values(policy_id=0))
        drop_orphans(conn, ids)


def delete_policies(conn: sa.Connection, ids: Sequence[int]) -> None:
    """Delete policy rows, unlinking the `users` rows that point at them (dropped if unused)."""
    if not ids:
        return
    linked = conn.execute(sa.select(users.c.id).where(users.c.policy_id.in_(ids))).scalars().all()
    conn.execute(sa.delete(policy).where(policy.c.id.in_(ids)))
    unlink(conn, linked)
