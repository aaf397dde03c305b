"""Keep the embedded slapd (or each provider) of `serve` running: restart with back-off, or give up.

A thread of the `serve` process polls its slapd children every 0.1 s. One that has
exited is started again (the same data, port and configuration) after a pause that
doubles with each restart in a row: 0.1 s, 0.2 s, 0.4 s ... at most 5 s; a slapd that
stayed up for a minute counts as healthy again. Every exit and restart is reported.
If `MAX_FAILED_STARTS` starts in a row fail, or slapd exits `MAX_RESTARTS` times within
`WINDOW_SECONDS` (a crash loop), the supervisor gives up: `serve` stops gunicorn and
exits non-zero, so that the service manager (systemd `Restart=on-failure`) restarts the
whole.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from iredapi_ldap.embedded.slapd import EmbeddedSlapd

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
FIRST_PAUSE_SECONDS = 0.1
MAX_PAUSE_SECONDS = 5.0
HEALTHY_AFTER_SECONDS = 60.0
MAX_FAILED_STARTS = 5
MAX_RESTARTS = 10
WINDOW_SECONDS = 60.0


def pause_before(restart: int) -> float:
    """Return the pause before the `restart`-th restart in a row (1-based)."""
    return min(FIRST_PAUSE_SECONDS * 2 ** max(restart - 1, 0), MAX_PAUSE_SECONDS)


@dataclass
class _Watched:
    server: EmbeddedSlapd
    start: Callable[[], object]
    started: float = field(default_factory=time.monotonic)
    in_a_row: int = 0
    exits: list[float] = field(default_factory=list)


class SlapdSupervisor:
    """Restart exited slapd children; call `give_up(reason)` when that is hopeless."""

    def __init__(self, report: Callable[[str], None], give_up: Callable[[str], None]) -> None:
        self.report = report
        self.give_up = give_up
        self.failed: str | None = None  # why the supervisor gave up, once it has
        self._watched: list[_Watched] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, server: EmbeddedSlapd, start: Callable[[], object] | None = None) -> None:
        """Watch a started server; `start` restarts it (default: server.start())."""
        self._watched.append(_Watched(server, start or server.start))

    def start(self) -> None:
        """Start the watching thread (it also starts the restarted slapds: it must live on)."""
        self._thread = threading.Thread(target=self._loop, name="iredapi-slapd-supervisor",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (before the servers are stopped, so none is restarted)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        # This thread must outlive the slapds it starts: Linux sends them the death signal
        # (process.py) when it ends. So nothing but stop() or giving up ends it.
        while not self._stop.wait(POLL_SECONDS):
            for watched in self._watched:
                try:
                    if watched.server.running():
                        if time.monotonic() - watched.started > HEALTHY_AFTER_SECONDS:
                            watched.in_a_row = 0
                        continue
                    if not self._revive(watched):
                        return
                except Exception as exc:  # noqa: BLE001 - reported, and the watch goes on
                    log.exception("slapd supervisor: %r", exc)

    def _revive(self, watched: _Watched) -> bool:
        """Restart one exited server; False once the supervisor has given up."""
        name = watched.server.run_dir.name
        now = time.monotonic()
        watched.exits = [t for t in watched.exits if now - t < WINDOW_SECONDS] + [now]
        self.report(f"{name} exited unexpectedly; restarting it")
        if len(watched.exits) > MAX_RESTARTS:
            return self._give_up(f"{name} exited {len(watched.exits)} times in "
                                 f"{WINDOW_SECONDS:.0f} s")  # fmt: skip
        failures = 0
        while not self._stop.is_set():
            watched.in_a_row += 1
            pause = pause_before(watched.in_a_row)
            if self._stop.wait(pause):
                return True
            try:
                watched.start()
            except Exception as exc:  # noqa: BLE001 - any failure to start is one failed try
                failures += 1
                self.report(f"{name} did not start (try {failures} of {MAX_FAILED_STARTS}): "
                            f"{_summary(exc)}")  # fmt: skip
                if failures >= MAX_FAILED_STARTS:
                    return self._give_up(f"{name} did not start {failures} times in a row")
                continue
            watched.started = time.monotonic()
            self.report(f"{name} restarted after {watched.started - now:.2f} s "
                        f"(restart {len(watched.exits)} in {WINDOW_SECONDS:.0f} s)")  # fmt: skip
            return True
        return True

    def _give_up(self, reason: str) -> bool:
        self.failed = reason
        self.report(f"giving up: {reason}; stopping")
        self.give_up(reason)
        return False


def _summary(exc: Exception) -> str:
    """Return the first line of an error and the last lines of slapd's log it quotes."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [repr(exc)]
    return "\n    ".join(lines[:1] + lines[1:][-3:])
