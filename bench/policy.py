"""The policy row: throttles set through the API against a raw SQL upsert, and /greylisting/all."""

from __future__ import annotations

import time
from typing import Any

import requests
import sqlalchemy as sa

from .clients import expect
from .clients import run_parallel
from .ldif import user_mail
from .scenarios import MB
from .scenarios import Bench
from .scenarios import Row
from .scenarios import fmt_rate
from .scenarios import interleave
from .scenarios import split
from .server import PeakRss

PERIOD = 3600
SENDERS_PER_ACCOUNT = 5
# The same row the API writes (models/policy/throttle.py): priority 100 for a user,
# max_rcpts -1 on insert, kept on update.
UPSERT = {
    "sqlite": "INSERT INTO throttle (account, kind, priority, period, msg_size, max_msgs,"
    " max_quota, max_rcpts) VALUES (:account, :kind, 100, :period, 0, :max_msgs, 0, -1)"
    " ON CONFLICT (account, kind) DO UPDATE SET priority = excluded.priority,"
    " period = excluded.period, msg_size = excluded.msg_size, max_msgs = excluded.max_msgs,"
    " max_quota = excluded.max_quota",
    # iRedMail's PostgreSQL table has no unique key: update, else insert (no lock, as a script).
    "postgresql": "UPDATE throttle SET priority = 100, period = :period, msg_size = 0,"
    " max_msgs = :max_msgs, max_quota = 0 WHERE account = :account AND kind = :kind",
    "mysql": "INSERT INTO throttle (account, kind, priority, period, msg_size, max_msgs,"
    " max_quota, max_rcpts) VALUES (:account, :kind, 100, :period, 0, :max_msgs, 0, -1)"
    " ON DUPLICATE KEY UPDATE priority = VALUES(priority), period = VALUES(period),"
    " msg_size = VALUES(msg_size), max_msgs = VALUES(max_msgs), max_quota = VALUES(max_quota)",
}


def set_throttles(bench: Bench, domain: str, count: int) -> Row:
    """POST /api/throttle/<mail>/outbound for each user vs a raw upsert of the inbound row."""
    engine = sa.create_engine(bench.env.iredapd_url, pool_size=bench.parallelism + 1)
    statement = sa.text(UPSERT[engine.dialect.name])
    insert = sa.text(UPSERT["sqlite"].partition(" ON CONFLICT")[0])
    # Once through the API first: the policy database's tables exist from then on.
    expect(bench.admin.get(f"{bench.url}/throttle/{user_mail(domain, 0)}/outbound"), 200)

    def api_set(session: requests.Session, i: int) -> None:
        data = {"period": PERIOD, "max_msgs": i + 1}
        expect(session.post(f"{bench.url}/throttle/{user_mail(domain, i)}/outbound", data=data),
               200)  # fmt: skip

    def raw_upsert(conn: sa.Connection, i: int) -> None:
        values = {"account": user_mail(domain, i), "kind": "inbound", "period": PERIOD,
                  "max_msgs": i + 1}  # fmt: skip
        with conn.begin():
            if conn.execute(statement, values).rowcount == 0:  # PostgreSQL: a new row
                conn.execute(insert, values)

    slices = split(count, bench.parallelism)
    try:
        api, raw = interleave(
            len(slices),
            lambda k: bench.on_api(slices[k], api_set),
            lambda k: _on_sql(bench, engine, slices[k], raw_upsert),
        )
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT kind, COUNT(*) FROM throttle GROUP BY kind"))
            written = dict(rows.all())
    finally:
        engine.dispose()
    if written != {"inbound": count, "outbound": count}:
        raise RuntimeError(f"throttle rows: {written}, expected {count} of each kind")
    ratio = api.rate / raw.rate
    note = (f"ABBA-interleaved, {len(slices)} slices; {engine.dialect.name}; the API also "
            "checks the login, the policy and that the user exists (LDAP)")  # fmt: skip
    return Row(f"set throttle ({count:,} users)", fmt_rate(api), fmt_rate(raw), ratio,
               ">= 0.7x raw SQL upsert", ratio >= 0.7, note)  # fmt: skip


def _on_sql(bench: Bench, engine: sa.Engine, indices: range, operation: Any):
    """Time operation(conn, i) for each i in indices on P connections of the engine."""
    return run_parallel(len(indices), bench.parallelism, engine.connect,
                        lambda conn, n: operation(conn, indices[n]), lambda conn: conn.close())  # fmt: skip


def greylisting_all(bench: Bench, count: int) -> list[Row]:
    """GET /api/greylisting/all (streamed) with `count` rows vs a raw SELECT; worker memory."""
    engine = sa.create_engine(bench.env.iredapd_url)
    accounts = count // SENDERS_PER_ACCOUNT
    rows = [{"account": f"user{n // SENDERS_PER_ACCOUNT:06d}@greylisting.bench",
             "sender": f"192.0.2.{n % SENDERS_PER_ACCOUNT}", "priority": 100, "active": 1}
            for n in range(count)]  # fmt: skip
    insert = sa.text("INSERT INTO greylisting (account, priority, sender, sender_priority,"
                     " comment, active) VALUES (:account, :priority, :sender, 0, '', :active)")  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert, rows)
    del rows
    memory = PeakRss(bench.env.worker_pids())
    started = time.perf_counter()
    with memory:
        answer = expect(bench.admin.get(f"{bench.url}/greylisting/all"), 200).json()["_data"]
    api_seconds = time.perf_counter() - started
    got = sum(len(group) for group in answer.values())
    if got < count or len(answer) < accounts:
        raise RuntimeError(f"/greylisting/all returned {got} rows, expected {count}")
    growth = memory.growth
    started = time.perf_counter()
    with engine.connect() as conn:
        found = len(conn.execute(sa.text("SELECT account, sender, active FROM greylisting"
                                         " ORDER BY account, sender")).all())  # fmt: skip
    raw_seconds = time.perf_counter() - started
    engine.dispose()
    ratio = api_seconds / raw_seconds
    return [
        Row(f"GET /greylisting/all ({found:,} rows, streamed)", f"{api_seconds:.2f} s",
            f"{raw_seconds:.3f} s", ratio, "-", None,
            "ratio = API/raw time; raw: one SELECT of the same rows, no JSON"),
        Row("greylisting/all: worker memory growth", f"{growth / MB:.1f} MB", "-", None, "< 32 MB",
            growth < 32 * MB, "peak RSS minus RSS before, largest over the workers"),
    ]  # fmt: skip
