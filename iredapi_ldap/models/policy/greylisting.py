"""Greylisting: per-account switches, sender whitelists and SPF-whitelisted domains."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any

from ...errors import ValidationFailed
from ...sqlstore.iredapd import PolicyStore
from .addresses import GLOBAL
from .addresses import SHORT_COLUMN
from .addresses import account_priority
from .addresses import ascii_domain
from .addresses import checked_account
from .addresses import greylisting_sender
from .addresses import normalise_values

STATUS = {"enable": True, "enabled": True, "disable": False, "disabled": False}
PAGE_SIZE = 500
DOMAIN_COLUMN = 255


def parse_status(value: str, field: str = "status") -> bool:
    """Return True for enable, False for disable (any case); ValidationFailed otherwise."""
    found = STATUS.get(str(value).strip().lower())
    if found is None:
        raise ValidationFailed(
            f"Invalid {field} {value!r}: enable or disable.",
            errors={field: [f"{value!r}: enable or disable."]},
        )
    return found


def get_greylisting(store: PolicyStore, account: str) -> dict[str, str]:
    """Return {"status": enabled|disabled|inherit}; global without a row is disabled."""
    account = _account(account)
    row = store.greylisting_switch(account)
    if row is None:
        return {"status": "disabled" if account == GLOBAL else "inherit"}
    return {"status": "enabled" if row["active"] else "disabled"}


def set_greylisting(store: PolicyStore, account: str, enabled: bool) -> dict[str, str]:
    """Switch greylisting on or off for every sender to the account; return the new status."""
    account = _account(account)
    store.save_greylisting_switch(account, account_priority(account), enabled)
    return {"status": "enabled" if enabled else "disabled"}


def delete_greylisting(store: PolicyStore, account: str) -> int:
    """Delete the account's greylisting rows (it inherits again); return how many."""
    return store.delete_greylisting(_account(account))


def iter_greylisting(store: PolicyStore, page_size: int = PAGE_SIZE) -> Iterator[dict[str, str]]:
    """Yield every greylisting row as {account, sender, status}, ordered by account then sender.

    Rows are read page_size at a time (keyset paging), so memory stays bounded however
    many there are; each page is a short read of its own.
    """
    after: tuple[str, str] | None = None
    while True:
        rows = store.greylisting_page(after, page_size)
        for row in rows:
            yield {
                "account": row["account"],
                "sender": row["sender"],
                "status": "enabled" if row["active"] else "disabled",
            }
        if len(rows) < page_size:
            return
        after = (rows[-1]["account"], rows[-1]["sender"])


def count_greylisting(store: PolicyStore) -> int:
    """Return how many greylisting rows there are (the total of a paged listing)."""
    return store.count_greylisting()


def iter_greylisting_by_account(
    store: PolicyStore, page_size: int = PAGE_SIZE
) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """Yield (account, its rows) in account order: Pro's `{account: [...]}`, one account at a time."""
    account: str | None = None
    group: list[dict[str, str]] = []
    for row in iter_greylisting(store, page_size):
        if row["account"] != account and group:
            yield account or "", group
            group = []
        account = row["account"]
        group.append(row)
    if group:
        yield account or "", group


def get_whitelists(store: PolicyStore, account: str) -> dict[str, list[str]]:
    """Return {"whitelists": [...]}; for global also {"whitelist_domains": [...]}."""
    account = _account(account)
    found = {"whitelists": store.whitelists(account)}
    if account == GLOBAL:
        found["whitelist_domains"] = store.whitelist_domains()
    return found


def update_whitelists(
    store: PolicyStore,
    account: str,
    *,
    senders: Iterable[str] | str | None = None,
    add_senders: Iterable[str] | str = (),
    remove_senders: Iterable[str] | str = (),
) -> dict[str, list[str]]:
    """Replace the whitelist (senders) or change it (addSenders, removeSenders); return it.

    Every entry must be one iRedAPD can match (addresses.greylisting_sender); one bad
    entry fails the call with each bad value named, and nothing is written.
    """
    account = _account(account)
    replace, add, remove = _triad(
        (senders, add_senders, remove_senders),
        ("senders", "addSenders", "removeSenders"),
        greylisting_sender,
        SHORT_COLUMN,
    )
    store.change_whitelists(account, replace, add, remove)
    return get_whitelists(store, account)


