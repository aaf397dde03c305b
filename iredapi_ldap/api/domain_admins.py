"""A domain's admins: /api/domain/admins/<domain>."""

from __future__ import annotations

from ..auth import DOMAIN_READ
from ..auth import GLOBAL_ADMIN
from ..auth import requires
from ..ldap import get_directory
from ..models import domains
from ..schemas.domain_admins import DomainAdminsEnvelopeSchema
from ..schemas.domain_admins import DomainAdminsUpdateSchema
from . import ApiBlueprint
from .paths import path_domain

blp = ApiBlueprint("domain_admins", __name__, description="Admins of one domain")


@blp.route("/domain/admins/<domain>", methods=["GET"])
@blp.response(200, DomainAdminsEnvelopeSchema)
@requires(DOMAIN_READ)
def get_admins(domain):
    """List a domain's admins: mail users of the domain and standalone admins."""
    return domains.get_domain_admins(get_directory(), path_domain(domain))


@blp.route("/domain/admins/<domain>", methods=["PUT"])
@blp.arguments(DomainAdminsUpdateSchema, location="json_or_form")
@blp.response(200, DomainAdminsEnvelopeSchema)
@requires(GLOBAL_ADMIN)
def update_admins(args, domain):
    """Add or remove admins (removeAllAdmins, removeAdmin, then addAdmin); returns the admins."""
    domains.require_change(args)
    return domains.update_domain_admins(get_directory(), path_domain(domain), args)
