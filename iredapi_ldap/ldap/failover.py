"""Which of several LDAP servers this host uses now: one at a time, shared by its processes.

With several `[ldap] uri` values (replicating providers) every process of the host sends
every request to the same server, the *active* one, so that a client's reads go where its
writes went and the counters' compare-and-swap is decided by one server, as with a single
one (docs/directory.md, "Two directory servers"). The choice lives in a small JSON file
in the host's state folder (`[ldap] counter_lock_dir`), replaced atomically under a
flock(2) lock and re-read by a process whenever it changes (one stat() per connection):

- **Failover.** A process that cannot connect to the active server makes the next one in
  the configured order active and notes when to try the failed one again: after 0.5 s,
  then twice as long after each failed try, at most 30 s.
- **Failback, health-checked.** When a server earlier in the order is due, one process
  (a background thread; a second lock keeps it to one per host) connects to it and
  compares the suffix's `contextCSN` values (one per serverID, the newest change each
  provider has seen) with the active server's: it becomes active again only once it holds
  every change the active one has, and the active one every change it has. Until then
  it is checked again every 0.2 s (it is catching up). Servers without `contextCSN` (no
  replication) return as soon as they answer.

`epoch` counts the switches and `switched` holds when the last one happened: the counters
are re-counted after a switch (models/counter_queue.py), since changes a dead provider
had not passed on come back only when it returns.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATE_FILE = "ldap-servers.json"
STATE_LOCK = "ldap-servers.lock"
PROBE_LOCK = "ldap-probe.lock"
FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 30.0
CATCH_UP_SECONDS = 0.2


@dataclass
class Choice:
    """The host's active server (index in the configured order) and when to retry the others."""

    active: int = 0
    epoch: int = 0
    switched: float = 0.0  # time.time() of the last switch; 0: never
    # server index -> [time.time() of its next try, failed tries in a row]
    retry: dict[int, list[float]] = field(default_factory=dict)

    def due(self, now: float) -> int | None:
        """Return the first server before the active one whose next try has come, if any."""
        for index in range(self.active):
            when, _failures = self.retry.get(index, (0.0, 0))
            if now >= when:
                return index
        return None


def retry_after(failures: int) -> float:
    """Return the pause before trying a server again after `failures` failed tries in a row."""
    return min(FIRST_RETRY_SECONDS * 2 ** max(failures - 1, 0), MAX_RETRY_SECONDS)


def csn_by_server(values: list[str]) -> dict[str, str]:
    """Return contextCSN values by their serverID field (`<time>#<count>#<sid>#<mod>`)."""
    found = {}
    for value in values:
        parts = value.split("#")
        if len(parts) == 4:
            found[parts[2]] = value
    return found


def holds_all(candidate: dict[str, str], reference: dict[str, str]) -> bool:
    """Tell whether a server with contextCSN `candidate` has every change of `reference`."""
    # CSNs of one serverID compare as text: a fixed-width timestamp, then counters.
    return all(candidate.get(sid, "") >= csn for sid, csn in reference.items())


