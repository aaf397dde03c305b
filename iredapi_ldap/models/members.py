"""Addresses aliases and legacy lists point at: lookups, validation, triads, domain limits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import errors
from ..ldap import Directory
from ..ldap import Entry
from ..ldap import StaleValue
from ..ldap import attrs as A
from ..ldap import domain_of
from ..ldap import filters as F
from . import counters
from .settings import settings_of

ACCOUNT_CLASSES = (A.OC_USER, A.OC_ALIAS, A.OC_LIST)
# iRedAPD ldap_maillist_access_policy (iredmail-ldap-model.md 3.5); unset means public.
ACCESS_POLICIES = (
    "public", "domain", "subdomain", "membersonly", "moderatorsonly", "membersandmoderatorsonly",
)  # fmt: skip
DOMAIN_POLICIES = ("domain", "subdomain")
PUBLIC = "public"
# Addresses per `(|(mail=a)...)` search: short filters, few round trips.
CHUNK = 100


def policy_of(entry: Entry) -> str:
    """Return the stored accessPolicy (lower-case), `public` when unset."""
    return (entry.first("accessPolicy") or PUBLIC).lower()


def shadow_copies(mail: str, alias_domains: Iterable[str]) -> list[str]:
    """Return an account's address in each alias domain (`@alias` for the catch-all `@domain`)."""
    local = mail.rsplit("@", 1)[0]
    return [f"{local}@{d.lower()}" for d in alias_domains]


def get_domain_entry(directory: Directory, domain: str) -> Entry:
    """Return a domain's entry or raise NoSuchDomain."""
    entry = directory.get(directory.dn.domain(domain))
    if entry is None:
        raise errors.NoSuchDomain(f"No such domain: {domain}.")
    return entry


def alias_domains_of(domain_entry: Entry) -> list[str]:
    """Return a domain's alias domains, lower-case."""
    return [d.lower() for d in domain_entry.all("domainAliasName")]


def no_members_warning(kind: str) -> str:
    """Return the warning a GET shows for an alias or list without members."""
    return f"The {kind} has no members: Postfix rejects mail to it as an unknown recipient."


# -- lookups ------------------------------------------------------------------


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def local_domains(directory: Directory, domains: Iterable[str]) -> set[str]:
    """Return which names are hosted here: a domain or alias domain that is not a backup MX."""
    wanted = sorted({d.lower() for d in domains})
    found: set[str] = set()
    for chunk in _chunks(wanted):
        search_filter = F.and_(
            F.object_class(A.OC_DOMAIN),
            F.or_(F.any_of("domainName", chunk), F.any_of("domainAliasName", chunk)),
            F.not_(F.eq("domainBackupMX", "yes")),
        )
        attributes = ["domainName", "domainAliasName"]
        for entry in directory.search(directory.dn.domains, search_filter, attributes, "one"):
            names = {v.lower() for v in entry.all("domainName") + entry.all("domainAliasName")}
            found |= names & set(chunk)
    return found


def find_accounts(directory: Directory, addresses: Iterable[str]) -> dict[str, Entry]:
    """Map each address that is the mail or shadowAddress of a user, alias or list to its entry."""
    wanted = sorted({a.lower() for a in addresses if "@" in a and not a.startswith("@")})
    found: dict[str, Entry] = {}
    classes = F.or_(*(F.object_class(oc) for oc in ACCOUNT_CLASSES))
    attributes = ["objectClass", "mail", "shadowAddress", "enabledService"]
    for chunk in _chunks(wanted):
        search_filter = F.and_(
            classes, F.or_(F.any_of("mail", chunk), F.any_of("shadowAddress", chunk))
        )
        for entry in directory.search(directory.dn.domains, search_filter, attributes):
            if (entry.first("mail") or "").startswith("@"):
                continue  # a catch-all is nobody's member
            for value in entry.all("mail") + entry.all("shadowAddress"):
                if value.lower() in chunk:
                    found.setdefault(value.lower(), entry)
    return found


# -- validation ---------------------------------------------------------------


class Problems:
    """Field -> messages collected over one request, raised together as one 400."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, text: str, values: Iterable[str]) -> None:
        """Record that `values` of `field` are refused for the reason `text`."""
        named = sorted(set(values))
        if named:
            self.errors.setdefault(field, []).append(f"{text}: {', '.join(named)}.")

    def raise_if_any(self) -> None:
        """Raise ValidationFailed naming every refused value, if any."""
        if self.errors:
            parts = [f"{field}: {' '.join(texts)}" for field, texts in self.errors.items()]
            raise errors.ValidationFailed(
                "Invalid parameters: " + "; ".join(parts), errors=self.errors
            )


def check_addresses(
    directory: Directory,
    problems: Problems,
    field: str,
    addresses: Iterable[str],
    own: Iterable[str] = (),
) -> dict[str, Entry]:
    """Refuse the account's own addresses and unknown addresses of hosted domains.

    Returns the accounts the addresses belong to (internal ones). Patterns such
    as `*@domain` are skipped.
    """
    candidates = sorted({a.lower() for a in addresses if not a.startswith("*")})
    own_set = {a.lower() for a in own}
    problems.add(field, "Must not be the account itself", [a for a in candidates if a in own_set])
    candidates = [a for a in candidates if a not in own_set]
    accounts = find_accounts(directory, candidates)
    unknown = [a for a in candidates if a not in accounts]
    hosted = local_domains(directory, {domain_of(a) for a in unknown})
    problems.add(
        field,
        "No such account in a domain hosted here",
        [a for a in unknown if domain_of(a) in hosted],
    )
    return accounts


def allowed_member_domains(policy: str, domain: str, alias_domains: Iterable[str]) -> set[str]:
    """Return the domains members may come from under a domain/subdomain policy (empty = any)."""
    if policy not in DOMAIN_POLICIES:
        return set()
    return {domain.lower(), *(d.lower() for d in alias_domains)}


def in_allowed_domain(address: str, policy: str, allowed: set[str]) -> bool:
    """Tell whether an address's domain is allowed (subdomains too under `subdomain`)."""
    if not allowed:
        return True
    member_domain = domain_of(address).lower()
    if member_domain in allowed:
        return True
    return policy == "subdomain" and any(member_domain.endswith("." + d) for d in allowed)


