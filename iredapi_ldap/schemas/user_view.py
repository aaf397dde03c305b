"""Output schemas of a mail user's profile (GET), shared by /api/user and /api/users."""

from __future__ import annotations

from marshmallow import fields

from ..models.users.view import USER_VIEW
from .build import profile_schemas

# A mail user's profile; the password hash is never included.
UserSchema, UserEnvelopeSchema, UserPageSchema = profile_schemas(
    USER_VIEW,
    "User",
    "User profiles, or addresses with email_only=yes",
    total_exact=fields.Boolean(
        metadata={"description": "total is a count (not the domain's cached counter)"}
    ),
)
