"""Use cases of mail users that take several model calls or touch the SQL store too."""

from __future__ import annotations

import logging
from typing import Any

from .. import errors
from ..ldap import Directory
from ..ldap import Entry
from ..models import users
from ..sqlstore import get_store
from .policy import forget_policy_rows
from .policy import move_policy_rows
from .progress import Each
from .progress import Progress
from .progress import Tally
from .progress import in_sequence

log = logging.getLogger(__name__)


def bulk_update(
    directory: Directory,
    domain: str,
    values: dict[str, Any],
    config: dict[str, Any],
    *,
    checked: bool = False,
    resumed: bool = False,
    previous_total: int | None = None,
    progress: Progress | None = None,
    each: Each | None = None,
) -> int:
    """Apply accountStatus/language/transport (and a new password) to every user of a domain.

    Returns how many entries were changed (a user deleted meanwhile is skipped).
    `checked`: the caller ran `users.check_bulk_values` already. `resumed`: an
    earlier run was interrupted; without a new password only the users that lack
    the new values are written again, and `previous_total` keeps the total.
    """
    if not checked:
        users.check_bulk_values(directory, domain, values, config)
    tally = Tally(progress)
    if resumed and "password" not in values:
        remaining = users.bulk_remaining_filter(domain, values)
        dns = users.bulk_target_dns(directory, domain, remaining)
        tally.start(len(dns), previous_total)
    else:
        dns = users.bulk_target_dns(directory, domain)
        tally.start(len(dns))
    common = users.bulk_common_changes(values)
    scheme = config["DEFAULT_PASSWORD_SCHEME"]

    def update(directory: Directory, dn: str) -> None:
        changes = users.bulk_user_changes(common, values, scheme)
        tally.advance(directory.modify_ignoring_missing(dn, changes))

    (each or in_sequence(directory))(dns, update)
    return tally.changed


def delete_user(directory: Directory, mail: str, admin: str, keep_days: int) -> None:
    """Delete a user and the references to it; log its mailbox for the cleanup cron."""
    entry = users.delete_user(directory, mail)
    record_deleted_mailboxes([entry], admin, keep_days)
    forget_policy_rows(mail)


def change_email(directory: Directory, mail: str, new_mail: str) -> dict[str, Any]:
    """Rename a user within its domain; references and its SQL rows follow; return the profile."""
    alias_domains = users.rename_user(directory, mail, new_mail)
    _rename_sql_rows(mail, new_mail)
    move_policy_rows(mail, new_mail)
    users.rename_in_alias_domains(directory, mail, new_mail, alias_domains)
    return users.get_user(directory, new_mail)


def record_deleted_mailboxes(entries: list[Entry], admin: str, keep_days: int) -> None:
    """Log deleted users' mailboxes for the cleanup cron and drop their quota/login rows."""
    rows = users.mailbox_records(entries, admin, keep_days)
    if not rows:
        return
    # The accounts are gone already: a failure here must not report the delete as failed.
    # An unlogged mailbox is merely kept on disk, as with keep_mailbox_days=0.
    try:
        store = get_store()
        store.record_deleted_mailboxes(rows)
        store.forget_accounts(row["username"] for row in rows)
    except errors.ApiError as exc:
        log.error("Could not record %d deleted mailbox(es): %s", len(rows), exc.detail)


def _rename_sql_rows(mail: str, new_mail: str) -> None:
    """Move used_quota/last_login rows to the new address; the directory is already renamed."""
    try:
        get_store().rename_account(mail, new_mail)
    except errors.ApiError as exc:
        log.error("Could not rename SQL rows of %s: %s", mail, exc.detail)
