"""What a non-global admin may reach: its domains, other admins' accounts, its creation caps.

Creation caps (iRedAdmin-Pro `create_max_*` on the admin entry) count what exists
in *all* the admin's domains. Counting and then creating is a race: two parallel
requests both count N-1 and both create the Nth. So a capped admin's creations
are serialised by a lock kept in its own entry, `accountSetting:
createLock:<expiry>:<token>`, taken by compare-and-swap:

1. Read the entry. A live lock means wait; an expired one may be taken over.
2. One modify deletes the exact expired value (if any) and adds ours. If another
   writer changed it meanwhile the delete fails (StaleValue) and we start over.
3. Re-read: we hold the lock only if ours is the sole createLock value; otherwise
   (two adds crossed) we withdraw ours and start over. A later adder always sees
   the earlier value, so two holders are impossible.

Under the lock the real counts are taken (paged searches over the managed
domains), the cap is checked and the view creates the object; the lock is
released afterwards. A lock outlives a crashed process by at most LOCK_SECONDS.
Objects created by other admins in shared domains are not serialised with this
lock: they are counted, but only each admin's own creations are held to its cap.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ... import errors
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import StaleValue
from ...ldap import attrs as A
from ...ldap import filters as F
from ..domains.view import DOMAIN_VIEW
from ..domains.view import domain_from_entry
from ..settings import setting_int
from ..settings import setting_value
from ..settings import settings_of
from ..units import MB
from ..units import UNITS_IN_MB
from .login import SETTING
from .login import managed_domains

log = logging.getLogger(__name__)

LOCK = "createLock"
LOCK_SECONDS = 120
WAIT_SECONDS = 15.0
CAPS = {
    "domains": "create_max_domains",
    "users": "create_max_users",
    "aliases": "create_max_aliases",
    "lists": "create_max_lists",
}
QUOTA_CAP = "create_max_quota"
QUOTA_UNIT = "create_quota_unit"
NO_ATTRIBUTES = ["1.1"]


def manages_domain(directory: Directory, mail: str, domain: str) -> bool:
    """Tell whether the domain's entry names the admin in domainAdmin."""
    entry = directory.get(directory.dn.domain(domain.lower()), ["domainAdmin"])
    return entry is not None and entry.has("domainAdmin", mail)


def is_admin_account(directory: Directory, mail: str) -> bool:
    """Tell whether a mail user is an admin (domainadmin service or global admin)."""
    entry = directory.get(directory.dn.user(mail), ["enabledService", "domainGlobalAdmin"])
    if entry is None:
        return False
    return entry.has("enabledService", "domainadmin") or entry.has("domainGlobalAdmin", "yes")


def domain_has_other_admins(directory: Directory, domain: str, mail: str) -> bool:
    """Tell whether a domain holds admin mail users other than `mail`."""
    search_filter = F.and_(
        F.object_class(A.OC_USER),
        F.or_(F.eq("enabledService", "domainadmin"), F.eq("domainGlobalAdmin", "yes")),
        F.not_(F.eq("mail", mail)),
    )
    return (
        directory.search_one(directory.dn.users(domain), search_filter, NO_ATTRIBUTES, "one")
        is not None
    )


def managed_domain_filter(mail: str, disabled_only: bool = False) -> str:
    """Return the filter of the domains an admin manages."""
    parts = [F.object_class(A.OC_DOMAIN), F.eq("domainAdmin", mail)]
    if disabled_only:
        parts.append(F.eq("accountStatus", A.STATUS_DISABLED))
    return F.and_(*parts)


def list_managed_domains(
    directory: Directory,
    mail: str,
    offset: int,
    limit: int,
    disabled_only: bool = False,
    name_only: bool = False,
) -> tuple[list[Any], int]:
    """Return one page of the domains an admin manages (directory order) and the total."""
    attributes = ["domainName"] if name_only else DOMAIN_VIEW.attributes
    entries, total = directory.window(
        directory.dn.domains,
        managed_domain_filter(mail, disabled_only),
        attributes,
        "one",
        offset,
        limit,
    )
    if name_only:
        return [e.first("domainName") for e in entries], total
    return [domain_from_entry(e) for e in entries], total


def add_domain_admin(directory: Directory, domain: str, mail: str) -> None:
    """Add `domainAdmin: <mail>` to a domain (nothing when it is there already)."""
    try:
        directory.modify(directory.dn.domain(domain), {"domainAdmin": ("add", [mail])})
    except StaleValue:
        return


def remove_domain_admin(directory: Directory, domain: str, mail: str) -> None:
    """Remove `domainAdmin: <mail>` from a domain (nothing when it is gone already)."""
    try:
        directory.modify(directory.dn.domain(domain), {"domainAdmin": ("delete", [mail])})
    except (StaleValue, errors.NotFound):
        return


