"""Output schemas of a mail user's profile (GET), shared by /api/user and /api/users."""

from __future__ import annotations

from marshmallow import fields

from ..models.users.view import USER_VIEW
from .base import envelope
from .base import page_envelope
from .build import OneOf
from .build import schema_from_fields

# A mail user's profile; the password hash is never included.
UserSchema = schema_from_fields(USER_VIEW, "UserSchema")
UserEnvelopeSchema = envelope("UserEnvelopeSchema", fields.Nested(UserSchema))
UserPageSchema = page_envelope(
    "UserPageSchema",
    OneOf(UserSchema, fields.String()),
    "User profiles, or addresses with email_only=yes",
    total_exact=fields.Boolean(
        metadata={"description": "total is a count (not the domain's cached counter)"}
    ),
)
