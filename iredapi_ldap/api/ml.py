"""Subscribable (mlmmj) mailing lists: /api/ml/<mail> and /api/mls/<domain>."""

from __future__ import annotations

from flask import current_app

from .. import services
from ..auth import CREATE_LIST
from ..auth import DOMAIN_READ
from ..auth import DOMAIN_WRITE
from ..auth import requires
from ..errors import ValidationFailed
from ..ldap import get_directory
from ..mailhost import get_mlmmj
from ..models import mls
from ..schemas.base import ErrorEnvelopeSchema
from ..schemas.ml import MlCreateSchema
from ..schemas.ml import MlDeleteArgsSchema
from ..schemas.ml import MlDeletedSchema
from ..schemas.ml import MlEnvelopeSchema
from ..schemas.ml import MlGetArgsSchema
from ..schemas.ml import MlListArgsSchema
from ..schemas.ml import MlPageSchema
from ..schemas.ml import MlUpdateSchema
from . import ApiBlueprint
from .paging import Page
from .paging import window
from .paths import path_domain
from .paths import path_mail

blp = ApiBlueprint("ml", __name__, description="Subscribable (mlmmj) mailing lists")


@blp.route("/ml/<mail>", methods=["GET"])
@blp.arguments(MlGetArgsSchema, location="query")
@blp.response(200, MlEnvelopeSchema)
@requires(DOMAIN_READ)
def get_list(args, mail):
    """Show a list: its LDAP entry, its mlmmj settings and, with with_subscribers=yes, subscribers."""
    found = mls.get_list(get_directory(), get_mlmmj(), path_mail(mail), args["with_subscribers"])
    return found


@blp.route("/ml/<mail>", methods=["POST"])
@blp.arguments(MlCreateSchema, location="json_or_form")
@blp.response(201, MlEnvelopeSchema)
@blp.alt_response(403, schema=ErrorEnvelopeSchema,
                  description="EXCEEDED_DOMAIN_ML_LIMIT: numberOfLists reached")  # fmt: skip
@blp.alt_response(503, schema=ErrorEnvelopeSchema,
                  description="MAILHOST_UNAVAILABLE: mlmmj is not installed or its spool is missing")  # fmt: skip
@requires(CREATE_LIST)
def create(args, mail):
    """Create a list: its mlmmj directory (settings, first subscribers), then its LDAP entry."""
    created = services.mls.create_list(
        get_directory(), get_mlmmj(), path_mail(mail), args, current_app.config
    )
    return created


@blp.route("/ml/<mail>", methods=["PUT"])
@blp.arguments(MlUpdateSchema, location="json_or_form")
@blp.response(200, MlEnvelopeSchema)
@requires(DOMAIN_WRITE)
def update(args, mail):
    """Update a list's entry and settings; subscribers replaces, add_/remove_subscribers change."""
    return mls.update_list(get_directory(), get_mlmmj(), path_mail(mail), args)


@blp.route("/ml/<mail>", methods=["DELETE"])
@blp.arguments(MlDeleteArgsSchema, location="query")
@blp.arguments(MlDeleteArgsSchema, location="json_or_form", required=False)
@blp.response(200, MlDeletedSchema)
@requires(DOMAIN_WRITE)
def delete(query, body, mail):
    """Delete a list; keep_archive=yes (default) moves its directory to the archive, no removes it."""
    keep = _keep_archive(query, body)
    archived = services.mls.delete_list(get_directory(), get_mlmmj(), path_mail(mail), keep)
    return {"archived_to": archived}


def _keep_archive(query: dict, body: dict) -> bool:
    """Return keep_archive (or archive) from the query string or the body; default yes."""
    values = [
        v for source in (query, body) for k, v in source.items() if k in ("keep_archive", "archive")
    ]
    if len(set(values)) > 1:
        raise ValidationFailed(
            "keep_archive is given twice with different values.",
            errors={"keep_archive": ["Query string and body disagree."]},
        )
    return values[0] if values else True


@blp.route("/mls/<domain>", methods=["GET"])
@blp.arguments(MlListArgsSchema, location="query")
@blp.response(200, MlPageSchema)
@requires(DOMAIN_READ)
def list_lists(args, domain):
    """List a domain's subscribable lists, paged; email_only=yes gives addresses only."""
    offset, limit = window(args)
    found, total = mls.list_lists(
        get_directory(), get_mlmmj(), path_domain(domain), offset, limit, args["email_only"]
    )
    return Page(found, offset, limit, total)