def missing_domains(directory: Directory, domains: list[str]) -> list[str]:
    """Return the names among `domains` that are not hosted here."""
    return [d for d in domains if not directory.exists(directory.dn.domain(d))]


def set_managed_domains(directory: Directory, mail: str, values: dict[str, Any]) -> None:
    """Apply the domains / addDomain / removeDomain triad as domainAdmin values on the domains."""
    current = set(managed_domains(directory, mail))
    if "domains" in values:
        wanted = set(values["domains"])
    else:
        wanted = (current | set(values.get("addDomain", []))) - set(values.get("removeDomain", []))
    added = sorted(wanted - current)
    unknown = missing_domains(directory, added)
    if unknown:
        field = "domains" if "domains" in values else "addDomain"
        raise errors.ValidationFailed(
            f"No such domain: {', '.join(unknown)}.",
            code="NO_SUCH_DOMAIN",
            errors={field: [f"Not hosted here: {', '.join(unknown)}."]},
        )
    for domain in added:
        add_domain_admin(directory, domain, mail)
    for domain in sorted(current - wanted):
        remove_domain_admin(directory, domain, mail)


def drop_from_all_domains(directory: Directory, mail: str) -> int:
    """Remove an admin from every domain it manages; return how many."""
    domains = managed_domains(directory, mail)
    for domain in domains:
        remove_domain_admin(directory, domain, mail)
    return len(domains)


# -- caps ------------------------------------------------------------------------


def quota_cap_bytes(entry: Entry) -> int:
    """Return the admin's create_max_quota in bytes (0 = none; create_quota_unit, default MB)."""
    amount = setting_int(entry, QUOTA_CAP)
    unit = (setting_value(entry, QUOTA_UNIT) or "MB").upper()
    return max(amount, 0) * UNITS_IN_MB.get(unit, 1) * MB


def _count(directory: Directory, domains: list[str], kind: str) -> int:
    total = 0
    for domain in domains:
        if kind == "domains":
            total += 1
        elif kind == "users":
            user_filter = F.and_(F.object_class(A.OC_USER), F.not_(F.eq("mail", f"@{domain}")))
            total += directory.count(directory.dn.users(domain), user_filter, "one")
        elif kind == "aliases":
            total += directory.count(
                directory.dn.aliases(domain), F.object_class(A.OC_ALIAS), "one"
            )
        elif kind == "lists":
            total += directory.count(directory.dn.groups(domain), F.object_class(A.OC_LIST), "one")
    return total


def used_quota_bytes(directory: Directory, domains: list[str]) -> int:
    """Sum the mailQuota (bytes) of every user in the domains; unlimited users count 0."""
    total = 0
    for domain in domains:
        user_filter = F.and_(F.object_class(A.OC_USER), F.present("mailQuota"))
        for entry in directory.search(
            directory.dn.users(domain), user_filter, ["mailQuota"], "one"
        ):
            try:
                total += max(int(entry.first("mailQuota") or 0), 0)
            except ValueError:
                continue
    return total


def _check_count(directory: Directory, entry: Entry, domains: list[str], kind: str) -> None:
    cap = setting_int(entry, CAPS[kind])
    if cap == 0:
        return
    code = f"EXCEEDED_MAX_{kind.upper()}"
    if cap < 0:
        raise errors.Forbidden(f"This admin may not create {kind}.", code=code)
    current = _count(directory, domains, kind)
    if current >= cap:
        raise errors.Forbidden(
            f"This admin's domains hold {current} {kind}; its limit is {cap}.", code=code
        )


def _requested_quota_bytes(directory: Directory, domain: str | None, values: dict[str, Any]) -> int:
    """Return the quota a new user will get: the request's, else the domain's default (bytes)."""
    quota = values.get("quota")
    if isinstance(quota, int) and quota > 0:
        return quota * MB
    if domain is None:
        return 0
    domain_entry = directory.get(directory.dn.domain(domain), [SETTING])
    settings = settings_of(domain_entry) if domain_entry is not None else {}
    return (
        max(settings.get("defaultQuota", 0), 0) * MB or max(settings.get("maxUserQuota", 0), 0) * MB
    )


