"""Twenty writers of one row at once leave exactly one row, on every database."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from iredapi_ldap.models.policy import greylisting
from iredapi_ldap.models.policy import spampolicy
from iredapi_ldap.models.policy import throttle
from iredapi_ldap.models.policy import wblist
from iredapi_ldap.sqlstore.amavisd.rows import skip_locked

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


def test_concurrent_adds_of_one_sender_leave_one_row_each(amavisd):
    """Twenty adds of a sender to one list, half of them to the other list: one pair, one of each row."""
    at_once(
        lambda i: wblist.add_wblist(
            amavisd.store, "bob@example.com", "inbound", ("whitelist", "blacklist")[i % 2],
            ["Spammer@evil.test"],
        )
    )  # fmt: skip
    at_once(
        lambda i: spampolicy.set_spam_policy(amavisd.store, "bob@example.com", {"spam_score": i})
    )

    assert [row["email"] for row in amavisd.rows("users", "email")] == ["bob@example.com"]
    assert [row["email"] for row in amavisd.rows("mailaddr", "email")] == ["spammer@evil.test"]
    (pair,) = amavisd.rows("wblist", order_by="rid")
    assert pair["wb"] in ("W", "B")
    (policy,) = amavisd.rows("policy", "id", "policy_name")
    assert amavisd.rows("users", "policy_id") == [{"policy_id": policy["id"]}]


def test_adds_and_removes_of_shared_addresses_never_leave_a_dangling_pair(amavisd):
    """Accounts add and remove the same senders at once: every pair keeps its two rows."""
    add_and_remove_at_once(amavisd)


def test_without_skip_locked_the_cleanup_waits_and_still_leaves_no_dangling_pair(
    mariadb_amavisd, monkeypatch
):
    """MariaDB before 10.6 has no SKIP LOCKED: the cleanup waits, deadlocks are run again."""
    dialect = mariadb_amavisd.store.engine.dialect
    monkeypatch.setattr(dialect, "server_version_info", (10, 5, 22))
    with mariadb_amavisd.store.engine.connect() as conn:
        assert skip_locked(conn) is False

    add_and_remove_at_once(mariadb_amavisd)


def add_and_remove_at_once(amavisd):
    """Twenty writers on four accounts add, remove and empty lists of the same senders."""
    senders = ["a@evil.test", "b@evil.test", "@evil.test", "192.0.2.1"]

    def work(i):
        account = f"u{i % 4}@example.com"
        for _round in range(3):
            wblist.add_wblist(amavisd.store, account, "inbound", "blacklist", senders)
            wblist.remove_wblist(amavisd.store, account, "inbound", "blacklist", senders[i % 3 :])
            wblist.delete_wblist(amavisd.store, account, "inbound", "blacklist")
            wblist.add_wblist(amavisd.store, account, "outbound", "blacklist", senders[:3])

    at_once(work)

    users = {row["id"] for row in amavisd.rows("users", "id")}
    addresses = {row["id"] for row in amavisd.rows("mailaddr", "id")}
    outbound = amavisd.rows("outbound_wblist", order_by="rid")
    assert amavisd.rows("wblist", order_by="rid") == []
    assert len(outbound) == 4 * 3
    assert {row["sid"] for row in outbound} == users
    assert {row["rid"] for row in outbound} <= addresses
