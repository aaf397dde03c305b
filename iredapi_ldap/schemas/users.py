"""Schemas of /api/users/<domain>: listing, export and bulk update."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from .base import BaseSchema
from .base import PageArgsSchema
from .base import envelope
from .fields import AccountStatus
from .fields import Language
from .fields import Text
from .fields import Transport
from .fields import YesNo
from .fields import secret

SEARCH = Text(
    min_length=1,
    metadata={"description": "Substring of the address or the display name (taken literally)"},
)


def _password(**kwargs: Any) -> fields.Field:
    return secret(
        fields.String(
            validate=validate.Length(min=1, max=256),
            metadata={
                "description": "Plain password; checked against the domain's policy, hashed per user"
            },
            **kwargs,
        )
    )


class UserFilterArgsSchema(BaseSchema):
    """Which users of the domain: disabled ones only, a substring search."""

    disabled_only = YesNo(load_default=False)
    search = SEARCH


class UserListArgsSchema(PageArgsSchema, UserFilterArgsSchema):
    """Query arguments of GET /api/users/<domain>."""

    email_only = YesNo(load_default=False, metadata={"description": "Return addresses only"})
    total_exact = YesNo(
        load_default=False,
        metadata={
            "description": "Count the users for `total`; without a filter it is otherwise the "
            "domain's cached user counter (domainCurrentUserNumber)"
        },
    )


class UserExportArgsSchema(UserFilterArgsSchema):
    """Query arguments of GET /api/users/<domain>/export."""


class UsersBulkUpdateSchema(BaseSchema):
    """Parameters of PUT /api/users/<domain>: applied to every user of the domain."""

    accountStatus = AccountStatus()
    password = _password()
    language = Language(metadata={"description": "preferredLanguage, e.g. en_US"})
    transport = Transport(
        allow_empty=True,
        metadata={"description": "mtaTransport; empty removes it (the domain's applies)"},
    )

    @validates_schema
    def _something(self, data: dict, **kwargs: Any) -> None:
        if not data:
            raise ValidationError(
                "Give at least one of accountStatus, password, language, transport."
            )


class UsersPasswordSchema(BaseSchema):
    """Parameters of PUT /api/users/<domain>/password."""

    password = _password(required=True)


class UpdatedCountSchema(Schema):
    """How many accounts a bulk change touched."""

    updated = fields.Integer(metadata={"description": "Accounts changed"})


UpdatedEnvelopeSchema = envelope("UpdatedEnvelopeSchema", fields.Nested(UpdatedCountSchema))
