"""The admins of one domain: its `domainAdmin` values (iredmail-ldap-model.md 3.6).

A mail user of the domain becomes its admin with `enabledService: domainadmin`
on its entry plus the domainAdmin value; an existing standalone admin
(o=domainAdmins) needs the domainAdmin value only.
"""

from __future__ import annotations

from typing import Any

from ... import errors
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import attrs as A
from ...ldap import domain_of
from ...ldap import filters as F
from ..members import Problems
from ..members import add_value
from ..members import delete_value
from .domain import get_domain_entry
from .view import DOMAIN_ADMIN_VIEW

ADMIN_SERVICE = "domainadmin"
USER, STANDALONE, MISSING = "user", "admin", "missing"
NO_ATTRIBUTES = ["1.1"]


def _admin_entry(directory: Directory, mail: str) -> tuple[str, Entry | None]:
    """Return the kind of an admin address and its entry (user, standalone, or missing)."""
    if "@" in mail and not mail.startswith("@"):
        attributes = DOMAIN_ADMIN_VIEW.attributes
        user = directory.get(directory.dn.user(mail), attributes)
        if user is not None and user.has("objectClass", A.OC_USER):
            return USER, user
        standalone = directory.get(directory.dn.admin(mail), attributes)
        if standalone is not None and standalone.has("objectClass", A.OC_ADMIN):
            return STANDALONE, standalone
    return MISSING, None


def get_domain_admins(directory: Directory, domain: str) -> list[dict[str, Any]]:
    """Return a domain's admins with their kind: `user`, `admin` (standalone) or `missing`."""
    admins = []
    for mail in sorted({v.lower() for v in get_domain_entry(directory, domain).all("domainAdmin")}):
        kind, entry = _admin_entry(directory, mail)
        admins.append(DOMAIN_ADMIN_VIEW.read(entry, (mail, kind)))
    return admins


def _check_new(directory: Directory, domain: str, addresses: list[str]) -> dict[str, str]:
    """Return the kind of each new admin; refuse (400) anything else."""
    kinds: dict[str, str] = {}
    problems = Problems()
    refused = []
    for mail in addresses:
        kind, _entry = _admin_entry(directory, mail)
        if kind == USER and domain_of(mail) != domain:
            kind = MISSING  # a mail user administers its own domain only
        if kind == MISSING:
            refused.append(mail)
        kinds[mail] = kind
    problems.add("addAdmin", f"Neither a mail user of {domain} nor a standalone admin", refused)
    problems.raise_if_any()
    return kinds


def update_domain_admins(directory: Directory, domain: str, values: dict[str, Any]) -> list[dict]:
    """Apply removeAllAdmins, removeAdmin and then addAdmin; return the admins afterwards."""
    entry = get_domain_entry(directory, domain)
    kinds = _check_new(directory, domain, values.get("addAdmin", []))
    current = {v.lower() for v in entry.all("domainAdmin")}
    removed = set(values.get("removeAdmin", []))
    if values.get("removeAllAdmins"):
        removed |= current
    for mail in sorted(removed - set(kinds)):
        delete_value(directory, entry.dn, "domainAdmin", mail)
        _drop_user_service(directory, mail, domain)
    for mail, kind in kinds.items():
        if kind == USER:
            add_value(directory, directory.dn.user(mail), "enabledService", ADMIN_SERVICE)
        add_value(directory, entry.dn, "domainAdmin", mail)
    return get_domain_admins(directory, domain)


def _drop_user_service(directory: Directory, mail: str, domain: str) -> None:
    """Remove domainadmin from a mail user of the domain unless it is still an admin elsewhere."""
    if domain_of(mail) != domain:
        return
    kind, user = _admin_entry(directory, mail)
    if kind != USER or user is None or user.has("domainGlobalAdmin", "yes"):
        return
    elsewhere = F.and_(F.object_class(A.OC_DOMAIN), F.eq("domainAdmin", mail))
    if directory.search_one(directory.dn.domains, elsewhere, NO_ATTRIBUTES, "one") is not None:
        return
    for value in user.all("enabledService"):
        if value.lower() == ADMIN_SERVICE:
            delete_value(directory, user.dn, "enabledService", value)


def require_change(values: dict[str, Any]) -> None:
    """Refuse (400) a request that changes nothing."""
    if not ({"addAdmin", "removeAdmin"} & values.keys()) and "removeAllAdmins" not in values:
        raise errors.ValidationFailed(
            "Give addAdmin, removeAdmin or removeAllAdmins.",
            errors={"addAdmin": ["Give addAdmin, removeAdmin or removeAllAdmins."]},
        )
