"""Policy rows (iRedAPD's database) that follow accounts deleted or renamed in the directory."""

from __future__ import annotations

import logging

from .. import errors
from ..models.policy import cleanup
from ..sqlstore.iredapd import get_policy_store

log = logging.getLogger(__name__)


def forget_policy_rows(account: str) -> None:
    """Delete the throttle and greylisting rows of a deleted user or domain; never raises.

    The account is gone from the directory already: a policy database that is down must
    not report the delete as failed. The rows left behind are inert (iRedAPD only looks
    them up for mail to or from the account) and the next delete or rename of the same
    name clears them.
    """
    try:
        cleanup.delete_account_rows(get_policy_store(), account)
    except errors.ApiError as exc:
        log.error("Could not delete the policy rows of %s: %s", account, exc.detail)


def move_policy_rows(old: str, new: str) -> None:
    """Move a renamed user's or domain's policy rows to the new name; never raises."""
    try:
        cleanup.rename_account_rows(get_policy_store(), old, new)
    except errors.ApiError as exc:
        log.error("Could not move the policy rows of %s to %s: %s", old, new, exc.detail)
