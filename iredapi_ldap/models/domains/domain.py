"""Mail domains: read, list, create, change the entry, enable/disable, and the subtree to delete."""

from __future__ import annotations

from typing import Any

from ... import errors
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import attrs as A
from ...ldap import filters as F
from ...ldap import retry_on_stale
from .. import counters
from ..counter_queue import flush_pending
from ..counter_queue import recount_domain
from ..members import get_domain_entry
from ..settings import setting_changes
from ..settings import settings_of
from .alias_domains import alias_domain_changes
from .catchall import get_catchall
from .view import DOMAIN_VIEW
from .view import SETTING_FIELDS
from .view import domain_from_entry

# API toggle pair -> accountSetting multi-value key.
PROFILE_TOGGLES = {
    ("disableDomainProfile", "enableDomainProfile"): "disabledDomainProfile",
    ("disableUserProfile", "enableUserProfile"): "disabledUserProfile",
    ("disableUserPreference", "enableUserPreference"): "disabledUserPreference",
}
# API field of a limit -> the counter it guards.
LIMITED_COUNTERS = {
    "numberOfUsers": counters.USERS,
    "quota": counters.QUOTA,
    "numberOfAliases": counters.ALIASES,
    "numberOfLists": counters.LISTS,
}
DOMAIN_FILTER = F.object_class(A.OC_DOMAIN)
RETRIES = 3


def get_domain(directory: Directory, domain: str) -> dict[str, Any]:
    """Return one domain's profile, with its catch-all targets."""
    flush_pending(directory, [domain])
    profile = domain_from_entry(get_domain_entry(directory, domain))
    profile["catchall"] = get_catchall(directory, domain)
    return profile


def list_domains(
    directory: Directory,
    offset: int,
    limit: int,
    disabled_only: bool = False,
    name_only: bool = False,
) -> tuple[list[Any], int]:
    """Return one page of domains (in directory order) and the total."""
    parts = [DOMAIN_FILTER]
    if disabled_only:
        parts.append(F.eq("accountStatus", A.STATUS_DISABLED))
    attributes = ["domainName"] if name_only else DOMAIN_VIEW.attributes
    if not name_only:
        flush_pending(directory)
    entries, total = directory.window(
        directory.dn.domains, F.and_(*parts), attributes, "one", offset, limit
    )
    if name_only:
        return [e.first("domainName") for e in entries], total
    return [domain_from_entry(e) for e in entries], total


def _backupmx_attrs(
    values: dict[str, Any], default_transport: str, domain: str, was_backup: bool = False
) -> dict:
    """Return domainBackupMX/mtaTransport for the is_backupmx/primarymx/transport fields."""
    backup = values.get("is_backupmx")
    primary = values.get("primarymx")
    if primary and not backup:
        raise errors.ValidationFailed(
            "primarymx needs is_backupmx=yes.", errors={"primarymx": ["Needs is_backupmx=yes."]}
        )
    if backup and values.get("transport"):
        raise errors.ValidationFailed(
            "transport conflicts with is_backupmx=yes; give primarymx instead.",
            errors={"transport": ["Conflicts with is_backupmx=yes."]},
        )
    if backup:
        # Without a primary MX, Postfix looks up the domain's MX and skips itself.
        return {"domainBackupMX": "yes", "mtaTransport": f"relay:{primary or domain}"}
    if backup is False:
        if values.get("transport"):
            return {"domainBackupMX": None, "mtaTransport": values["transport"]}
        if was_backup:
            # Leaving backup MX: the relay transport must go, the default takes over.
            return {"domainBackupMX": None, "mtaTransport": default_transport}
        return {"domainBackupMX": None}
    return {}


