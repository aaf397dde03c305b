"""The API view of a mail user entry (what GET returns); never the password hash."""

from __future__ import annotations

import datetime
import posixpath
from typing import Any

from ...ldap import Entry
from ..fieldmap import ACCOUNT_STATUS
from ..fieldmap import BOOLEAN
from ..fieldmap import DOMAIN_DISABLED
from ..fieldmap import INTEGER
from ..fieldmap import MAIL
from ..fieldmap import NAME
from ..fieldmap import STRING
from ..fieldmap import STRINGS
from ..fieldmap import FieldMap
from ..fieldmap import field
from ..fieldmap import text
from ..fieldmap import texts
from ..units import bytes_to_mb

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


MAILDIR_ATTRIBUTES = ("homeDirectory", "storageBaseDirectory", "mailMessageStore")


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


def _is_admin(entry: Entry) -> bool:
    return entry.has("enabledService", "domainadmin")


def _is_global_admin(entry: Entry, _context: Any) -> bool:
    return _is_admin(entry) and (entry.first("domainGlobalAdmin") or "").lower() == "yes"


# A mail user's answer (GET /api/user, listings, export); userPassword is deliberately absent.
USER_VIEW = FieldMap(
    MAIL,
    NAME,
    text("gn", "givenName", "givenName"),
    text("sn", "sn"),
    text("uid", "uid"),
    ACCOUNT_STATUS,
    DOMAIN_DISABLED,
    text("language", "preferredLanguage", "preferredLanguage"),
    field("quota", INTEGER, lambda e, _: _quota_mb(e.first("mailQuota")), "mailQuota",
          description="MB; 0 = unlimited"),
    text("mailboxFormat", "mailboxFormat"),
    text("mailboxFolder", "mailboxFolder"),
    field("maildir", STRING, lambda e, _: maildir_of(e), *MAILDIR_ATTRIBUTES,
          description="Absolute mailbox path", nullable=True),
    text("transport", "mtaTransport", "mtaTransport"),
    text("employeeid", "employeeNumber", "employeeNumber"),
    field("isGlobalAdmin", BOOLEAN, _is_global_admin, "enabledService", "domainGlobalAdmin"),
    field("isDomainAdmin", BOOLEAN, lambda e, _: _is_admin(e), "enabledService",
          description="enabledService=domainadmin"),
    texts("forwarding", "mailForwardingAddress", "mailForwardingAddress", lower=True),
    texts("aliases", "shadowAddress", "Per-user alias addresses (shadowAddress)", lower=True),
    texts("services", "enabledService", "enabledService"),
    text("senderBcc", "userSenderBccAddress"),
    text("recipientBcc", "userRecipientBccAddress"),
    texts("telephoneNumber", "telephoneNumber", "Telephone numbers"),
    texts("mobile", "mobile", "Mobile numbers"),
    texts("memberOfGroup", "memberOfGroup", "Legacy mailing lists the user belongs to", lower=True),
    field("lastPasswordChange", STRING, lambda e, _: _days_to_iso(e.first("shadowLastChange")),
          "shadowLastChange", description="YYYY-MM-DD (shadowLastChange)", nullable=True),
    field("allowNets", STRINGS, lambda e, _: _networks(e.first("allowNets")), "allowNets",
          description="Networks the user may log in from; empty = anywhere"),
    text("outboundRelay", "senderRelayHost", "senderRelayHost"),
    extra_attributes=("objectClass",),
)  # fmt: skip
# Everything user_from_entry reads.
USER_READ_ATTRIBUTES = USER_VIEW.attributes


def user_from_entry(entry: Entry) -> dict[str, Any]:
    """Return the API view of a mailUser entry."""
    return USER_VIEW.read(entry)


def user_summary(entry: Entry) -> str:
    """Return what an email_only listing shows for a user: the address."""
    return (entry.first("mail") or "").lower()