def _check_quota(
    directory: Directory, entry: Entry, domains: list[str], new_bytes: int, old_bytes: int
) -> None:
    cap = quota_cap_bytes(entry)
    if cap == 0:
        return
    if new_bytes <= 0:
        raise errors.Forbidden(
            "This admin's quota limit needs a mailbox quota; unlimited is not allowed.",
            code="EXCEEDED_MAX_QUOTA",
            errors={"quota": ["Give a quota in MB."]},
        )
    used = used_quota_bytes(directory, domains)
    if used - old_bytes + new_bytes > cap:
        spare = max(cap - used + old_bytes, 0)
        raise errors.Forbidden(
            f"This admin's domains have {spare // MB} MB of its quota limit left.",
            code="EXCEEDED_MAX_QUOTA",
            errors={"quota": [f"At most {spare // MB} MB."]},
        )


def _needs_guard(entry: Entry, kind: str, values: dict[str, Any]) -> bool:
    if kind == "user_quota":
        return "quota" in values and quota_cap_bytes(entry) > 0
    if kind == "users" and quota_cap_bytes(entry) > 0:
        return True
    return setting_int(entry, CAPS.get(kind, "")) != 0 if kind in CAPS else False


def _old_quota_bytes(directory: Directory, mail: str | None) -> int:
    if not mail:
        return 0
    entry = directory.get(directory.dn.user(mail.strip().lower()), ["mailQuota"])
    try:
        return int(entry.first("mailQuota") or 0) if entry is not None else 0
    except ValueError:
        return 0


def check_caps(
    directory: Directory, admin: Any, kind: str, view_args: dict[str, Any], values: dict[str, Any]
) -> Entry | None:
    """Raise Forbidden when one more object of `kind` breaks the admin's caps; return its entry."""
    entry = directory.get(admin.dn, [SETTING])
    if entry is None or not _needs_guard(entry, kind, values):
        return None
    domains = managed_domains(directory, admin.mail)
    mail = view_args.get("mail") if isinstance(view_args.get("mail"), str) else None
    domain = view_args.get("domain") or (mail.rpartition("@")[2].lower() if mail else None)
    if kind in CAPS:
        _check_count(directory, entry, domains, kind)
    if kind == "users":
        _check_quota(
            directory, entry, domains, _requested_quota_bytes(directory, domain, values), 0
        )
    elif kind == "user_quota":
        new_bytes = int(values["quota"] or 0) * MB
        _check_quota(directory, entry, domains, new_bytes, _old_quota_bytes(directory, mail))
    return entry


@contextmanager
def creation_guard(
    directory: Directory, admin: Any, kind: str, view_args: dict[str, Any], values: dict[str, Any]
) -> Iterator[None]:
    """Check the admin's caps, then hold its create lock, re-check and create (no-op when uncapped)."""
    # The first check refuses without writing anything; the second, under the lock, is the one
    # that holds against parallel requests.
    if check_caps(directory, admin, kind, view_args, values) is None:
        yield
        return
    token = acquire_lock(directory, admin.dn)
    try:
        check_caps(directory, admin, kind, view_args, values)
        yield
    finally:
        release_lock(directory, admin.dn, token)


# -- the create lock -------------------------------------------------------------


def _expiry(value: str) -> float:
    try:
        return float(value.split(":")[1])
    except (IndexError, ValueError):
        return 0.0


def acquire_lock(directory: Directory, dn: str) -> str:
    """Take the admin's create lock (see the module docstring); return the value held."""
    deadline = time.monotonic() + WAIT_SECONDS
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        entry = directory.get(dn, [SETTING])
        if entry is None:
            raise errors.Unauthorized("The admin account no longer exists.")
        held = [v for v in entry.all(SETTING) if v.partition(":")[0].lower() == LOCK.lower()]
        now = time.time()
        if any(_expiry(v) > now for v in held):
            _pause(attempt)
            continue
        mine = f"{LOCK}:{int(now) + LOCK_SECONDS}:{secrets.token_hex(8)}"
        steps: list[tuple[str, list[str]]] = [("delete", held)] if held else []
        steps.append(("add", [mine]))
        try:
            directory.modify(dn, {SETTING: steps})
        except StaleValue:
            _pause(attempt)
            continue
        after = directory.get(dn, [SETTING])
        held = [
            v
            for v in (after.all(SETTING) if after else [])
            if v.partition(":")[0].lower() == LOCK.lower()
        ]
        if held == [mine]:
            return mine
        release_lock(directory, dn, mine)
        _pause(attempt)
    raise errors.Conflict("This admin is creating other objects right now; try again.")


def release_lock(directory: Directory, dn: str, value: str) -> None:
    """Drop a lock value we hold; never raises."""
    try:
        directory.modify(dn, {SETTING: ("delete", [value])})
    except (errors.NotFound, StaleValue):
        return
    except errors.ApiError as exc:
        log.warning("Could not release the create lock of %s: %s", dn, exc.code)


def _pause(attempt: int) -> None:
    time.sleep(random.uniform(0.002, 0.01 * min(attempt, 10)))
