"""Legacy LDAP mailing lists: /api/maillist/<mail> and /api/maillists/<domain>."""

from __future__ import annotations

from flask_login import current_user

from ..auth import CREATE_LIST
from ..auth import DOMAIN_READ
from ..auth import DOMAIN_WRITE
from ..auth import requires
from ..ldap import get_directory
from ..models import maillists as lists
from ..schemas.base import EnvelopeSchema
from ..schemas.base import ErrorEnvelopeSchema
from ..schemas.maillist import MaillistCreateSchema
from ..schemas.maillist import MaillistDeleteArgsSchema
from ..schemas.maillist import MaillistEnvelopeSchema
from ..schemas.maillist import MaillistListArgsSchema
from ..schemas.maillist import MaillistPageSchema
from ..schemas.maillist import MaillistUpdateSchema
from . import ApiBlueprint
from .paging import Page
from .paging import window
from .paths import path_domain
from .paths import path_mail

blp = ApiBlueprint("maillist", __name__, description="Legacy LDAP mailing lists (no subscription)")


def _domain_check():
    """Return None for a global admin, else the test of the domains the caller manages."""
    return None if current_user.is_global else current_user.manages


@blp.route("/maillist/<mail>", methods=["GET"])
@blp.response(200, MaillistEnvelopeSchema)
@requires(DOMAIN_READ)
def get_list(mail):
    """Show one list with its members (internal and external); says so when it has none."""
    return lists.get_list(get_directory(), path_mail(mail))


@blp.route("/maillist/<mail>", methods=["POST"])
@blp.arguments(MaillistCreateSchema, location="json_or_form")
@blp.response(201, MaillistEnvelopeSchema)
@blp.alt_response(403, schema=ErrorEnvelopeSchema,
                  description="EXCEEDED_DOMAIN_ML_LIMIT: numberOfLists reached")  # fmt: skip
@requires(CREATE_LIST)
def create_list(args, mail):
    """Create a list; numberOfLists holds under concurrency, bad members are refused."""
    created = lists.create_list(get_directory(), path_mail(mail), args, _domain_check())
    return created


@blp.route("/maillist/<mail>", methods=["PUT"])
@blp.arguments(MaillistUpdateSchema, location="json_or_form")
@blp.response(200, MaillistEnvelopeSchema)
@requires(DOMAIN_WRITE)
def update_list(args, mail):
    """Update a list; X replaces a set, addX/removeX change it (not combined)."""
    return lists.update_list(get_directory(), path_mail(mail), args, _domain_check())


@blp.route("/maillist/<mail>", methods=["DELETE"])
@blp.arguments(MaillistDeleteArgsSchema, location="query")
@blp.response(200, EnvelopeSchema)
@requires(DOMAIN_WRITE)
def delete_list(args, mail):
    """Delete a list, its memberships and external members, and every reference to it."""
    lists.delete_list(get_directory(), path_mail(mail))
    return None


@blp.route("/maillists/<domain>", methods=["GET"])
@blp.arguments(MaillistListArgsSchema, location="query")
@blp.response(200, MaillistPageSchema)
@requires(DOMAIN_READ)
def list_lists(args, domain):
    """List a domain's legacy lists with their members, paged (mlmmj lists are not included)."""
    offset, limit = window(args)
    items, total = lists.list_lists(
        get_directory(), path_domain(domain), offset, limit, email_only=args["email_only"]
    )
    return Page(items, offset, limit, total)
