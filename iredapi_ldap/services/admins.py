"""Use cases of admin accounts that also change the domains they manage (domainAdmin)."""

from __future__ import annotations

from typing import Any

from ..ldap import Directory
from ..models import admins

# Fields that change which domains an admin manages.
DOMAIN_FIELDS = frozenset({"domains", "addDomain", "removeDomain"})


def create_admin(
    directory: Directory, mail: str, values: dict[str, Any], config: dict[str, Any]
) -> dict[str, Any]:
    """Create a standalone admin, then name it on the domains it manages; return the profile."""
    mail = admins.add_admin_entry(directory, mail, values, config)
    if values.get("domains"):
        admins.set_managed_domains(directory, mail, {"domains": values["domains"]})
    return admins.get_admin(directory, mail)


def update_admin(
    directory: Directory,
    mail: str,
    values: dict[str, Any],
    config: dict[str, Any],
    by_self: bool = False,
) -> dict[str, Any]:
    """Update an admin's entry, then the domains it manages; return the profile."""
    admins.modify_admin(directory, mail, values, config, by_self=by_self)
    if DOMAIN_FIELDS & values.keys():
        admins.set_managed_domains(directory, mail, values)
    return admins.get_admin(directory, mail)


def delete_admin(directory: Directory, mail: str) -> None:
    """Delete a standalone admin (a mail user only loses the role); its domains forget it."""
    admins.remove_admin(directory, mail)
    admins.drop_from_all_domains(directory, mail)
