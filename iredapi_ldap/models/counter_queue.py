"""Domain counter changes written behind, re-counts, and the locks that keep both exact.

With durable commits every LDAP write is a disk sync, and a create that also
increments `domainCurrentUserNumber` pays two of them (on the benchmark's slapd:
226 adds/s alone, 119/s with the increment after each). So changes that no limit
depends on are summed in memory and written by a thread of this process every
`[ldap] counter_flush_seconds`, when the process exits, and before this process
reads the counters itself.

What may be deferred: any decrement (a late one leaves the counter ahead of the
truth, so limits still hold), and increments of counters that no limit of the
domain guards (add_counted, for users, aliases and lists). Reservations against a
limit stay synchronous compare-and-swap (counters.adjust).

A re-count (recount_domain) sets the counters from the tree. It runs under the
domain's exclusive lock and starts a new generation, so that a delta queued before
it, whose account it has counted, is dropped instead of added again
(counter_locks). Re-counts happen when a limit is set or changed (models.domains),
before a reservation when the counters were last re-counted longer than
`[ldap] counter_recount_seconds` ago or when they refuse it, when a counter is
missing, unreadable or would fall below zero, after a failure that may or may not
have reached the directory (retried every interval until it answers), every
`counter_recount_seconds` for every domain (one process of the host), once after
the host switched LDAP server (ldap/failover.py; and before a reservation in a
domain not re-counted since), and on demand (`iredapi-ldap recount`).
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from flask import current_app

from .. import errors
from ..ldap import Directory
from ..ldap import attrs as A
from ..ldap import filters as F
from ..ldap import get_directory
from ..ldap import get_pool
from ..ldap import host_state_dir
from . import counters
from .counter_locks import CounterLocks

log = logging.getLogger(__name__)

EXTENSION_KEY = "iredapi_counter_queue"


class CounterQueue:
    """This process's pending counter deltas and re-counts, per domain, and the threads that write them."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.interval = float(app.config["LDAP_COUNTER_FLUSH_SECONDS"])
        self.recount_every = float(app.config["LDAP_COUNTER_RECOUNT_SECONDS"])
        self.locks = CounterLocks(host_state_dir(app.config))
        self._pid = os.getpid()
        self._lock = threading.Lock()
        # domain -> generation it was queued in -> counter -> delta
        self._pending: dict[str, dict[int, dict[str, int]]] = {}
        # domain to re-count (a change of unknown outcome) -> counters to create if missing
        self._marked: dict[str, set[str]] = {}
        self._scheduled = False
        self._upkeep: threading.Thread | None = None
        self._stopped = threading.Event()
        atexit.register(_flush_at_exit, weakref.ref(self))

    def _after_fork(self) -> None:
        # A lock, a timer or the deltas of the parent are not this process's.
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._lock = threading.Lock()
            self._pending, self._marked, self._scheduled = {}, {}, False
            self._upkeep, self._stopped = None, threading.Event()

    @property
    def deferring(self) -> bool:
        """Whether changes are written behind (False: written at once)."""
        return self.interval > 0

    # -- counted changes ------------------------------------------------------

    @contextmanager
    def counting(self, directory: Directory, domain: str) -> Iterator[None]:
        """Hold the domain's lock over an account change and its counter change.

        If the block fails in a way that may have reached the directory (anything
        but a 4xx answer), or its counter change finds the counters wrong, the
        domain is re-counted after the lock is released (by the timer, every
        interval, while the directory does not answer).
        """
        self._after_fork()
        outermost = not self.locks.holding(domain)
        try:
            with self.locks.shared(domain):
                try:
                    yield
                except counters.NeedsRecount:
                    raise
                except BaseException as exc:
                    if not (isinstance(exc, errors.ApiError) and exc.status < 500):
                        self.mark(domain)
                    raise
        finally:
            if outermost and self.marked(domain):
                self._repair_now(directory, domain)

    def _repair_now(self, directory: Directory, domain: str) -> None:
        try:
            self.recount_marked(directory, [domain])
        except errors.ApiError as exc:
            log.warning("Counters of %s not re-counted yet: %s", domain, exc.code)

    def defer(self, directory: Directory, domain: str, deltas: dict[str, int]) -> None:
        """Add deltas to the domain's pending changes (written at once when not deferring)."""
        deltas = {name: delta for name, delta in deltas.items() if delta}
        if not deltas:
            return
        self._after_fork()
        with self.locks.shared(domain):  # usually held already, by counting()
            if not self.deferring:
                self._write(directory, domain, deltas)
                return
            generation = self.locks.generation(domain)
            with self._lock:
                _merge(self._pending.setdefault(domain.lower(), {}), generation, deltas)
        self._schedule()

    def _write(self, directory: Directory, domain: str, deltas: dict[str, int]) -> None:
        """Apply deltas now (under the domain's lock); mark the domain when that fails."""
        try:
            if counters.apply_deltas(directory, domain, deltas):
                return
            log.info("Counters of %s need a re-count (missing or below zero)", domain)
        except errors.ApiError as exc:
            # Perhaps written, perhaps not: adding them again could count them twice.
            log.warning("Counters of %s not written (%s): %s", domain, deltas, exc.code)
        self.mark(domain, deltas)

    def mark(self, domain: str, create: Iterable[str] = ()) -> None:
        """Re-count this domain at the next round (its counters may be wrong).

        `create` names the counters to set even if missing (those a change touched).
        """
        self._after_fork()
        with self._lock:
            self._marked.setdefault(domain.lower(), set()).update(create)
        self._schedule()

    def marked(self, domain: str) -> bool:
        """Tell whether this domain waits for a re-count."""
        with self._lock:
            return domain.lower() in self._marked

    def _unmark(self, domain: str) -> None:
        with self._lock:
            self._marked.pop(domain.lower(), None)

    # -- writing behind -------------------------------------------------------

    def _schedule(self) -> None:
        """Start the timer that writes the pending changes, unless one is waiting."""
        with self._lock:
            if self._scheduled or not (self._pending or self._marked):
                return
            self._scheduled = True
        timer = threading.Timer(self.interval or 1.0, self._flush_in_background)
        timer.daemon = True
        timer.name = "iredapi-counters"
        timer.start()

    def flush(self, directory: Directory, domains: Iterable[str] | None = None) -> bool:
        """Write the pending changes of these domains (all when None) now; True if there were any.

        Deltas queued before the domain's last re-count are dropped (it counted
        their accounts). If the directory fails, the domain being written is
        marked for a re-count (the change may have been written), the others are
        kept, and the error is raised.
        """
        self._after_fork()
        if not self._pending:
            return False
        with self._lock:
            wanted = list(self._pending) if domains is None else [d.lower() for d in domains]
            taken = {d: self._pending.pop(d) for d in wanted if d in self._pending}
        items = list(taken.items())
        for index, (domain, by_generation) in enumerate(items):
            try:
                self._flush_domain(directory, domain, by_generation)
            except errors.ApiError:
                with self._lock:
                    for later, later_deltas in items[index + 1 :]:
                        for generation, deltas in later_deltas.items():
                            _merge(self._pending.setdefault(later, {}), generation, deltas)
                raise
        return bool(items)

    def _flush_domain(
        self, directory: Directory, domain: str, by_generation: dict[int, dict[str, int]]
    ) -> None:
        with self.locks.shared(domain):
            current = self.locks.generation(domain)
            deltas: dict[str, int] = {}
            for generation, queued in by_generation.items():
                if generation < current:
                    log.debug("Counters of %s: %s already re-counted", domain, queued)
                    continue
                for name, delta in queued.items():
                    deltas[name] = deltas.get(name, 0) + delta
            deltas = {name: delta for name, delta in deltas.items() if delta}
            if not deltas:
                return
            try:
                if counters.apply_deltas(directory, domain, deltas):
                    return
            except errors.ApiError as exc:
                log.warning("Counters of %s not written (%s): %s", domain, deltas, exc.code)
                self.mark(domain, deltas)
                raise
            self.mark(domain, deltas)

    def _flush_in_background(self) -> None:
        with self._lock:
            self._scheduled = False
            if not (self._pending or self._marked):
                return  # a read in this process wrote them already
        try:
            with self.app.app_context():
                directory = get_directory()
                self.flush(directory)
                self.recount_marked(directory)
        except errors.ApiError:
            pass  # the directory is away: try again after the next interval
        except Exception:  # noqa: BLE001 - a timer thread has nobody to raise to
            log.exception("Counters: writing pending changes failed")
        self._schedule()

    def recount_marked(self, directory: Directory, domains: Iterable[str] | None = None) -> bool:
        """Re-count the marked domains (of `domains`); True if any; raise if the directory fails."""
        with self._lock:
            wanted = None if domains is None else {d.lower() for d in domains}
            marked = {
                domain: set(create)
                for domain, create in self._marked.items()
                if wanted is None or domain in wanted
            }
        for domain, create in sorted(marked.items()):
            try:
                recount_domain(directory, domain, self, create)
            except errors.NoSuchDomain:
                continue
        return bool(marked)

    def pending(self, domain: str) -> dict[str, int]:
        """Return the sum of a domain's pending deltas (of every generation)."""
        with self._lock:
            total: dict[str, int] = {}
            for deltas in self._pending.get(domain.lower(), {}).values():
                for name, delta in deltas.items():
                    total[name] = total.get(name, 0) + delta
            return {name: delta for name, delta in total.items() if delta}

    # -- re-counts --------------------------------------------------------------

    def stale(self, domain: str) -> bool:
        """Tell whether a limit decision must re-count first.

        Yes when the last re-count is older than counter_recount_seconds, or older than
        the host's last switch of LDAP server (what the other server had not passed on
        reaches the counters only by a re-count).
        """
        last = self.locks.last_recount(domain)
        switched = self.switched()
        if switched and (last is None or last < switched):
            return True
        if self.recount_every <= 0:
            return False
        return last is None or time.time() - last > self.recount_every

    def switched(self) -> float:
        """Return when this host last switched LDAP servers (time.time()), 0 if never."""
        return get_pool(self.app).choice.current().switched

    def recounted_within(self, domain: str, seconds: float) -> bool:
        """Tell whether the domain was re-counted in the last `seconds`."""
        last = self.locks.last_recount(domain)
        return last is not None and time.time() - last < seconds

    def start_upkeep(self) -> None:
        """Start this process's thread re-counting every domain every counter_recount_seconds."""
        self._after_fork()
        if self.recount_every <= 0 or self._stopped.is_set():
            return
        if self._upkeep and self._upkeep.is_alive():
            return
        self._upkeep = threading.Thread(target=self._upkeep_loop, name="iredapi-recount",
                                        daemon=True)  # fmt: skip
        self._upkeep.start()

    def stop_upkeep(self) -> None:
        """Stop the re-count thread for good (tests; it is a daemon otherwise)."""
        self._stopped.set()
        if self._upkeep is not None:
            self._upkeep.join(timeout=30)

    def _upkeep_loop(self) -> None:
        # Every domain every recount_every, and after each switch of LDAP server.
        tick = max(0.2, min(self.recount_every / 2, 10.0))
        while not self._stopped.wait(tick * random.uniform(0.8, 1.2)):
            try:
                with self.locks.sweep_due(self.recount_every, self.switched()) as due:
                    if due:
                        with self.app.app_context():
                            recount_all(get_directory(), self, self._stopped)
            except errors.ApiError as exc:
                self.locks.sweep_failed()
                log.warning("Counters: periodic re-count stopped: %s", exc.code)
            except Exception:  # noqa: BLE001 - a daemon thread has nobody to raise to
                log.exception("Counters: periodic re-count failed")


