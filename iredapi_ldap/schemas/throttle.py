"""Schemas of iRedAPD's throttling: /api/throttle/{global|<domain>|<mail>}/{inbound|outbound}."""

from __future__ import annotations

from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from ..models.policy.throttle import MAXIMA
from .base import BaseSchema
from .base import envelope


def _limit(name: str, description: str) -> fields.Integer:
    return fields.Integer(
        validate=validate.Range(min=-1, max=MAXIMA[name]),
        metadata={"description": description + "; 0 = unlimited (the default when not sent: "
                  "it overrides lower rules, as Pro stores it), -1 = inherit the next rule"},
    )  # fmt: skip


class ThrottleSetSchema(BaseSchema):
    """Parameters of POST /api/throttle/...: period is required; a limit not sent is 0."""

    period = fields.Integer(
        required=True,
        validate=validate.Range(min=0, max=MAXIMA["period"]),
        metadata={"description": "Seconds the limits count over; 0 removes the rule"},
    )
    msg_size = _limit("msg_size", "Bytes per message")
    max_msgs = _limit("max_msgs", "Messages (iRedAPD counts recipients) per period")
    max_quota = _limit("max_quota", "Bytes in all per period")


class ThrottleUsageSchema(Schema):
    """What iRedAPD has counted in the current window of a user's own rule."""

    cur_msgs = fields.Integer(metadata={"description": "Recipients counted"})
    cur_quota = fields.Integer(metadata={"description": "Bytes counted"})
    init_time = fields.Integer(allow_none=True, metadata={"description": "Window start (Unix)"})
    expires_at = fields.Integer(allow_none=True, metadata={"description": "Window end (Unix)"})


class ThrottleSchema(Schema):
    """A throttle rule as iRedAPD reads it; empty when there is none."""

    id = fields.Integer()
    account = fields.String(metadata={"description": "@. (global), @domain or user@domain"})
    kind = fields.String(metadata={"description": "inbound or outbound"})
    priority = fields.Integer(metadata={"description": "user 100, domain 60, global 0"})
    period = fields.Integer(metadata={"description": "Seconds"})
    msg_size = fields.Integer(metadata={"description": "Bytes per message"})
    max_msgs = fields.Integer(metadata={"description": "Recipients per period"})
    max_quota = fields.Integer(metadata={"description": "Bytes per period"})
    max_rcpts = fields.Integer(metadata={"description": "Not managed here; -1 inherits"})
    usage = fields.Nested(
        ThrottleUsageSchema,
        allow_none=True,
        metadata={"description": "A user's current window; null for domain and global rules"},
    )


ThrottleEnvelopeSchema = envelope(
    "ThrottleEnvelopeSchema",
    fields.Nested(ThrottleSchema),
    setting=fields.Nested(
        ThrottleSchema, metadata={"description": "The same rule, where iRedAdmin-Pro answers it"}
    ),
)
