"""Account changes that move domain counters: reserved against limits, or counted behind.

Each runs under its domain's shared counter lock (counter_locks), so that a re-count
sees it either whole or not at all; counter_queue writes the deltas and re-counts.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .. import errors
from ..ldap import Directory
from ..ldap import Entry
from ..ldap.txn import Transaction
from . import counters
from .counter_queue import get_counter_queue
from .counter_queue import recount_domain
from .settings import settings_of

# A refused reservation re-counts first, unless the domain was re-counted this recently.
REFUSAL_RECOUNT_GAP = 1.0
RESERVE_ROUNDS = 3


def reserve(
    directory: Directory,
    domain: str,
    names: tuple[str, ...],
    plan: counters.Plan,
    limited: bool,
    entry: Entry | None = None,
    then: Callable[[Transaction | None], None] | None = None,
    **adjust_options: Any,
) -> dict[str, int]:
    """Reserve counters (counters.adjust, with `then`) under the domain's lock; return the deltas.

    When a limit decides (`limited`), counters older than counter_recount_seconds
    are re-counted first, and a refusal is re-checked against a fresh re-count.
    Missing or unreadable counters are re-counted, and so are counters this
    process found wrong.
    """
    queue = get_counter_queue()
    if limited and queue.stale(domain):
        recount_domain(directory, domain, queue, create=names, unless_within=queue.recount_every)
    for attempt in range(RESERVE_ROUNDS):
        try:
            with queue.counting(directory, domain):
                wrote = queue.flush(directory, [domain])
                if queue.marked(domain):
                    raise counters.NeedsRecount(domain)
                return counters.adjust(
                    directory, domain, names, plan,
                    entry=None if wrote or attempt else entry, then=then, **adjust_options,
                )  # fmt: skip
        except counters.NeedsRecount:
            gap = 0.0  # missing, unreadable or found wrong: re-count, then reserve again
        except errors.Forbidden:
            if not limited or queue.recounted_within(domain, REFUSAL_RECOUNT_GAP):
                raise
            gap = REFUSAL_RECOUNT_GAP  # refused: once per gap, whoever asks
        if attempt < RESERVE_ROUNDS - 1:
            recount_domain(directory, domain, queue, create=names, unless_within=gap)
    raise errors.Conflict(f"The counters of {domain} are too busy; try again.")


def add_counted(
    directory: Directory,
    domain: str,
    domain_entry: Entry,
    names: tuple[str, ...],
    plan: counters.Plan,
    add: Callable[[Transaction | None], None],
    free: bool,
    **adjust_options: Any,
) -> None:
    """Add an account: counted behind when no limit guards `names` (`free`), else reserved first.

    The reservation is `reserve` with `add` as its `then` (released if the add
    fails); `adjust_options` go to counters.adjust (unchecked, transactions).
    """
    queue = get_counter_queue()
    if queue.deferring and free:
        # No limit guards the counters: add first, count behind (as iRedAdmin orders it).
        stored = {name: counters.parse_counter(domain_entry.first(name)) or 0 for name in names}
        deltas = plan(domain_entry, stored)
        with queue.counting(directory, domain):
            add(None)
            queue.defer(directory, domain, deltas)
        return
    reserve(directory, domain, names, plan, limited=not free, entry=domain_entry, then=add,
            **adjust_options)  # fmt: skip


def add_one_counted(
    directory: Directory,
    domain: str,
    domain_entry: Entry,
    counter: str,
    setting: str,
    plan: counters.Plan,
    add: Callable[[], None],
) -> None:
    """Add one alias or list: counted behind when `setting` sets no limit, else reserved first."""
    add_counted(directory, domain, domain_entry, (counter,), plan, lambda _txn: add(),
                free=not settings_of(domain_entry).get(setting, 0))  # fmt: skip


@contextmanager
def removing(directory: Directory, domain: str, deltas: dict[str, int]) -> Iterator[None]:
    """Delete an account in the block; its counters are released (written behind) after it."""
    queue = get_counter_queue()
    with queue.counting(directory, domain):
        yield
        # Late is safe: until written, the counter runs ahead of the truth and limits hold.
        queue.defer(directory, domain, {name: -delta for name, delta in deltas.items()})
