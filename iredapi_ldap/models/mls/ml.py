"""Subscribable (mlmmj) lists: the LDAP entry mlmmjadmin's bk_iredmail_ldap writes, plus the
list directory on the mail host (settings in control files, subscribers via mlmmj's tools).

The entry (model 3.5a) makes Postfix route the address to mlmmj: `mtaTransport
mlmmj:<domain>/<listname>` and `enabledService mlmmj`. Everything else about the
list lives in its directory. Creating and deleting a list (both sides, in which
order, what is undone) are use cases in `services/mls.py`; this module gives
them their steps.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ... import errors
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import attrs as A
from ...ldap import domain_of
from ...ldap import filters as F
from ...mailhost import Mlmmj
from .. import counted_changes
from .. import counters
from ..domains.domain import get_domain_entry
from ..maillists.members import forget_group_account
from ..settings import settings_of
from ..users.user import addresses_in_use
from ..users.user import local_part
from .settings import CREATE_DEFAULTS
from .settings import apply_controls
from .settings import bad
from .settings import control_writes
from .settings import ldap_roles
from .settings import posting_rules
from .settings import settings_view
from .view import ML_VIEW
from .view import list_view

log = logging.getLogger(__name__)

SERVICE = "mlmmj"
SERVICES = ("mail", "deliver", SERVICE)
LIST_FILTER = F.and_(F.object_class(A.OC_LIST), F.eq("enabledService", SERVICE))
ACCOUNT_LIMIT = "EXCEEDED_DOMAIN_ML_LIMIT"
MLID_ATTEMPTS = 20
POSTING_FLAGS = ("only_subscriber_can_post", "only_moderator_can_post")
SUBSCRIBER_FIELDS = ("subscribers", "add_subscribers", "remove_subscribers")
READ_ATTRIBUTES = ML_VIEW.attributes


# -- reading ---------------------------------------------------------------------------


def get_list_entry(directory: Directory, mail: str) -> Entry:
    """Return an mlmmj list's entry or raise NotFound (an old-style list is not one)."""
    entry = directory.get(directory.dn.maillist(mail), READ_ATTRIBUTES)
    if entry is None or not entry.has("objectClass", A.OC_LIST):
        raise errors.NotFound(f"No such mailing list: {mail}.")
    if not entry.has("enabledService", SERVICE):
        raise errors.NotFound(f"{mail} is an old-style list; use /api/maillist/{mail}.")
    return entry


def get_list(directory: Directory, mlmmj: Mlmmj, mail: str, with_subscribers: bool) -> dict:
    """Return one mlmmj list's profile (and subscribers when asked)."""
    return list_view(get_list_entry(directory, mail), mlmmj, with_subscribers)


def list_lists(
    directory: Directory, mlmmj: Mlmmj, domain: str, offset: int, limit: int, email_only: bool
) -> tuple[list[Any], int]:
    """Return one page of a domain's mlmmj lists (in directory order) and the total."""
    get_domain_entry(directory, domain)
    attributes = ["mail"] if email_only else READ_ATTRIBUTES
    entries, total = directory.window(
        directory.dn.groups(domain), LIST_FILTER, attributes, "one", offset, limit
    )
    if email_only:
        return [(e.first("mail") or "").lower() for e in entries], total
    return [list_view(e, mlmmj) for e in entries], total


# -- checks and helpers ----------------------------------------------------------------


def check_subscribers(values: dict[str, Any], own: set[str]) -> None:
    """Refuse the list's own addresses as subscribers (400 naming the field)."""
    for field in ("subscribers", "add_subscribers"):
        looped = sorted(set(values.get(field, [])) & own)
        if looped:
            raise bad(field, f"A list cannot subscribe its own address: {', '.join(looped)}.")


def mailing_list_id(directory: Directory) -> str:
    """Return a fresh UUID4 no mlmmj list on the server uses yet (mlmmjadmin __get_new_mlid)."""
    for _attempt in range(MLID_ATTEMPTS):
        candidate = str(uuid.uuid4())
        found = directory.search_one(
            directory.dn.domains, F.and_(F.object_class(A.OC_LIST), F.eq("mailingListID", candidate)),
            ["1.1"],
        )  # fmt: skip
        if found is None:
            return candidate
    raise errors.Conflict("Could not find an unused mailingListID; try again.")


def list_count_plan(entry: Entry, values: dict[str, int]) -> dict[str, int]:
    """Reserve one list within numberOfLists (0 unlimited, -1 none allowed)."""
    limit = settings_of(entry).get("numberOfLists", 0)
    if limit == -1:
        raise errors.Forbidden("This domain may not have mailing lists.", code=ACCOUNT_LIMIT)
    if limit > 0 and values[counters.LISTS] >= limit:
        raise errors.Forbidden(
            f"The domain has reached its limit of {limit} mailing lists.", code=ACCOUNT_LIMIT
        )
    return {counters.LISTS: 1}


