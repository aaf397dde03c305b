"""A domain's cached account counters, used as race-free reservations.

iRedAdmin keeps `domainCurrentUserNumber` (Integer) and `domainCurrentQuotaSize`
(bytes, as text) on the domain entry. Counting the users and then adding one is
a race: twenty parallel requests all count four and all add the fifth user. Here
the counters are reservations changed by compare-and-swap:

1. Read the domain entry (counters and limits) in one search.
2. A missing or unreadable counter raises NeedsRecount: the caller re-counts the
   domain (store_real, under counter_queue's exclusive lock) and starts again.
3. The caller's `plan` checks its limits against the values read and returns
   the deltas to apply.
4. One modify deletes each exact old value and adds the new one. If another
   writer changed a counter since step 1, the delete finds no such value, slapd
   rejects the whole modify (StaleValue) and we go back to step 1.

The reservation is made before the user entry is added and released (the same
CAS with the opposite deltas) if the add fails, so a counter may briefly run
ahead of the real number of users but never behind it; the limit therefore
holds under any concurrency. Deletions are counted out behind (counter_queue).
Aliases (`domainCurrentAliasNumber`) and mailing lists (`domainCurrentListNumber`)
are reserved the same way; COUNTED says where each counter's real value comes from.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from .. import errors
from ..ldap import Directory
from ..ldap import DNs
from ..ldap import Entry
from ..ldap import StaleValue
from ..ldap import attrs as A
from ..ldap import filters as F
from ..ldap.txn import Transaction

log = logging.getLogger(__name__)

USERS = "domainCurrentUserNumber"
QUOTA = "domainCurrentQuotaSize"
ALIASES = "domainCurrentAliasNumber"
LISTS = "domainCurrentListNumber"
COUNTERS = (USERS, QUOTA)
# Counters of INTEGER syntax, which slapd can increment atomically (the quota one is text).
INTEGER_COUNTERS = frozenset({USERS, ALIASES, LISTS})
# Enough rounds for every contender of a busy domain to win once; each round has a winner.
ATTEMPTS = 60
BACKOFF_SECONDS = 0.005

Plan = Callable[[Entry, dict[str, int]], dict[str, int]]


def user_filter(domain: str) -> str:
    """Return the filter of a domain's mail users, the catch-all `@domain` excluded."""
    return F.and_(F.object_class(A.OC_USER), F.not_(F.eq("mail", f"@{domain}")))


def _of_class(object_class: str) -> Callable[[str], str]:
    return lambda _domain: F.object_class(object_class)


# counter -> (container of the domain, filter of what it counts, attribute summed or None to count)
COUNTED: dict[str, tuple[Callable[[DNs, str], str], Callable[[str], str], str | None]] = {
    USERS: (DNs.users, user_filter, None),
    QUOTA: (DNs.users, user_filter, "mailQuota"),
    ALIASES: (DNs.aliases, _of_class(A.OC_ALIAS), None),
    LISTS: (DNs.groups, _of_class(A.OC_LIST), None),
}


def real_values(directory: Directory, domain: str) -> dict[str, int]:
    """Count a domain's users, aliases and lists and sum its users' mailQuota (bytes)."""
    values = {USERS: 0, QUOTA: 0, ALIASES: 0, LISTS: 0}
    users_base = DNs.users(directory.dn, domain)
    try:
        for entry in directory.search(users_base, user_filter(domain), ["mailQuota"], "one"):
            values[USERS] += 1
            values[QUOTA] += parse_counter(entry.first("mailQuota")) or 0
    except errors.NotFound:
        pass  # no ou=Users (a broken domain): nothing to count
    for counter in (ALIASES, LISTS):
        container, make_filter, _summed = COUNTED[counter]
        try:
            values[counter] = directory.count(container(directory.dn, domain),
                                              make_filter(domain), "one")  # fmt: skip
        except errors.NotFound:
            pass
    return values


def parse_counter(text: str | None) -> int | None:
    """Return a stored counter as an int, or None when absent or not a number."""
    try:
        value = int((text or "").strip())
    except ValueError:
        return None
    return value if value >= 0 else None


class NeedsRecount(Exception):
    """A counter is missing or unreadable: the domain must be re-counted (counter_queue)."""


def store_real(
    directory: Directory, domain: str, create: Iterable[str] = ()
) -> tuple[dict[str, str | None], dict[str, int]]:
    """Set a domain's counters from the tree; return the stored and the real values.

    Counters the domain has are set; missing ones only when named in `create`
    (iRedAdmin keeps only some of them; a missing one is counted when needed).
    Each counter that differs is changed by deleting exactly the stored values, so a
    writer that changed it meanwhile (another host, iRedAdmin) makes slapd refuse
    the modify, and the domain is read and counted again. Only correct while no
    counted change of this host runs: counter_queue.recount_domain holds the lock.
    """
    dn = directory.dn.domain(domain)
    for attempt in range(ATTEMPTS):
        entry = directory.get(dn, list(COUNTED))
        if entry is None:
            raise errors.NoSuchDomain(f"No such domain: {domain}.")
        real = real_values(directory, domain)
        changes: dict[str, Any] = {}
        for name, value in real.items():
            stored = entry.all(name)
            if stored != [str(value)] and (stored or name in create):
                changes[name] = [*([("delete", stored)] if stored else []), ("add", str(value))]
        try:
            if changes:
                directory.modify(dn, changes)
            return {name: entry.first(name) for name in COUNTED}, real
        except StaleValue:
            _pause(attempt)
    raise errors.Conflict(f"The counters of {domain} are too busy; try again.")


