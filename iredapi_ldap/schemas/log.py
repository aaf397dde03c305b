"""Audit log query and response schemas."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validates_schema

from .base import PageArgsSchema
from .base import page_envelope
from .fields import DomainName
from .fields import Email
from .fields import Text
from .token import Moment


class LogArgsSchema(PageArgsSchema):
    """Query of GET /api/log: paging plus filters (all optional, combined with AND)."""

    admin = Email(metadata={"description": "Only entries of this admin"})
    domain = DomainName(metadata={"description": "Only entries about this domain"})
    since = Moment(metadata={"description": "ISO 8601; entries at or after (no zone = UTC)"})
    until = Moment(metadata={"description": "ISO 8601; entries at or before (no zone = UTC)"})
    action = Text(
        min_length=1,
        max_length=32,
        metadata={"description": "create, update, delete, login, logout, ..."},
    )
    resource = Text(
        min_length=1,
        max_length=64,
        metadata={"description": "domain, user, admin, token, login, ..."},
    )

    @validates_schema
    def _ordered(self, data: dict, **kwargs: Any) -> None:
        if "since" in data and "until" in data and data["since"] > data["until"]:
            raise ValidationError("Must not be after until.", "since")


class LogEntrySchema(Schema):
    """One audited write request."""

    id = fields.Integer()
    timestamp = fields.String(metadata={"description": "UTC, ISO 8601"})
    admin = fields.String(metadata={"description": "Who (for a login: the username tried)"})
    token = fields.String(metadata={"description": "Id of the API token used, if any"})
    client_address = fields.String()
    method = fields.String()
    path = fields.String()
    resource = fields.String()
    domain = fields.String()
    object = fields.String(metadata={"description": "The address or domain acted on"})
    action = fields.String()
    parameters = fields.Raw(metadata={"description": "The request's parameters, secrets masked"})
    status = fields.Integer(metadata={"description": "HTTP status of the answer"})
    result = fields.String(metadata={"description": "SUCCESS or the error code (msg)"})


# One page of the audit log, newest first.
LogPageSchema = page_envelope("LogPageSchema", fields.Nested(LogEntrySchema))
