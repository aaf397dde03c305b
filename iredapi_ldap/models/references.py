"""Values on other entries that name an address: removed on delete, rewritten on rename."""

from __future__ import annotations

from .. import errors
from ..ldap import Directory
from ..ldap import Entry
from ..ldap import StaleValue
from ..ldap import attrs as A
from ..ldap import domain_of
from ..ldap import filters as F
from ..ldap.dn import rdn

# Attributes holding plain addresses of other accounts (iredmail-ldap-model.md 4.2, 4.3).
ADDRESS_ATTRIBUTES = (
    "domainAdmin",  # mailDomain: per-domain admins
    "mailForwardingAddress",  # mailAlias members, users' forwardings, catch-alls
    "listModerator",
    "listOwner",
    "listAllowedUser",
    "userManager",
    "userSenderBccAddress",
    "userRecipientBccAddress",
    "domainSenderBccAddress",
    "domainRecipientBccAddress",
)
GROUP_ATTRIBUTE = "memberOfGroup"
# Legacy lists may also name their internal members by DN (LDAP_ADD_MEMBER_DN_TO_GROUP).
MEMBER_DN_ATTRIBUTES = ("member", "uniqueMember")
RETRIES = 3


def _changes(entry: Entry, attribute_values: dict[str, tuple[str, str | None]]) -> dict:
    """Return one modify deleting each stored old value (and adding its replacement)."""
    changes: dict = {}
    for attribute, (old, new) in attribute_values.items():
        stored = [v for v in entry.all(attribute) if v.lower() == old.lower()]
        if not stored:
            continue
        steps = [("delete", stored)]
        if new is not None and not entry.has(attribute, new):
            steps.append(("add", [new]))
        changes[attribute] = steps
    return changes


def _rewrite_all(
    directory: Directory,
    attribute_values: dict[str, tuple[str, str | None]],
    keep_dn: str | None = None,
) -> int:
    """Find entries holding old values; replace them with new ones (None = remove)."""
    search_filter = F.or_(*(F.eq(attr, old) for attr, (old, _new) in attribute_values.items()))
    names = list(attribute_values)
    # Collect first: modifying entries while a paged search runs over them is unsafe.
    found = list(directory.search(directory.dn.domains, search_filter, names))
    keep = keep_dn.lower() if keep_dn else None
    return sum(
        _rewrite_one(directory, entry, attribute_values, names)
        for entry in found
        if entry.dn.lower() != keep
    )


def _rewrite_one(
    directory: Directory, entry: Entry | None, attribute_values: dict, names: list[str]
) -> int:
    """Apply the rewrite to one entry; re-read and retry when it changed meanwhile."""
    for attempt in range(RETRIES):
        if entry is None:
            return 0
        changes = _changes(entry, attribute_values)
        if not changes:
            return 0
        try:
            return 1 if directory.modify_ignoring_missing(entry.dn, changes) else 0
        except StaleValue:
            if attempt == RETRIES - 1:
                raise
            entry = directory.get(entry.dn, names)
    return 0


def remove_address_references(
    directory: Directory, mail: str, keep_dn: str | None = None, member_dn: str | None = None
) -> int:
    """Remove every value naming `mail` from other entries; return how many changed.

    `keep_dn` (the account's own entry) is left alone; `member_dn` also drops the
    account's DN from legacy lists' member/uniqueMember.
    """
    values: dict[str, tuple[str, str | None]] = {
        a: (mail.lower(), None) for a in ADDRESS_ATTRIBUTES
    }
    changed = _rewrite_all(directory, values, keep_dn)
    if member_dn:
        changed += _rewrite_all(directory, {a: (member_dn, None) for a in MEMBER_DN_ATTRIBUTES})
    return changed


def remove_account_references(directory: Directory, entry: Entry, mail: str) -> int:
    """Remove references to an account's address and alias addresses; its DN leaves lists too."""
    addresses = [mail, *(a.lower() for a in entry.all("shadowAddress"))]
    return sum(
        remove_address_references(
            directory, address, keep_dn=entry.dn, member_dn=entry.dn if address == mail else None
        )
        for address in addresses
    )


def check_rename_target(mail: str, new_mail: str) -> None:
    """Refuse (400, field new_mail) a new address outside the domain or equal to the current one."""
    domain = domain_of(mail)
    if domain_of(new_mail) != domain:
        raise errors.ValidationFailed(
            f"The new address must stay in {domain}.",
            errors={"new_mail": [f"Must be an address in {domain}."]},
        )
    if new_mail == mail:
        raise errors.ValidationFailed(
            "The new address is the current one.",
            errors={"new_mail": ["Same as the current address."]},
        )


def rename_address_references(
    directory: Directory,
    old: str,
    new: str,
    old_dn: str | None = None,
    new_dn: str | None = None,
) -> int:
    """Rewrite every value naming `old` to `new` (lists' members too); return how many changed.

    Includes memberOfGroup (the address being a legacy list) and the list's
    `memberOfGroup=<list>,ou=Externals` holder, which is renamed, not modified.
    """
    old, new = old.lower(), new.lower()
    changed = _rename_external_holder(directory, old, new)
    values: dict[str, tuple[str, str | None]] = {
        a: (old, new) for a in (*ADDRESS_ATTRIBUTES, GROUP_ATTRIBUTE)
    }
    changed += _rewrite_all(directory, values)
    if old_dn and new_dn:
        changed += _rewrite_all(directory, {a: (old_dn, new_dn) for a in MEMBER_DN_ATTRIBUTES})
    return changed


def _rename_external_holder(directory: Directory, old: str, new: str) -> int:
    holder = directory.dn.external_members(old)
    if not directory.exists(holder):
        return 0
    parent = None
    if domain_of(old) != domain_of(new):
        parent = directory.dn.externals(domain_of(new))
    try:
        directory.rename(holder, rdn(A.RDN_EXTERNAL, new), parent)
    except errors.NotFound:
        return 0
    return 1


def remove_group_references(directory: Directory, list_mail: str) -> int:
    """Drop a legacy list's memberships and its external-members holder; return the count."""
    list_mail = list_mail.lower()
    changed = 0
    try:
        directory.delete(directory.dn.external_members(list_mail))
        changed += 1
    except errors.NotFound:
        pass
    changed += _rewrite_all(directory, {GROUP_ATTRIBUTE: (list_mail, None)})
    return changed
