"""Legacy LDAP mailing lists (mailList under ou=Groups, not mlmmj): profile, create, update, delete.

How members are stored and changed is in maillist_members.
"""

from __future__ import annotations

from typing import Any

from ... import errors
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import attrs as A
from ...ldap import domain_of
from ...ldap import filters as F
from ...ldap import retry_on_stale
from .. import counted_changes
from .. import counters
from ..domains.domain import get_domain_entry
from ..members import PUBLIC
from ..members import Problems
from ..members import alias_domains_of
from ..members import check_addresses
from ..members import check_member_domains
from ..members import check_unused
from ..members import count_limit_plan
from ..members import domain_active
from ..members import merge_triad
from ..members import policy_of
from ..members import shadow_copies
from ..members import value_steps
from .members import MEMBER_TRIAD
from .members import DomainCheck
from .members import Membership
from .members import added_addresses
from .members import apply_members
from .members import check_writable
from .members import forget_group_account
from .members import plan_members
from .members import read_membership
from .view import LIST_VIEW
from .view import list_from_entry

# iredmail-ldap-model.md 3.5b.
LIST_SERVICES = ("mail", "deliver", "displayedInGlobalAddressBook")
MLMMJ_SERVICE = "mlmmj"
LIST_LIMIT = "EXCEEDED_DOMAIN_ML_LIMIT"
READ_ATTRIBUTES = LIST_VIEW.attributes
# Triads kept on the list entry: (replace field, add field, remove field, attribute).
ROLE_TRIADS = (
    ("moderators", "addModerator", "removeModerator", "listModerator"),
    ("owners", "addOwner", "removeOwner", "listOwner"),
    ("allowedSenders", "addAllowedSender", "removeAllowedSender", "listAllowedUser"),
)
RETRIES = 5


def get_list_entry(directory: Directory, mail: str, attributes: list[str] | None = None) -> Entry:
    """Return a legacy list's entry, or raise NotFound (also for an mlmmj list)."""
    wanted = None if attributes is None else sorted({*attributes, "objectClass", "enabledService"})
    entry = directory.get(directory.dn.maillist(mail), wanted)
    if entry is None or not entry.has("objectClass", A.OC_LIST):
        raise errors.NotFound(f"No such mailing list: {mail}.")
    if entry.has("enabledService", MLMMJ_SERVICE):
        raise errors.NotFound(f"{mail} is a subscribable (mlmmj) list; use /api/ml/{mail}.")
    return entry


def get_list(directory: Directory, mail: str) -> dict[str, Any]:
    """Return one legacy list's profile with its members."""
    entry = get_list_entry(directory, mail, READ_ATTRIBUTES)
    return list_from_entry(entry, read_membership(directory, mail))


def lists_filter() -> str:
    """Return the filter of a domain's legacy (non-mlmmj) lists."""
    return F.and_(F.object_class(A.OC_LIST), F.not_(F.eq("enabledService", MLMMJ_SERVICE)))


def list_lists(
    directory: Directory, domain: str, offset: int, limit: int, email_only: bool = False
) -> tuple[list[Any], int]:
    """Return one page of a domain's legacy lists (in directory order) and the total."""
    get_domain_entry(directory, domain)
    attributes = ["mail"] if email_only else READ_ATTRIBUTES
    entries, total = directory.window(
        directory.dn.groups(domain), lists_filter(), attributes, "one", offset, limit
    )
    if email_only:
        return [(e.first("mail") or "").lower() for e in entries], total
    items = []
    for entry in entries:
        mail = (entry.first("mail") or "").lower()
        items.append(list_from_entry(entry, read_membership(directory, mail)))
    return items, total


# -- create, update, delete -----------------------------------------------------------


def _role_problems(
    directory: Directory, problems: Problems, values: dict, current: Entry | None
) -> dict:
    """Validate new moderators/owners/allowed senders; return the list entry's changes."""
    changes: dict[str, Any] = {}
    for replace, add, remove, attribute in ROLE_TRIADS:
        stored = current.all(attribute) if current is not None else []
        merged = merge_triad([v.lower() for v in stored], values, replace, add, remove)
        if merged is None:
            continue
        new = [v for v in merged if v not in {s.lower() for s in stored}]
        check_addresses(directory, problems, replace if replace in values else add, new)
        steps = value_steps(stored, merged)
        if steps:
            changes[attribute] = steps
    return changes