def _merge(
    by_generation: dict[int, dict[str, int]], generation: int, deltas: dict[str, int]
) -> None:
    pending = by_generation.setdefault(generation, {})
    for name, delta in deltas.items():
        pending[name] = pending.get(name, 0) + delta


def _flush_at_exit(ref: weakref.ref[CounterQueue]) -> None:
    queue = ref()
    if queue is None or os.getpid() != queue._pid or not (queue._pending or queue._marked):
        return
    queue._stopped.set()
    try:
        with queue.app.app_context():
            queue.flush(get_directory())
            queue.recount_marked(get_directory())
    except Exception as exc:  # noqa: BLE001 - at exit, report and go
        log.warning("Counters: pending changes lost at exit (the periodic re-count repairs): %r",
                    exc)  # fmt: skip


def start_counter_upkeep() -> None:
    """Start this worker's periodic re-count at its first request (serve starts it at boot).

    A before_request hook (registered by create_app's pipeline); cheap once started.
    """
    get_counter_queue().start_upkeep()


def get_counter_queue(app: Flask | None = None) -> CounterQueue:
    """Return the app's counter queue, created on first use."""
    # The timer thread outlives the request: keep the app itself, never current_app's proxy.
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    queue = app.extensions.get(EXTENSION_KEY)
    if queue is None:
        queue = app.extensions.setdefault(EXTENSION_KEY, CounterQueue(app))
        queue.start_upkeep()
    return queue


