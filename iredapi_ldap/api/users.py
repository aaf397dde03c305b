"""A domain's users as a set: /api/users/<domain> (list, export, bulk update)."""

from __future__ import annotations

from flask import current_app
from flask import json
from flask import stream_with_context

from ..auth import DOMAIN_BULK_WRITE
from ..auth import DOMAIN_READ
from ..auth import requires
from ..ldap import get_directory
from ..models import users
from ..schemas.user_view import UserPageSchema
from ..schemas.user_view import UserSchema
from ..schemas.users import UpdatedEnvelopeSchema
from ..schemas.users import UserExportArgsSchema
from ..schemas.users import UserListArgsSchema
from ..schemas.users import UsersBulkUpdateSchema
from ..schemas.users import UsersPasswordSchema
from . import ApiBlueprint
from .envelope import ok
from .paging import page_meta
from .paging import window
from .paths import path_domain

blp = ApiBlueprint("users", __name__, description="Mail users of a domain, as a set")

NDJSON = "application/x-ndjson"


@blp.route("/users/<domain>", methods=["GET"])
@blp.arguments(UserListArgsSchema, location="query")
@blp.response(200, UserPageSchema)
@requires(DOMAIN_READ)
def list_users(args, domain):
    """List a domain's users, paged; the catch-all is not a user."""
    offset, limit = window(args)
    items, total = users.list_users(
        get_directory(),
        path_domain(domain),
        offset,
        limit,
        email_only=args["email_only"],
        disabled_only=args["disabled_only"],
        search=args.get("search"),
    )
    return ok(items, **page_meta(offset, limit, total))


@blp.route("/users/<domain>/export", methods=["GET"])
@blp.arguments(UserExportArgsSchema, location="query")
@blp.response(
    200,
    UserSchema,
    content_type=NDJSON,
    description="One user profile (JSON object) per line, streamed; for large domains.",
)
@requires(DOMAIN_READ)
def export_users(args, domain):
    """Stream every user of a domain as NDJSON, read from the directory page by page."""
    profiles = users.export_users(
        get_directory(), path_domain(domain), args["disabled_only"], args.get("search")
    )

    def lines():
        for profile in profiles:
            yield json.dumps(profile, ensure_ascii=False) + "\n"

    return current_app.response_class(stream_with_context(lines()), mimetype=NDJSON)


@blp.route("/users/<domain>", methods=["PUT"])
@blp.arguments(UsersBulkUpdateSchema, location="json_or_form")
@blp.response(200, UpdatedEnvelopeSchema)
@requires(DOMAIN_BULK_WRITE)
def bulk_update_users(args, domain):
    """Apply accountStatus/password/language/transport to every user of the domain."""
    count = users.bulk_update_users(get_directory(), path_domain(domain), args, current_app.config)
    return ok({"updated": count})


@blp.route("/users/<domain>/password", methods=["PUT"])
@blp.arguments(UsersPasswordSchema, location="json_or_form")
@blp.response(200, UpdatedEnvelopeSchema)
@requires(DOMAIN_BULK_WRITE)
def bulk_password(args, domain):
    """Set the same password on every user of the domain (each hashed with its own salt)."""
    count = users.bulk_update_users(get_directory(), path_domain(domain), args, current_app.config)
    return ok({"updated": count})
