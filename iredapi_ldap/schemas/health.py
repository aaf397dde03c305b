"""Schema of GET /api/health."""

from __future__ import annotations

from marshmallow import Schema
from marshmallow import fields

from .base import envelope


class HealthSchema(Schema):
    """What the health check found."""

    ldap = fields.String(metadata={"description": "ok, or what is missing (o=domains)"})


HealthEnvelopeSchema = envelope("HealthEnvelopeSchema", fields.Nested(HealthSchema))
