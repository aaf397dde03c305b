"""A domain's catch-all: the `mail=@<domain>` entry under ou=Users (iredmail-ldap-model.md 3.3).

Postfix's catchall_maps looks for an active mailUser whose mail (or shadowAddress)
is `@<domain>` and returns its mailForwardingAddress values; it asks for no
enabledService, and iRedMail's howto sets none, so none is written.
"""

from __future__ import annotations

from ... import errors
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import attrs as A
from ...ldap import retry_on_stale
from ..members import Problems
from ..members import alias_domains_of
from ..members import check_addresses
from ..members import domain_active
from ..members import get_domain_entry
from ..members import value_steps

CATCHALL_CLASSES = ("inetOrgPerson", A.OC_USER)
CATCHALL_NAME = "catch-all"
RETRIES = 5


def catchall_address(domain: str) -> str:
    """Return the catch-all's `mail` value."""
    return f"@{domain}"


def get_catchall_entry(directory: Directory, domain: str) -> Entry | None:
    """Return the catch-all entry of a domain, or None."""
    entry = directory.get(directory.dn.user(catchall_address(domain)))
    if entry is None or not entry.has("objectClass", A.OC_USER):
        return None
    return entry


def get_catchall(directory: Directory, domain: str) -> list[str]:
    """Return the catch-all targets of a domain (empty when it has none)."""
    entry = get_catchall_entry(directory, domain)
    return [v.lower() for v in entry.all("mailForwardingAddress")] if entry else []


def check_catchall(directory: Directory, domain: str, targets: list[str]) -> None:
    """Refuse (400) targets that are unknown addresses of a hosted domain."""
    problems = Problems()
    check_addresses(directory, problems, "catchall", targets)
    problems.raise_if_any()


def set_catchall(directory: Directory, domain: str, targets: list[str]) -> None:
    """Point the catch-all at the targets; an empty list deletes the catch-all entry."""
    dn = directory.dn.user(catchall_address(domain))
    if not targets:
        try:
            directory.delete(dn)
        except errors.NotFound:
            pass
        return

    def attempt() -> None:
        entry = get_catchall_entry(directory, domain)
        if entry is None:
            directory.add(dn, _new_attributes(directory, domain, targets))
        else:
            steps = value_steps(entry.all("mailForwardingAddress"), targets)
            directory.modify(dn, {"mailForwardingAddress": steps} if steps else {})

    # A parallel request may create the catch-all first: then update it instead.
    retry_on_stale(attempt, RETRIES, also=(errors.AlreadyExists,))


def _new_attributes(directory: Directory, domain: str, targets: list[str]) -> dict:
    domain_entry = get_domain_entry(directory, domain)
    return {
        "objectClass": list(CATCHALL_CLASSES),
        "mail": catchall_address(domain),
        "cn": CATCHALL_NAME,
        "sn": CATCHALL_NAME,
        "uid": CATCHALL_NAME,
        "accountStatus": A.STATUS_ACTIVE,
        "mailForwardingAddress": targets,
        # catchall_maps also matches `shadowAddress=@<alias domain>`.
        "shadowAddress": [f"@{d}" for d in alias_domains_of(domain_entry)],
        "domainStatus": None if domain_active(domain_entry) else A.STATUS_DISABLED,
    }