def create_domain(
    directory: Directory, domain: str, values: dict[str, Any], config: dict[str, Any]
) -> dict[str, Any]:
    """Create a domain entry and its four containers, as iRedAdmin does."""
    clash = directory.search_one(
        directory.dn.domains,
        F.and_(DOMAIN_FILTER, F.or_(F.eq("domainName", domain), F.eq("domainAliasName", domain))),
        ["domainName"],
        scope="one",
    )
    if clash is not None:
        raise errors.AlreadyExists(f"Domain {domain} exists already (or is an alias domain).")
    services = ["mail", *config["ADDITIONAL_ENABLED_DOMAIN_SERVICES"].replace(",", " ").split()]
    for name in values.get("services", []):
        if name not in services:
            services.append(name)
    attributes: dict[str, Any] = {
        "objectClass": [A.OC_DOMAIN],
        "domainName": domain,
        "mtaTransport": values.get("transport") or config["DEFAULT_MTA_TRANSPORT"],
        "accountStatus": values.get("accountStatus", A.STATUS_ACTIVE),
        "cn": values.get("name"),
        "senderRelayHost": values.get("outboundRelay"),
    }
    for field, attribute, service in BCC_FIELDS:
        if values.get(field):
            attributes[attribute] = values[field]
            if service not in services:
                services.append(service)
    attributes["enabledService"] = services
    backup = _backupmx_attrs(values, config["DEFAULT_MTA_TRANSPORT"], domain)
    attributes.update({k: v for k, v in backup.items() if v})
    settings = _settings_from(values)
    attributes["accountSetting"] = [
        f"{key}:{value}" for key, value in settings.items() if value not in (None, "", [])
    ] + [f"{key}:{item}" for key, items in _profile_settings(values).items() for item in items]
    dn = directory.dn.domain(domain)
    directory.add(dn, attributes)
    try:
        for ou in A.DOMAIN_OUS:
            directory.add(directory.dn.ou(domain, ou), {"objectClass": [A.OC_OU], "ou": ou})
    except Exception:
        directory.delete_tree(dn)
        raise
    return get_domain(directory, domain)


BCC_FIELDS = (
    ("senderBcc", "domainSenderBccAddress", "senderbcc"),
    ("recipientBcc", "domainRecipientBccAddress", "recipientbcc"),
)


def _settings_from(values: dict[str, Any]) -> dict[str, Any]:
    """Return the accountSetting keys the request sets (None = remove)."""
    settings: dict[str, Any] = {}
    for field, key in SETTING_FIELDS.items():
        if field in values:
            settings[key] = values[field] if values[field] != 0 else None
    if "quota" in values:
        settings["domainQuota"] = f"{values['quota']}:MB" if values["quota"] else None
    if "language" in values:
        settings["defaultLanguage"] = values["language"] or None
    return settings


def _profile_settings(values: dict[str, Any], current: dict[str, Any] | None = None) -> dict:
    """Apply the disable*/enable* toggles to the current multi-value settings."""
    result: dict[str, list[str]] = {}
    for (disable, enable), key in PROFILE_TOGGLES.items():
        if disable not in values and enable not in values:
            continue
        items = list((current or {}).get(key, []))
        for item in values.get(disable, []):
            if item not in items:
                items.append(item)
        items = [item for item in items if item not in values.get(enable, [])]
        result[key] = items
    return result


def modify_domain(
    directory: Directory, domain: str, values: dict[str, Any], config: dict[str, Any]
) -> Entry:
    """Modify the domain entry once (retried after a concurrent change); return it as it was."""

    def attempt() -> Entry:
        entry = get_domain_entry(directory, domain)
        changes = _update_changes(entry, values, config, domain)
        changes.update(alias_domain_changes(entry, values, changes))
        directory.modify(entry.dn, changes)
        return entry

    return retry_on_stale(attempt, RETRIES)


def recount_for_limits(directory: Directory, domain: str, values: dict[str, Any]) -> None:
    """Re-count the domain when this update sets or changes a limit its counters decide."""
    # Counters no limit guarded were caches written behind, and any may have drifted
    # (a killed worker, iRedAdmin adding users without the quota): the limit starts true.
    guarded = [counter for field, counter in LIMITED_COUNTERS.items() if values.get(field)]
    if guarded:
        recount_domain(directory, domain, create=guarded)


