"""A legacy list's members: where they are stored, how a request changes them.

Internal members (users, aliases and lists hosted here) carry `memberOfGroup:
<list>` on their own entry and their DN is a `member` value of the list
(LDAP_ADD_MEMBER_DN_TO_GROUP); external members are `mail` values of the list's
`memberOfGroup=<list>,ou=Externals` entry (iredmail-ldap-model.md 3.5b).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from ... import errors
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import StaleValue
from ...ldap import attrs as A
from ...ldap import domain_of
from ...ldap import filters as F
from ..members import ACCOUNT_CLASSES
from ..members import Problems
from ..members import add_value
from ..members import check_addresses
from ..members import delete_value
from ..members import domain_active
from ..members import find_accounts
from ..references import remove_account_references
from ..references import remove_group_references

EXTERNAL_SERVICES = ("mail", "deliver")
MEMBER_TRIAD = ("members", "addMember", "removeMember")
RETRIES = 5
DomainCheck = Callable[[str], bool]


@dataclass
class Membership:
    """A list's members: internal ones by lower-case DN, external ones by address."""

    internal: dict[str, str] = field(default_factory=dict)  # dn.lower() -> member address
    dns: dict[str, str] = field(default_factory=dict)  # dn.lower() -> dn as stored
    external: dict[str, list[str]] = field(default_factory=dict)  # address -> holder DNs

    def addresses(self) -> list[str]:
        """Return every member address, sorted."""
        return sorted({*self.internal.values(), *self.external})


def read_membership(directory: Directory, list_mail: str) -> Membership:
    """Collect a list's internal members (memberOfGroup) and external ones (mailExternalUser)."""
    found = Membership()
    internal = F.and_(
        F.eq("memberOfGroup", list_mail), F.or_(*(F.object_class(oc) for oc in ACCOUNT_CLASSES))
    )
    for entry in directory.search(directory.dn.domains, internal, ["mail"]):
        found.internal[entry.dn.lower()] = (entry.first("mail") or "").lower()
        found.dns[entry.dn.lower()] = entry.dn
    external = F.and_(F.object_class(A.OC_EXTERNAL), F.eq("memberOfGroup", list_mail))
    for entry in directory.search(directory.dn.domains, external, ["mail"]):
        for address in entry.all("mail"):
            found.external.setdefault(address.lower(), []).append(entry.dn)
    return found


@dataclass
class MemberPlan:
    """What a request changes in a list's membership."""

    add_internal: dict[str, Entry] = field(default_factory=dict)  # dn.lower() -> member entry
    remove_internal: list[str] = field(default_factory=list)  # DNs
    add_external: list[str] = field(default_factory=list)
    remove_external: dict[str, list[str]] = field(default_factory=dict)  # address -> holder DNs
    final: list[str] = field(default_factory=list)  # every member address afterwards


def plan_members(
    directory: Directory,
    list_mail: str,
    list_dn: str,
    current: Membership,
    values: dict[str, Any],
    problems: Problems,
    own: list[str],
) -> MemberPlan:
    """Resolve the members triad into internal/external additions and removals; validate additions."""
    replace, add, remove = MEMBER_TRIAD
    by_address = {address: dn for dn, address in current.internal.items()}
    requested = [*values.get(replace, []), *values.get(add, [])]
    new_field = replace if replace in values else add
    unknown = [a for a in requested if a not in by_address and a not in current.external]
    accounts = check_addresses(directory, problems, new_field, unknown, own=own)
    problems.add(new_field, "Must not be the list itself",
                 [a for a, e in accounts.items() if e.dn.lower() == list_dn.lower()])  # fmt: skip
    gone = [a for a in values.get(remove, []) if a not in by_address and a not in current.external]
    accounts.update(find_accounts(directory, gone))

    def key_of(address: str) -> str:
        if address in by_address:
            return by_address[address]
        if address in accounts:
            return accounts[address].dn.lower()
        return address

    wanted: dict[str, str] = {}
    if replace in values:
        for address in values[replace]:
            wanted.setdefault(key_of(address), address)
    else:
        wanted = {
            **{dn: a for dn, a in current.internal.items()},
            **{a: a for a in current.external},
        }
    for address in values.get(add, []):
        wanted.setdefault(key_of(address), address)
    for address in values.get(remove, []):
        wanted.pop(key_of(address), None)

    plan = MemberPlan()
    entries = {e.dn.lower(): e for e in accounts.values()}
    for key, address in wanted.items():
        if key in current.internal or key in current.external:
            plan.final.append(current.internal.get(key, address))
        elif key in entries:
            plan.add_internal[key] = entries[key]
            plan.final.append((entries[key].first("mail") or address).lower())
        else:
            plan.add_external.append(address)
            plan.final.append(address)
    plan.remove_internal = [current.dns[dn] for dn in current.internal if dn not in wanted]
    plan.remove_external = {a: dns for a, dns in current.external.items() if a not in wanted}
    return plan


