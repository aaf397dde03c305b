"""Update one mail user: profile, password, quota, admin flag and the X/addX/removeX sets."""

from __future__ import annotations

from typing import Any

from .. import errors
from ..ldap import Directory, Entry, StaleValue, domain_of
from . import counters
from .admin import days_since_epoch
from .domain import get_domain_entry
from .units import MB
from .user import (
    ADMIN_SERVICE,
    addresses_in_use,
    canonical_service,
    existing_in_domain,
    get_user,
    get_user_entry,
    local_part,
    password_policy_of,
    password_values,
)
from .user_limits import quota_change_plan

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
    """Apply X / addX / removeX to a set (case-insensitive); None when none was given."""
    replace, add, remove = TRIADS[triad][:3]
    if not ({replace, add, remove} & values.keys()):
        return None
    result = _unique(values[replace]) if replace in values else list(current)
    lowered = {v.lower() for v in result}
    for value in values.get(add, []):
        if value.lower() not in lowered:
            result.append(value)
            lowered.add(value.lower())
    dropped = {v.lower() for v in values.get(remove, [])}
    return [v for v in result if v.lower() not in dropped]


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


def _steps(current: list[str], wanted: list[str]) -> list[tuple[str, list[str]]]:
    """Return delete/add steps turning current into wanted (exact stored values deleted)."""
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
    allowed = {domain, *(d.lower() for d in get_domain_entry(directory, domain).all("domainAliasName"))}
    outside = sorted(a for a in added if domain_of(a) not in allowed or a == mail)
    if outside:
        raise errors.ValidationFailed(
            f"Not an alias address of {mail}: {', '.join(outside)}.",
            errors={field: [f"Must be in {', '.join(sorted(allowed))} and not the user's own "
                            f"address: {', '.join(outside)}."]},  # fmt: skip
        )
    taken = addresses_in_use(directory, added, exclude_dn=entry.dn)
    if taken:
        raise errors.AlreadyExists(
            f"Already used by another account: {', '.join(taken)}.",
            errors={field: [f"Already used: {', '.join(taken)}."]},
        )


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
        changes[attribute] = ("replace", merged) if replace in values else _steps(current, merged)
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
            services = [s for s in services if s.lower() != ADMIN_SERVICE]
            changes["domainGlobalAdmin"] = ("replace", [])
    if "services" in values:
        changes["enabledService"] = ("replace", services)
    elif _steps(entry.all("enabledService"), services):
        changes["enabledService"] = _steps(entry.all("enabledService"), services)
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
    if "password" in values or "password_hash" in values:
        policy = password_policy_of(get_domain_entry(directory, domain), config)
        password = {
            "userPassword": ("replace", password_values(values, policy, config)),
            "shadowLastChange": ("replace", days_since_epoch()),
        }
    for attempt in range(RETRIES):
        entry = get_user_entry(directory, mail)
        changes = {**_profile_changes(mail, values), **password}
        changes.update(_set_changes(directory, entry, mail, values))
        reserved: dict[str, int] = {}
        if "quota" in values:
            old_bytes = counters.parse_counter(entry.first("mailQuota")) or 0
            plan = quota_change_plan(values["quota"], old_bytes)
            reserved = counters.adjust(directory, domain, (counters.QUOTA,), plan)
            changes.update(_quota_changes(entry, values["quota"]))
        try:
            directory.modify(entry.dn, changes)
            break
        except BaseException as exc:
            counters.release(directory, domain, reserved)
            if not isinstance(exc, StaleValue) or attempt == RETRIES - 1:
                raise
    return get_user(directory, mail)
