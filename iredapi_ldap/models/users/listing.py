"""The users of one domain: paged listing, streamed export, bulk update."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ... import passwords
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import attrs as A
from ...ldap import filters as F
from ...ldap.directory import DEEP_OFFSET
from .. import counters
from ..admins.login import days_since_epoch
from ..counter_queue import flush_pending
from ..domains.domain import get_domain_entry
from .user import check_policy
from .user import password_policy_of
from .view import USER_READ_ATTRIBUTES
from .view import user_from_entry

NO_ATTRIBUTES = ["1.1"]
# Addresses per `(|(mail=a)(mail=b)...)` read of one page: short filters, few round trips.
PAGE_READ_CHUNK = 100


def users_filter(domain: str, disabled_only: bool = False, search: str | None = None) -> str:
    """Return the filter for a domain's mail users, the catch-all `@domain` excluded."""
    parts = [F.object_class(A.OC_USER), F.not_(F.eq("mail", f"@{domain}"))]
    if disabled_only:
        parts.append(F.eq("accountStatus", A.STATUS_DISABLED))
    if search:
        parts.append(F.or_(F.contains("mail", search), F.contains("cn", search)))
    return F.and_(*parts)


def _window_dns(
    directory: Directory, base: str, search_filter: str, offset: int, limit: int
) -> tuple[list[str], int]:
    """Return the DNs in [offset, offset+limit) and the total, from one DN-only pass."""
    chosen: list[str] = []
    total = 0
    for entry in directory.search(base, search_filter, NO_ATTRIBUTES, "one"):
        if offset <= total < offset + limit:
            chosen.append(entry.dn)
        total += 1
    return chosen, total


def _read_page(directory: Directory, base: str, dns: list[str]) -> list[Entry]:
    """Read the chosen users in a few searches, keeping the DN order."""
    by_dn: dict[str, Entry] = {}
    mails = [directory.dn.rdn_value(dn) for dn in dns]
    for start in range(0, len(mails), PAGE_READ_CHUNK):
        chunk = mails[start : start + PAGE_READ_CHUNK]
        search_filter = F.and_(F.object_class(A.OC_USER), F.any_of("mail", chunk))
        for entry in directory.search(base, search_filter, USER_READ_ATTRIBUTES, "one"):
            by_dn[entry.dn.lower()] = entry
    return [by_dn[dn.lower()] for dn in dns if dn.lower() in by_dn]


def list_users(
    directory: Directory,
    domain: str,
    offset: int,
    limit: int,
    email_only: bool = False,
    disabled_only: bool = False,
    search: str | None = None,
    exact_total: bool = False,
) -> tuple[list[Any], int, bool]:
    """Return one page of a domain's users (in directory order), the total, and if it is exact.

    Without a filter the total is the domain's maintained counter
    (domainCurrentUserNumber), so a page costs two reads whatever the domain's
    size; `exact_total`, a filter, or a missing counter count the users instead
    (one DN-only pass). A shallow window is read in one paged search that stops
    at offset+limit; a deep one (offset > DEEP_OFFSET) walks DNs to the offset.
    """
    flush_pending(directory, [domain])
    domain_entry = get_domain_entry(directory, domain)
    base = directory.dn.users(domain)
    search_filter = users_filter(domain, disabled_only, search)
    filtered = disabled_only or bool(search)
    total = (
        None
        if (exact_total or filtered)
        else counters.parse_counter(domain_entry.first(counters.USERS))
    )
    attributes = NO_ATTRIBUTES if email_only else USER_READ_ATTRIBUTES
    if offset <= DEEP_OFFSET:
        entries = directory.first(base, search_filter, attributes, "one", offset + limit)[offset:]
        counted = total is None
        if counted:
            total = directory.count(base, search_filter, "one")
    else:
        dns, counted_total = _window_dns(directory, base, search_filter, offset, limit)
        counted = total is None
        total = counted_total if counted else total
        if email_only:
            entries = [Entry(dn) for dn in dns]
        else:
            entries = _read_page(directory, base, dns)
    if email_only:
        # The RDN is the address, so a DN-only read has it.
        return [directory.dn.rdn_value(e.dn).lower() for e in entries], total, counted
    return [user_from_entry(e) for e in entries], total, counted


def export_users(
    directory: Directory, domain: str, disabled_only: bool = False, search: str | None = None
) -> Iterator[dict[str, Any]]:
    """Check the domain now, then return a generator of every user's profile, one page at a time."""
    get_domain_entry(directory, domain)
    search_filter = users_filter(domain, disabled_only, search)

    def generate() -> Iterator[dict[str, Any]]:
        base = directory.dn.users(domain)
        for entry in directory.search(base, search_filter, USER_READ_ATTRIBUTES, "one"):
            yield user_from_entry(entry)

    return generate()


# API field -> the attribute a bulk update replaces on every user.
BULK_ATTRIBUTES = {
    "accountStatus": "accountStatus",
    "language": "preferredLanguage",
    # Empty removes the user's own transport, so the domain's applies.
    "transport": "mtaTransport",
}


def bulk_common_changes(values: dict[str, Any]) -> dict[str, Any]:
    """Return the replace changes every user gets (not the password)."""
    return {
        attribute: ("replace", values[field] or [])
        for field, attribute in BULK_ATTRIBUTES.items()
        if field in values
    }


def bulk_user_changes(
    common: dict[str, Any], values: dict[str, Any], scheme: str
) -> dict[str, Any]:
    """Return one user's changes: the common ones plus its own password hash."""
    changes = dict(common)
    if "password" in values:
        # One hash per user: a salted hash shared by every account would be a weakness.
        changes["userPassword"] = ("replace", passwords.hash_password(values["password"], scheme))
        changes["shadowLastChange"] = ("replace", days_since_epoch())
    return changes


def bulk_remaining_filter(domain: str, values: dict[str, Any]) -> str:
    """Return the filter of users a status/language/transport update has not reached yet."""
    missing = []
    for field, attribute in BULK_ATTRIBUTES.items():
        if field not in values:
            continue
        if values[field]:
            missing.append(F.not_(F.eq(attribute, values[field])))
        else:
            missing.append(F.present(attribute))
    return F.and_(users_filter(domain), F.or_(*missing))


def bulk_target_dns(
    directory: Directory, domain: str, search_filter: str | None = None
) -> list[str]:
    """Return the DNs of the users a bulk update changes, in directory order."""
    # DNs only, collected before writing: never the full entries, never a search mid-modify.
    base = directory.dn.users(domain)
    return [
        e.dn
        for e in directory.search(base, search_filter or users_filter(domain), NO_ATTRIBUTES, "one")
    ]


def check_bulk_values(
    directory: Directory, domain: str, values: dict[str, Any], config: dict[str, Any]
) -> Entry:
    """Check the domain exists and the new password fits its policy; return the domain entry."""
    domain_entry = get_domain_entry(directory, domain)
    if "password" in values:
        check_policy(values["password"], password_policy_of(domain_entry, config))
    return domain_entry


def more_users_than(directory: Directory, domain: str, limit: int) -> bool:
    """Tell whether a domain has more than `limit` users, reading at most limit+1 DNs."""
    base = directory.dn.users(domain)
    return len(directory.first(base, users_filter(domain), NO_ATTRIBUTES, "one", limit + 1)) > limit
