"""Domain counter changes written behind: one modify per domain per interval, not one per account.

With durable commits every LDAP write is a disk sync, and a create that also
increments `domainCurrentUserNumber` pays two of them (on the benchmark's slapd:
226 adds/s alone, 119/s with the increment after each). The counters are caches
(iRedAdmin re-counts them as well), so changes that no limit depends on are summed
in memory and written by a thread of this process every
`[ldap] counter_flush_seconds`, when the process exits, and before this process
reads the counters itself.

What may be deferred: any decrement (a late one leaves the counter ahead of the
truth, so limits still hold), and increments of counters that no limit of the
domain guards (add_counted, for users, aliases and lists). Reservations against a limit stay
synchronous compare-and-swap (counters.adjust). A process killed with SIGKILL
loses what it had pending; setting a limit on the domain re-counts its counters.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from flask import Flask
from flask import current_app

from .. import errors
from ..ldap import Directory
from ..ldap import Entry
from ..ldap import get_directory
from ..ldap.txn import Transaction
from . import counters
from .settings import settings_of

log = logging.getLogger(__name__)

EXTENSION_KEY = "iredapi_counter_queue"


class CounterQueue:
    """This process's pending counter deltas, per domain, and the thread that writes them."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.interval = float(app.config["LDAP_COUNTER_FLUSH_SECONDS"])
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._pending: dict[str, dict[str, int]] = {}
        self._scheduled = False
        atexit.register(_flush_at_exit, weakref.ref(self))

    def _after_fork(self) -> None:
        # A lock, a timer or the deltas of the parent are not this process's.
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._lock = threading.Lock()
            self._pending, self._scheduled = {}, False

    @property
    def deferring(self) -> bool:
        """Whether changes are written behind (False: written at once)."""
        return self.interval > 0

    def defer(self, directory: Directory, domain: str, deltas: dict[str, int]) -> None:
        """Add deltas to the domain's pending changes (written at once when not deferring)."""
        deltas = {name: delta for name, delta in deltas.items() if delta}
        if not deltas:
            return
        if not self.deferring:
            try:
                counters.apply_deltas(directory, domain, deltas)
            except errors.ApiError as exc:
                # The account change is done; a cache that missed it is re-counted later.
                log.warning("Counters of %s not written (%s): %s", domain, deltas, exc.code)
            return
        self._after_fork()
        with self._lock:
            self._merge(domain.lower(), deltas)
        self._schedule()

    def _schedule(self) -> None:
        """Start the timer that writes the pending changes, unless one is waiting."""
        with self._lock:
            if self._scheduled or not self._pending:
                return
            self._scheduled = True
        timer = threading.Timer(self.interval, self._flush_in_background)
        timer.daemon = True
        timer.name = "iredapi-counters"
        timer.start()

    def _merge(self, domain: str, deltas: dict[str, int]) -> None:
        pending = self._pending.setdefault(domain, {})
        for name, delta in deltas.items():
            pending[name] = pending.get(name, 0) + delta

    def flush(self, directory: Directory, domains: Iterable[str] | None = None) -> bool:
        """Write the pending changes of these domains (all when None) now; True if there were any."""
        self._after_fork()
        if not self._pending:
            return False
        with self._lock:
            wanted = list(self._pending) if domains is None else [d.lower() for d in domains]
            taken = {d: self._pending.pop(d) for d in wanted if d in self._pending}
        items = list(taken.items())
        for index, (domain, deltas) in enumerate(items):
            try:
                counters.apply_deltas(directory, domain, deltas)
            except errors.ApiError as exc:
                # The directory is down or busy: keep what is not written for the next round.
                log.warning("Counters of %s not written yet (%s): %s", domain, deltas, exc.code)
                with self._lock:
                    for unwritten, unwritten_deltas in items[index:]:
                        self._merge(unwritten, unwritten_deltas)
                raise
        return bool(items)

    def _flush_in_background(self) -> None:
        with self._lock:
            self._scheduled = False
            if not self._pending:
                return  # a read in this process wrote them already
        try:
            with self.app.app_context():
                self.flush(get_directory())
        except errors.ApiError:
            self._schedule()  # try again after the next interval
        except Exception:  # noqa: BLE001 - a timer thread has nobody to raise to
            log.exception("Counters: writing pending changes failed")

    def pending(self, domain: str) -> dict[str, int]:
        """Return a copy of a domain's pending deltas."""
        with self._lock:
            return dict(self._pending.get(domain.lower(), {}))


def _flush_at_exit(ref: weakref.ref[CounterQueue]) -> None:
    queue = ref()
    if queue is None or os.getpid() != queue._pid or not queue._pending:
        return
    try:
        with queue.app.app_context():
            queue.flush(get_directory())
    except Exception as exc:  # noqa: BLE001 - at exit, report and go
        log.warning("Counters: pending changes lost at exit: %r", exc)


def get_counter_queue(app: Flask | None = None) -> CounterQueue:
    """Return the app's counter queue, created on first use."""
    # The timer thread outlives the request: keep the app itself, never current_app's proxy.
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    queue = app.extensions.get(EXTENSION_KEY)
    if queue is None:
        queue = app.extensions.setdefault(EXTENSION_KEY, CounterQueue(app))
    return queue


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

    The reservation is counters.adjust with `add` as its `then` (released if the add
    fails); `adjust_options` go to it (unchecked, transactions).
    """
    queue = get_counter_queue()
    if queue.deferring and free:
        # No limit guards the counters: add first, count behind (as iRedAdmin orders it).
        stored = {name: counters.parse_counter(domain_entry.first(name)) or 0 for name in names}
        deltas = plan(domain_entry, stored)
        add(None)
        queue.defer(directory, domain, deltas)
        return
    wrote = flush_pending(directory, [domain])
    counters.adjust(
        directory,
        domain,
        names,
        plan,
        entry=None if wrote else domain_entry,
        then=add,
        **adjust_options,
    )


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


def release(directory: Directory, domain: str, deltas: dict[str, int]) -> None:
    """Subtract deltas (an account deleted), written behind; never raises."""
    try:
        # Late is safe: until written, the counter runs ahead of the truth and limits hold.
        get_counter_queue().defer(
            directory, domain, {name: -delta for name, delta in deltas.items()}
        )
    except errors.ApiError as exc:
        log.warning("Could not release counters of %s (%s): %s", domain, deltas, exc.code)


def flush_pending(directory: Directory, domains: Iterable[str] | None = None) -> bool:
    """Write this process's pending changes (of these domains) before reading counters; True if any."""
    queue = current_app.extensions.get(EXTENSION_KEY)
    return queue is not None and queue.flush(directory, domains)
