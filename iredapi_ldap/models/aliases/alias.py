"""Mail aliases (mailAlias under ou=Aliases): read, list, create, update, rename, delete."""

from __future__ import annotations

from typing import Any

from ... import errors
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import attrs as A
from ...ldap import domain_of
from ...ldap import filters as F
from ...ldap import retry_on_stale
from ...ldap.dn import rdn
from .. import counted_changes
from .. import counters
from ..domains.domain import get_domain_entry
from ..maillists.members import forget_group_account
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
from ..references import check_rename_target
from ..references import rename_address_references
from .view import ALIAS_VIEW
from .view import alias_from_entry

# iredmail-ldap-model.md 3.4: Postfix's virtual_alias_maps needs mail and deliver.
ALIAS_SERVICES = ("mail", "deliver")
ALIAS_LIMIT = "EXCEEDED_DOMAIN_ALIAS_LIMIT"
READ_ATTRIBUTES = ALIAS_VIEW.attributes
RETRIES = 5
# Triads: (replace field, add field, remove field, attribute).
TRIADS = (
    ("members", "addMember", "removeMember", "mailForwardingAddress"),
    ("moderators", "addModerator", "removeModerator", "listModerator"),
)


def get_alias_entry(directory: Directory, mail: str, attributes: list[str] | None = None) -> Entry:
    """Return an alias's entry or raise NotFound."""
    wanted = None if attributes is None else sorted({*attributes, "objectClass"})
    entry = directory.get(directory.dn.alias(mail), wanted)
    if entry is None or not entry.has("objectClass", A.OC_ALIAS):
        raise errors.NotFound(f"No such alias: {mail}.")
    return entry


def get_alias(directory: Directory, mail: str) -> dict[str, Any]:
    """Return one alias's profile."""
    return alias_from_entry(get_alias_entry(directory, mail, READ_ATTRIBUTES))


def aliases_filter(disabled_only: bool = False) -> str:
    """Return the filter of a domain's aliases."""
    parts = [F.object_class(A.OC_ALIAS)]
    if disabled_only:
        parts.append(F.eq("accountStatus", A.STATUS_DISABLED))
    return F.and_(*parts)


def list_aliases(
    directory: Directory,
    domain: str,
    offset: int,
    limit: int,
    email_only: bool = False,
    disabled_only: bool = False,
) -> tuple[list[Any], int]:
    """Return one page of a domain's aliases (in directory order) and the total."""
    get_domain_entry(directory, domain)
    attributes = ["mail"] if email_only else READ_ATTRIBUTES
    entries, total = directory.window(
        directory.dn.aliases(domain),
        aliases_filter(disabled_only),
        attributes,
        "one",
        offset,
        limit,
    )
    if email_only:
        return [(e.first("mail") or "").lower() for e in entries], total
    return [alias_from_entry(e) for e in entries], total


# -- create and update ----------------------------------------------------------


def _check(
    directory: Directory,
    mail: str,
    domain_entry: Entry,
    added: dict[str, list[str]],
    members: list[str],
    policy: str,
    policy_field: str = "members",
) -> None:
    """Validate new members/moderators (by request field) and `members` against a domain policy."""
    alias_domains = alias_domains_of(domain_entry)
    own = [mail, *shadow_copies(mail, alias_domains)]
    problems = Problems()
    for field, addresses in added.items():
        check_addresses(directory, problems, field, addresses, own=own)
    check_member_domains(problems, policy_field, members, policy, domain_of(mail), alias_domains)
    problems.raise_if_any()


def create_alias(directory: Directory, mail: str, values: dict[str, Any]) -> dict[str, Any]:
    """Create an alias after reserving its place in the domain's alias counter."""
    domain = domain_of(mail)
    domain_entry = get_domain_entry(directory, domain)
    alias_domains = alias_domains_of(domain_entry)
    shadows = shadow_copies(mail, alias_domains)
    members = values.get("members", [])
    policy = values.get("accessPolicy") or PUBLIC
    added = {"members": members, "moderators": values.get("moderators", [])}
    _check(directory, mail, domain_entry, added, members, policy)
    check_unused(directory, "mail", [mail, *shadows])
    attributes = {
        "objectClass": [A.OC_ALIAS],
        "mail": mail,
        "cn": values.get("name"),
        "accountStatus": values.get("accountStatus") or A.STATUS_ACTIVE,
        "enabledService": list(ALIAS_SERVICES),
        "mailForwardingAddress": members,
        "accessPolicy": values.get("accessPolicy") or None,
        "listModerator": values.get("moderators", []),
        "shadowAddress": shadows,
        "domainStatus": None if domain_active(domain_entry) else A.STATUS_DISABLED,
    }
    plan = count_limit_plan(counters.ALIASES, "numberOfAliases", ALIAS_LIMIT, "aliases")
    counted_changes.add_one_counted(directory, domain, domain_entry, counters.ALIASES, "numberOfAliases", plan,
                                  lambda: directory.add(directory.dn.alias(mail), attributes))  # fmt: skip
    return get_alias(directory, mail)


