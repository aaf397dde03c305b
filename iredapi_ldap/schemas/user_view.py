"""Output schemas of a mail user's profile (GET), shared by /api/user and /api/users."""

from __future__ import annotations

from marshmallow import Schema
from marshmallow import fields

from .base import EnvelopeSchema
from .base import PageEnvelopeSchema
from .fields import string_list


class UserSchema(Schema):
    """A mail user's profile; the password hash is never included."""

    mail = fields.String()
    name = fields.String(metadata={"description": "Display name (cn)"})
    gn = fields.String(allow_none=True, metadata={"description": "givenName"})
    sn = fields.String(allow_none=True)
    uid = fields.String(allow_none=True)
    accountStatus = fields.String()
    domainDisabled = fields.Boolean(
        metadata={"description": "domainStatus=disabled (the domain is disabled)"}
    )
    language = fields.String(allow_none=True, metadata={"description": "preferredLanguage"})
    quota = fields.Integer(metadata={"description": "MB; 0 = unlimited"})
    mailboxFormat = fields.String(allow_none=True)
    mailboxFolder = fields.String(allow_none=True)
    maildir = fields.String(allow_none=True, metadata={"description": "Absolute mailbox path"})
    transport = fields.String(allow_none=True, metadata={"description": "mtaTransport"})
    employeeid = fields.String(allow_none=True, metadata={"description": "employeeNumber"})
    isGlobalAdmin = fields.Boolean()
    isDomainAdmin = fields.Boolean(metadata={"description": "enabledService=domainadmin"})
    forwarding = string_list("mailForwardingAddress")
    aliases = string_list("Per-user alias addresses (shadowAddress)")
    services = string_list("enabledService")
    senderBcc = fields.String(allow_none=True)
    recipientBcc = fields.String(allow_none=True)
    telephoneNumber = string_list("Telephone numbers")
    mobile = string_list("Mobile numbers")
    memberOfGroup = string_list("Legacy mailing lists the user belongs to")
    lastPasswordChange = fields.String(
        allow_none=True, metadata={"description": "YYYY-MM-DD (shadowLastChange)"}
    )
    allowNets = string_list("Networks the user may log in from; empty = anywhere")
    outboundRelay = fields.String(allow_none=True, metadata={"description": "senderRelayHost"})


class UserEnvelopeSchema(EnvelopeSchema):
    """Envelope of one user."""

    _data = fields.Nested(UserSchema, data_key="_data", attribute="_data")


class UserPageSchema(PageEnvelopeSchema):
    """Envelope of a page of users (addresses only with email_only=yes)."""

    _data = fields.List(fields.Raw(), data_key="_data", attribute="_data",
                        metadata={"description": "User profiles, or addresses with email_only=yes"})  # fmt: skip
