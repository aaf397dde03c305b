"""The jobs: a bulk update of a domain's users, and the deletion of a domain.

Both are idempotent, so a job whose process died is simply run again by
another one: a resumed bulk update touches only the users that do not have
the new values yet, a resumed delete deletes what is left.
"""

from __future__ import annotations

import logging
from typing import Any

from .. import errors
from ..ldap import Directory
from ..ldap import Entry
from ..ldap import attrs as A
from ..ldap import filters as F
from ..ldap import get_directory
from ..ldap.directory import NO_ATTRIBUTES
from ..ldap.directory import dn_depth
from ..mailhost import get_mlmmj
from ..models.domains.domain import get_domain_entry
from ..models.mls.ml import archive_lists
from ..models.mls.ml import domain_list_addresses
from ..models.users import listing as users
from ..models.users.user import MAILBOX_ATTRIBUTES
from ..models.users.user import forget_domain_rows
from ..models.users.user import record_deleted_mailboxes
from .runner import JobContext
from .runner import handler

log = logging.getLogger(__name__)

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
        directory = get_directory()
        users.check_bulk_values(directory, domain, values, context.config)
        if context.resumed and "password" not in values:
            dns = users.bulk_target_dns(
                directory, domain, users.bulk_remaining_filter(domain, values)
            )
            total = context.total if context.total is not None else len(dns)
            context.set_total(max(total, len(dns)), done=max(total - len(dns), 0))
        else:
            dns = users.bulk_target_dns(directory, domain)
            context.set_total(len(dns))
    common = users.bulk_common_changes(values)
    scheme = context.config["DEFAULT_PASSWORD_SCHEME"]

    def update(directory: Directory, dn: str) -> None:
        directory.modify_ignoring_missing(dn, users.bulk_user_changes(common, values, scheme))

    context.each(dns, update)
    return {"updated": context.progress}


@handler(DELETE_DOMAIN)
def delete_domain(context: JobContext) -> dict[str, Any]:
    """Delete a domain's subtree deepest level first, logging its users' mailboxes."""
    params = context.row_params
    domain = params["domain"]
    with context.app.app_context():
        directory = get_directory()
        try:
            domain_dn = get_domain_entry(directory, domain).dn
        except errors.NoSuchDomain:
            if context.resumed:
                return {"deleted": context.progress}
            raise
        mailbox_users = {
            entry.dn.lower(): entry
            for entry in directory.search(
                directory.dn.users(domain), F.object_class(A.OC_USER), MAILBOX_ATTRIBUTES, "one"
            )
        }
        dns = [e.dn for e in directory.search(domain_dn, F.everything(), NO_ATTRIBUTES)]
        lists = domain_list_addresses(directory, domain)
    if context.resumed and context.total is not None:
        context.set_total(max(context.total, len(dns)), done=max(context.total - len(dns), 0))
    else:
        context.set_total(len(dns))
    levels: dict[int, list[str]] = {}
    for dn in dns:
        levels.setdefault(dn_depth(dn), []).append(dn)

    def delete(directory: Directory, dn: str) -> None:
        try:
            directory.delete(dn)
        except errors.NotFound:
            pass

    for depth in sorted(levels, reverse=True):
        context.each(levels[depth], delete)
        deleted_users = [
            mailbox_users[dn.lower()] for dn in levels[depth] if dn.lower() in mailbox_users
        ]
        if deleted_users:
            _record(context, deleted_users)
    with context.app.app_context():
        forget_domain_rows(domain)
        archive_lists(get_mlmmj, lists)
    return {"deleted": context.progress}


def _record(context: JobContext, entries: list[Entry]) -> None:
    with context.app.app_context():
        record_deleted_mailboxes(
            entries,
            context.row_params.get("admin", ""),
            int(context.row_params.get("keep_days", 0)),
        )
