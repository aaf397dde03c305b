"""API tokens: /api/admin/<mail>/tokens (an admin its own, a global admin anyone's)."""

from __future__ import annotations

from ..auth import SELF
from ..auth import requires
from ..errors import NotFound
from ..ldap import get_directory
from ..models import admins
from ..models.admins.tokens import ID_PATTERN
from ..schemas.base import EnvelopeSchema
from ..schemas.token import NewTokenEnvelopeSchema
from ..schemas.token import TokenCreateSchema
from ..schemas.token import TokenListEnvelopeSchema
from ..security import token_usage
from ..security.tokens import token_cache
from . import ApiBlueprint
from .paths import path_mail

blp = ApiBlueprint("token", __name__, description="API tokens of admins")


@blp.route("/admin/<mail>/tokens", methods=["GET"])
@blp.response(200, TokenListEnvelopeSchema)
@requires(SELF)
def list_tokens(mail):
    """List an admin's tokens (never their secrets), oldest first."""
    return admins.list_tokens(get_directory(), path_mail(mail))


@blp.route("/admin/<mail>/tokens", methods=["POST"])
@blp.arguments(TokenCreateSchema, location="json_or_form")
@blp.response(201, NewTokenEnvelopeSchema)
@requires(SELF)
def create_token(args, mail):
    """Create a token; `_data.token` is shown this once (send it as Bearer or Basic password)."""
    created = admins.create_token(
        get_directory(),
        path_mail(mail),
        args["name"],
        args["expires"],
        args["read_only"],
        args["allowed_ips"],
    )
    return created


@blp.route("/admin/<mail>/tokens/<token_id>", methods=["DELETE"])
@blp.response(200, EnvelopeSchema)
@requires(SELF)
def revoke_token(mail, token_id):
    """Revoke a token: refused at once by this node, by the others within the cache time."""
    target = path_mail(mail)
    if not ID_PATTERN.match(token_id):
        raise NotFound("No such token.", code="NO_SUCH_TOKEN")
    record = admins.revoke_token(get_directory(), target, token_id)
    token_cache().forget(record.id)
    token_usage.forget(record.id)
    return None
