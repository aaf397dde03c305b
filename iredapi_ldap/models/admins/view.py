"""The API view of admin accounts (standalone mailAdmin entries and promoted mail users)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from ... import errors
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import attrs as A
from ...ldap import filters as F
from ..fieldmap import ACCOUNT_STATUS
from ..fieldmap import BOOLEAN
from ..fieldmap import INTEGER
from ..fieldmap import STRING
from ..fieldmap import STRINGS
from ..fieldmap import FieldMap
from ..fieldmap import field
from ..fieldmap import filled
from ..fieldmap import text
from ..settings import setting_int
from ..settings import setting_value
from ..settings import setting_values
from . import roles as admin_roles
from .login import CREATE_NEW_DOMAINS
from .login import LOCKED
from .login import PASSWORD_EXPIRATION
from .login import RESTRICTED_IPS
from .login import ROLE
from .login import ROLE_LIMITED
from .login import SIMULTANEOUS_LOGINS
from .login import is_admin_entry
from .login import is_global_entry
from .login import is_yes
from .login import managed_domains
from .login import password_expired

CONTACT_EMAIL = "contactEmail"
SECURITY_QUESTION = "securityQuestion"
SECURITY_ANSWER = "securityAnswer"
MAIL_LOG = "view_mail_log"
QUARANTINE = "manage_quarantined_mails"
COUNT_FIELDS = {
    "maxDomains": "create_max_domains",
    "maxUsers": "create_max_users",
    "maxAliases": "create_max_aliases",
    "maxLists": "create_max_lists",
}
COUNT_DESCRIPTIONS = {
    "maxDomains": "Domains it may manage after creating; 0 unlimited, -1 none",
    "maxUsers": "Users in all its domains; 0 unlimited, -1 none",
    "maxAliases": "Aliases in all its domains; 0 unlimited, -1 none",
    "maxLists": "Mailing lists in all its domains; 0 unlimited, -1 none",
}
SERVICE_FLAGS = {"disableViewingMailLog": MAIL_LOG, "disableManagingQuarantinedMails": QUARANTINE}
# Fields a promoted mail user's admin record cannot take: they belong to the mailbox.
MAILBOX_FIELDS = ("accountStatus", "enabled")

EPOCH = datetime.date(1970, 1, 1)


def admin_type(entry: Entry) -> str:
    """Return super, standard or limited for an admin entry."""
    if (setting_value(entry, ROLE) or "").lower() == ROLE_LIMITED:
        return "limited"
    return "super" if is_global_entry(entry) else "standard"


def _last_change(entry: Entry, _context: Any) -> str | None:
    try:
        return (
            EPOCH + datetime.timedelta(days=int(entry.first("shadowLastChange") or ""))
        ).isoformat()
    except (ValueError, OverflowError):
        return None


def _mail(entry: Entry, _context: Any = None) -> str:
    return (entry.first("mail") or "").lower()


def _kind(entry: Entry, _context: Any) -> str:
    return "admin" if entry.has("objectClass", A.OC_ADMIN) else "user"


def _setting(key: str, read: Callable[[str | None], Any] = lambda value: value):
    return lambda entry, _context: read(setting_value(entry, key))


def _count(key: str):
    return lambda entry, _context: setting_int(entry, key)


SETTINGS = "accountSetting"
# An admin in a listing (Rackspace's index fields plus mail, name and kind).
ADMIN_SUMMARY = FieldMap(
    field("adminId", STRING, _mail, "mail", description="Same as mail (Rackspace name)"),
    field("mail", STRING, _mail, "mail"),
    field("kind", STRING, _kind, "objectClass",
          description="admin (standalone) or user (a promoted mail user)"),
    field("name", STRING, lambda e, _: e.first("cn") or _mail(e).split("@")[0], "cn", "mail",
          description="Display name (cn); the address's local part when unset"),
    field("type", STRING, lambda e, _: admin_type(e), SETTINGS, "domainGlobalAdmin",
          description="super (global), standard (its domains) or limited (read-only)"),
    field("enabled", BOOLEAN,
          lambda e, _: (e.first("accountStatus") or "").lower() == A.STATUS_ACTIVE,
          "accountStatus"),
    field("locked", BOOLEAN, _setting(LOCKED, is_yes), SETTINGS,
          description="A locked admin cannot log in"),
    field("isGlobalAdmin", BOOLEAN, lambda e, _: admin_type(e) == "super", SETTINGS,
          "domainGlobalAdmin"),
)  # fmt: skip
# An admin's profile (GET /api/admin); never a password or answer hash. Readers get the
# entry and the domains it manages.
ADMIN_VIEW = ADMIN_SUMMARY + FieldMap(
    text("firstName", "givenName", "givenName"),
    text("lastName", "sn", "sn"),
    field("email", STRING, lambda e, _: setting_value(e, CONTACT_EMAIL) or _mail(e), SETTINGS,
          "mail", description="Contact address; the admin's own by default"),
    ACCOUNT_STATUS,
    text("language", "preferredLanguage", "preferredLanguage"),
    field("passwordExpiration", INTEGER,
          lambda e, _: max(setting_int(e, PASSWORD_EXPIRATION), 0), SETTINGS,
          description="Days until the password must be changed; 0 = never"),
    field("passwordLastChange", STRING, _last_change, "shadowLastChange", nullable=True,
          description="YYYY-MM-DD"),
    field("passwordExpired", BOOLEAN, lambda e, _: password_expired(e), SETTINGS,
          "shadowLastChange"),
    field("allowSimultaneousLogins", BOOLEAN,
          _setting(SIMULTANEOUS_LOGINS, lambda value: (value or "").lower() != "no"), SETTINGS),
    field("restrictedIps", STRINGS, lambda e, _: setting_values(e, RESTRICTED_IPS), SETTINGS),
    field("securityQuestion", STRING, _setting(SECURITY_QUESTION), SETTINGS, nullable=True),
    field("hasSecurityAnswer", BOOLEAN, _setting(SECURITY_ANSWER, bool), SETTINGS),
    field("createNewDomains", BOOLEAN, _setting(CREATE_NEW_DOMAINS, is_yes), SETTINGS),
    field("maxQuota", INTEGER, lambda e, _: max(setting_int(e, admin_roles.QUOTA_CAP), 0),
          SETTINGS, description="Mailbox quota summed over all its domains, in quotaUnit"),
    field("quotaUnit", STRING,
          _setting(admin_roles.QUOTA_UNIT, lambda value: (value or "MB").upper()), SETTINGS,
          description="MB, GB or TB"),
    field("disableViewingMailLog", BOOLEAN, lambda e, _: e.has("disabledService", MAIL_LOG),
          "disabledService"),
    field("disableManagingQuarantinedMails", BOOLEAN,
          lambda e, _: e.has("disabledService", QUARANTINE), "disabledService"),
    field("domains", STRINGS, lambda _entry, domains: domains, description="Domains it manages"),
    *(field(name, INTEGER, _count(key), SETTINGS, description=COUNT_DESCRIPTIONS[name])
      for name, key in COUNT_FIELDS.items()),
    extra_attributes=("objectClass", "domainStatus", "enabledService"),
)  # fmt: skip
READ_ATTRIBUTES = ADMIN_VIEW.attributes


def admin_summary(entry: Entry) -> dict[str, Any]:
    """Return the listing view of an admin entry."""
    return ADMIN_SUMMARY.read(entry)


def admin_view(entry: Entry, domains: list[str]) -> dict[str, Any]:
    """Return the API view of an admin entry (no password or answer hash)."""
    return ADMIN_VIEW.read(entry, domains)


def _used(name: str):
    return lambda _record, usage: usage[name]


# One API token of an admin, as listed; readers get its TokenRecord and {last_used,
# last_used_from}. The secret and its digest are never part of it.
TOKEN_VIEW = FieldMap(
    field("id", STRING, lambda r, _: r.id, description="Token id (the part after iredapi_)"),
    field("name", STRING, lambda r, _: r.name, description="Label to recognise the token by"),
    field("created", INTEGER, lambda r, _: r.created, description="Creation time, epoch seconds"),
    field("expires", INTEGER, lambda r, _: r.expires or None, nullable=True,
          description="Epoch seconds; null = never"),
    field("expired", BOOLEAN, lambda r, _: r.expired()),
    field("read_only", BOOLEAN, lambda r, _: r.read_only, description="GET/HEAD only"),
    field("allowed_ips", STRINGS, lambda r, _: list(r.allowed_ips),
          description="Client IPs/CIDRs the token works from; empty = any"),
    field("last_used", STRING, _used("last_used"), nullable=True,
          description="Last authenticated request, ISO 8601 UTC, exact to a minute; null = never"),
    field("last_used_from", STRING, _used("last_used_from"), nullable=True,
          description="Client address of that request"),
)  # fmt: skip
# A token just created: the secret string is shown this once.
NEW_TOKEN_VIEW = TOKEN_VIEW + FieldMap(
    filled("token", STRING, "iredapi_<id>_<secret>; store it now", secret=True)
)


def find_admin_entry(directory: Directory, mail: str) -> Entry | None:
    """Return an admin's entry in login order (admin mail user, then standalone), or None."""
    user = directory.get(directory.dn.user(mail), READ_ATTRIBUTES + ["userPassword"])
    if user is not None and is_admin_entry(user):
        return user
    return directory.get(directory.dn.admin(mail), READ_ATTRIBUTES + ["userPassword"])


def get_admin_entry(directory: Directory, mail: str) -> Entry:
    """Return an admin's entry or raise NotFound."""
    entry = find_admin_entry(directory, mail)
    if entry is None:
        raise errors.NotFound(f"No such admin: {mail}.")
    return entry


def get_admin(directory: Directory, mail: str) -> dict[str, Any]:
    """Return one admin's profile with the domains it manages."""
    entry = get_admin_entry(directory, mail)
    return admin_view(entry, managed_domains(directory, mail))


STANDALONE_FILTER = F.object_class(A.OC_ADMIN)
PROMOTED_FILTER = F.and_(F.object_class(A.OC_USER), F.eq("enabledService", "domainadmin"))


def list_admins(directory: Directory, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Return one page of admins (standalone ones first, then promoted mail users) and the total."""
    first, standalone = directory.window(
        directory.dn.admins, STANDALONE_FILTER, READ_ATTRIBUTES, "one", offset, limit
    )
    rest, promoted = directory.window(
        directory.dn.domains,
        PROMOTED_FILTER,
        READ_ATTRIBUTES,
        "sub",
        max(offset - standalone, 0),
        max(limit - len(first), 0),
    )
    return [admin_summary(e) for e in (*first, *rest)], standalone + promoted