def set_whitelists(store: PolicyStore, account: str, senders: Iterable[str] | str) -> dict:
    """Replace the account's whitelist."""
    return update_whitelists(store, account, senders=senders)


def add_whitelists(store: PolicyStore, account: str, senders: Iterable[str] | str) -> dict:
    """Add senders to the account's whitelist (present ones are kept)."""
    return update_whitelists(store, account, add_senders=senders)


def remove_whitelists(store: PolicyStore, account: str, senders: Iterable[str] | str) -> dict:
    """Remove senders from the account's whitelist."""
    return update_whitelists(store, account, remove_senders=senders)


def get_whitelist_spf_domains(store: PolicyStore) -> dict[str, list[str]]:
    """Return {"domains": [...]}: domains whose SPF/MX hosts iRedAPD's cron job whitelists."""
    return {"domains": store.whitelist_domains()}


def update_whitelist_spf_domains(
    store: PolicyStore,
    *,
    domains: Iterable[str] | str | None = None,
    add_domains: Iterable[str] | str = (),
    remove_domains: Iterable[str] | str = (),
) -> dict[str, list[str]]:
    """Replace (domains) or change (addDomains, removeDomains) the SPF-whitelisted domains.

    A removed domain's addresses that the cron job whitelisted are removed as well.
    """
    replace, add, remove = _triad(
        (domains, add_domains, remove_domains),
        ("domains", "addDomains", "removeDomains"),
        ascii_domain,
        DOMAIN_COLUMN,
    )
    store.change_whitelist_domains(replace, add, remove)
    return get_whitelist_spf_domains(store)


def set_whitelist_spf_domains(store: PolicyStore, domains: Iterable[str] | str) -> dict:
    """Replace the SPF-whitelisted domains."""
    return update_whitelist_spf_domains(store, domains=domains)


def add_whitelist_spf_domains(store: PolicyStore, domains: Iterable[str] | str) -> dict:
    """Add SPF-whitelisted domains."""
    return update_whitelist_spf_domains(store, add_domains=domains)


def remove_whitelist_spf_domains(store: PolicyStore, domains: Iterable[str] | str) -> dict:
    """Remove SPF-whitelisted domains and what the cron job derived from them."""
    return update_whitelist_spf_domains(store, remove_domains=domains)


def _account(account: str) -> str:
    """Return the account form; greylisting's account column is VARCHAR(100) on MySQL."""
    return checked_account(account, SHORT_COLUMN)


def _triad(
    values: tuple[Any, Any, Any], names: tuple[str, str, str], normalise: Any, max_length: int
) -> tuple[list[str] | None, list[str], list[str]]:
    """Check Pro's replace/add/remove triple: replace alone, or add and/or remove without overlap."""
    replace_in, add_in, remove_in = values
    replace_name, add_name, remove_name = names
    if replace_in is not None and (add_in or remove_in):
        raise ValidationFailed(
            f"{replace_name} replaces the list: send it without {add_name}/{remove_name}.",
            errors={replace_name: [f"Not together with {add_name} or {remove_name}."]},
        )
    errors: dict[str, list[str]] = {}
    details: list[str] = []
    checked: list[list[str] | None] = []
    for value, name in zip(values, names, strict=True):
        if value is None:
            checked.append(None)
            continue
        try:
            checked.append(normalise_values(value, normalise, name, max_length))
        except ValidationFailed as exc:
            errors.update(exc.errors or {})
            details.append(exc.detail)
            checked.append([])
    if errors:
        raise ValidationFailed(" ".join(details), errors=errors)
    replace, add, remove = checked
    both = sorted(set(add or ()) & set(remove or ()))
    if both:
        raise ValidationFailed(
            f"In both {add_name} and {remove_name}: " + ", ".join(both) + ".",
            errors={remove_name: [f"{value!r}: also in {add_name}." for value in both]},
        )
    return replace, add or [], remove or []
