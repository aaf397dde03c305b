"""Create the iRedMail base entries on an existing server, never touching existing data."""

from __future__ import annotations

from ldap3.utils.dn import parse_dn

from .. import errors
from .directory import Directory


def ensure_base_entries(directory: Directory) -> list[str]:
    """Add the suffix, o=domains and o=domainAdmins when missing; return what was added."""
    added: list[str] = []
    suffix = directory.dn.suffix
    first_attr, first_value, _sep = parse_dn(suffix, escape=False)[0]
    if not directory.exists(suffix):
        if first_attr.lower() != "dc":
            raise errors.ValidationFailed(f"Cannot create suffix {suffix}: it must start with dc=.")
        directory.add(
            suffix,
            {"objectClass": ["dcObject", "organization"], "dc": first_value, "o": first_value},
        )
        added.append(suffix)
    for dn, name in ((directory.dn.domains, "domains"), (directory.dn.admins, "domainAdmins")):
        if not directory.exists(dn):
            directory.add(dn, {"objectClass": ["organization"], "o": name})
            added.append(dn)
    return added