def create_list(
    directory: Directory, mail: str, values: dict[str, Any], may_write: DomainCheck | None = None
) -> dict[str, Any]:
    """Create a legacy list and its memberships after reserving its place in the list counter."""
    domain = domain_of(mail)
    domain_entry = get_domain_entry(directory, domain)
    alias_domains = alias_domains_of(domain_entry)
    shadows = shadow_copies(mail, alias_domains)
    list_dn = directory.dn.maillist(mail)
    policy = values.get("accessPolicy") or PUBLIC
    problems = Problems()
    plan = plan_members(directory, mail, list_dn, Membership(), values, problems, [mail, *shadows])
    roles = _role_problems(directory, problems, values, None)
    check_member_domains(problems, "members", plan.final, policy, domain, alias_domains)
    problems.raise_if_any()
    check_writable(plan, may_write, "members")
    check_unused(directory, "mail", [mail, *shadows])
    attributes = {
        "objectClass": [A.OC_LIST],
        "mail": mail,
        "cn": values.get("name"),
        "accountStatus": A.STATUS_ACTIVE,
        "enabledService": list(LIST_SERVICES),
        "accessPolicy": values.get("accessPolicy") or None,
        "shadowAddress": shadows,
        "domainStatus": None if domain_active(domain_entry) else A.STATUS_DISABLED,
        **{attribute: steps[-1][1] for attribute, steps in roles.items()},
    }
    limit = count_limit_plan(counters.LISTS, "numberOfLists", LIST_LIMIT, "mailing lists")
    counted_changes.add_one_counted(directory, domain, domain_entry, counters.LISTS, "numberOfLists", limit,
                                  lambda: directory.add(list_dn, attributes))  # fmt: skip
    try:
        apply_members(directory, mail, list_dn, plan, domain_entry)
    except BaseException:
        delete_list(directory, mail)
        raise
    return get_list(directory, mail)


def update_list(
    directory: Directory, mail: str, values: dict[str, Any], may_write: DomainCheck | None = None
) -> dict[str, Any]:
    """Update a list's profile (atomically, retried) and then its memberships."""
    domain = domain_of(mail)
    domain_entry = get_domain_entry(directory, domain)
    alias_domains = alias_domains_of(domain_entry)
    own = [mail, *shadow_copies(mail, alias_domains)]

    def attempt() -> tuple[Entry, Any]:
        entry = get_list_entry(directory, mail, READ_ATTRIBUTES)
        problems = Problems()
        plan = plan_members(directory, mail, entry.dn, read_membership(directory, mail), values,
                            problems, own)  # fmt: skip
        changes = _role_problems(directory, problems, values, entry)
        policy = policy_of(entry)
        if "accessPolicy" in values:
            policy = values["accessPolicy"] or PUBLIC
            changes["accessPolicy"] = ("replace", values["accessPolicy"] or [])
            # A new domain policy must hold for every member, old ones included.
            check_member_domains(
                problems, "accessPolicy", plan.final, policy, domain, alias_domains
            )
        else:
            member_field = next((f for f in MEMBER_TRIAD if f in values), "members")
            check_member_domains(problems, member_field, added_addresses(plan), policy, domain,
                                 alias_domains)  # fmt: skip
        if "name" in values:
            changes["cn"] = ("replace", values["name"] or [])
        problems.raise_if_any()
        check_writable(plan, may_write, next((f for f in MEMBER_TRIAD if f in values), "members"))
        directory.modify(entry.dn, changes)
        return entry, plan

    entry, plan = retry_on_stale(attempt, RETRIES)
    apply_members(directory, mail, entry.dn, plan, domain_entry)
    return get_list(directory, mail)


def delete_list(directory: Directory, mail: str) -> None:
    """Delete a list, its memberships and Externals entry, references to it; count it out."""
    entry = get_list_entry(directory, mail, ["mail", "shadowAddress"])
    forget_group_account(directory, entry, mail)
    with counted_changes.removing(directory, domain_of(mail), {counters.LISTS: 1}):
        directory.delete_tree(entry.dn)
