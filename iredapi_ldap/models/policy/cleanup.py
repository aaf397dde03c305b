"""Policy rows follow their accounts: deleted with them, moved when they are renamed."""

from __future__ import annotations

from ...sqlstore.amavisd import AmavisdStore
from ...sqlstore.iredapd import PolicyStore
from .addresses import account_type
from .addresses import policy_account


def delete_account_rows(store: PolicyStore | AmavisdStore, account: str) -> None:
    """Delete the policy rows of a user, or of a domain and every address in it.

    iRedAPD's store: throttle rules and iRedAPD's counters, greylisting switches and
    whitelists, and greylisting triplets of the recipients. Amavisd's store: the account
    rows, their white/blacklists and spam policies, and the addresses nothing else lists
    (reference policy-store §6.5).
    """
    users, domains = _split(policy_account(account))
    store.delete_account_rows(users, domains)


def rename_account_rows(store: PolicyStore | AmavisdStore, old: str, new: str) -> None:
    """Move a user's rows to its new address, or a domain's rows to the new domain name."""
    old_users, old_domains = _split(policy_account(old, "old"))
    new_users, new_domains = _split(policy_account(new, "new"))
    if old_domains and new_domains:
        store.rename_account_rows(old_domains[0], new_domains[0], domain=True)
    elif old_users and new_users:
        store.rename_account_rows(old_users[0], new_users[0])
    else:
        raise ValueError(f"Cannot rename {old!r} to {new!r}: both users or both domains.")


def _split(account: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    kind = account_type(account)
    if kind == "global":
        raise ValueError("The global policy belongs to no account.")
    return ((), (account[1:],)) if kind == "domain" else ((account,), ())