def _update_changes(
    directory: Directory, mail: str, entry: Entry, domain_entry: Entry, values: dict[str, Any]
) -> dict[str, Any]:
    """Return the modify of one update request, after validating what it adds."""
    changes: dict[str, Any] = {}
    if "name" in values:
        changes["cn"] = ("replace", values["name"] or [])
    if "accountStatus" in values:
        changes["accountStatus"] = ("replace", values["accountStatus"])
    policy = policy_of(entry)
    if "accessPolicy" in values:
        policy = values["accessPolicy"] or PUBLIC
        changes["accessPolicy"] = ("replace", values["accessPolicy"] or [])
    added: dict[str, list[str]] = {}
    final: dict[str, list[str]] = {}
    for replace, add, remove, attribute in TRIADS:
        current = [v.lower() for v in entry.all(attribute)]
        merged = merge_triad(current, values, replace, add, remove)
        final[replace] = current if merged is None else merged
        if merged is None:
            continue
        added[replace if replace in values else add] = [v for v in merged if v not in current]
        steps = value_steps(entry.all(attribute), merged)
        if steps:
            changes[attribute] = steps
    # A new domain policy must hold for every member; otherwise only new members are checked.
    if "accessPolicy" in values:
        checked, field = final["members"], "accessPolicy"
    else:
        field = next((f for f in TRIADS[0][:3] if f in values), "members")
        checked = added.get(field, [])
    _check(directory, mail, domain_entry, added, checked, policy, field)
    return changes


def update_alias(directory: Directory, mail: str, values: dict[str, Any]) -> dict[str, Any]:
    """Apply a partial update atomically; re-read and retry when the entry changed meanwhile."""
    domain_entry = get_domain_entry(directory, domain_of(mail))

    def attempt() -> None:
        entry = get_alias_entry(directory, mail, READ_ATTRIBUTES)
        directory.modify(entry.dn, _update_changes(directory, mail, entry, domain_entry, values))

    retry_on_stale(attempt, RETRIES)
    return get_alias(directory, mail)


# -- delete and rename ------------------------------------------------------------


def delete_alias(directory: Directory, mail: str) -> None:
    """Delete an alias, every reference to its addresses, and count it out of the domain."""
    entry = get_alias_entry(directory, mail, ["mail", "shadowAddress"])
    forget_group_account(directory, entry, mail)
    with counted_changes.removing(directory, domain_of(mail), {counters.ALIASES: 1}):
        directory.delete_tree(entry.dn)


def change_alias_email(directory: Directory, mail: str, new_mail: str) -> dict[str, Any]:
    """Rename an alias within its domain; every reference to it follows."""
    check_rename_target(mail, new_mail)
    domain = domain_of(mail)
    entry = get_alias_entry(directory, mail, READ_ATTRIBUTES)
    alias_domains = alias_domains_of(get_domain_entry(directory, domain))
    old_shadows, new_shadows = (
        shadow_copies(mail, alias_domains),
        shadow_copies(new_mail, alias_domains),
    )
    check_unused(directory, "new_mail", [new_mail, *new_shadows])
    if new_mail in {v.lower() for v in entry.all("mailForwardingAddress")}:
        raise errors.ValidationFailed(
            "An alias must not point at itself.",
            errors={"new_mail": [f"{new_mail} is a member of the alias."]},
        )
    directory.rename(entry.dn, rdn(A.RDN_USER, new_mail))
    new_dn = directory.dn.alias(new_mail)
    renamed = dict(zip(old_shadows, new_shadows, strict=True))
    shadows = [renamed.get(v.lower(), v.lower()) for v in entry.all("shadowAddress")]
    if shadows != [v.lower() for v in entry.all("shadowAddress")]:
        directory.modify(new_dn, {"shadowAddress": ("replace", shadows)})
    rename_address_references(directory, mail, new_mail, entry.dn, new_dn)
    for old, new in renamed.items():
        rename_address_references(directory, old, new)
    return get_alias(directory, new_mail)