def _taken(directory: Directory, addresses: list[str]) -> None:
    taken = addresses_in_use(directory, addresses)
    if taken:
        raise errors.AlreadyExists(
            f"Address already used by another account: {', '.join(taken)}.",
            errors={"mail": [f"Already used: {', '.join(taken)}."]},
        )


def _size_of(values: dict[str, Any]) -> int | None:
    return values.get("max_message_size", values.get("maxMailSize"))


def _subscription(values: dict[str, Any]) -> tuple[str, bool]:
    return values.get("subscription", "normal"), values.get("require_confirm", True)


# -- create ----------------------------------------------------------------------------


def new_list_attributes(
    mail: str, values: dict[str, Any], domain_entry: Entry, policy: str, mlid: str, transport: str
) -> dict[str, Any]:
    """Return the new entry's attributes, as mlmmjadmin's bk_iredmail_ldap __ldif_ml writes them."""
    listname, domain = local_part(mail), domain_of(mail)
    domain_active = (domain_entry.first("accountStatus") or "").lower() == A.STATUS_ACTIVE
    size = _size_of(values)
    owners = values.get("owner") or [f"postmaster@{domain}"]
    moderators = values.get("moderators", [f"postmaster@{domain}"])
    return {
        "objectClass": [A.OC_LIST],
        "mail": mail,
        "mtaTransport": f"{transport}:{domain}/{listname}",
        "mailingListID": mlid,
        "accountStatus": values.get("accountStatus") or A.STATUS_ACTIVE,
        "enabledService": list(SERVICES),
        "cn": values.get("name") or None,
        "accessPolicy": policy,
        "maxMessageSize": str(size) if size else None,
        "shadowAddress": [f"{listname}@{d.lower()}" for d in domain_entry.all("domainAliasName")],
        "domainStatus": None if domain_active else A.STATUS_DISABLED,
        "description": values.get("newsletter_description") or None,
        **ldap_roles(owners, moderators),
    }


@dataclass(frozen=True)
class NewList:
    """A list a request may create: its values with the defaults, domain, access policy, controls."""

    mail: str
    values: dict[str, Any]
    domain_entry: Entry
    policy: str
    writes: list[tuple[str, str, Any]]


def plan_list(directory: Directory, mail: str, values: dict[str, Any]) -> NewList:
    """Check a new list (domain, free addresses, subscribers, settings); write nothing."""
    domain_entry = get_domain_entry(directory, domain_of(mail))
    # The two posting flags come from posting_rules, which starts from their defaults.
    defaults = {k: v for k, v in CREATE_DEFAULTS.items() if k not in POSTING_FLAGS}
    values = {**defaults, **values}
    policy, subscribers_only, moderators_only = posting_rules(
        values, "public", CREATE_DEFAULTS[POSTING_FLAGS[0]], CREATE_DEFAULTS[POSTING_FLAGS[1]]
    )
    aliases = [f"{local_part(mail)}@{d.lower()}" for d in domain_entry.all("domainAliasName")]
    _taken(directory, [mail, *aliases])
    check_subscribers(values, {mail, *aliases, *values.get("extra_addresses", [])})
    writes = control_writes(mail, values, (subscribers_only, moderators_only), creating=True)
    return NewList(mail, values, domain_entry, policy, writes)


def new_list_entry(directory: Directory, new: NewList, config: dict[str, Any]) -> dict[str, Any]:
    """Return the attributes of a planned list's entry, with a fresh mailingListID."""
    return new_list_attributes(
        new.mail,
        new.values,
        new.domain_entry,
        new.policy,
        mailing_list_id(directory),
        config["MLMMJ_TRANSPORT_NAME"],
    )


def fill_list_directory(mlmmj: Mlmmj, new: NewList) -> None:
    """Write a new list's control files and first subscribers into its created directory."""
    apply_controls(mlmmj, new.mail, new.writes, new.values)
    if new.values.get("subscribers"):
        version, confirm = _subscription(new.values)
        mlmmj.subscribe(new.mail, new.values["subscribers"], version, confirm)


def add_list_entry(directory: Directory, new: NewList, attributes: dict[str, Any]) -> None:
    """Add a planned list's entry (Postfix delivers to the list from then on)."""
    directory.add(directory.dn.maillist(new.mail), attributes)


def add_counted(directory: Directory, new: NewList, add: Callable[[], None]) -> None:
    """Run `add` within the domain's numberOfLists: reserved first when limited, else counted."""
    counted_changes.add_one_counted(directory, domain_of(new.mail), new.domain_entry, counters.LISTS,
                                    "numberOfLists", list_count_plan, add)  # fmt: skip


# -- update ----------------------------------------------------------------------------


