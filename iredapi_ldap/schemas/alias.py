"""Schemas of mail aliases: /api/alias/<mail> and /api/aliases/<domain>."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields

from ..models.members import ACCESS_POLICIES
from .base import BaseSchema
from .base import EnvelopeSchema
from .base import PageArgsSchema
from .base import PageEnvelopeSchema
from .base import TriadMixin
from .fields import AccountStatus
from .fields import Email
from .fields import MultiValue
from .fields import Text
from .fields import YesNo
from .fields import string_list

# iRedAPD still honours the old name of moderatorsonly.
POLICY_ALIASES = {"allowedonly": "moderatorsonly"}


class AccessPolicy(fields.String):
    """Who may send to the alias or list (iRedAPD); empty = public (the attribute is removed)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        policy = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        policy = POLICY_ALIASES.get(policy, policy)
        if policy and policy not in ACCESS_POLICIES:
            raise ValidationError(f"Must be one of: {', '.join(ACCESS_POLICIES)}.")
        return policy


def access_policy() -> AccessPolicy:
    """Return the accessPolicy field."""
    return AccessPolicy(
        metadata={"description": f"One of {', '.join(ACCESS_POLICIES)}; empty = public"}
    )


def addresses(description: str) -> MultiValue:
    """Return a multi-valued address field (comma list, repeated keys or JSON list)."""
    return MultiValue(Email(), metadata={"description": description})


class AliasCreateSchema(BaseSchema):
    """Parameters of POST /api/alias/<mail> (2016 name cn accepted)."""

    name = Text(metadata={"description": "Display name (cn)"})
    accountStatus = AccountStatus()
    accessPolicy = access_policy()
    members = addresses("Member addresses (mailForwardingAddress); may be empty")
    moderators = addresses("Moderators (listModerator); they may always send")


class AliasUpdateSchema(TriadMixin, BaseSchema):
    """Parameters of PUT /api/alias/<mail>; X replaces a set, addX/removeX change it."""

    TRIADS = (
        ("members", "addMember", "removeMember"),
        ("moderators", "addModerator", "removeModerator"),
    )

    name = Text(metadata={"description": "cn; empty removes it"})
    accountStatus = AccountStatus()
    accessPolicy = access_policy()
    members = addresses("Replace the members; empty leaves none")
    addMember = addresses("Add members")
    removeMember = addresses("Remove members")
    moderators = addresses("Replace the moderators")
    addModerator = addresses("Add moderators")
    removeModerator = addresses("Remove moderators")


class AliasListArgsSchema(PageArgsSchema):
    """Query arguments of GET /api/aliases/<domain>."""

    email_only = YesNo(load_default=False, metadata={"description": "Return addresses only"})
    disabled_only = YesNo(load_default=False)


class GroupViewSchema(Schema):
    """The leading fields of an alias or legacy list as returned by GET."""

    mail = fields.String()
    name = fields.String()
    accountStatus = fields.String()
    domainDisabled = fields.Boolean(metadata={"description": "domainStatus=disabled"})
    accessPolicy = fields.String(metadata={"description": "public when unset"})


class AliasSchema(GroupViewSchema):
    """A mail alias as returned by GET."""

    members = string_list("mailForwardingAddress")
    moderators = string_list("listModerator")
    aliases = string_list("Alias-domain copies of the address (shadowAddress)")
    memberOfGroup = string_list("Legacy lists the alias belongs to")
    hasMembers = fields.Boolean()
    warnings = string_list("E.g. that mail to an alias without members is rejected")


class AliasEnvelopeSchema(EnvelopeSchema):
    """Envelope of one alias."""

    _data = fields.Nested(AliasSchema, data_key="_data", attribute="_data")


class AliasPageSchema(PageEnvelopeSchema):
    """Envelope of a page of aliases (addresses only with email_only=yes)."""

    _data = fields.List(fields.Raw(), data_key="_data", attribute="_data",
                        metadata={"description": "Alias profiles, or addresses with email_only=yes"})  # fmt: skip
