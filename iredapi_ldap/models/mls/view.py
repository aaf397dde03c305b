"""The API view of a subscribable (mlmmj) list: its LDAP entry and its directory's settings.

Declared once as a field map: the entry's fields, then one field per mlmmj setting
(mailhost.TUNABLES, read back from the list's control files), then the subscribers
(with_subscribers=yes only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...ldap import Entry
from ...mailhost import FLAG
from ...mailhost import LINE
from ...mailhost import LINES
from ...mailhost import TEXT
from ...mailhost import TUNABLES
from ...mailhost import Mlmmj
from ..fieldmap import BOOLEAN
from ..fieldmap import GROUP_HEAD
from ..fieldmap import INTEGER
from ..fieldmap import OBJECTS
from ..fieldmap import STRING
from ..fieldmap import STRINGS
from ..fieldmap import FieldMap
from ..fieldmap import field
from ..fieldmap import filled
from ..fieldmap import key
from ..fieldmap import text
from ..fieldmap import texts
from .settings import parse_size
from .settings import settings_view


@dataclass(frozen=True)
class Spool:
    """What the list's directory on the mail host says: whether it exists, its settings."""

    exists: bool
    settings: dict[str, Any]


KINDS = {FLAG: BOOLEAN, LINE: STRING, LINES: STRINGS, TEXT: STRING}
SETTING_KINDS = {"max_message_size": INTEGER}  # read back as a number of bytes
SETTING_DESCRIPTIONS = {
    "max_message_size": "control/maxmailsize; 0 = none",
    "extra_addresses": "control/listaddress without the list's own address",
}


def _setting(name: str, control: str, kind: str):
    return field(
        name,
        SETTING_KINDS.get(name, KINDS[kind]),
        lambda _entry, spool: spool.settings[name],
        description=SETTING_DESCRIPTIONS.get(name, f"control/{control}"),
    )


SUBSCRIBER_VIEW = FieldMap(
    key("mail", STRING),
    key("subscription", STRING, "normal, digest or nomail"),
)
# A list's answer; readers get the entry and its Spool.
ML_VIEW = GROUP_HEAD + FieldMap(
    text("mailingListID", "mailingListID"),
    text("transport", "mtaTransport", "mtaTransport, mlmmj:<domain>/<listname>"),
    texts("services", "enabledService", "enabledService"),
    texts("aliases", "shadowAddress", "shadowAddress: the list's address in each alias domain",
          lower=True),
    field("maxMailSize", INTEGER, lambda e, _: parse_size(e.first("maxMessageSize")),
          "maxMessageSize", description="maxMessageSize in bytes; 0 = none"),
    text("newsletter_description", "description", "LDAP description"),
    field("spool_exists", BOOLEAN, lambda _entry, spool: spool.exists,
          description="The list directory is on the host"),
    *(_setting(name, control, kind) for name, (control, kind) in TUNABLES.items()
      if name != "name"),
    filled("subscribers", OBJECTS, "with_subscribers=yes", items=SUBSCRIBER_VIEW),
    extra_attributes=("objectClass", "listOwner", "listModerator", "listAllowedUser"),
)  # fmt: skip


def subscribers_view(mlmmj: Mlmmj, mail: str) -> list[dict[str, str]]:
    """Return every subscription as mlmmj-list reports it, sorted by address."""
    found = mlmmj.subscribers(mail)
    rows = [{"mail": a, "subscription": version} for version, items in found.items() for a in items]
    return sorted(rows, key=lambda row: (row["mail"], row["subscription"]))


def list_view(entry: Entry, mlmmj: Mlmmj, with_subscribers: bool = False) -> dict[str, Any]:
    """Return the API view of an mlmmj list: its entry and its directory's settings."""
    mail = (entry.first("mail") or "").lower()
    exists = mlmmj.exists(mail)
    view = ML_VIEW.read(entry, Spool(exists, settings_view(mlmmj, mail, exists)))
    if with_subscribers:
        view["subscribers"] = subscribers_view(mlmmj, mail) if exists else []
    return view
