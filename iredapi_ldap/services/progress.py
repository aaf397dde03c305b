"""How a use case with many similar writes runs them and reports how far it got.

A service that writes one entry per item (a bulk update, a domain delete) takes
two optional arguments:

- `progress(done, total)`, called once with the total before the first write and
  then after each item. The API's inline path passes none; a job passes one that
  writes the job's progress and heartbeat (`JobContext.report`).
- `each(items, action)`, which applies `action(directory, item)` to every item.
  By default the items are written one after the other on the caller's
  directory; a job passes `JobContext.each`, which spreads them over [jobs]
  parallelism connections.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any
from typing import TypeVar

from ..ldap import Directory

T = TypeVar("T")
Progress = Callable[[int, int], None]
Action = Callable[[Directory, T], Any]
Each = Callable[[Iterable[T], Action[T]], None]


def in_sequence(directory: Directory) -> Each:
    """Return an `each` that writes the items one after the other on `directory`."""

    def each(items: Iterable[T], action: Action[T]) -> None:
        for item in items:
            action(directory, item)

    return each


class Tally:
    """Count the finished items of one run, thread-safely, and report them to `progress`."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.done = 0
        self.total = 0
        self.changed = 0
        self._progress = progress
        self._lock = threading.Lock()

    def start(self, left: int, previous_total: int | None = None) -> None:
        """Declare the items left; on a resumed run, what the earlier run finished counts as done."""
        total = left if previous_total is None else max(previous_total, left)
        with self._lock:
            self.total, self.done = total, total - left
        self._report(self.done, total)

    def advance(self, changed: bool = True) -> None:
        """Count one finished item (and whether it changed an entry); report the new count."""
        with self._lock:
            self.done += 1
            self.changed += bool(changed)
            done, total = self.done, self.total
        self._report(done, total)

    def _report(self, done: int, total: int) -> None:
        # Outside the lock: a job's callback may write to the SQL store.
        if self._progress is not None:
            self._progress(done, total)
