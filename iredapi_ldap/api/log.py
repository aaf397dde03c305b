"""The audit log of write requests: GET /api/log."""

from __future__ import annotations

from flask_login import current_user

from .. import audit
from ..auth import LOGIN
from ..auth import requires
from ..errors import Forbidden
from ..ldap import get_directory
from ..models import admins
from ..schemas.log import LogArgsSchema
from ..schemas.log import LogPageSchema
from . import ApiBlueprint
from .paging import Page
from .paging import window

blp = ApiBlueprint("log", __name__, description="Audit log of write requests")


@blp.route("/log", methods=["GET"])
@blp.arguments(LogArgsSchema, location="query")
@blp.response(200, LogPageSchema)
@requires(LOGIN)
def list_log(args):
    """List audited writes, newest first; non-global admins see their domains' and their own."""
    visible_to = None
    if not current_user.is_global:
        visible_to = (current_user.mail, _managed_domains())
        if "domain" in args and args["domain"] not in visible_to[1]:
            raise Forbidden("You do not manage this domain.")
    offset, limit = window(args)
    entries, total = audit.query_log(
        offset,
        limit,
        admin=args.get("admin"),
        domain=args.get("domain"),
        since=args.get("since"),
        until=args.get("until"),
        action=args.get("action"),
        resource=args.get("resource"),
        visible_to=visible_to,
    )
    return Page(entries, offset, limit, total)


def _managed_domains() -> list[str]:
    if current_user.domains is not None:
        return current_user.domains
    return admins.managed_domains(get_directory(), current_user.mail)
