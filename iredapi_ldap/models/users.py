"""The users of one domain: paged listing, streamed export, bulk update."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import passwords
from ..ldap import Directory
from ..ldap import Entry
from ..ldap import attrs as A
from ..ldap import filters as F
from .admin import days_since_epoch
from .domain import get_domain_entry
from .user import check_policy
from .user import password_policy_of
from .user_view import USER_READ_ATTRIBUTES
from .user_view import user_from_entry

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


def _page_dns(
    directory: Directory, base: str, search_filter: str, offset: int, limit: int
) -> tuple[list[str], int]:
    """Return the DNs in [offset, offset+limit) and the total, from a DN-only pass."""
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
) -> tuple[list[Any], int]:
    """Return one page of a domain's users (in directory order) and the total."""
    get_domain_entry(directory, domain)
    base = directory.dn.users(domain)
    dns, total = _page_dns(
        directory, base, users_filter(domain, disabled_only, search), offset, limit
    )
    if email_only:
        # The RDN is the address, so the DN-only pass already has it.
        return [directory.dn.rdn_value(dn).lower() for dn in dns], total
    return [user_from_entry(e) for e in _read_page(directory, base, dns)], total


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


def bulk_update_users(
    directory: Directory, domain: str, values: dict[str, Any], config: dict[str, Any]
) -> int:
    """Apply the same change to every user of a domain (not the catch-all); return the count."""
    domain_entry = get_domain_entry(directory, domain)
    if "password" in values:
        check_policy(values["password"], password_policy_of(domain_entry, config))
    common: dict[str, Any] = {}
    if "accountStatus" in values:
        common["accountStatus"] = ("replace", values["accountStatus"])
    if "language" in values:
        common["preferredLanguage"] = ("replace", values["language"] or [])
    if "transport" in values:
        # Empty removes the user's own transport, so the domain's applies.
        common["mtaTransport"] = ("replace", values["transport"] or [])
    scheme = config["DEFAULT_PASSWORD_SCHEME"]
    # DNs only, collected before writing: never the full entries, never a search mid-modify.
    dns = [
        e.dn
        for e in directory.search(
            directory.dn.users(domain), users_filter(domain), NO_ATTRIBUTES, "one"
        )
    ]
    updated = 0
    for dn in dns:
        changes = dict(common)
        if "password" in values:
            # One hash per user: a salted hash shared by every account would be a weakness.
            changes["userPassword"] = (
                "replace",
                passwords.hash_password(values["password"], scheme),
            )
            changes["shadowLastChange"] = ("replace", days_since_epoch())
        if directory.modify_ignoring_missing(dn, changes):
            updated += 1
    return updated
