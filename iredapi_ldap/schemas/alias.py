"""Schemas of mail aliases: /api/alias/<mail> and /api/aliases/<domain>."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError
from marshmallow import fields

from ..models.aliases.view import ALIAS_VIEW
from ..models.members import ACCESS_POLICIES
from .base import BaseSchema
from .base import PageArgsSchema
from .base import TriadMixin
from .build import profile_schemas
from .fields import AccountStatus
from .fields import Email
from .fields import MultiValue
from .fields import Text
from .fields import YesNo

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


# A mail alias as returned by GET.
AliasSchema, AliasEnvelopeSchema, AliasPageSchema = profile_schemas(
    ALIAS_VIEW, "Alias", "Alias profiles, or addresses with email_only=yes"
)
