"""Mail aliases: /api/alias/<mail>, its rename, and /api/aliases/<domain>."""

from __future__ import annotations

from ..auth import CREATE_ALIAS
from ..auth import DOMAIN_READ
from ..auth import DOMAIN_WRITE
from ..auth import requires
from ..ldap import get_directory
from ..models import aliases
from ..schemas.alias import AliasCreateSchema
from ..schemas.alias import AliasEnvelopeSchema
from ..schemas.alias import AliasListArgsSchema
from ..schemas.alias import AliasPageSchema
from ..schemas.alias import AliasUpdateSchema
from ..schemas.base import EnvelopeSchema
from ..schemas.base import ErrorEnvelopeSchema
from . import ApiBlueprint
from .paging import Page
from .paging import window
from .paths import path_domain
from .paths import path_mail

blp = ApiBlueprint("alias", __name__, description="Mail aliases")


@blp.route("/alias/<mail>", methods=["GET"])
@blp.response(200, AliasEnvelopeSchema)
@requires(DOMAIN_READ)
def get_alias(mail):
    """Show one alias: members, moderators, access policy; says so when it has no members."""
    return aliases.get_alias(get_directory(), path_mail(mail))


@blp.route("/alias/<mail>", methods=["POST"])
@blp.arguments(AliasCreateSchema, location="json_or_form")
@blp.response(201, AliasEnvelopeSchema)
@blp.alt_response(403, schema=ErrorEnvelopeSchema,
                  description="EXCEEDED_DOMAIN_ALIAS_LIMIT: numberOfAliases reached")  # fmt: skip
@requires(CREATE_ALIAS)
def create_alias(args, mail):
    """Create an alias; numberOfAliases holds under concurrency, bad members are refused."""
    return aliases.create_alias(get_directory(), path_mail(mail), args)


@blp.route("/alias/<mail>", methods=["PUT"])
@blp.arguments(AliasUpdateSchema, location="json_or_form")
@blp.response(200, AliasEnvelopeSchema)
@requires(DOMAIN_WRITE)
def update_alias(args, mail):
    """Update an alias; X replaces a set, addX/removeX change it (not combined)."""
    return aliases.update_alias(get_directory(), path_mail(mail), args)


@blp.route("/alias/<mail>", methods=["DELETE"])
@blp.response(200, EnvelopeSchema)
@requires(DOMAIN_WRITE)
def delete_alias(mail):
    """Delete an alias and every reference to it (members of aliases, lists, moderators)."""
    aliases.delete_alias(get_directory(), path_mail(mail))
    return None


@blp.route("/alias/<mail>/change_email/<new_mail>", methods=["POST"])
@blp.response(200, AliasEnvelopeSchema)
@requires(DOMAIN_WRITE)
def change_email(mail, new_mail):
    """Rename an alias within its domain; references to it follow."""
    renamed = aliases.change_alias_email(
        get_directory(), path_mail(mail), path_mail(new_mail, field="new_mail")
    )
    return renamed


@blp.route("/aliases/<domain>", methods=["GET"])
@blp.arguments(AliasListArgsSchema, location="query")
@blp.response(200, AliasPageSchema)
@requires(DOMAIN_READ)
def list_aliases(args, domain):
    """List a domain's aliases, paged (page/page_size or offset/limit)."""
    offset, limit = window(args)
    items, total = aliases.list_aliases(
        get_directory(), path_domain(domain), offset, limit,
        email_only=args["email_only"], disabled_only=args["disabled_only"],
    )  # fmt: skip
    return Page(items, offset, limit, total)
