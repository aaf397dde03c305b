"""Schemas of a domain's admins: /api/domain/admins/<domain>."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema
from marshmallow import fields

from .base import BaseSchema
from .base import EnvelopeSchema
from .fields import Email
from .fields import MultiValue
from .fields import YesNo


class PresentFlag(YesNo):
    """A flag that is set by its mere presence (`removeAllAdmins=`), or by yes/no."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if value is None or (isinstance(value, str) and not value.strip()):
            return True
        return super()._deserialize(value, attr, data, **kwargs)


class DomainAdminsUpdateSchema(BaseSchema):
    """Parameters of PUT /api/domain/admins/<domain>; removals apply before additions."""

    addAdmin = MultiValue(
        Email(), metadata={"description": "Mail users of this domain or existing standalone admins"}
    )
    removeAdmin = MultiValue(Email(), metadata={"description": "Admins to remove from this domain"})
    removeAllAdmins = PresentFlag(
        metadata={"description": "Present (even empty) or yes: remove every admin"}
    )


class DomainAdminSchema(Schema):
    """One admin of a domain."""

    mail = fields.String()
    kind = fields.String(
        metadata={"description": "user (mail user), admin (standalone) or missing"}
    )
    accountStatus = fields.String(allow_none=True)
    isGlobalAdmin = fields.Boolean()


class DomainAdminsEnvelopeSchema(EnvelopeSchema):
    """Envelope of a domain's admins."""

    _data = fields.List(fields.Nested(DomainAdminSchema), data_key="_data", attribute="_data")
