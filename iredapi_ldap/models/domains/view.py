"""The API view of a mail domain entry (what GET returns), declared once as a field map."""

from __future__ import annotations

from typing import Any

from ...ldap import Entry
from ...ldap import attrs as A
from ..fieldmap import ACCOUNT_STATUS
from ..fieldmap import BOOLEAN
from ..fieldmap import INTEGER
from ..fieldmap import STRING
from ..fieldmap import STRINGS
from ..fieldmap import FieldMap
from ..fieldmap import field
from ..fieldmap import filled
from ..fieldmap import text
from ..fieldmap import texts
from ..settings import settings_of
from ..units import parse_unit_quota

SETTINGS = "accountSetting"
# API field -> accountSetting key (integers, MB or counts).
SETTING_FIELDS = {
    "defaultQuota": "defaultQuota",
    "maxUserQuota": "maxUserQuota",
    "numberOfUsers": "numberOfUsers",
    "numberOfAliases": "numberOfAliases",
    "numberOfLists": "numberOfLists",
    "minPasswordLength": "minPasswordLength",
    "maxPasswordLength": "maxPasswordLength",
}
SETTING_DESCRIPTIONS = {
    "defaultQuota": "Default quota of new users, MB",
    "maxUserQuota": "Largest quota of one user, MB; 0 = no cap",
    "numberOfUsers": "Max users; 0 unlimited, -1 none",
    "numberOfAliases": "Max aliases; 0 unlimited, -1 none",
    "numberOfLists": "Max mailing lists; 0 unlimited, -1 none",
}
# API field -> accountSetting multi-value key.
SETTING_LISTS = {
    "disabledDomainProfiles": "disabledDomainProfile",
    "disabledUserProfiles": "disabledUserProfile",
    "disabledUserPreferences": "disabledUserPreference",
    "disabledMailServices": "disabledMailService",
}
# API field -> cached counter attribute.
COUNTERS = {
    "currentUsers": ("domainCurrentUserNumber", "Cached counter (domainCurrentUserNumber)"),
    "currentAliases": ("domainCurrentAliasNumber", "Cached counter (domainCurrentAliasNumber)"),
    "currentLists": ("domainCurrentListNumber", "Cached counter (domainCurrentListNumber)"),
    "currentQuotaSize": ("domainCurrentQuotaSize", "Cached, bytes"),
}


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def _is_backup(entry: Entry) -> bool:
    return (entry.first("domainBackupMX") or "").lower() == "yes"


def _primary_mx(entry: Entry, _settings: dict[str, Any]) -> str | None:
    transport = entry.first("mtaTransport")
    if _is_backup(entry) and transport and transport.startswith("relay:"):
        return transport[len("relay:") :]
    return None


def _setting(key: str, default: Any):
    return lambda _entry, settings: settings.get(key, default)


def _counter(attribute: str):
    return lambda entry, _settings: _int(entry.first(attribute))


# A domain's answer; readers get the entry and its parsed accountSetting.
DOMAIN_VIEW = FieldMap(
    text("domain", "domainName", nullable=False),
    text("name", "cn", "Description or company name (cn)", default=""),
    ACCOUNT_STATUS,
    text("transport", "mtaTransport", "mtaTransport"),
    field("language", STRING,
          lambda e, settings: settings.get("defaultLanguage") or e.first("preferredLanguage"),
          SETTINGS, "preferredLanguage", description="Default language of new users",
          nullable=True),
    field("quota", INTEGER, lambda _e, settings: parse_unit_quota(settings.get("domainQuota")),
          SETTINGS, description="MB; 0 = unlimited"),
    *(field(name, INTEGER, _setting(key, 0), SETTINGS,
            description=SETTING_DESCRIPTIONS.get(name, ""))
      for name, key in SETTING_FIELDS.items()),
    text("senderBcc", "domainSenderBccAddress", "BCC of every outgoing mail"),
    text("recipientBcc", "domainRecipientBccAddress", "BCC of every incoming mail"),
    field("is_backupmx", BOOLEAN, lambda e, _: _is_backup(e), "domainBackupMX",
          description="Relay for this domain as backup MX"),
    field("primarymx", STRING, _primary_mx, "domainBackupMX", "mtaTransport", nullable=True,
          description="Primary MX host of a backup MX domain"),
    text("outboundRelay", "senderRelayHost", "senderRelayHost"),
    texts("services", "enabledService", "enabledService"),
    *(field(name, STRINGS, _setting(key, []), SETTINGS) for name, key in SETTING_LISTS.items()),
    texts("admins", "domainAdmin", "Admins of the domain (domainAdmin)"),
    texts("aliasDomains", "domainAliasName", "Alias domains (domainAliasName)"),
    *(field(name, INTEGER, _counter(attribute), attribute, description=description)
      for name, (attribute, description) in COUNTERS.items()),
    filled("catchall", STRINGS, "Catch-all targets (GET of one domain)"),
    extra_attributes=("objectClass",),
)  # fmt: skip


def domain_from_entry(entry: Entry) -> dict[str, Any]:
    """Return the API view of a mailDomain entry (all but the catch-all)."""
    return DOMAIN_VIEW.read(entry, settings_of(entry))


# One admin of a domain (GET /api/domain/admins); readers get its entry (None when the
# address has none) and (address, kind).
DOMAIN_ADMIN_VIEW = FieldMap(
    field("mail", STRING, lambda _entry, found: found[0]),
    field("kind", STRING, lambda _entry, found: found[1],
          description="user (mail user), admin (standalone) or missing"),
    field("accountStatus", STRING,
          lambda entry, _: entry.first("accountStatus", A.STATUS_ACTIVE) if entry else None,
          "accountStatus", nullable=True, description="null when missing"),
    field("isGlobalAdmin", BOOLEAN,
          lambda entry, _: bool(entry and entry.has("domainGlobalAdmin", "yes")),
          "domainGlobalAdmin"),
    extra_attributes=("objectClass", "enabledService"),
)  # fmt: skip