# -- re-counting ----------------------------------------------------------------------


def recount_domain(
    directory: Directory,
    domain: str,
    queue: CounterQueue | None = None,
    create: Iterable[str] = (),
    unless_within: float = 0,
) -> tuple[dict[str, str | None], dict[str, int]] | None:
    """Set a domain's counters (and the missing ones in `create`) from the tree, exactly.

    Returns the stored and the real values; None, doing nothing, when the domain
    was re-counted in the last `unless_within` seconds (by a concurrent request).

    Under the domain's exclusive lock no counted change of this host runs, and
    the new generation drops every delta queued before (its account is counted).
    """
    queue = queue or get_counter_queue()
    with queue.locks.exclusive(domain):
        if unless_within and queue.recounted_within(domain, unless_within):
            return None
        try:
            result = counters.store_real(directory, domain, create)
        except errors.NoSuchDomain:
            queue._unmark(domain)
            raise
        except BaseException:
            queue.mark(domain, create)
            raise
        queue.locks.recounted(domain)
    queue._unmark(domain)
    stored, real = result
    if any(stored[name] not in (None, str(value)) for name, value in real.items()):
        log.info("Counters of %s re-counted: %s (were %s)", domain, real, stored)
    return result


def recount_all(
    directory: Directory,
    queue: CounterQueue | None = None,
    stop: threading.Event | None = None,
    create: Iterable[str] = (),
) -> dict[str, tuple[dict[str, str | None], dict[str, int]]]:
    """Re-count every domain of the directory; return what each stored and really has."""
    names = [
        entry.first("domainName")
        for entry in directory.search(
            directory.dn.domains, F.object_class(A.OC_DOMAIN), ["domainName"], "one"
        )  # fmt: skip
    ]
    results = {}
    for domain in filter(None, names):
        if stop is not None and stop.is_set():
            break
        try:
            result = recount_domain(directory, domain, queue, create)
        except errors.NoSuchDomain:
            continue  # deleted meanwhile
        if result is not None:
            results[domain] = result
    return results


def flush_pending(directory: Directory, domains: Iterable[str] | None = None) -> bool:
    """Before reading counters: write this process's pending changes and re-count what it marked.

    Limited to `domains` when given; True if anything was written or re-counted.
    """
    queue = current_app.extensions.get(EXTENSION_KEY)
    if queue is None:
        return False
    wrote = queue.flush(directory, domains)
    return queue.recount_marked(directory, domains) or wrote
