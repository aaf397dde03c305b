"""Update one mail user: profile, password, quota, admin flag and the X/addX/removeX sets."""

from __future__ import annotations

from typing import Any

from ... import errors
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import StaleValue
from ...ldap import attrs as A
from ...ldap import domain_of
from ...ldap import filters as F
from .. import counted_changes
from .. import counters
from ..admins.login import days_since_epoch
from ..domains.domain import get_domain_entry
from ..members import merge_triad
from ..members import value_steps
from ..units import MB
from .limits import quota_change_plan
from .limits import unchecked_counters
from .user import ADMIN_SERVICE
from .user import addresses_in_use
from .user import canonical_service
from .user import existing_in_domain
from .user import get_user
from .user import get_user_entry
from .user import local_part
from .user import password_policy_of
from .user import password_values

RETRIES = 5
# API field -> attribute, for single values where an empty value removes the attribute.
OPTIONAL_FIELDS = {
    "gn": "givenName",
    "language": "preferredLanguage",
    "employeeid": "employeeNumber",
    "transport": "mtaTransport",
    "senderBcc": "userSenderBccAddress",
    "recipientBcc": "userRecipientBccAddress",
    "accountStatus": "accountStatus",
    "mailboxFormat": "mailboxFormat",
    "mailboxFolder": "mailboxFolder",
    "maildir": "homeDirectory",
}
# Triads: (replace field, add field, remove field, attribute).
TRIADS = {
    "forwarding": ("forwarding", "addForwarding", "removeForwarding", "mailForwardingAddress"),
    "aliases": ("aliases", "addAlias", "removeAlias", "shadowAddress"),
    "services": ("services", "addService", "removeService", "enabledService"),
}
# A service the mail stack needs for a value to take effect (model 2.3).
SERVICE_FOR = {
    "mailForwardingAddress": "forward",
    "shadowAddress": "shadowaddress",
    "userSenderBccAddress": "senderbcc",
    "userRecipientBccAddress": "recipientbcc",
}


def _merge(current: list[str], values: dict[str, Any], triad: str) -> list[str] | None:
    """Apply one of the user's triads (merge_triad; X itself loses case-insensitive repeats)."""
    replace, add, remove = TRIADS[triad][:3]
    if replace in values:
        values = {**values, replace: _unique(values[replace])}
    return merge_triad(current, values, replace, add, remove)


def _unique(items: list[str], key=str.lower) -> list[str]:
    """Drop values the directory would treat as equal (its matching rules ignore case)."""
    seen: set[str] = set()
    result = []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            result.append(item)
    return result


def _phone_key(number: str) -> str:
    # telephoneNumberMatch ignores spaces and hyphens.
    return number.replace(" ", "").replace("-", "").lower()


def _check_forwarding(directory: Directory, mail: str, addresses: list[str], field: str) -> None:
    """Addresses in the user's own domain must exist there (iRedAdmin reset_forwardings)."""
    domain = domain_of(mail)
    local = [a for a in addresses if domain_of(a) == domain]
    missing = sorted(set(local) - existing_in_domain(directory, domain, local))
    if missing:
        raise errors.ValidationFailed(
            f"No such account in {domain}: {', '.join(missing)}.",
            errors={field: [f"No such account in {domain}: {', '.join(missing)}."]},
        )


def _check_aliases(
    directory: Directory, entry: Entry, mail: str, added: list[str], field: str
) -> None:
    """Alias addresses must be in the user's domain or its alias domains, and unused."""
    domain = domain_of(mail)
    allowed = {
        domain,
        *(d.lower() for d in get_domain_entry(directory, domain).all("domainAliasName")),
    }
    outside = sorted(a for a in added if domain_of(a) not in allowed or a == mail)
    if outside:
        raise errors.ValidationFailed(
            f"Not an alias address of {mail}: {', '.join(outside)}.",
            errors={
                field: [
                    f"Must be in {', '.join(sorted(allowed))} and not the user's own "
                    f"address: {', '.join(outside)}."
                ]
            },  # fmt: skip
        )
    taken = addresses_in_use(directory, added, exclude_dn=entry.dn)
    if taken:
        raise errors.AlreadyExists(
            f"Already used by another account: {', '.join(taken)}.",
            errors={field: [f"Already used: {', '.join(taken)}."]},
        )


def _administers_a_domain(directory: Directory, mail: str) -> bool:
    """Tell whether any domain lists the address in domainAdmin."""
    found = directory.search_one(
        directory.dn.domains,
        F.and_(F.object_class(A.OC_DOMAIN), F.eq("domainAdmin", mail)),
        ["1.1"],
        scope="one",
    )
    return found is not None


