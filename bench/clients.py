"""Clients: P threads with a logged-in requests.Session, or P threads with a bound ldap3 connection."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import requests
from ldap3 import NONE
from ldap3 import Connection
from ldap3 import Server

from .server import ADMIN_EMAIL
from .server import ADMIN_PASSWORD

FAILED = object()


@dataclass
class Timing:
    """How long `count` operations took in all (wall clock) and each."""

    count: int
    elapsed: float
    latencies: list[float] = field(default_factory=list)

    @classmethod
    def combine(cls, timings: Iterable[Timing]) -> Timing:
        """Return one Timing of several: counts and elapsed times summed, latencies concatenated."""
        parts = list(timings)
        return cls(sum(part.count for part in parts), sum(part.elapsed for part in parts),
                   [latency for part in parts for latency in part.latencies])  # fmt: skip

    @property
    def rate(self) -> float:
        """Operations per second."""
        return self.count / self.elapsed if self.elapsed else 0.0

    def percentile(self, fraction: float) -> float:
        """Return a latency percentile in milliseconds."""
        if not self.latencies:
            return self.elapsed * 1000
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    @property
    def median_ms(self) -> float:
        """Median latency in milliseconds."""
        return statistics.median(self.latencies) * 1000 if self.latencies else self.elapsed * 1000


def api_session(url: str) -> requests.Session:
    """Return a session logged in as the bench's global admin (cookie)."""
    session = requests.Session()
    response = session.post(
        f"{url}/login", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    if response.status_code != 200:
        raise RuntimeError(f"login failed: {response.status_code} {response.text}")
    return session


def ldap_connection(creds: Any) -> Connection:
    """Return an ldap3 connection bound as the API's own service DN (cn=vmailadmin)."""
    server = Server(creds.uri, get_info=NONE)
    return Connection(server, creds.vmailadmin_dn, creds.vmailadmin_password,
                      auto_bind=True, raise_exceptions=True)  # fmt: skip


def run_parallel(
    count: int,
    parallelism: int,
    setup: Callable[[], Any],
    operation: Callable[[Any, int], None],
    teardown: Callable[[Any], None] | None = None,
) -> Timing:
    """Run operation(client, i) for i in range(count) on `parallelism` threads; time it.

    Each thread sets its client up before the clock starts (login, bind); the
    clock runs from the moment all threads are released until the last finishes.
    """
    threads = max(1, min(parallelism, count))
    barrier = threading.Barrier(threads + 1)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures: list[BaseException] = []

    def work(index: int) -> None:
        client: Any = FAILED
        try:
            client = setup()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        barrier.wait()
        if client is FAILED:
            return
        try:
            for i in range(index, count, threads):
                started = time.perf_counter()
                operation(client, i)
                latencies[index].append(time.perf_counter() - started)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            if teardown is not None:
                teardown(client)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(
            f"{len(failures)} client failure(s); first: {failures[0]!r}"
        ) from failures[0]
    return Timing(count, elapsed, [x for items in latencies for x in items])


def expect(response: requests.Response, *statuses: int) -> requests.Response:
    """Fail the benchmark on an unexpected HTTP status."""
    if response.status_code not in statuses:
        raise RuntimeError(
            f"{response.request.method} {response.url}: {response.status_code} {response.text[:300]}"
        )
    return response
