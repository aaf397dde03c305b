"""The API view of a mail user entry (what GET returns); never the password hash."""

from __future__ import annotations

import datetime
import posixpath
from typing import Any

from ...ldap import Entry
from ...ldap import attrs as A
from ..units import bytes_to_mb

# Everything user_from_entry reads; userPassword is deliberately absent.
USER_READ_ATTRIBUTES = [
    "objectClass", "mail", "cn", "givenName", "sn", "uid", "accountStatus", "domainStatus",
    "preferredLanguage", "mailQuota", "mailboxFormat", "mailboxFolder", "homeDirectory",
    "storageBaseDirectory", "mailMessageStore", "mtaTransport", "employeeNumber",
    "domainGlobalAdmin", "enabledService", "mailForwardingAddress", "shadowAddress",
    "userSenderBccAddress", "userRecipientBccAddress", "telephoneNumber", "mobile",
    "memberOfGroup", "shadowLastChange", "allowNets", "senderRelayHost",
]  # fmt: skip
# Enough for email_only listings and DN-only passes.
USER_SUMMARY_ATTRIBUTES = ["mail"]
EPOCH = datetime.date(1970, 1, 1)


def _days_to_iso(text: str | None) -> str | None:
    """Turn shadowLastChange (days since 1970-01-01) into YYYY-MM-DD."""
    try:
        return (EPOCH + datetime.timedelta(days=int(text or ""))).isoformat()
    except (ValueError, OverflowError):
        return None


def _quota_mb(text: str | None) -> int:
    try:
        return bytes_to_mb(text)
    except ValueError:
        return 0


def maildir_of(entry: Entry) -> str | None:
    """Return the mailbox path: homeDirectory, or storageBaseDirectory/mailMessageStore (pre-0.9.8)."""
    home = entry.first("homeDirectory")
    if home:
        return home
    base, store = entry.first("storageBaseDirectory"), entry.first("mailMessageStore")
    if base and store:
        return posixpath.join(base, store.lstrip("/"))
    return store or None


def _networks(text: str | None) -> list[str]:
    # allowNets is one value holding a comma-separated list (Dovecot allow_nets).
    return [part.strip() for part in (text or "").replace(" ", ",").split(",") if part.strip()]


def user_from_entry(entry: Entry) -> dict[str, Any]:
    """Return the API view of a mailUser entry."""
    services = entry.all("enabledService")
    is_admin = entry.has("enabledService", "domainadmin")
    return {
        "mail": (entry.first("mail") or "").lower(),
        "name": entry.first("cn", ""),
        "gn": entry.first("givenName"),
        "sn": entry.first("sn"),
        "uid": entry.first("uid"),
        "accountStatus": entry.first("accountStatus", A.STATUS_ACTIVE),
        "domainDisabled": (entry.first("domainStatus") or "").lower() == A.STATUS_DISABLED,
        "language": entry.first("preferredLanguage"),
        "quota": _quota_mb(entry.first("mailQuota")),
        "mailboxFormat": entry.first("mailboxFormat"),
        "mailboxFolder": entry.first("mailboxFolder"),
        "maildir": maildir_of(entry),
        "transport": entry.first("mtaTransport"),
        "employeeid": entry.first("employeeNumber"),
        "isGlobalAdmin": is_admin and (entry.first("domainGlobalAdmin") or "").lower() == "yes",
        "isDomainAdmin": is_admin,
        "forwarding": [v.lower() for v in entry.all("mailForwardingAddress")],
        "aliases": [v.lower() for v in entry.all("shadowAddress")],
        "services": services,
        "senderBcc": entry.first("userSenderBccAddress"),
        "recipientBcc": entry.first("userRecipientBccAddress"),
        "telephoneNumber": entry.all("telephoneNumber"),
        "mobile": entry.all("mobile"),
        "memberOfGroup": [v.lower() for v in entry.all("memberOfGroup")],
        "lastPasswordChange": _days_to_iso(entry.first("shadowLastChange")),
        "allowNets": _networks(entry.first("allowNets")),
        "outboundRelay": entry.first("senderRelayHost"),
    }


def user_summary(entry: Entry) -> str:
    """Return what an email_only listing shows for a user: the address."""
    return (entry.first("mail") or "").lower()