def _set_changes(directory: Directory, entry: Entry, mail: str, values: dict) -> dict[str, Any]:
    """Return changes of the multi-valued sets, the services they need included."""
    changes: dict[str, Any] = {}
    services = list(entry.all("enabledService"))
    merged_services = _merge(services, values, "services")
    if merged_services is not None:
        services = [canonical_service(s) for s in merged_services]
    for triad in ("forwarding", "aliases"):
        replace, add, _remove, attribute = TRIADS[triad]
        current = entry.all(attribute)
        merged = _merge(current, values, triad)
        if merged is None:
            continue
        field = replace if replace in values else add
        added = [v for v in merged if v.lower() not in {c.lower() for c in current}]
        if triad == "forwarding":
            _check_forwarding(directory, mail, added, field)
        else:
            _check_aliases(directory, entry, mail, added, field)
        changes[attribute] = (
            ("replace", merged) if replace in values else value_steps(current, merged)
        )
        if merged:
            services = _ensure(services, SERVICE_FOR[attribute])
    for field in ("senderBcc", "recipientBcc"):
        if values.get(field):
            services = _ensure(services, SERVICE_FOR[OPTIONAL_FIELDS[field]])
    if "isGlobalAdmin" in values:
        if values["isGlobalAdmin"]:
            services = _ensure(services, ADMIN_SERVICE)
            changes["domainGlobalAdmin"] = ("replace", "yes")
        else:
            # A user still named in some domain's domainAdmin stays a (domain) admin.
            if not _administers_a_domain(directory, mail):
                services = [s for s in services if s.lower() != ADMIN_SERVICE]
            changes["domainGlobalAdmin"] = ("replace", [])
    if "services" in values:
        changes["enabledService"] = ("replace", services)
    elif value_steps(entry.all("enabledService"), services):
        changes["enabledService"] = value_steps(entry.all("enabledService"), services)
    return changes


def _ensure(services: list[str], name: str) -> list[str]:
    return services if name in {s.lower() for s in services} else [*services, name]


def _profile_changes(mail: str, values: dict) -> dict[str, Any]:
    """Return changes of the single-valued and replace-only fields."""
    local = local_part(mail)
    changes: dict[str, Any] = {}
    # cn and sn are required by inetOrgPerson: empty restores the iRedAdmin default.
    if "name" in values:
        changes["cn"] = ("replace", values["name"] or local)
    if "sn" in values:
        changes["sn"] = ("replace", values["sn"] or local)
    for field, attribute in OPTIONAL_FIELDS.items():
        if field in values:
            changes[attribute] = ("replace", values[field] or [])
    for field in ("telephoneNumber", "mobile"):
        if field in values:
            changes[field] = ("replace", _unique(values[field], _phone_key))
    return changes


def _quota_changes(entry: Entry, new_mb: int) -> dict[str, Any]:
    """Compare-and-swap mailQuota, so two quota updates cannot both count their delta."""
    old = entry.first("mailQuota")
    steps: list[tuple[str, Any]] = [("delete", old)] if old is not None else []
    if new_mb:
        steps.append(("add", str(new_mb * MB)))
    return {"mailQuota": steps} if steps else {}


def update_user(
    directory: Directory, mail: str, values: dict[str, Any], config: dict[str, Any]
) -> dict[str, Any]:
    """Apply a partial update atomically; re-read and retry when the entry changed meanwhile."""
    domain = domain_of(mail)
    password: dict[str, Any] = {}
    domain_entry = None
    if "password" in values or "password_hash" in values:
        domain_entry = get_domain_entry(directory, domain)
        policy = password_policy_of(domain_entry, config)
        password = {
            "userPassword": ("replace", password_values(values, policy, config)),
            "shadowLastChange": ("replace", days_since_epoch()),
        }
    for attempt in range(RETRIES):
        entry = get_user_entry(directory, mail)
        changes = {**_profile_changes(mail, values), **password}
        changes.update(_set_changes(directory, entry, mail, values))
        try:
            if "quota" in values:
                old_bytes = counters.parse_counter(entry.first("mailQuota")) or 0
                domain_entry = domain_entry or get_domain_entry(directory, domain)
                changes.update(_quota_changes(entry, values["quota"]))
                # The quota counter is reserved first and released if the modify fails.
                counted_changes.reserve(
                    directory, domain, (counters.QUOTA,),
                    quota_change_plan(values["quota"], old_bytes),
                    limited=counters.QUOTA not in unchecked_counters(domain_entry),
                    then=lambda _txn, dn=entry.dn, changes=changes: directory.modify(dn, changes),
                )  # fmt: skip
            else:
                directory.modify(entry.dn, changes)
            break
        except StaleValue:
            if attempt == RETRIES - 1:
                raise
    return get_user(directory, mail)
