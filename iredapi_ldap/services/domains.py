"""Use cases of mail domains: create (and manage), update, delete with everything in it."""

from __future__ import annotations

import logging
from typing import Any

from .. import errors
from ..ldap import Directory
from ..ldap.directory import dn_depth
from ..mailhost import get_mlmmj
from ..models import admins
from ..models import domains
from ..models import mls
from ..models import users
from ..sqlstore import get_store
from .policy import forget_policy_rows
from .progress import Each
from .progress import Progress
from .progress import Tally
from .progress import in_sequence
from .users import record_deleted_mailboxes

log = logging.getLogger(__name__)


def create_domain(
    directory: Directory,
    domain: str,
    values: dict[str, Any],
    config: dict[str, Any],
    managed_by: str | None = None,
) -> dict[str, Any]:
    """Create a domain with its containers; `managed_by` (an admin's address) then manages it."""
    created = domains.create_domain(directory, domain, values, config)
    if managed_by is None:
        return created
    admins.add_domain_admin(directory, domain, managed_by)
    return domains.get_domain(directory, domain)


def update_domain(
    directory: Directory, domain: str, values: dict[str, Any], config: dict[str, Any]
) -> dict[str, Any]:
    """Update a domain: its entry, then what follows from it; return the new profile.

    A new limit re-counts what it guards, accountStatus marks every account of
    the domain, changed alias domains change the accounts' shadow addresses, and
    catchall replaces the catch-all's targets. The checks run before any write.
    """
    if "catchall" in values:
        domains.check_catchall(directory, domain, values["catchall"])
    domains.check_alias_domains(directory, domain, values)
    before = domains.modify_domain(directory, domain, values, config)
    domains.recount_for_limits(directory, domain, values)
    if "accountStatus" in values:
        domains.set_accounts_domain_status(directory, domain, values["accountStatus"])
    domains.sync_alias_addresses(directory, domain, before.all("domainAliasName"))
    if "catchall" in values:
        domains.set_catchall(directory, domain, values["catchall"])
    return domains.get_domain(directory, domain)


def delete_domain(
    directory: Directory,
    domain: str,
    admin: str,
    keep_days: int,
    *,
    resumed: bool = False,
    previous_total: int | None = None,
    progress: Progress | None = None,
    each: Each | None = None,
) -> int:
    """Delete a domain's subtree deepest level first; return how many entries were deleted.

    The users' mailboxes are logged for the cleanup cron (kept `keep_days`, 0 =
    forever) as their level goes, the domain's SQL rows are dropped and its mlmmj
    lists archived at the end. Deleting is idempotent: a `resumed` run deletes
    what is left (nothing when the domain is gone), `previous_total` keeps the total.
    """
    try:
        dns = domains.subtree_dns(directory, domain)
    except errors.NoSuchDomain:
        if resumed:
            return 0
        raise
    mailboxes = users.domain_mailboxes(directory, domain)
    lists = mls.domain_list_addresses(directory, domain)
    tally = Tally(progress)
    tally.start(len(dns), previous_total if resumed else None)
    levels: dict[int, list[str]] = {}
    for dn in dns:
        levels.setdefault(dn_depth(dn), []).append(dn)

    def delete(directory: Directory, dn: str) -> None:
        try:
            directory.delete(dn)
        except errors.NotFound:
            pass
        tally.advance()

    run = each or in_sequence(directory)
    for depth in sorted(levels, reverse=True):
        run(levels[depth], delete)
        gone = [mailboxes[dn.lower()] for dn in levels[depth] if dn.lower() in mailboxes]
        if gone:
            record_deleted_mailboxes(gone, admin, keep_days)
    _forget_domain_rows(domain)
    forget_policy_rows(domain)
    mls.archive_lists(get_mlmmj, lists)
    return tally.done


def _forget_domain_rows(domain: str) -> None:
    """Drop a deleted domain's quota and last-login rows (Dovecot's SQL tables); never raises."""
    try:
        get_store().forget_domains([domain])
    except errors.ApiError as exc:
        log.error("Could not drop SQL rows of deleted domain %s: %s", domain, exc.detail)
