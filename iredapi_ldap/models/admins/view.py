"""The API view of admin accounts (standalone mailAdmin entries and promoted mail users)."""

from __future__ import annotations

import datetime
from typing import Any

from ... import errors
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import attrs as A
from ...ldap import filters as F
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
SERVICE_FLAGS = {"disableViewingMailLog": MAIL_LOG, "disableManagingQuarantinedMails": QUARANTINE}
READ_ATTRIBUTES = [
    "objectClass", "mail", "cn", "givenName", "sn", "accountStatus", "domainStatus",
    "preferredLanguage", "domainGlobalAdmin", "enabledService", "disabledService",
    "accountSetting", "shadowLastChange",
]  # fmt: skip
# Fields a promoted mail user's admin record cannot take: they belong to the mailbox.
MAILBOX_FIELDS = ("accountStatus", "enabled")

EPOCH = datetime.date(1970, 1, 1)


def admin_type(entry: Entry) -> str:
    """Return super, standard or limited for an admin entry."""
    if (setting_value(entry, ROLE) or "").lower() == ROLE_LIMITED:
        return "limited"
    return "super" if is_global_entry(entry) else "standard"


def _last_change(entry: Entry) -> str | None:
    try:
        return (
            EPOCH + datetime.timedelta(days=int(entry.first("shadowLastChange") or ""))
        ).isoformat()
    except (ValueError, OverflowError):
        return None


def admin_summary(entry: Entry) -> dict[str, Any]:
    """Return the listing view of an admin entry."""
    mail = (entry.first("mail") or "").lower()
    kind = "admin" if entry.has("objectClass", A.OC_ADMIN) else "user"
    kind_type = admin_type(entry)
    return {
        "adminId": mail,
        "mail": mail,
        "kind": kind,
        "name": entry.first("cn") or mail.split("@")[0],
        "type": kind_type,
        "enabled": (entry.first("accountStatus") or "").lower() == A.STATUS_ACTIVE,
        "locked": is_yes(setting_value(entry, LOCKED)),
        "isGlobalAdmin": kind_type == "super",
    }


def admin_view(entry: Entry, domains: list[str]) -> dict[str, Any]:
    """Return the API view of an admin entry (no password or answer hash)."""
    view = admin_summary(entry)
    mail = view["mail"]
    view.update(
        firstName=entry.first("givenName"),
        lastName=entry.first("sn"),
        email=setting_value(entry, CONTACT_EMAIL) or mail,
        accountStatus=entry.first("accountStatus", A.STATUS_ACTIVE),
        language=entry.first("preferredLanguage"),
        passwordExpiration=max(setting_int(entry, PASSWORD_EXPIRATION), 0),
        passwordLastChange=_last_change(entry),
        passwordExpired=password_expired(entry),
        allowSimultaneousLogins=(setting_value(entry, SIMULTANEOUS_LOGINS) or "").lower() != "no",
        restrictedIps=setting_values(entry, RESTRICTED_IPS),
        securityQuestion=setting_value(entry, SECURITY_QUESTION),
        hasSecurityAnswer=bool(setting_value(entry, SECURITY_ANSWER)),
        createNewDomains=is_yes(setting_value(entry, CREATE_NEW_DOMAINS)),
        maxQuota=max(setting_int(entry, admin_roles.QUOTA_CAP), 0),
        quotaUnit=(setting_value(entry, admin_roles.QUOTA_UNIT) or "MB").upper(),
        disableViewingMailLog=entry.has("disabledService", MAIL_LOG),
        disableManagingQuarantinedMails=entry.has("disabledService", QUARANTINE),
        domains=domains,
    )
    for field, key in COUNT_FIELDS.items():
        view[field] = setting_int(entry, key)
    return view


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
