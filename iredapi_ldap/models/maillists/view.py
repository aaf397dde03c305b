"""The API view of a legacy mailing list (what GET returns), declared once as a field map."""

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
from .members import Membership


def _members(_entry: Entry, membership: Membership) -> list[str]:
    return membership.addresses()


def _external(_entry: Entry, membership: Membership) -> list[str]:
    return sorted(membership.external)


def _has_members(_entry: Entry, membership: Membership) -> bool:
    return bool(membership.internal or membership.external)


def _warnings(entry: Entry, membership: Membership) -> list[str]:
    return [] if _has_members(entry, membership) else [no_members_warning("list")]


# A list's answer; readers get the entry and the list's membership (read separately).
LIST_VIEW = GROUP_HEAD + FieldMap(
    field("members", STRINGS, _members,
          description="Every member: internal (memberOfGroup) and external"),
    field("externalMembers", STRINGS, _external,
          description="Members kept in the list's ou=Externals entry"),
    texts("moderators", "listModerator", "listModerator", lower=True),
    texts("owners", "listOwner", "listOwner", lower=True),
    texts("allowedSenders", "listAllowedUser", "listAllowedUser", lower=True),
    texts("aliases", "shadowAddress", "Alias-domain copies of the address (shadowAddress)",
          lower=True),
    texts("memberOfGroup", "memberOfGroup", "Lists this list belongs to", lower=True),
    field("hasMembers", BOOLEAN, _has_members),
    field("warnings", STRINGS, _warnings,
          description="E.g. that mail to a list without members is rejected"),
    extra_attributes=("objectClass", "enabledService", "member"),
)  # fmt: skip


def list_from_entry(entry: Entry, membership: Membership) -> dict[str, Any]:
    """Return the API view of a legacy list entry and its members."""
    return LIST_VIEW.read(entry, membership)
