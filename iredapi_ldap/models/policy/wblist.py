"""White/blacklists of an account, inbound and outbound, as Amavisd and iRedAPD read them.

Inbound lists name remote senders of mail to the account: iRedAPD's `amavisd_wblist`
plugin rejects a blacklisted sender and accepts a whitelisted one at RCPT time, and
Amavisd reads the e-mail forms again after the queue. Outbound lists name remote
recipients of mail from the account (authenticated senders), read by iRedAPD only.
Rows are written on iRedAPD's MAILADDR_PRIORITIES scale (reference policy-store §2.3).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from collections.abc import Iterator
from functools import partial

from ...addresses import LOCAL_PART
from ...sqlstore.amavisd import AmavisdStore
from .addresses import GLOBAL
from .addresses import WILDCARD_IPV4
from .addresses import account_type
from .addresses import bare_address
from .addresses import checked_account
from .addresses import domain_form
from .addresses import ip_or_network
from .addresses import normalise_values
from .addresses import one_of

DIRECTIONS = ("inbound", "outbound")
LISTS = {"whitelist": "W", "blacklist": "B"}
# users.email and mailaddr.email are VARBINARY(255); every stored form is ASCII.
COLUMN = 255
PAGE_SIZE = 500
# Scale B of reference policy-store §2.3 (iRedAPD's MAILADDR_PRIORITIES).
ACCOUNT_PRIORITIES = {"user": 10, "domain": 5, "global": 0}
ADDRESS_PRIORITIES = {
    "email": 10, "ip": 9, "cidr_network": 7, "wildcard_addr": 7, "domain": 5, "subdomain": 3,
    "top_level_domain": 2, "catchall": 0,
}  # fmt: skip


def check_direction(direction: str, field: str = "direction") -> str:
    """Return inbound or outbound (any case); ValidationFailed otherwise."""
    return one_of(direction, DIRECTIONS, field)


def check_list(listing: str, field: str = "list") -> str:
    """Return whitelist or blacklist (any case); ValidationFailed otherwise."""
    return one_of(listing, tuple(LISTS), field)


def wblist_address(text: str, direction: str = "inbound") -> str:
    """Return a list entry in the form iRedAPD compares; ValueError if it never matches.

    Inbound: `user@domain`, `@domain`, `@.domain`, `@.tld`, `@.`, `user@*` (any domain,
    unauthenticated senders), an IP address, or an IPv4 network of /8 or longer (host
    bits zero). Outbound entries are recipients, so only the address forms apply.
    """
    value = text.strip().lower()
    if not value:
        raise ValueError("Empty.")
    if value.startswith("@"):
        return domain_form(value)
    outbound = direction == "outbound"
    if value.endswith("@*"):
        if outbound:
            raise ValueError("Outbound lists name recipients: iRedAPD never compares user@* there.")
        local = value[:-2]
        if "+" in local or not LOCAL_PART.match(local):
            raise ValueError("Not a local part followed by @* (no +extension).")
        return value
    if "@" in value:
        return bare_address(value)
    if WILDCARD_IPV4.match(value):
        raise ValueError(
            "Wildcard IPs are not accepted (as in Pro): use a network such as a.b.c.0/24."
        )
    network = _network(value)
    if outbound:
        raise ValueError("Outbound lists name recipients: iRedAPD never compares an IP there.")
    if network is not None and network.version == 6:
        raise ValueError(
            "iRedAPD never evaluates IPv6 networks in white/blacklists: list addresses."
        )
    return ip_or_network(value)


def address_priority(entry: str) -> int:
    """Return the MAILADDR_PRIORITIES value of a normalised entry."""
    if entry == GLOBAL:
        kind = "catchall"
    elif entry.startswith("@."):
        kind = "subdomain" if "." in entry[2:] else "top_level_domain"
    elif entry.startswith("@"):
        kind = "domain"
    elif entry.endswith("@*"):
        kind = "wildcard_addr"
    elif "@" in entry:
        kind = "email"
    else:
        kind = "cidr_network" if "/" in entry else "ip"
    return ADDRESS_PRIORITIES[kind]


def list_wblist(
    store: AmavisdStore, account: str, direction: str, listing: str, offset: int, limit: int
) -> tuple[list[str], int]:
    """Return one page of the account's list (sorted) and the number of entries."""
    account, direction, wb = _target(account, direction, listing)
    return store.wblist_window(account, direction, wb, offset, limit)


def iter_wblist(
    store: AmavisdStore, account: str, direction: str, listing: str, page_size: int = PAGE_SIZE
) -> Iterator[str]:
    """Check the arguments now, then return a generator of every entry, sorted.

    Entries are read page_size at a time (keyset paging): memory stays bounded however
    long the list, and each page is a short read of its own.
    """
    account, direction, wb = _target(account, direction, listing)

    def generate() -> Iterator[str]:
        after: str | None = None
        while True:
            page = store.wblist_page(account, direction, wb, after, page_size)
            yield from page
            if len(page) < page_size:
                return
            after = page[-1]

    return generate()


def add_wblist(
    store: AmavisdStore,
    account: str,
    direction: str,
    listing: str,
    addresses: Iterable[str] | str,
    field: str = "addresses",
) -> list[str]:
    """Add entries to the account's list; return them normalised.

    An entry on the account's other list of the same direction moves to this one (as
    Pro does). One bad entry fails the call, each bad value named under field, and
    nothing is written.
    """
    account, direction, wb = _target(account, direction, listing)
    entries = _entries(addresses, direction, field)
    if entries:
        rows = [(entry, address_priority(entry)) for entry in entries]
        store.add_wblist((account, ACCOUNT_PRIORITIES[account_type(account)]), direction, wb, rows)
    return entries


def remove_wblist(
    store: AmavisdStore,
    account: str,
    direction: str,
    listing: str,
    addresses: Iterable[str] | str,
    field: str = "addresses",
) -> int:
    """Take entries off the account's list (the other list keeps its own); return how many were on it."""
    account, direction, wb = _target(account, direction, listing)
    entries = _entries(addresses, direction, field)
    return store.remove_wblist(account, direction, wb, entries) if entries else 0


def delete_wblist(store: AmavisdStore, account: str, direction: str, listing: str) -> int:
    """Empty the account's list; return how many entries it had."""
    account, direction, wb = _target(account, direction, listing)
    return store.remove_wblist(account, direction, wb, None)


def amavisd_account(account: str) -> str:
    """Return the account form (`@.`, `@domain`, `user@domain`) that fits users.email."""
    return checked_account(account, COLUMN)


def _target(account: str, direction: str, listing: str) -> tuple[str, str, str]:
    return amavisd_account(account), check_direction(direction), LISTS[check_list(listing)]


def _entries(addresses: Iterable[str] | str, direction: str, field: str) -> list[str]:
    return normalise_values(addresses, partial(wblist_address, direction=direction), field, COLUMN)


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """Return the network of a CIDR, None for a single address; ValueError for anything else."""
    try:
        ipaddress.ip_address(value.split("%", 1)[0])
        return None
    except ValueError:
        pass
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(
            "Not an e-mail address, @domain, @.domain, @., user@*, IP address or network (CIDR)."
        ) from None
