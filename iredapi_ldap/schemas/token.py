"""API token request and response schemas."""

from __future__ import annotations

import ipaddress
import time
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import post_load
from marshmallow import validate
from marshmallow import validates_schema

from ..models.admins.view import NEW_TOKEN_VIEW
from ..models.admins.view import TOKEN_VIEW
from .base import BaseSchema
from .base import envelope
from .build import schema_from_fields
from .fields import MultiValue
from .fields import Text
from .fields import YesNo

MAX_ALLOWED_IPS = 20
MAX_DAYS = 3650
SECONDS_PER_DAY = 86400


class Network(fields.String):
    """An IP address or CIDR network, written back in canonical form."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            return str(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise ValidationError("Not an IP address or CIDR network.") from exc


class Moment(fields.Field):
    """An ISO 8601 date (its 00:00) or date-time; no zone means UTC. Loaded zone-aware."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str) or not value.strip():
            raise ValidationError("Expected an ISO 8601 date or date-time.")
        text = value.strip()
        try:
            if len(text) == 10:
                moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValidationError("Expected an ISO 8601 date or date-time.") from exc
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class TokenCreateSchema(BaseSchema):
    """Parameters of POST /api/admin/<mail>/tokens."""

    name = Text(
        max_length=64, load_default="", metadata={"description": "Label to recognise the token by"}
    )
    expires_in_days = fields.Integer(
        validate=validate.Range(min=0, max=MAX_DAYS),
        metadata={"description": "Days until the token expires; 0 = never (the default)"},
    )
    expires = Moment(
        metadata={"description": "Expiry as ISO 8601 date or date-time (UTC if no zone)"}
    )
    read_only = YesNo(load_default=False, metadata={"description": "yes: GET/HEAD only"})
    allowed_ips = MultiValue(
        Network(),
        load_default=list,
        validate=validate.Length(max=MAX_ALLOWED_IPS),
        metadata={
            "description": f"Client IPs/CIDRs the token works from (at most {MAX_ALLOWED_IPS})"
        },
    )

    @validates_schema
    def _one_expiry(self, data: dict, **kwargs: Any) -> None:
        if "expires" in data and "expires_in_days" in data:
            raise ValidationError("Give expires or expires_in_days, not both.", "expires")
        if "expires" in data:
            epoch = data["expires"].timestamp()
            if epoch <= time.time():
                raise ValidationError("Must be in the future.", "expires")
            if epoch > time.time() + MAX_DAYS * SECONDS_PER_DAY:
                raise ValidationError(f"At most {MAX_DAYS} days ahead.", "expires")

    @post_load
    def _expiry_epoch(self, data: dict, **kwargs: Any) -> dict:
        days = data.pop("expires_in_days", 0)
        if "expires" in data:
            data["expires"] = int(data["expires"].timestamp())
        else:
            data["expires"] = int(time.time()) + days * SECONDS_PER_DAY if days else 0
        return data


# One token as listed (the secret is never shown again).
TokenSchema = schema_from_fields(TOKEN_VIEW, "TokenSchema")
# A token just created, with the secret string shown this once.
NewTokenSchema = schema_from_fields(NEW_TOKEN_VIEW, "NewTokenSchema")
TokenListEnvelopeSchema = envelope(
    "TokenListEnvelopeSchema", fields.List(fields.Nested(TokenSchema))
)
NewTokenEnvelopeSchema = envelope("NewTokenEnvelopeSchema", fields.Nested(NewTokenSchema))
