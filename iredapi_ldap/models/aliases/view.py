"""The API view of a mail alias entry (what GET returns), declared once as a field map."""

from __future__ import annotations

from typing import Any

from ...ldap import Entry
from ..fieldmap import BOOLEAN
from ..fieldmap import GROUP_HEAD
from ..fieldmap import STRINGS
from ..fieldmap import FieldMap
from ..fieldmap import field
from ..fieldmap import texts
from ..members import no_members_warning

MEMBERS = "mailForwardingAddress"


def _has_members(entry: Entry, _context: Any) -> bool:
    return bool(entry.all(MEMBERS))


def _warnings(entry: Entry, _context: Any) -> list[str]:
    return [] if entry.all(MEMBERS) else [no_members_warning("alias")]


ALIAS_VIEW = GROUP_HEAD + FieldMap(
    texts("members", MEMBERS, "mailForwardingAddress", lower=True),
    texts("moderators", "listModerator", "listModerator", lower=True),
    texts("aliases", "shadowAddress", "Alias-domain copies of the address (shadowAddress)",
          lower=True),
    texts("memberOfGroup", "memberOfGroup", "Legacy lists the alias belongs to", lower=True),
    field("hasMembers", BOOLEAN, _has_members, MEMBERS),
    field("warnings", STRINGS, _warnings, MEMBERS,
          description="E.g. that mail to an alias without members is rejected"),
    extra_attributes=("objectClass", "enabledService"),
)  # fmt: skip


def alias_from_entry(entry: Entry) -> dict[str, Any]:
    """Return the API view of a mailAlias entry."""
    return ALIAS_VIEW.read(entry)
