"""Create a mail user with exactly the attributes iRedAdmin writes (model 3.3)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ... import errors
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import attrs as A
from ...ldap import domain_of
from ...ldap import filters as F
from ...ldap.txn import Transaction
from .. import counters
from ..admins.login import days_since_epoch
from ..counted_changes import add_counted
from ..domains.domain import get_domain_entry
from ..settings import settings_of
from .limits import creation_plan
from .limits import unchecked_counters
from .maildir import home_directory
from .maildir import storage_base_of
from .user import ACCOUNT_CLASSES
from .user import NORMAL_USER_SERVICES
from .user import canonical_service
from .user import local_part
from .user import password_policy_of
from .user import password_values
from .view import user_from_entry


def user_services(config: dict[str, Any]) -> list[str]:
    """Return a normal user's enabledService values plus the configured extra ones."""
    return list(_services(config["ADDITIONAL_ENABLED_USER_SERVICES"]))


@lru_cache(maxsize=8)
def _services(additional: str) -> tuple[str, ...]:
    extra = additional.replace(",", " ").split()
    services: list[str] = []
    seen: set[str] = set()
    for name in (*NORMAL_USER_SERVICES, *extra):
        name = canonical_service(name)
        if name.lower() not in seen:
            seen.add(name.lower())
            services.append(name)
    return tuple(services)


def _language(values: dict[str, Any], domain_entry: Entry, config: dict[str, Any]) -> str:
    return (
        values.get("language")
        or settings_of(domain_entry).get("defaultLanguage")
        or config["DEFAULT_LANGUAGE"]
    )


def new_user_attributes(
    mail: str, values: dict[str, Any], domain_entry: Entry, config: dict[str, Any]
) -> dict[str, Any]:
    """Return the new entry's attributes (all but mailQuota, which the reservation decides)."""
    local = local_part(mail)
    alias_domains = [d.lower() for d in domain_entry.all("domainAliasName")]
    domain_active = (domain_entry.first("accountStatus") or "").lower() == A.STATUS_ACTIVE
    maildir = values.get("maildir") or home_directory(mail, config, storage_base_of(domain_entry))
    return {
        "objectClass": list(A.USER_OBJECT_CLASSES),
        "mail": mail,
        "uid": local,
        "sn": local,
        "cn": values.get("name") or local,
        "userPassword": password_values(values, password_policy_of(domain_entry, config), config),
        "homeDirectory": maildir,
        "accountStatus": values.get("accountStatus") or A.STATUS_ACTIVE,
        "enabledService": user_services(config),
        "preferredLanguage": _language(values, domain_entry, config),
        "shadowLastChange": days_since_epoch(),
        "amavisLocal": "TRUE",
        "mailboxFormat": values.get("mailboxFormat") or config["MAILBOX_FORMAT"],
        "mailboxFolder": values.get("mailboxFolder") or config["MAILBOX_FOLDER"],
        "domainStatus": None if domain_active else A.STATUS_DISABLED,
        "shadowAddress": [f"{local}@{d}" for d in alias_domains],
    }


TAKEN_BY_CLASSES = frozenset(oc.lower() for oc in (*ACCOUNT_CLASSES, A.OC_ADMIN))


def addresses_taken(directory: Directory, addresses: list[str]) -> list[str]:
    """Return which addresses a user, alias, list or standalone admin already uses (one search).

    One indexed equality search from the suffix covers o=domains and
    o=domainAdmins; the entry classes are checked here, which keeps the filter
    simple for slapd (cheaper than an AND/OR of object classes).
    """
    wanted = sorted({a.lower() for a in addresses})
    search_filter = F.or_(F.any_of("mail", wanted), F.any_of("shadowAddress", wanted))
    used: set[str] = set()
    for entry in directory.search(
        directory.dn.suffix, search_filter, ["objectClass", "mail", "shadowAddress"]
    ):
        if TAKEN_BY_CLASSES.isdisjoint(oc.lower() for oc in entry.all("objectClass")):
            continue  # e.g. a legacy list's external member (mailExternalUser)
        used |= {v.lower() for v in entry.all("mail") + entry.all("shadowAddress")} & set(wanted)
    return sorted(used)


def create_user(
    directory: Directory, mail: str, values: dict[str, Any], config: dict[str, Any]
) -> dict[str, Any]:
    """Create a user after reserving its place and quota in the domain's counters.

    LDAP work: read the domain, one search for address clashes, and the add.
    When no limit guards the domain's counters their change is written behind
    (counter_queue); otherwise it is a reservation made before the add (one
    transaction with [ldap] transactions). The answer is built from what was
    written, not read back.
    """
    domain = domain_of(mail)
    domain_entry = get_domain_entry(directory, domain)
    attributes = new_user_attributes(mail, values, domain_entry, config)
    taken = addresses_taken(directory, [mail, *attributes["shadowAddress"]])
    if taken:
        raise errors.AlreadyExists(
            f"Address already used by another account: {', '.join(taken)}.",
            errors={"mail": [f"Already used: {', '.join(taken)}."]},
        )
    outcome: dict[str, int] = {}
    dn = directory.dn.user(mail)
    plan = creation_plan(values.get("quota") or 0, outcome)

    def add(txn: Transaction | None) -> None:
        attributes["mailQuota"] = outcome["quota"] or None
        directory.add(dn, attributes, txn=txn)

    add_counted(directory, domain, domain_entry, counters.COUNTERS, plan, add,
                free=unchecked_counters(domain_entry).issuperset(counters.COUNTERS),
                unchecked=unchecked_counters, transactions=config["LDAP_TRANSACTIONS"])  # fmt: skip
    return user_from_entry(written_entry(dn, attributes))


def written_entry(dn: str, attributes: dict[str, Any]) -> Entry:
    """Return the entry an add of `attributes` stored (empty values are left out)."""
    stored: dict[str, list[str]] = {}
    for name, value in attributes.items():
        items = value if isinstance(value, (list, tuple)) else [value]
        items = [str(item) for item in items if item is not None and str(item) != ""]
        if items:
            stored[name.lower()] = items
    return Entry(dn, stored)
