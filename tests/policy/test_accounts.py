"""Policy rows go with their accounts: deleted with a user or domain, moved on a rename."""

from __future__ import annotations

import pytest

from iredapi_ldap.models.policy import cleanup
from iredapi_ldap.models.policy import greylisting
from iredapi_ldap.models.policy import throttle

from .iredapd import DUNNO
from .iredapd import REJECT_QUOTA

TABLES = ("throttle", "throttle_tracking", "greylisting", "greylisting_whitelists")


def populate(policy):
    """Rules for two users of example.com, the domain, a neighbour domain and global."""
    for account in ("bob@example.com", "carol@example.com", "example.com", "dave@example.net",
                    "notexample.com", "global"):  # fmt: skip
        throttle.set_throttle(policy.store, account, "outbound", 3600, max_msgs=1)
        greylisting.set_greylisting(policy.store, account, True)
        greylisting.add_whitelists(policy.store, account, ["192.0.2.1"])
    # iRedAPD's counters: bob under his rule, erin (no rule) under the domain's.
    for sender in ("bob@example.com", "erin@example.com", "dave@example.net"):
        assert policy.iredapd.send(sender, "x@remote.test", sasl=sender) == DUNNO
    policy.insert(
        "greylisting_tracking",
        *({"sender": "x@remote.test", "recipient": rcpt, "client_address": "203.0.113.5",
           "sender_domain": "remote.test", "rcpt_domain": rcpt.split("@")[1]}
          for rcpt in ("bob@example.com", "erin@example.com", "dave@example.net")),
    )  # fmt: skip


def accounts(policy, table, column="account"):
    return sorted({row[column] for row in policy.rows(table, column)})


def test_deleting_a_user_deletes_its_rows_only(policy):
    """Rules (counters first), switches, whitelists and greylisting triplets of bob go."""
    populate(policy)

    cleanup.delete_account_rows(policy.store, "Bob@Example.com")

    everyone = ["@.", "@example.com", "@notexample.com", "carol@example.com", "dave@example.net"]
    for table in ("throttle", "greylisting", "greylisting_whitelists"):
        assert accounts(policy, table) == everyone, table
    assert accounts(policy, "throttle_tracking") == ["dave@example.net", "erin@example.com"]
    assert accounts(policy, "greylisting_tracking", "recipient") == [
        "dave@example.net", "erin@example.com"
    ]  # fmt: skip


def test_deleting_a_domain_deletes_the_rows_of_everything_in_it(policy):
    """@example.com and every x@example.com go; notexample.com and example.net stay."""
    populate(policy)

    cleanup.delete_account_rows(policy.store, "example.com")

    for table in ("throttle", "greylisting", "greylisting_whitelists"):
        assert accounts(policy, table) == ["@.", "@notexample.com", "dave@example.net"], table
    assert accounts(policy, "throttle_tracking") == ["dave@example.net"]
    assert accounts(policy, "greylisting_tracking", "recipient") == ["dave@example.net"]


def test_renaming_a_user_moves_its_rows_and_drops_leftovers(policy):
    """bob's rows become robert's; rows a removed robert left behind do not survive."""
    populate(policy)
    policy.insert(
        "greylisting_whitelists", {"account": "robert@example.com", "sender": "@old.test"}
    )
    policy.insert("throttle", {"account": "robert@example.com", "kind": "inbound", "period": 60,
                               "priority": 100, "max_msgs": 9})  # fmt: skip

    cleanup.rename_account_rows(policy.store, "bob@example.com", "robert@example.com")

    for table in ("throttle", "greylisting", "greylisting_whitelists"):
        assert "robert@example.com" in accounts(policy, table)
        assert "bob@example.com" not in accounts(policy, table)
    assert [row["kind"] for row in policy.rows("throttle", "account", "kind")
            if row["account"] == "robert@example.com"] == ["outbound"]  # fmt: skip
    assert greylisting.get_whitelists(policy.store, "robert@example.com") == {
        "whitelists": ["192.0.2.1"]
    }
    assert "robert@example.com" in accounts(policy, "throttle_tracking")
    assert "robert@example.com" in accounts(policy, "greylisting_tracking", "recipient")
    # iRedAPD now finds bob's rule, and bob's count, under robert.
    answer = policy.iredapd.send("robert@example.com", "x@remote.test", sasl="robert@example.com")
    assert answer == REJECT_QUOTA


def test_renaming_a_domain_moves_every_account_in_it(policy):
    """@example.com → @example.org, x@example.com → x@example.org, triplets' rcpt_domain too."""
    populate(policy)

    cleanup.rename_account_rows(policy.store, "example.com", "Example.ORG")

    moved = ["@.", "@example.org", "@notexample.com", "bob@example.org", "carol@example.org",
             "dave@example.net"]  # fmt: skip
    for table in ("throttle", "greylisting", "greylisting_whitelists"):
        assert accounts(policy, table) == moved, table
    assert accounts(policy, "throttle_tracking") == [
        "bob@example.org", "dave@example.net", "erin@example.org"
    ]  # fmt: skip
    triplets = policy.rows("greylisting_tracking", "recipient", "rcpt_domain", order_by="recipient")
    assert [(row["recipient"], row["rcpt_domain"]) for row in triplets] == [
        ("bob@example.org", "example.org"), ("dave@example.net", "example.net"),
        ("erin@example.org", "example.org"),
    ]  # fmt: skip
    assert [row["priority"] for row in policy.rows("greylisting", "account", "priority")
            if row["account"] == "@example.org"] == [60]  # fmt: skip


@pytest.mark.parametrize(
    "old, new", [("global", "example.org"), ("bob@example.com", "example.org")]
)
def test_a_rename_needs_two_users_or_two_domains(sqlite_policy, old, new):
    """The global rules belong to nobody; a user does not become a domain."""
    with pytest.raises(ValueError):
        cleanup.rename_account_rows(sqlite_policy.store, old, new)
