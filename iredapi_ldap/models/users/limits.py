"""A domain's user limits: account count, per-user cap, default and whole-domain quota."""

from __future__ import annotations

from dataclasses import dataclass

from ... import errors
from ...ldap import Entry
from .. import counters
from ..settings import settings_of
from ..units import MB
from ..units import parse_unit_quota

ACCOUNT_LIMIT = "EXCEEDED_DOMAIN_ACCOUNT_LIMIT"
DOMAIN_QUOTA = "EXCEEDED_DOMAIN_QUOTA_SIZE"
USER_QUOTA = "EXCEEDED_MAX_USER_QUOTA"


@dataclass
class Limits:
    """The limits of one domain (quotas in MB, 0 = none)."""

    users: int  # numberOfUsers: 0 unlimited, -1 none allowed
    default_quota: int
    max_user_quota: int
    domain_quota: int

    @classmethod
    def of(cls, domain_entry: Entry) -> Limits:
        """Read the limits from a domain's accountSetting."""
        settings = settings_of(domain_entry)
        return cls(
            users=settings.get("numberOfUsers", 0),
            default_quota=max(settings.get("defaultQuota", 0), 0),
            max_user_quota=max(settings.get("maxUserQuota", 0), 0),
            domain_quota=parse_unit_quota(settings.get("domainQuota")),
        )


def _quota_error(code: str, text: str, status_error: type[errors.ApiError]) -> errors.ApiError:
    return status_error(text, code=code, errors={"quota": [text]})


def check_user_cap(quota_mb: int, limits: Limits) -> None:
    """Refuse a quota above the domain's maxUserQuota (400 naming quota)."""
    if limits.max_user_quota and quota_mb > limits.max_user_quota:
        raise _quota_error(
            USER_QUOTA,
            f"Quota must not exceed the domain's maxUserQuota of {limits.max_user_quota} MB.",
            errors.ValidationFailed,
        )


def check_account_count(current: int, limits: Limits) -> None:
    """Refuse another user when numberOfUsers is -1 or reached (403)."""
    if limits.users == -1:
        raise errors.Forbidden("This domain may not have mail users.", code=ACCOUNT_LIMIT)
    if limits.users > 0 and current >= limits.users:
        raise errors.Forbidden(
            f"The domain has reached its limit of {limits.users} users.", code=ACCOUNT_LIMIT
        )


def creation_quota(requested_mb: int, limits: Limits, used_bytes: int) -> int:
    """Return a new user's mailQuota in bytes (0 = unlimited), iRedAdmin's way.

    0 means the domain's defaultQuota. Under a whole-domain quota an unlimited
    user gets the spare quota (as iRedAdmin-Pro does); under a maxUserQuota it
    gets that cap.
    """
    quota_mb = requested_mb or limits.default_quota
    check_user_cap(quota_mb, limits)
    if limits.domain_quota:
        spare = limits.domain_quota * MB - used_bytes
        if quota_mb == 0:
            quota = min(spare, limits.max_user_quota * MB) if limits.max_user_quota else spare
        else:
            quota = quota_mb * MB
        if spare <= 0 or quota > spare:
            raise _quota_error(
                DOMAIN_QUOTA,
                f"The domain quota of {limits.domain_quota} MB has {max(spare, 0) // MB} MB left.",
                errors.Forbidden,
            )
        return quota
    return (quota_mb or limits.max_user_quota) * MB


def update_quota_delta(new_mb: int, old_bytes: int, limits: Limits, used_bytes: int) -> int:
    """Check a quota change against the domain's limits; return the change in bytes."""
    if new_mb == 0 and (limits.max_user_quota or limits.domain_quota):
        raise _quota_error(
            USER_QUOTA if limits.max_user_quota else DOMAIN_QUOTA,
            "Unlimited quota is not allowed: the domain caps user or total quota.",
            errors.ValidationFailed if limits.max_user_quota else errors.Forbidden,
        )
    check_user_cap(new_mb, limits)
    delta = new_mb * MB - old_bytes
    if limits.domain_quota and delta > 0 and used_bytes + delta > limits.domain_quota * MB:
        spare = max(limits.domain_quota * MB - used_bytes, 0)
        raise _quota_error(
            DOMAIN_QUOTA,
            f"The domain quota of {limits.domain_quota} MB has {spare // MB} MB left.",
            errors.Forbidden,
        )
    return delta


def creation_plan(requested_mb: int, outcome: dict[str, int]) -> counters.Plan:
    """Return the counter plan of one new user; the final quota lands in outcome['quota']."""

    def plan(entry: Entry, values: dict[str, int]) -> dict[str, int]:
        limits = Limits.of(entry)
        check_account_count(values[counters.USERS], limits)
        outcome["quota"] = creation_quota(requested_mb, limits, values[counters.QUOTA])
        return {counters.USERS: 1, counters.QUOTA: outcome["quota"]}

    return plan


def quota_change_plan(new_mb: int, old_bytes: int) -> counters.Plan:
    """Return the counter plan of one user's quota change."""

    def plan(entry: Entry, values: dict[str, int]) -> dict[str, int]:
        delta = update_quota_delta(new_mb, old_bytes, Limits.of(entry), values[counters.QUOTA])
        return {counters.QUOTA: delta}

    return plan


def unchecked_counters(entry: Entry) -> set[str]:
    """Return the counters no limit of this domain depends on (plain caches, safe to increment)."""
    limits = Limits.of(entry)
    free = set()
    if limits.users == 0:
        free.add(counters.USERS)
    if not limits.domain_quota:
        free.add(counters.QUOTA)
    return free
