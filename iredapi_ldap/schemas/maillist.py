"""Schemas of legacy LDAP mailing lists: /api/maillist/<mail> and /api/maillists/<domain>."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import fields

from ..models.maillists.view import LIST_VIEW
from .alias import access_policy
from .alias import addresses
from .base import BaseSchema
from .base import PageArgsSchema
from .base import TriadMixin
from .build import profile_schemas
from .fields import MultiValue
from .fields import Text
from .fields import YesNo
from .fields import normalise_domain
from .fields import normalise_email

WILDCARD = re.compile(r"^\*@(.+)$")


class SenderPattern(fields.String):
    """An address, or `*@domain` for everyone in a domain (listAllowedUser)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        wildcard = WILDCARD.match(text)
        if wildcard:
            return "*@" + normalise_domain(wildcard.group(1))
        return normalise_email(text)


def senders(description: str) -> MultiValue:
    """Return a multi-valued field of addresses or `*@domain` patterns."""
    return MultiValue(SenderPattern(), metadata={"description": description})


class MaillistCreateSchema(BaseSchema):
    """Parameters of POST /api/maillist/<mail> (2016 name cn accepted)."""

    name = Text(metadata={"description": "Display name (cn)"})
    accessPolicy = access_policy()
    members = addresses("Members: accounts hosted here get memberOfGroup, others are external")
    moderators = addresses("listModerator")
    owners = addresses("listOwner")
    allowedSenders = senders("listAllowedUser: addresses or *@domain (moderatorsonly policies)")


class MaillistUpdateSchema(TriadMixin, BaseSchema):
    """Parameters of PUT /api/maillist/<mail>; X replaces a set, addX/removeX change it."""

    TRIADS = (
        ("members", "addMember", "removeMember"),
        ("moderators", "addModerator", "removeModerator"),
        ("owners", "addOwner", "removeOwner"),
        ("allowedSenders", "addAllowedSender", "removeAllowedSender"),
    )

    name = Text(metadata={"description": "cn; empty removes it"})
    accessPolicy = access_policy()
    members = addresses("Replace the members; empty leaves none")
    addMember = addresses("Add members")
    removeMember = addresses("Remove members")
    moderators = addresses("Replace listModerator")
    addModerator = addresses("Add moderators")
    removeModerator = addresses("Remove moderators")
    owners = addresses("Replace listOwner")
    addOwner = addresses("Add owners")
    removeOwner = addresses("Remove owners")
    allowedSenders = senders("Replace listAllowedUser")
    addAllowedSender = senders("Add allowed senders")
    removeAllowedSender = senders("Remove allowed senders")


class MaillistDeleteArgsSchema(BaseSchema):
    """Query arguments of DELETE /api/maillist/<mail>."""

    archive = YesNo(
        metadata={"description": "Accepted for iRedAdmin-Pro clients; legacy lists keep no archive"}
    )


class MaillistListArgsSchema(PageArgsSchema):
    """Query arguments of GET /api/maillists/<domain>."""

    email_only = YesNo(load_default=False, metadata={"description": "Return addresses only"})


# A legacy mailing list as returned by GET.
MaillistSchema, MaillistEnvelopeSchema, MaillistPageSchema = profile_schemas(
    LIST_VIEW, "Maillist", "List profiles, or addresses with email_only=yes"
)
