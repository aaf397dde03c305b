"""Schemas of the mail host routes: /api/mailqueue... and /api/mailservice/<service>."""

from __future__ import annotations

from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from ..mailhost.queue import MAX_FILTER_LENGTH
from ..mailhost.queue import QUEUES
from ..mailhost.services import SERVICES
from .base import BaseSchema
from .base import PageArgsSchema
from .base import envelope
from .base import page_envelope
from .fields import Text
from .fields import YesNo


class LanguageArgsSchema(BaseSchema):
    """`language`: the language of `detail` and `errors` (Accept-Language otherwise)."""

    language = Text(
        max_length=16,
        metadata={"description": "en or ru; Accept-Language otherwise; default en"},
    )


class QueueListArgsSchema(PageArgsSchema, LanguageArgsSchema):
    """Query arguments of GET /api/mailqueue; without page/offset every message is answered."""

    queue = Text(
        validate=validate.OneOf(QUEUES),
        metadata={"description": "Only this queue (hold = frozen)"},
    )
    sender = Text(
        max_length=MAX_FILTER_LENGTH,
        metadata={"description": "Part of the sender address, case-insensitive"},
    )
    recipient = Text(
        max_length=MAX_FILTER_LENGTH,
        metadata={"description": "Part of a recipient address, case-insensitive"},
    )


class QueueDeleteAllArgsSchema(LanguageArgsSchema):
    """DELETE /api/mailqueue: force=yes deletes every queue (active and incoming too)."""

    force = YesNo(
        load_default=False,
        metadata={"description": "yes: every queue; no: deferred and hold only"},
    )


class RecipientSchema(Schema):
    """One recipient of a queued message."""

    address = fields.String()
    delay_reason = fields.String(metadata={"description": "Why delivery was deferred"})


class QueueMessageSchema(Schema):
    """One queued message."""

    id = fields.String(metadata={"description": "Postfix queue id"})
    queue = fields.String(metadata={"description": f"One of: {', '.join(QUEUES)}"})
    frozen = fields.Boolean(metadata={"description": "On hold (the queue is hold)"})
    arrival_time = fields.Integer(metadata={"description": "Epoch seconds"})
    arrival_time_iso = fields.String(metadata={"description": "ISO 8601, UTC"})
    size = fields.Integer(metadata={"description": "Bytes"})
    sender = fields.String()
    recipients = fields.List(fields.Nested(RecipientSchema))
    forced_expire = fields.Boolean(metadata={"description": "postsuper -e was applied"})


QueuePageSchema = page_envelope(
    "QueuePageSchema",
    fields.Nested(QueueMessageSchema),
    "Queued messages; without paging arguments all of them, streamed (no paging keys)",
)


class QueueCountSchema(Schema):
    """How many messages are queued."""

    total = fields.Integer()
    by_queue = fields.Dict(keys=fields.String(), values=fields.Integer())


QueueCountEnvelopeSchema = envelope("QueueCountEnvelopeSchema", fields.Nested(QueueCountSchema))


class QueueResultSchema(Schema):
    """What a queue change did; `output` is what postsuper printed."""

    id = fields.String(metadata={"description": "The message acted on"})
    queue = fields.String(metadata={"description": "The queue it was found in"})
    queues = fields.List(fields.String(), metadata={"description": "The queues emptied"})
    deleted = fields.Integer()
    held = fields.Integer()
    released = fields.Integer()
    reshipped = fields.Boolean(metadata={"description": "A delivery attempt was requested"})
    requeued = fields.Integer()
    flushed = fields.Boolean()
    output = fields.List(fields.String())
    note = fields.String(metadata={"description": "Requeued mail gets new queue ids"})


QueueResultEnvelopeSchema = envelope("QueueResultEnvelopeSchema", fields.Nested(QueueResultSchema))


class ServiceStatusSchema(Schema):
    """The state of a service: on, off or changing, and each unit it is made of."""

    service = fields.String(metadata={"description": f"One of: {', '.join(SERVICES)}"})
    status = fields.String(metadata={"description": "on, off or changing"})
    units = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.String()),
        metadata={"description": "Unit name -> its state (active, pid, ...)"},
    )
    amavis_checks = fields.String(
        metadata={"description": "enabled or bypassed: Amavisd's checks for this service"}
    )


ServiceStatusEnvelopeSchema = envelope(
    "ServiceStatusEnvelopeSchema", fields.Nested(ServiceStatusSchema)
)
