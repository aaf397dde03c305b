"""Schemas of a domain's admins: /api/domain/admins/<domain>."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from ..models.domains.view import DOMAIN_ADMIN_VIEW
from .base import BaseSchema
from .base import envelope
from .build import schema_from_fields
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


# One admin of a domain.
DomainAdminSchema = schema_from_fields(DOMAIN_ADMIN_VIEW, "DomainAdminSchema")
DomainAdminsEnvelopeSchema = envelope(
    "DomainAdminsEnvelopeSchema", fields.List(fields.Nested(DomainAdminSchema))
)
