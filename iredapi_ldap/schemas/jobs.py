"""Schemas of /api/jobs: background jobs and their progress."""

from __future__ import annotations

from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from .base import PageArgsSchema
from .base import envelope
from .base import page_envelope

STATES = ("pending", "running", "done", "failed")


class JobListArgsSchema(PageArgsSchema):
    """Query arguments of GET /api/jobs."""

    state = fields.String(
        validate=validate.OneOf(STATES), metadata={"description": "Only jobs in this state"}
    )


class JobSchema(Schema):
    """A background job and how far it got."""

    id = fields.String()
    kind = fields.String(metadata={"description": "users.bulk_update or domain.delete"})
    domain = fields.String()
    state = fields.String(metadata={"description": "pending, running, done or failed"})
    progress = fields.Integer(metadata={"description": "Items done so far"})
    total = fields.Integer(allow_none=True, metadata={"description": "Items in all, once known"})
    error = fields.String(allow_none=True, metadata={"description": "CODE: text, when failed"})
    result = fields.Dict(allow_none=True, metadata={"description": "e.g. {updated: N}, when done"})
    attempts = fields.Integer(metadata={"description": "Runs so far (more than 1: resumed)"})
    created_by = fields.String()
    created = fields.String()
    started = fields.String(allow_none=True)
    finished = fields.String(allow_none=True)
    heartbeat = fields.String(allow_none=True, metadata={"description": "Last progress write"})


# One job (also the 202 answer of a request turned into a job).
JobEnvelopeSchema = envelope("JobEnvelopeSchema", fields.Nested(JobSchema))
JobPageSchema = page_envelope("JobPageSchema", fields.Nested(JobSchema))
