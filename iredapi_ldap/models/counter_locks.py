"""What this host's API processes share about domain counters: a lock per domain, and re-counts.

A re-count sets a counter from the accounts in the tree; a change written behind
(counter_queue) is added to the counter later, by the process that made it. Both are
right only if no change is counted twice or not at all, and a re-count cannot see the
changes other processes still hold in memory. So every counted change (the account's
add or delete together with its counter change or its queued delta, and each flush)
runs under a shared lock of its domain, and a re-count under the exclusive one. A
re-count then increments the domain's *generation*; a queued delta remembers the
generation it was made in, and one older than the domain's current generation is
dropped at the flush: the re-count has already counted its account.

The locks are flock(2) locks on files in `[ldap] counter_lock_dir`, so they hold
between threads (each acquisition opens its own file description), between processes,
and are released by the kernel when a process dies. The domains share 64 lock files
(a re-count blocks the changes of 1/64th of the domains for its few milliseconds).
A re-count takes a gate first, which new shared holders pass through, so a stream of
changes cannot starve it. The generations and re-count times live in small JSON
files beside the locks, written only under the exclusive lock.

(The readers-writer locks of `fasteners` use lockf(3), whose locks do not exclude the
threads of one process from each other and wait by polling; flock fits this case.)
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUCKETS = 64


class CounterLocks:
    """The counter locks and re-count records of one directory, kept in one folder."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._local = threading.local()

    def _held(self) -> dict[int, int]:
        held = getattr(self._local, "held", None)
        if held is None:
            held = self._local.held = {}
        return held

    def _open(self, name: str) -> int:
        return os.open(self.folder / name, os.O_RDONLY | os.O_CREAT, 0o644)

    def holding(self, domain: str) -> bool:
        """Tell whether this thread holds the domain's lock (shared)."""
        return bool(self._held().get(_bucket(domain)))

    @contextmanager
    def shared(self, domain: str) -> Iterator[None]:
        """Hold the domain's lock shared: a counted change (re-entrant within a thread)."""
        bucket, held = _bucket(domain), self._held()
        if held.get(bucket):
            held[bucket] += 1
            try:
                yield
            finally:
                held[bucket] -= 1
            return
        lock = self._open(f"lock-{bucket:02d}")
        try:
            gate = self._open(f"gate-{bucket:02d}")
            try:
                fcntl.flock(gate, fcntl.LOCK_EX)  # waits while a re-count is queued or running
                fcntl.flock(lock, fcntl.LOCK_SH)
            finally:
                os.close(gate)
            held[bucket] = 1
            try:
                yield
            finally:
                held.pop(bucket, None)
        finally:
            os.close(lock)

    @contextmanager
    def exclusive(self, domain: str) -> Iterator[None]:
        """Hold the domain's lock alone: a re-count (never inside a counted change)."""
        bucket = _bucket(domain)
        if self._held().get(bucket):
            raise RuntimeError("a re-count inside a counted change would wait for itself")
        gate = self._open(f"gate-{bucket:02d}")
        try:
            fcntl.flock(gate, fcntl.LOCK_EX)
            lock = self._open(f"lock-{bucket:02d}")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
                yield
            finally:
                os.close(lock)
        finally:
            os.close(gate)

    def _records(self, domain: str) -> dict[str, list[float]]:
        try:
            with open(self.folder / f"recounts-{_bucket(domain):02d}.json", "rb") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return {}

    def generation(self, domain: str) -> int:
        """Return how many re-counts the domain has had (read under its lock)."""
        return int(self._records(domain).get(domain.lower(), [0, 0])[0])

    def last_recount(self, domain: str) -> float | None:
        """Return when the domain was last re-counted (time.time()), None if never."""
        record = self._records(domain).get(domain.lower())
        return float(record[1]) if record else None

    def recounted(self, domain: str) -> None:
        """Record a finished re-count: next generation, now (call under the exclusive lock)."""
        records = self._records(domain)
        generation = int(records.get(domain.lower(), [0, 0])[0])
        records[domain.lower()] = [generation + 1, time.time()]
        path = self.folder / f"recounts-{_bucket(domain):02d}.json"
        temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
        temporary.write_text(json.dumps(records, separators=(",", ":")))
        os.replace(temporary, path)

    @contextmanager
    def sweep_due(self, every: float, since: float = 0.0) -> Iterator[bool]:
        """Yield whether this process should re-count every domain now.

        Due once per `every` seconds (never when 0), and when the last sweep began
        before `since` (time.time()).
        """
        handle = self._open("sweep")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False  # another process is sweeping
                return
            stamp = self.folder / "sweep.last"
            try:
                last = float(stamp.read_text())
            except (OSError, ValueError):
                last = 0.0
            due = (every > 0 and time.time() - last >= every) or last < since
            if due:
                stamp.write_text(str(time.time()))
            yield due
        finally:
            os.close(handle)

    def sweep_failed(self) -> None:
        """Let the next process that looks sweep again (this sweep did not finish)."""
        (self.folder / "sweep.last").write_text("0")


def _bucket(domain: str) -> int:
    return zlib.crc32(domain.lower().encode()) % BUCKETS
