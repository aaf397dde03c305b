"""Throttling: one iRedAPD rule per (account, kind), with its current usage where tracked."""

from __future__ import annotations

import time
from typing import Any

from ...errors import ValidationFailed
from ...sqlstore.iredapd import PolicyStore
from .addresses import GLOBAL
from .addresses import account_priority
from .addresses import account_type
from .addresses import one_of
from .addresses import policy_account

KINDS = ("inbound", "outbound")
# Upper bounds: the MySQL/MariaDB columns iRedAPD writes its counters into (a limit above
# them can never be reached there: the counter update fails first) and `period` itself.
MAXIMA = {
    "period": 4_294_967_295,  # throttle.period INT UNSIGNED
    "msg_size": 2**63 - 1,  # BIGINT, not counted
    "max_msgs": 16_777_215,  # throttle_tracking.cur_msgs MEDIUMINT UNSIGNED
    "max_quota": 4_294_967_295,  # throttle_tracking.cur_quota INT UNSIGNED
}
LIMITS = ("msg_size", "max_msgs", "max_quota")


def check_kind(kind: str, field: str = "kind") -> str:
    """Return inbound or outbound (any case); ValidationFailed otherwise."""
    return one_of(kind, KINDS, field, "throttle kind")


def get_throttle(store: PolicyStore, account: str, kind: str) -> dict[str, Any]:
    """Return the rule of (account, kind) as iRedAPD reads it, or {} when there is none.

    For a user, `usage` is what iRedAPD has counted in the current window of this rule
    (messages are recipients; zeros once the window has passed, as iRedAPD restarts it).
    Domain and global rules are counted per mailbox (or per client IP), so they have no
    single usage: `usage` is None.
    """
    account, kind = policy_account(account), check_kind(kind)
    tracked = account if account_type(account) == "user" else None
    rule, counter = store.throttle_rule(account, kind, tracked)
    if rule is None:
        return {}
    setting = _setting(rule)
    setting["usage"] = _usage(rule, counter) if tracked else None
    return setting


def set_throttle(
    store: PolicyStore,
    account: str,
    kind: str,
    period: int,
    msg_size: int = 0,
    max_msgs: int = 0,
    max_quota: int = 0,
) -> dict[str, Any]:
    """Set the rule of (account, kind) and return it ({} when the values remove it).

    Limits are bytes, recipients per period and bytes per period: 0 is unlimited (and
    overrides lower rules), -1 inherits the next rule (domain, then global). A limit not
    given is 0, as Pro stores it. As in Pro, period 0 removes the rule, and so do limits
    that change nothing: all -1, or for the global rule all 0 or -1.
    """
    account, kind = policy_account(account), check_kind(kind)
    values = _checked({"period": period, "msg_size": msg_size, "max_msgs": max_msgs,
                       "max_quota": max_quota})  # fmt: skip
    limits = [values[name] for name in LIMITS]
    inert = all(v <= 0 for v in limits) if account == GLOBAL else all(v < 0 for v in limits)
    if values["period"] == 0 or inert:
        store.delete_throttle(account, kind)
        return {}
    values["priority"] = account_priority(account)
    return _setting(store.save_throttle(account, kind, values))


def delete_throttle(store: PolicyStore, account: str, kind: str) -> bool:
    """Remove the rule of (account, kind) and its counters; True if there was one."""
    return store.delete_throttle(policy_account(account), check_kind(kind)) > 0


def _checked(values: dict[str, Any]) -> dict[str, int]:
    """Return the values if each is a whole number in range; ValidationFailed naming each bad one."""
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        low = 0 if name == "period" else -1
        if isinstance(value, bool) or not isinstance(value, int):
            errors[name] = [f"{value!r}: not a whole number."]
        elif not low <= value <= MAXIMA[name]:
            errors[name] = [f"{value}: must be {low} to {MAXIMA[name]}."]
    if errors:
        raise ValidationFailed(
            "Invalid throttle setting: " + ", ".join(errors) + ".", errors=errors
        )
    return dict(values)


def _setting(rule: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "account", "kind", "priority", "period", *LIMITS, "max_rcpts")
    return {key: rule[key] for key in keys}


def _usage(rule: dict[str, Any], counter: dict[str, Any] | None) -> dict[str, Any]:
    now = int(time.time())
    start = int(counter["init_time"]) if counter else 0
    if not counter or (start and now > start + int(rule["period"])):
        return {"cur_msgs": 0, "cur_quota": 0, "init_time": None, "expires_at": None}
    start = start or now
    return {
        "cur_msgs": int(counter["cur_msgs"]),
        "cur_quota": int(counter["cur_quota"]),
        "init_time": start,
        "expires_at": start + int(rule["period"]),
    }
