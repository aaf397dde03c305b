"""Create and get with two replicating providers against one: `python -m bench --replicas`.

Two environments side by side, each a durable embedded directory and the API under
gunicorn: one slapd, and two providers replicating each other (syncrepl multi-provider,
the API given both URIs). The same requests run on both in ABBA-interleaved slices, in
the same run, so the ratio (two / one) shows what replication costs the API.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from .clients import Timing
from .clients import expect
from .ldif import user_mail
from .scenarios import Bench
from .scenarios import Row
from .scenarios import Sizes
from .scenarios import fmt_rate
from .scenarios import interleave
from .scenarios import split
from .server import Environment

DOMAIN = "replicas.bench"
COLUMNS = ("API on two providers", "API on one slapd")


def compare(workdir: Path, workers: int, threads: int, clients: int, sizes: Sizes) -> list[Row]:
    """Start both environments, measure, stop them; return the rows."""
    envs = [Environment(workdir / name, workers, threads, {}, replicas=count)
            for name, count in (("one", 1), ("two", 2))]  # fmt: skip
    try:
        benches = []
        for env in envs:
            env.start_slapd()
            env.create_admin()
            benches.append(Bench(env, env.start_api(LOG_LEVEL="WARNING"), clients, sizes))
        return _measure(benches, sizes)
    finally:
        for env in envs:
            env.stop()


def _measure(benches: list[Bench], sizes: Sizes) -> list[Row]:
    one, two = benches
    for bench in benches:
        bench.make_domain(DOMAIN)
    password_hash = one.env.password_hash

    def creator(bench: Bench):
        def create(session: requests.Session, i: int) -> None:
            data = {"password_hash": password_hash, "name": f"Bench User {i}"}
            expect(session.post(f"{bench.url}/user/{user_mail(DOMAIN, i)}", data=data), 201)

        return create

    created_two, created_one = _on_both(benches, sizes.create, creator)
    started = time.perf_counter()
    two.env.slapd.wait_converged(120)
    lag = time.perf_counter() - started

    picks = [random.Random(i).randrange(sizes.create) for i in range(sizes.get)]

    def getter(bench: Bench):
        def get(session: requests.Session, i: int) -> None:
            expect(session.get(f"{bench.url}/user/{user_mail(DOMAIN, picks[i])}"), 200)

        return get

    read_two, read_one = _on_both(benches, sizes.get, getter)
    return [
        _row("create user", created_one, created_two,
             f"both providers held every create {lag:.2f} s after the last answer"),
        _row("get user", read_one, read_two, "reads go to the active provider only"),
    ]  # fmt: skip


def _on_both(
    benches: list[Bench], count: int, operation: Callable[[Bench], Callable[[Any, int], None]]
) -> tuple[Timing, Timing]:
    """Run operation(bench)(session, i) for i < count on both, ABBA-interleaved; (two, one)."""
    one, two = benches
    slices = split(count, one.parallelism)
    return interleave(len(slices), lambda k: two.on_api(slices[k], operation(two)),
                      lambda k: one.on_api(slices[k], operation(one)))  # fmt: skip


def _row(operation: str, one: Timing, two: Timing, note: str) -> Row:
    ratio = two.rate / one.rate
    return Row(operation, fmt_rate(two), fmt_rate(one), ratio, "-", None,
               f"ratio = two / one; ABBA-interleaved; {note}")  # fmt: skip