def _update_changes(
    entry: Entry, values: dict[str, Any], config: dict[str, Any], domain: str
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "name" in values:
        changes["cn"] = ("replace", values["name"] or [])
    if "accountStatus" in values:
        changes["accountStatus"] = ("replace", values["accountStatus"])
    if "transport" in values and "is_backupmx" not in values:
        if (entry.first("domainBackupMX") or "").lower() == "yes":
            raise errors.ValidationFailed(
                "transport conflicts with a backup MX domain; set is_backupmx=no first.",
                errors={"transport": ["Conflicts with is_backupmx=yes."]},
            )
        changes["mtaTransport"] = (
            "replace",
            values["transport"] or config["DEFAULT_MTA_TRANSPORT"],
        )
    if "outboundRelay" in values:
        changes["senderRelayHost"] = ("replace", values["outboundRelay"] or [])
    was_backup = (entry.first("domainBackupMX") or "").lower() == "yes"
    backup = _backupmx_attrs(values, config["DEFAULT_MTA_TRANSPORT"], domain, was_backup)
    for name, value in backup.items():
        changes[name] = ("replace", value or [])

    services = list(entry.all("enabledService"))
    if "services" in values:
        services = list(values["services"])
    services += [s for s in values.get("addService", []) if s not in services]
    services = [s for s in services if s not in values.get("removeService", [])]
    for field, attribute, service in BCC_FIELDS:
        if field in values:
            changes[attribute] = ("replace", values[field] or [])
            if values[field] and service not in services:
                services.append(service)
            elif not values[field]:
                services = [s for s in services if s != service]
    if services != entry.all("enabledService"):
        changes["enabledService"] = ("replace", services)

    _check_password_lengths(entry, values)
    settings = _settings_from(values)
    settings.update(_profile_settings(values, settings_of(entry)))
    steps = setting_changes(entry, settings)
    if steps:
        changes["accountSetting"] = steps
    return changes


def _check_password_lengths(entry: Entry, values: dict[str, Any]) -> None:
    """Refuse a minimum above the maximum, counting the values already stored."""
    stored = settings_of(entry)
    low = values.get("minPasswordLength", stored.get("minPasswordLength", 0))
    high = values.get("maxPasswordLength", stored.get("maxPasswordLength", 0))
    if low and high and low > high:
        field = "minPasswordLength" if "minPasswordLength" in values else "maxPasswordLength"
        raise errors.ValidationFailed(
            f"minPasswordLength ({low}) must not exceed maxPasswordLength ({high}).",
            errors={field: [f"minPasswordLength {low} > maxPasswordLength {high}."]},
        )


def set_accounts_domain_status(directory: Directory, domain: str, status: str) -> int:
    """Mark every account of a domain `domainStatus: disabled`, or clear it; return count."""
    classes = F.or_(*(F.object_class(oc) for oc in A.DOMAIN_STATUS_CLASSES))
    marked = F.eq("domainStatus", A.STATUS_DISABLED)
    if status == A.STATUS_DISABLED:
        search_filter, change = F.and_(classes, F.not_(marked)), ("replace", A.STATUS_DISABLED)
    else:
        search_filter, change = F.and_(classes, F.present("domainStatus")), ("replace", [])
    # Collect first: modifying entries while a paged search runs over them is unsafe.
    dns = [e.dn for e in directory.search(directory.dn.domain(domain), search_filter, ["1.1"])]
    for dn in dns:
        directory.modify_ignoring_missing(dn, {"domainStatus": change})
    return len(dns)


def more_entries_than(directory: Directory, domain: str, limit: int) -> bool:
    """Tell whether a domain's subtree holds more than `limit` entries (reads at most limit+1 DNs)."""
    dn = get_domain_entry(directory, domain).dn
    return len(directory.first(dn, F.everything(), ["1.1"], "sub", limit + 1)) > limit


def subtree_dns(directory: Directory, domain: str) -> list[str]:
    """Return the DNs of a domain's entry and everything below it (NoSuchDomain if none)."""
    dn = get_domain_entry(directory, domain).dn
    return [entry.dn for entry in directory.search(dn, F.everything(), ["1.1"])]