def check_member_domains(
    problems: Problems,
    field: str,
    members: Iterable[str],
    policy: str,
    domain: str,
    alias_domains: Iterable[str],
) -> None:
    """Under accessPolicy domain/subdomain, refuse members from any other domain."""
    allowed = allowed_member_domains(policy, domain, alias_domains)
    outside = [m for m in members if not in_allowed_domain(m, policy, allowed)]
    scope = " (or their subdomains)" if policy == "subdomain" else ""
    problems.add(
        field,
        f"accessPolicy={policy} allows members of {', '.join(sorted(allowed))}{scope} only",
        outside,
    )


def addresses_in_use(
    directory: Directory, addresses: list[str], exclude_dn: str | None = None
) -> list[str]:
    """Return which addresses are a mail or shadowAddress of a user, alias or list."""
    if not addresses:
        return []
    wanted = {a.lower() for a in addresses}
    search_filter = F.and_(
        F.or_(*(F.object_class(oc) for oc in ACCOUNT_CLASSES)),
        F.or_(F.any_of("mail", wanted), F.any_of("shadowAddress", wanted)),
    )
    used: set[str] = set()
    for entry in directory.search(directory.dn.domains, search_filter, ["mail", "shadowAddress"]):
        if exclude_dn and entry.dn.lower() == exclude_dn.lower():
            continue
        used |= {v.lower() for v in entry.all("mail") + entry.all("shadowAddress")} & wanted
    for address in wanted - used:
        if directory.exists(directory.dn.admin(address)):
            used.add(address)
    return sorted(used)


def check_unused(directory: Directory, field: str, addresses: list[str]) -> None:
    """Refuse (409) addresses already used by a user, alias, list or standalone admin."""
    taken = addresses_in_use(directory, addresses)
    if taken:
        raise errors.AlreadyExists(
            f"Address already used by another account: {', '.join(taken)}.",
            errors={field: [f"Already used: {', '.join(taken)}."]},
        )


# -- sets ---------------------------------------------------------------------


def merge_triad(
    current: list[str], values: dict[str, Any], replace: str, add: str, remove: str
) -> list[str] | None:
    """Apply X / addX / removeX to a set (case-insensitive); None when none was given."""
    if not ({replace, add, remove} & values.keys()):
        return None
    result = list(values[replace]) if replace in values else list(current)
    lowered = {v.lower() for v in result}
    for value in values.get(add, []):
        if value.lower() not in lowered:
            result.append(value)
            lowered.add(value.lower())
    dropped = {v.lower() for v in values.get(remove, [])}
    return [v for v in result if v.lower() not in dropped]


def value_steps(current: list[str], wanted: list[str]) -> list[tuple[str, list[str]]]:
    """Return delete/add steps turning current into wanted; exact stored values are deleted."""
    wanted_lower = {v.lower() for v in wanted}
    current_lower = {v.lower() for v in current}
    steps: list[tuple[str, list[str]]] = []
    gone = [v for v in current if v.lower() not in wanted_lower]
    new = [v for v in wanted if v.lower() not in current_lower]
    if gone:
        steps.append(("delete", gone))
    if new:
        steps.append(("add", new))
    return steps


def add_value(directory: Directory, dn: str, attribute: str, value: str) -> bool:
    """Add one value to an entry; False when the entry is gone, True if present afterwards."""
    try:
        return directory.modify_ignoring_missing(dn, {attribute: ("add", [value])})
    except StaleValue:
        return True  # there already


def delete_value(directory: Directory, dn: str, attribute: str, value: str) -> None:
    """Delete one value from an entry; nothing when it or the entry is gone already."""
    try:
        directory.modify_ignoring_missing(dn, {attribute: ("delete", [value])})
    except StaleValue:
        return


# -- limits -------------------------------------------------------------------


def count_limit_plan(counter: str, setting: str, code: str, noun: str) -> counters.Plan:
    """Return the counter plan of one new alias or list under numberOfAliases/numberOfLists."""

    def plan(entry: Entry, values: dict[str, int]) -> dict[str, int]:
        limit = settings_of(entry).get(setting, 0)
        if limit == -1:
            raise errors.Forbidden(f"This domain may not have {noun}.", code=code)
        if limit > 0 and values[counter] >= limit:
            raise errors.Forbidden(
                f"The domain has reached its limit of {limit} {noun}.", code=code
            )
        return {counter: 1}

    return plan


def domain_active(domain_entry: Entry) -> bool:
    """Tell whether a domain is active (its accounts then carry no domainStatus)."""
    return (domain_entry.first("accountStatus") or A.STATUS_ACTIVE).lower() == A.STATUS_ACTIVE
