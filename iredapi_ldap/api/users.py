"""A domain's users as a set: /api/users/<domain> (list, export, bulk update)."""

from __future__ import annotations

from flask import current_app
from flask import json
from flask import stream_with_context
from flask_login import current_user

from .. import services
from ..auth import DOMAIN_BULK_WRITE
from ..auth import DOMAIN_READ
from ..auth import requires
from ..jobs import get_runner
from ..jobs.work import BULK_UPDATE
from ..ldap import get_directory
from ..models import users
from ..schemas.jobs import JobEnvelopeSchema
from ..schemas.user_view import UserPageSchema
from ..schemas.user_view import UserSchema
from ..schemas.users import UpdatedEnvelopeSchema
from ..schemas.users import UserExportArgsSchema
from ..schemas.users import UserListArgsSchema
from ..schemas.users import UsersBulkUpdateSchema
from ..schemas.users import UsersPasswordSchema
from . import ApiBlueprint
from .jobs import ACCEPTED
from .jobs import accepted
from .paging import Page
from .paging import window
from .paths import path_domain
from .user_rules import TRANSPORT_RULE

blp = ApiBlueprint("users", __name__, description="Mail users of a domain, as a set")

NDJSON = "application/x-ndjson"
EXPORT_CHUNK = 200


@blp.route("/users/<domain>", methods=["GET"])
@blp.arguments(UserListArgsSchema, location="query")
@blp.response(200, UserPageSchema)
@requires(DOMAIN_READ)
def list_users(args, domain):
    """List a domain's users, paged; the catch-all is not a user."""
    offset, limit = window(args)
    items, total, exact = users.list_users(
        get_directory(),
        path_domain(domain),
        offset,
        limit,
        email_only=args["email_only"],
        disabled_only=args["disabled_only"],
        search=args.get("search"),
        exact_total=args["total_exact"],
    )
    return Page(items, offset, limit, total, {"total_exact": exact})


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
        # One write per EXPORT_CHUNK lines, not per line: far fewer socket sends.
        chunk: list[str] = []
        for profile in profiles:
            chunk.append(json.dumps(profile, ensure_ascii=False))
            if len(chunk) >= EXPORT_CHUNK:
                yield "\n".join(chunk) + "\n"
                chunk = []
        if chunk:
            yield "\n".join(chunk) + "\n"

    return current_app.response_class(stream_with_context(lines()), mimetype=NDJSON)


@blp.route("/users/<domain>", methods=["PUT"])
@blp.arguments(UsersBulkUpdateSchema, location="json_or_form")
@blp.response(200, UpdatedEnvelopeSchema)
@blp.alt_response(202, schema=JobEnvelopeSchema, description=ACCEPTED)
@requires(DOMAIN_BULK_WRITE, global_values=(TRANSPORT_RULE,))
def bulk_update_users(args, domain):
    """Apply accountStatus/password/language/transport to every user of the domain."""
    return _bulk_update(path_domain(domain), args)


@blp.route("/users/<domain>/password", methods=["PUT"])
@blp.arguments(UsersPasswordSchema, location="json_or_form")
@blp.response(200, UpdatedEnvelopeSchema)
@blp.alt_response(202, schema=JobEnvelopeSchema, description=ACCEPTED)
@requires(DOMAIN_BULK_WRITE)
def bulk_password(args, domain):
    """Set the same password on every user of the domain (each hashed with its own salt)."""
    return _bulk_update(path_domain(domain), args)


def _bulk_update(domain: str, values: dict):
    """Update inline up to [jobs] sync_limit users; beyond, start a job and answer 202."""
    directory = get_directory()
    config = current_app.config
    users.check_bulk_values(directory, domain, values, config)
    if not users.more_users_than(directory, domain, config["JOBS_SYNC_LIMIT"]):
        updated = services.users.bulk_update(directory, domain, values, config, checked=True)
        return {"updated": updated}
    params = {
        "domain": domain,
        "values": {k: v for k, v in values.items() if k != "password"},
        "password": "password" in values,
    }
    job_id = get_runner(current_app).submit(
        BULK_UPDATE, domain, params, current_user.mail, secret=values.get("password")
    )
    return accepted(job_id)