class ServerChoice:
    """The active server of this host, kept in `folder` (None: this process only)."""

    def __init__(self, uris: list[str], folder: Path | None) -> None:
        self.uris = uris
        self.count = len(uris)
        self.folder = folder
        self._choice = Choice()
        self._seen: tuple[int, int, int] | None = None
        self._lock = threading.Lock()
        self._probing = False
        if folder is not None:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    # -- the shared file -------------------------------------------------------------

    def current(self) -> Choice:
        """Return the host's choice, re-reading the file when another process changed it."""
        if self.folder is None:
            return self._choice
        path = self.folder / STATE_FILE
        try:
            stat = path.stat()
        except FileNotFoundError:
            return self._choice
        seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            try:
                self._choice = _decode(json.loads(path.read_text()), self.uris)
                self._seen = seen
            except (OSError, ValueError):
                pass  # replaced meanwhile: read at the next call
        return self._choice

    @contextmanager
    def _changing(self) -> Iterator[Choice]:
        """Hold the host's lock, yield the current choice to change, then store it."""
        if self.folder is None:
            with self._lock:
                yield self._choice
            return
        handle = os.open(self.folder / STATE_LOCK, os.O_RDONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            self._seen = None
            choice = self.current()
            before = _encode(choice)
            yield choice
            if _encode(choice) != before:
                path = self.folder / STATE_FILE
                temporary = path.with_name(f"{STATE_FILE}.{os.getpid()}.{threading.get_ident()}")
                temporary.write_text(json.dumps({"servers": self.uris, **_encode(choice)}))
                os.replace(temporary, path)
                self._seen = None
        finally:
            os.close(handle)

    # -- failover and failback ---------------------------------------------------------

    def failed(self, index: int) -> Choice:
        """Record that server `index` does not answer; if it is active, make the next one so."""
        with self._changing() as choice:
            _when, failures = choice.retry.get(index, (0.0, 0))
            failures = int(failures) + 1
            choice.retry[index] = [time.time() + retry_after(failures), failures]
            if choice.active == index and self.count > 1:
                self._switch(choice, (index + 1) % self.count, f"server {index + 1} failed")
            return choice

    def returned(self, index: int) -> Choice:
        """Make server `index` active: it answers and has caught up."""
        with self._changing() as choice:
            choice.retry.pop(index, None)
            if choice.active != index:
                self._switch(choice, index, f"server {index + 1} is back and caught up")
            return choice

    def catching_up(self, index: int) -> None:
        """Server `index` answers but lacks changes: check it again shortly."""
        with self._changing() as choice:
            _when, failures = choice.retry.get(index, (0.0, 0))
            choice.retry[index] = [time.time() + CATCH_UP_SECONDS, failures]

    def _switch(self, choice: Choice, index: int, reason: str) -> None:
        log.warning("LDAP: server %d now active (%s)", index + 1, reason)
        choice.active = index
        choice.epoch += 1
        choice.switched = time.time()

    def probe_if_due(self, check: Callable[[int, int], bool | None]) -> None:
        """Start a thread that checks the due server (if any) with `check(candidate, active)`.

        `check` returns True (answers and caught up), False (answers, behind) or None
        (does not answer). One thread per process; a lock file keeps it to one per host.
        """
        choice = self.current()
        candidate = choice.due(time.time())
        if candidate is None:
            return
        with self._lock:
            if self._probing:
                return
            self._probing = True
        thread = threading.Thread(target=self._probe, args=(check,), name="iredapi-ldap-probe",
                                  daemon=True)  # fmt: skip
        thread.start()

    def _probe(self, check: Callable[[int, int], bool | None]) -> None:
        try:
            with self._probe_lock() as mine:
                choice = self.current()
                candidate = choice.due(time.time())
                if not mine or candidate is None:
                    return
                result = check(candidate, choice.active)
                if result is None:
                    self.failed(candidate)
                elif result:
                    self.returned(candidate)
                else:
                    self.catching_up(candidate)
        except Exception:  # noqa: BLE001 - a daemon thread has nobody to raise to
            log.exception("LDAP: checking a returning server failed")
        finally:
            with self._lock:
                self._probing = False

    @contextmanager
    def _probe_lock(self) -> Iterator[bool]:
        if self.folder is None:
            yield True
            return
        handle = os.open(self.folder / PROBE_LOCK, os.O_RDONLY | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False  # another process of the host is checking
                return
            yield True
        finally:
            os.close(handle)

    def after_fork(self) -> None:
        """Forget a probe thread of the parent (threads do not survive a fork)."""
        self._lock = threading.Lock()
        self._probing = False


def _encode(choice: Choice) -> dict[str, Any]:
    return {
        "active": choice.active,
        "epoch": choice.epoch,
        "switched": choice.switched,
        "retry": {str(index): value for index, value in sorted(choice.retry.items())},
    }


def _decode(data: dict[str, Any], uris: list[str]) -> Choice:
    if data.get("servers") != uris:
        return Choice()  # written for other servers (the configuration changed)
    active = int(data.get("active", 0))
    return Choice(
        active=active if 0 <= active < len(uris) else 0,
        epoch=int(data.get("epoch", 0)),
        switched=float(data.get("switched", 0.0)),
        retry={int(k): [float(v[0]), int(v[1])] for k, v in data.get("retry", {}).items()},
    )
