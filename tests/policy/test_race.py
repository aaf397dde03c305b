"""Twenty writers of one (account, kind) at once leave exactly one row, on every database."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from iredapi_ldap.models.policy import greylisting
from iredapi_ldap.models.policy import throttle

WRITERS = 20


def at_once(call, count=WRITERS):
    """Run call(index) from count threads released together; return the results."""
    barrier = threading.Barrier(count)

    def run(index):
        barrier.wait()
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_throttle_writes_leave_one_row(policy):
    """PostgreSQL has no unique key to lean on: the advisory lock makes the writers take turns."""
    results = at_once(
        lambda i: throttle.set_throttle(
            policy.store, "bob@example.com", "outbound", 60, 0, i + 1, 0
        )
    )

    rows = policy.rows("throttle", "account", "kind", "max_msgs")
    assert len(rows) == 1, rows
    assert rows[0]["account"] == "bob@example.com" and rows[0]["kind"] == "outbound"
    assert rows[0]["max_msgs"] in range(1, WRITERS + 1)
    assert {result["id"] for result in results} == {policy.rows("throttle")[0]["id"]}


def test_concurrent_greylisting_and_whitelist_writes_leave_one_row_each(policy):
    """Switch writers upsert on (account, sender); whitelist replacements take turns."""
    at_once(lambda i: greylisting.set_greylisting(policy.store, "example.com", i % 2 == 0))
    at_once(lambda i: greylisting.set_whitelists(policy.store, "example.com", [f"192.0.2.{i}"]))

    assert len(policy.rows("greylisting")) == 1
    whitelisted = policy.rows("greylisting_whitelists", "account", "sender")
    assert len(whitelisted) == 1 and whitelisted[0]["account"] == "@example.com", whitelisted
