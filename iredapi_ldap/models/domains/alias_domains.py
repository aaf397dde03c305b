"""Alias domains: `domainAliasName` on the domain and `<local>@<alias>` on its accounts.

Postfix accepts an alias domain only with `enabledService: domainalias` on the
domain, and resolves its addresses through the accounts' shadowAddress values
(iredmail-ldap-model.md 3.3), so every user (the catch-all included, as
`@<alias>`), alias and list of the domain carries its copy.
"""

from __future__ import annotations

from typing import Any

from ... import errors
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import StaleValue
from ...ldap import attrs as A
from ...ldap import filters as F
from ..members import ACCOUNT_CLASSES
from ..members import merge_triad
from ..members import shadow_copies
from ..members import value_steps

DOMAINALIAS_SERVICE = "domainalias"
TRIAD = ("aliasDomains", "addAliasDomain", "removeAliasDomain")
RETRIES = 5


def check_alias_domains(directory: Directory, domain: str, values: dict[str, Any]) -> None:
    """Refuse the domain itself (400), hosted domains and other domains' aliases (409)."""
    field = TRIAD[0] if TRIAD[0] in values else TRIAD[1]
    names = sorted(set(values.get(TRIAD[0], []) + values.get(TRIAD[1], [])))
    if not names:
        return
    if domain in names:
        raise errors.ValidationFailed(
            "A domain cannot be its own alias domain.",
            errors={field: [f"Not an alias of itself: {domain}."]},
        )
    search_filter = F.and_(
        F.object_class(A.OC_DOMAIN),
        F.or_(F.any_of("domainName", names), F.any_of("domainAliasName", names)),
        F.not_(F.eq("domainName", domain)),
    )
    hosted: set[str] = set()
    taken: set[str] = set()
    attributes = ["domainName", "domainAliasName"]
    for entry in directory.search(directory.dn.domains, search_filter, attributes, "one"):
        hosted |= {v.lower() for v in entry.all("domainName")} & set(names)
        taken |= {v.lower() for v in entry.all("domainAliasName")} & set(names)
    messages = []
    if hosted:
        messages.append(f"Hosted here as a domain: {', '.join(sorted(hosted))}.")
    if taken:
        messages.append(f"Already an alias of another domain: {', '.join(sorted(taken))}.")
    if messages:
        raise errors.AlreadyExists(" ".join(messages), errors={field: messages})


def alias_domain_changes(entry: Entry, values: dict[str, Any], changes: dict[str, Any]) -> dict:
    """Return the domain's domainAliasName change and, with it, its domainalias service."""
    current = [v.lower() for v in entry.all("domainAliasName")]
    merged = merge_triad(current, values, *TRIAD)
    if merged is None:
        return {}
    result: dict[str, Any] = {}
    steps = value_steps(entry.all("domainAliasName"), merged)
    if steps:
        result["domainAliasName"] = steps
    planned = changes.get("enabledService")
    services = list(planned[1]) if planned else list(entry.all("enabledService"))
    has_service = DOMAINALIAS_SERVICE in {s.lower() for s in services}
    if merged and not has_service:
        services.append(DOMAINALIAS_SERVICE)
    elif not merged and has_service:
        services = [s for s in services if s.lower() != DOMAINALIAS_SERVICE]
    if services != (list(planned[1]) if planned else entry.all("enabledService")):
        result["enabledService"] = ("replace", services)
    return result


def sync_alias_addresses(directory: Directory, domain: str, before: list[str]) -> int:
    """Give every account the addresses of new alias domains, strip removed ones; return count."""
    entry = directory.get(directory.dn.domain(domain), ["domainAliasName"])
    after = [v.lower() for v in entry.all("domainAliasName")] if entry else []
    before = [v.lower() for v in before]
    added = [d for d in after if d not in before]
    removed = [d for d in before if d not in after]
    if not added and not removed:
        return 0
    classes = F.or_(*(F.object_class(oc) for oc in ACCOUNT_CLASSES))
    # Collect first: modifying entries while a paged search runs over them is unsafe.
    dns = [e.dn for e in directory.search(directory.dn.domain(domain), classes, ["1.1"])]
    return sum(_sync_one(directory, dn, added, removed) for dn in dns)


def _sync_one(directory: Directory, dn: str, added: list[str], removed: list[str]) -> int:
    """Rewrite one account's shadowAddress; re-read and retry when it changed meanwhile."""
    for attempt in range(RETRIES):
        account = directory.get(dn, ["mail", "shadowAddress"])
        if account is None or not account.first("mail"):
            return 0
        current = account.all("shadowAddress")
        suffixes = tuple(f"@{d}" for d in removed)
        wanted = (
            [v for v in current if not v.lower().endswith(suffixes)] if removed else list(current)
        )
        wanted += shadow_copies(account.first("mail").lower(), added)
        steps = value_steps(current, wanted)
        if not steps:
            return 0
        try:
            return 1 if directory.modify_ignoring_missing(dn, {"shadowAddress": steps}) else 0
        except StaleValue:
            if attempt == RETRIES - 1:
                raise
    return 0