def _pause(attempt: int) -> None:
    time.sleep(random.uniform(0, BACKOFF_SECONDS * min(attempt + 1, 10)))


def adjust(
    directory: Directory,
    domain: str,
    counters: tuple[str, ...],
    plan: Plan,
    initialise_missing: bool = True,
    entry: Entry | None = None,
    unchecked: Callable[[Entry], set[str]] | None = None,
    then: Callable[[Transaction | None], None] | None = None,
    transactions: bool = False,
) -> dict[str, int]:
    """Apply the deltas `plan(entry, values)` returns with one CAS modify; return them.

    `plan` sees the domain entry and the current counter values and raises an
    ApiError when a limit would be exceeded. A missing or unreadable counter raises
    NeedsRecount (the caller re-counts the domain and tries again), unless
    `initialise_missing` is False (then it is left alone and its delta dropped).

    `entry` is a domain entry the caller has just read (saves the first read).
    Integer counters named by `unchecked(entry)` guard no limit, so they are
    changed with an atomic increment instead of compare-and-swap (no retries).
    `then(txn)` runs after the counters changed (the add of a new account); if it
    fails the change is released. With `transactions`, and when the counter
    change is increments only (nothing in it can fail), both are committed as
    one RFC 5805 transaction: one disk sync instead of two.
    """
    dn = directory.dn.domain(domain)
    for attempt in range(ATTEMPTS):
        if entry is None:
            entry = directory.get(dn)
        if entry is None:
            raise errors.NoSuchDomain(f"No such domain: {domain}.")
        values = {c: parse_counter(entry.first(c)) for c in counters}
        if initialise_missing and None in values.values():
            raise NeedsRecount(domain)
        values = {name: value for name, value in values.items() if value is not None}
        try:
            deltas = {name: delta for name, delta in plan(entry, values).items() if delta}
            deltas = {name: delta for name, delta in deltas.items() if name in values}
            free = (unchecked(entry) if unchecked else set()) & INTEGER_COUNTERS
            changes = {
                name: ("increment", delta) if name in free and values[name] + delta >= 0
                else [("delete", entry.first(name)), ("add", str(max(values[name] + delta, 0)))]
                for name, delta in deltas.items()
            }  # fmt: skip
            if then is not None and transactions and changes and _increments_only(changes):
                with directory.transaction() as txn:
                    directory.modify(dn, changes, txn=txn)
                    then(txn)
                return deltas
            directory.modify(dn, changes)
        except StaleValue:
            _pause(attempt)
            entry = None
            continue
        if then is not None:
            try:
                then(None)
            except BaseException:
                release_now(directory, domain, deltas)
                raise
        return deltas
    raise errors.Conflict(f"The counters of {domain} are too busy; try again.")


def _increments_only(changes: dict[str, Any]) -> bool:
    return all(
        isinstance(change, tuple) and change[0] == "increment" for change in changes.values()
    )


def release_now(directory: Directory, domain: str, deltas: dict[str, int]) -> None:
    """Undo a reservation at once: subtract deltas; never raises (counter_queue.release defers)."""
    if not deltas:
        return
    try:
        adjust(
            directory,
            domain,
            tuple(deltas),
            lambda _entry, _values: {name: -delta for name, delta in deltas.items()},
            initialise_missing=False,
        )
    except errors.NoSuchDomain:
        return
    except errors.ApiError as exc:
        # The counter then runs ahead of the truth: limits stay safe, listing can re-count.
        log.warning("Could not release counters of %s (%s): %s", domain, deltas, exc.code)


def apply_deltas(directory: Directory, domain: str, deltas: dict[str, int]) -> bool:
    """Add deltas, for work already done in the tree, to a domain's counters now.

    Integer counters are incremented atomically, the quota text by compare-and-swap.
    Returns False, changing nothing, when a counter is missing, unreadable or would
    fall below zero: then the domain needs a re-count, which includes the work the
    deltas stand for. True when written, or when the domain is gone.
    """
    dn = directory.dn.domain(domain)
    for attempt in range(ATTEMPTS):
        entry = directory.get(dn, list(deltas))
        if entry is None:
            return True  # the domain is gone, and its counters with it
        changes: dict[str, Any] = {}
        for name, delta in deltas.items():
            stored, value = entry.all(name), parse_counter(entry.first(name))
            if value is None or value + delta < 0 or len(stored) > 1:
                return False
            if name in INTEGER_COUNTERS:
                changes[name] = ("increment", delta)
            else:
                changes[name] = [("delete", stored[0]), ("add", str(value + delta))]
        try:
            directory.modify(dn, changes)
            return True
        except StaleValue:
            _pause(attempt)
    raise errors.Conflict(f"The counters of {domain} are too busy; try again.")