def added_addresses(plan: MemberPlan) -> list[str]:
    """Return the addresses a plan adds (internal by their primary address)."""
    internal = [(e.first("mail") or "").lower() for e in plan.add_internal.values()]
    return [*internal, *plan.add_external]


def check_writable(plan: MemberPlan, may_write: DomainCheck | None, field_name: str) -> None:
    """Refuse (403) internal members whose entries lie in domains the caller does not manage."""
    if may_write is None:
        return
    foreign = sorted(
        (e.first("mail") or "").lower()
        for e in plan.add_internal.values()
        if not may_write(domain_of(e.first("mail") or ""))
    )
    if foreign:
        raise errors.Forbidden(
            f"You do not manage the domains of: {', '.join(foreign)}.",
            errors={field_name: [f"Not in a domain you manage: {', '.join(foreign)}."]},
        )


def apply_members(
    directory: Directory, list_mail: str, list_dn: str, plan: MemberPlan, domain_entry: Entry
) -> None:
    """Write the membership changes: memberOfGroup and member values, the Externals entry."""
    for entry in plan.add_internal.values():
        if add_value(directory, entry.dn, "memberOfGroup", list_mail):
            add_value(directory, list_dn, "member", entry.dn)
    for dn in plan.remove_internal:
        delete_value(directory, dn, "memberOfGroup", list_mail)
        delete_value(directory, list_dn, "member", dn)
    if plan.add_external:
        add_externals(directory, list_mail, plan.add_external, domain_entry)
    for address, holders in plan.remove_external.items():
        for holder in holders:
            remove_external(directory, list_mail, holder, address)


def remove_external(directory: Directory, list_mail: str, holder: str, address: str) -> None:
    """Take an external address out of a list, in its Externals entry or an older per-address one."""
    if holder.lower() == directory.dn.external_members(list_mail).lower():
        delete_value(directory, holder, "mail", address)
        return
    # Older tools wrote one mailExternalUser per address (RDN mail=<address>), its lists
    # as memberOfGroup values; the RDN value and the required memberOfGroup cannot be removed.
    entry = directory.get(holder, ["mail", "memberOfGroup"])
    if entry is None:
        return
    if len(entry.all("memberOfGroup")) > 1:
        delete_value(directory, holder, "memberOfGroup", list_mail)
    elif len(entry.all("mail")) > 1 and directory.dn.rdn_value(holder).lower() != address:
        delete_value(directory, holder, "mail", address)
    else:
        try:
            directory.delete(holder)
        except errors.NotFound:
            return


def add_externals(
    directory: Directory, list_mail: str, addresses: list[str], domain_entry: Entry
) -> None:
    """Add external members to the list's Externals entry, creating it when missing."""
    holder = directory.dn.external_members(list_mail)
    for _attempt in range(RETRIES):
        existing = directory.get(holder, ["mail"])
        try:
            if existing is None:
                directory.add(holder, {
                    "objectClass": [A.OC_EXTERNAL], "memberOfGroup": list_mail,
                    "accountStatus": A.STATUS_ACTIVE, "enabledService": list(EXTERNAL_SERVICES),
                    "mail": addresses,
                    "domainStatus": None if domain_active(domain_entry) else A.STATUS_DISABLED,
                })  # fmt: skip
                return
            new = [a for a in addresses if not existing.has("mail", a)]
            if new:
                directory.modify(holder, {"mail": ("add", new)})
            return
        except (errors.AlreadyExists, errors.NotFound, StaleValue):
            continue  # another writer created, removed or filled it meanwhile
    raise errors.Conflict(f"The external members of {list_mail} are too busy; try again.")


def drop_external_entries(directory: Directory, list_mail: str) -> None:
    """Delete mailExternalUser entries of the list (memberOfGroup is required on them)."""
    search_filter = F.and_(F.object_class(A.OC_EXTERNAL), F.eq("memberOfGroup", list_mail))
    found = list(directory.search(directory.dn.domains, search_filter, ["memberOfGroup"]))
    for holder in found:
        if len(holder.all("memberOfGroup")) > 1:
            delete_value(directory, holder.dn, "memberOfGroup", list_mail)
            continue
        try:
            directory.delete(holder.dn)
        except errors.NotFound:
            continue


def forget_group_account(directory: Directory, entry: Entry, mail: str) -> None:
    """Before an alias or legacy list is deleted, remove every reference to it and its members."""
    remove_account_references(directory, entry, mail)
    # Lists, and old iRedMail aliases too, gather members by memberOfGroup and Externals entries.
    drop_external_entries(directory, mail)
    remove_group_references(directory, mail)
