"""Domains: /api/domains and /api/domain/<domain>."""

from __future__ import annotations

from flask import current_app

from ..auth import GLOBAL_ADMIN, requires
from ..ldap import get_directory
from ..models import domain as domains
from ..schemas.base import EnvelopeSchema
from ..schemas.domain import (
    DomainCreateSchema,
    DomainEnvelopeSchema,
    DomainListArgsSchema,
    DomainPageSchema,
    DomainUpdateSchema,
)
from . import ApiBlueprint
from .envelope import ok
from .paging import page_meta, window
from .paths import path_domain

blp = ApiBlueprint("domain", __name__, description="Mail domains")


@blp.route("/domains", methods=["GET"])
@blp.arguments(DomainListArgsSchema, location="query")
@blp.response(200, DomainPageSchema)
@requires(GLOBAL_ADMIN)
def list_domains(args):
    """List domains, paged (page/page_size or offset/limit)."""
    offset, limit = window(args)
    items, total = domains.list_domains(
        get_directory(), offset, limit, args["disabled_only"], args["name_only"]
    )
    return ok(items, **page_meta(offset, limit, total))


@blp.route("/domain/<domain>", methods=["GET"])
@blp.response(200, DomainEnvelopeSchema)
@requires(GLOBAL_ADMIN)
def get_domain(domain):
    """Show one domain's profile."""
    return ok(domains.get_domain(get_directory(), path_domain(domain)))


@blp.route("/domain/<domain>", methods=["POST"])
@blp.arguments(DomainCreateSchema, location="json_or_form")
@blp.response(201, DomainEnvelopeSchema)
@requires(GLOBAL_ADMIN)
def create_domain(args, domain):
    """Create a domain with its Users, Groups, Aliases and Externals containers."""
    created = domains.create_domain(get_directory(), path_domain(domain), args, current_app.config)
    return ok(created, status=201)


@blp.route("/domain/<domain>", methods=["PUT"])
@blp.arguments(DomainUpdateSchema, location="json_or_form")
@blp.response(200, DomainEnvelopeSchema)
@requires(GLOBAL_ADMIN)
def update_domain(args, domain):
    """Update a domain; accountStatus=disabled also marks every account under it."""
    updated = domains.update_domain(get_directory(), path_domain(domain), args, current_app.config)
    return ok(updated)


@blp.route("/domain/<domain>", methods=["DELETE"])
@blp.response(200, EnvelopeSchema)
@requires(GLOBAL_ADMIN)
def delete_domain(domain):
    """Delete a domain and everything in it (mailboxes on disk are kept)."""
    return _delete(domain, 0)


@blp.route("/domain/<domain>/keep_mailbox_days/<int:days>", methods=["DELETE"])
@blp.response(200, EnvelopeSchema)
@requires(GLOBAL_ADMIN)
def delete_domain_keep_days(domain, days):
    """Delete a domain, keeping its mailboxes on disk for N days (0 = forever)."""
    return _delete(domain, days)


def _delete(domain: str, keep_days: int):
    from ..errors import ValidationFailed

    if keep_days > 1095:
        raise ValidationFailed(
            "keep_mailbox_days must be 0 to 1095.", errors={"keep_mailbox_days": ["0 to 1095."]}
        )
    domains.delete_domain(get_directory(), path_domain(domain))
    return ok()
