"""Cookie login and logout, compatible with iRedAdmin-Pro's /api/login."""

from __future__ import annotations

from marshmallow import fields
from marshmallow import validate

from ..auth import PUBLIC
from ..auth import log_in
from ..auth import log_out
from ..auth import requires
from ..schemas.base import BaseSchema
from ..schemas.base import EnvelopeSchema
from ..schemas.base import ErrorEnvelopeSchema
from ..schemas.fields import Text
from ..schemas.fields import secret
from . import ApiBlueprint

blp = ApiBlueprint("login", __name__, description="Session login")


class LoginSchema(BaseSchema):
    """Credentials of an admin (full email address and plain password)."""

    username = Text(required=True, min_length=1, max_length=320)
    password = secret(fields.String(required=True, validate=validate.Length(min=1, max=1024)))


@blp.route("/login", methods=["POST"])
@blp.arguments(LoginSchema, location="json_or_form")
@blp.response(200, EnvelopeSchema)
@blp.alt_response(401, schema=ErrorEnvelopeSchema,
                  description="INVALID_CREDENTIALS: wrong username or password")  # fmt: skip
@blp.alt_response(429, schema=ErrorEnvelopeSchema,
                  description="TOO_MANY_REQUESTS: too many failed logins; see Retry-After")  # fmt: skip
@requires(PUBLIC)
def login(args):
    """Log in; the answer sets the session cookie (iRedAdmin-LDAP)."""
    log_in(args["username"], args["password"])
    return None


@blp.route("/logout", methods=["POST"])
@blp.response(200, EnvelopeSchema)
@requires(PUBLIC)
def logout():
    """Log out and end the session."""
    log_out()
    return None