def _ldap_changes(
    entry: Entry, values: dict[str, Any], policy: str | None, roles: dict | None
) -> dict:
    changes: dict[str, Any] = {}
    if "name" in values:
        changes["cn"] = ("replace", values["name"] or [])
    if "accountStatus" in values:
        changes["accountStatus"] = ("replace", values["accountStatus"])
    if policy is not None and policy != (entry.first("accessPolicy") or "").lower():
        changes["accessPolicy"] = ("replace", policy)
    size = _size_of(values)
    if size is not None:
        changes["maxMessageSize"] = ("replace", str(size) if size else [])
    if "newsletter_description" in values:
        changes["description"] = ("replace", values["newsletter_description"] or [])
    for attribute, addresses in (roles or {}).items():
        changes[attribute] = ("replace", addresses)
    return changes


def _update_subscribers(mlmmj: Mlmmj, mail: str, values: dict[str, Any]) -> None:
    """Apply subscribers (replace) or add_subscribers/remove_subscribers."""
    if not set(SUBSCRIBER_FIELDS) & values.keys():
        return
    version, confirm = _subscription(values)
    current = mlmmj.subscribers(mail)
    everyone = {a for addresses in current.values() for a in addresses}
    if "subscribers" in values:
        wanted = values["subscribers"]
        mlmmj.unsubscribe(mail, sorted(everyone - set(wanted)))
        adding = wanted
    else:
        mlmmj.unsubscribe(mail, [a for a in values.get("remove_subscribers", []) if a in everyone])
        adding = values.get("add_subscribers", [])
    mlmmj.subscribe(mail, [a for a in adding if a not in current[version]], version, confirm)


def update_list(
    directory: Directory, mlmmj: Mlmmj, mail: str, values: dict[str, Any]
) -> dict[str, Any]:
    """Change the entry (one modify), then the control files, then the subscriptions."""
    entry = get_list_entry(directory, mail)
    if not mlmmj.exists(mail):
        raise errors.Conflict(f"The mlmmj directory of {mail} is missing on the mail host.")
    if set(SUBSCRIBER_FIELDS) & values.keys():
        mlmmj.check()  # before the entry is changed
    current = settings_view(mlmmj, mail, True)
    own = {mail, *(a.lower() for a in entry.all("shadowAddress"))}
    check_subscribers(values, own | set(values.get("extra_addresses", current["extra_addresses"])))
    policy, posting = None, None
    if {"accessPolicy", *POSTING_FLAGS} & values.keys():
        policy, subscribers_only, moderators_only = posting_rules(
            values,
            (entry.first("accessPolicy") or "public").lower(),
            current[POSTING_FLAGS[0]],
            current[POSTING_FLAGS[1]],
        )
        posting = (subscribers_only, moderators_only)
    writes = control_writes(mail, values, posting, creating=False)
    roles = None
    if "owner" in values or "moderators" in values:
        owners = values.get("owner", current["owner"]) or [f"postmaster@{domain_of(mail)}"]
        roles = ldap_roles(owners, values.get("moderators", current["moderators"]))
    directory.modify(entry.dn, _ldap_changes(entry, values, policy, roles))
    apply_controls(mlmmj, mail, writes, values)
    _update_subscribers(mlmmj, mail, values)
    return get_list(directory, mlmmj, mail, bool(set(SUBSCRIBER_FIELDS) & values.keys()))


# -- delete ----------------------------------------------------------------------------


def delete_list_entry(directory: Directory, mail: str) -> None:
    """Delete a list's entry and the references to it (its directory is the caller's)."""
    entry = get_list_entry(directory, mail)
    # Same cleanup as a legacy list: it may itself be a (nested) member of other lists.
    forget_group_account(directory, entry, mail)
    with counted_changes.removing(directory, domain_of(mail), {counters.LISTS: 1}):
        directory.delete_tree(entry.dn)


def domain_list_addresses(directory: Directory, domain: str) -> list[str]:
    """Return the addresses of a domain's mlmmj lists (before the domain is deleted)."""
    found = directory.search(
        directory.dn.groups(domain),
        F.and_(F.object_class(A.OC_LIST), F.eq("enabledService", "mlmmj")),
        ["mail"],
        scope="one",
    )
    return [entry.first("mail", "").lower() for entry in found if entry.first("mail")]


def archive_lists(mlmmj_factory: Any, addresses: list[str]) -> list[str]:
    """Archive the directories of deleted lists; failures are logged, never raised."""
    archived: list[str] = []
    if not addresses:
        return archived
    try:
        mlmmj = mlmmj_factory()
    except errors.ApiError as exc:
        log.error("Cannot archive mlmmj lists %s: %s", addresses, exc.detail)
        return archived
    for address in addresses:
        try:
            target = mlmmj.archive(address)
        except errors.ApiError as exc:
            # The LDAP side is gone already; a leftover directory only blocks re-creation.
            log.error("Cannot archive mlmmj list %s: %s", address, exc.detail)
            continue
        if target:
            archived.append(str(target))
    return archived
