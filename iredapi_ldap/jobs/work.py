"""The jobs: a bulk update of a domain's users, and the deletion of a domain.

Each runs the same service function as the API's inline path, with the job's
progress reporting and its parallel writes. Both are idempotent, so a job whose
process died is simply run again by another one: a resumed bulk update touches
only the users that do not have the new values yet, a resumed delete deletes
what is left.
"""

from __future__ import annotations

from typing import Any

from .. import errors
from .. import services
from ..ldap import get_directory
from .runner import JobContext
from .runner import handler

BULK_UPDATE = "users.bulk_update"
DELETE_DOMAIN = "domain.delete"


@handler(BULK_UPDATE)
def bulk_update(context: JobContext) -> dict[str, Any]:
    """Apply accountStatus/language/transport (and a new password) to every user."""
    params = context.row_params
    domain, values = params["domain"], dict(params["values"])
    if params.get("password"):
        if context.secret is None:
            raise errors.Conflict(
                "Interrupted: the new password is kept in memory only, so another process "
                "cannot finish the job. Submit the change again.",
                code="JOB_INTERRUPTED",
            )
        values["password"] = context.secret
    with context.app.app_context():
        services.users.bulk_update(
            get_directory(), domain, values, context.config, **_running(context)
        )
    return {"updated": context.progress}


@handler(DELETE_DOMAIN)
def delete_domain(context: JobContext) -> dict[str, Any]:
    """Delete a domain's subtree deepest level first, logging its users' mailboxes."""
    params = context.row_params
    with context.app.app_context():
        services.domains.delete_domain(
            get_directory(),
            params["domain"],
            params.get("admin", ""),
            int(params.get("keep_days", 0)),
            **_running(context),
        )
    return {"deleted": context.progress}


def _running(context: JobContext) -> dict[str, Any]:
    """Return a service's job arguments: resumption, progress reporting, parallel writes."""
    return {
        "resumed": context.resumed,
        "previous_total": context.total,
        "progress": context.report,
        "each": context.each,
    }
