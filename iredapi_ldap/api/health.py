"""Health check for load balancers and monitoring."""

from __future__ import annotations

from ..auth import PUBLIC
from ..auth import requires
from ..ldap import get_directory
from ..schemas.health import HealthEnvelopeSchema
from . import ApiBlueprint

blp = ApiBlueprint("health", __name__, description="Service health")


@blp.route("/health", methods=["GET"])
@blp.response(200, HealthEnvelopeSchema)
@requires(PUBLIC)
def health():
    """Answer 200 when the directory answers a base search, 503 otherwise."""
    directory = get_directory()
    found = directory.exists(directory.dn.domains)
    return {"ldap": "ok" if found else "missing o=domains"}
