"""Throttle rules written through the models, read back as rows and replayed as iRedAPD reads them."""

from __future__ import annotations

import time

import pytest

from iredapi_ldap.errors import ValidationFailed
from iredapi_ldap.models.policy import throttle

from .iredapd import DUNNO
from .iredapd import REJECT_QUOTA
from .iredapd import REJECT_SIZE

RULE = ("account", "kind", "priority", "period", "msg_size", "max_msgs", "max_quota", "max_rcpts")


def rules(policy):
    return policy.rows("throttle", *RULE, order_by="account, kind")


def test_rows_are_written_as_iredapd_reads_them(policy):
    """Accounts lower-cased in iRedAPD's forms, its priorities (100/60/0), limits as given."""
    user = throttle.set_throttle(policy.store, "Bob@Example.COM", "Outbound", 3600, 0, 2, 0)
    throttle.set_throttle(policy.store, "example.com", "inbound", 60, msg_size=1000)
    throttle.set_throttle(policy.store, "global", "outbound", 86400, max_msgs=500, max_quota=-1)

    assert rules(policy) == [
        {"account": "@.", "kind": "outbound", "priority": 0, "period": 86400, "msg_size": 0,
         "max_msgs": 500, "max_quota": -1, "max_rcpts": -1},
        {"account": "@example.com", "kind": "inbound", "priority": 60, "period": 60,
         "msg_size": 1000, "max_msgs": 0, "max_quota": 0, "max_rcpts": -1},
        {"account": "bob@example.com", "kind": "outbound", "priority": 100, "period": 3600,
         "msg_size": 0, "max_msgs": 2, "max_quota": 0, "max_rcpts": -1},
    ]  # fmt: skip
    assert {key: user[key] for key in RULE} == rules(policy)[2]
    # iRedAPD picks the user's own rule for bob, the global one for carol.
    bob = policy.iredapd.throttle_settings("outbound", "bob@example.com", "192.0.2.10")
    carol = policy.iredapd.throttle_settings("outbound", "carol@example.com", "192.0.2.10")
    assert {limit: rule["account"] for limit, rule in bob.items()} == {
        "msg_size": "bob@example.com", "max_msgs": "bob@example.com",
        "max_quota": "bob@example.com",
    }  # fmt: skip
    assert {limit: rule["value"] for limit, rule in carol.items()} == {
        "msg_size": 0,
        "max_msgs": 500,
    }


def test_idn_domains_are_stored_in_ascii(policy):
    """An IDN domain is stored as punycode, the form Postfix hands iRedAPD."""
    throttle.set_throttle(policy.store, "Juergen@Bücher.example", "outbound", 60, max_msgs=1)
    throttle.set_throttle(policy.store, "bücher.example", "outbound", 60, max_msgs=1)

    assert [row["account"] for row in rules(policy)] == [
        "@xn--bcher-kva.example",
        "juergen@xn--bcher-kva.example",
    ]


def test_a_user_limit_is_enforced_then_counted_and_shown(policy):
    """max_msgs=2 per hour: iRedAPD accepts two messages and rejects the third; GET shows 2 used."""
    throttle.set_throttle(policy.store, "bob@example.com", "outbound", 3600, max_msgs=2)

    answers = [policy.iredapd.send("bob@example.com", "x@remote.test", sasl="bob@example.com")
               for _ in range(3)]  # fmt: skip

    assert answers == [DUNNO, DUNNO, REJECT_QUOTA]
    usage = throttle.get_throttle(policy.store, "bob@example.com", "outbound")["usage"]
    assert usage["cur_msgs"] == 2 and usage["cur_quota"] == 200
    assert usage["expires_at"] == usage["init_time"] + 3600
    assert time.time() - 60 < usage["init_time"] <= time.time()
    # Domain and global rules are counted per mailbox: no single usage.
    throttle.set_throttle(policy.store, "example.com", "outbound", 60, max_msgs=5)
    assert throttle.get_throttle(policy.store, "example.com", "outbound")["usage"] is None


def test_an_update_keeps_one_row_and_the_counters(policy):
    """Setting a rule again changes it in place: same id, iRedAPD's counters kept."""
    first = throttle.set_throttle(policy.store, "bob@example.com", "outbound", 3600, max_msgs=5)
    policy.iredapd.send("bob@example.com", "x@remote.test", sasl="bob@example.com")

    second = throttle.set_throttle(policy.store, "bob@example.com", "outbound", 60, max_quota=9)

    assert second["id"] == first["id"]
    assert rules(policy) == [
        {"account": "bob@example.com", "kind": "outbound", "priority": 100, "period": 60,
         "msg_size": 0, "max_msgs": 0, "max_quota": 9, "max_rcpts": -1},
    ]  # fmt: skip
    tracked = policy.rows("throttle_tracking", "tid", "account", "cur_msgs")
    assert tracked == [{"tid": first["id"], "account": "bob@example.com", "cur_msgs": 1}]


def test_inherit_and_unlimited_as_iredapd_reads_them(policy):
    """-1 inherits the domain's limit; 0 is unlimited and stops inheritance."""
    throttle.set_throttle(policy.store, "example.com", "inbound", 3600, msg_size=1000, max_msgs=1)
    throttle.set_throttle(policy.store, "bob@example.com", "inbound", 3600, -1, 0, -1)

    # bob: own max_msgs 0 (unlimited), the domain's msg_size.
    assert policy.iredapd.send("x@remote.test", "bob@example.com", size=2000) == REJECT_SIZE
    assert [policy.iredapd.send("x@remote.test", "bob@example.com") for _ in range(3)] == [
        DUNNO
    ] * 3
    # carol has no rule: the domain's max_msgs=1 applies to her mailbox.
    carol = [policy.iredapd.send("x@remote.test", "carol@example.com") for _ in range(2)]
    assert carol == [DUNNO, REJECT_QUOTA]


@pytest.mark.parametrize(
    "account, values",
    [
        ("bob@example.com", {"period": 0, "max_msgs": 5}),
        ("global", {"period": 60}),
        ("global", {"period": 60, "msg_size": -1, "max_msgs": 0, "max_quota": -1}),
        ("example.com", {"period": 60, "msg_size": -1, "max_msgs": -1, "max_quota": -1}),
    ],
    ids=["period-0", "global-all-0", "global-0-or-inherit", "domain-all-inherit"],
)
def test_values_that_change_nothing_remove_the_rule_and_its_counters(policy, account, values):
    """As in Pro: period 0, or limits that change nothing, delete the rule (counters first)."""
    throttle.set_throttle(policy.store, account, "outbound", 3600, max_msgs=5)
    policy.iredapd.send("bob@example.com", "x@remote.test", sasl="bob@example.com")
    assert policy.rows("throttle_tracking")

    assert throttle.set_throttle(policy.store, account, "outbound", **values) == {}

    assert rules(policy) == []
    assert policy.rows("throttle_tracking") == []
    assert throttle.get_throttle(policy.store, account, "outbound") == {}


def test_explicit_unlimited_user_rule_is_kept(policy):
    """A user's all-0 rule is not empty: it overrides the domain's limits, so it stays."""
    throttle.set_throttle(policy.store, "example.com", "outbound", 3600, max_msgs=1)
    throttle.set_throttle(policy.store, "bob@example.com", "outbound", 3600)

    assert [row["account"] for row in rules(policy)] == ["@example.com", "bob@example.com"]
    answers = [policy.iredapd.send("bob@example.com", "x@remote.test", sasl="bob@example.com")
               for _ in range(3)]  # fmt: skip
    assert answers == [DUNNO] * 3


def test_rows_written_by_pro_are_taken_over(policy):
    """A row Pro wrote (Amavisd's priority 10, max_rcpts 0) is updated in place, to iRedAPD's 100."""
    policy.insert("throttle", {"account": "bob@example.com", "kind": "outbound", "priority": 10,
                               "period": 60, "msg_size": 0, "max_msgs": 3, "max_quota": 0,
                               "max_rcpts": 0})  # fmt: skip

    throttle.set_throttle(policy.store, "bob@example.com", "outbound", 120, max_msgs=4)

    assert rules(policy) == [
        {"account": "bob@example.com", "kind": "outbound", "priority": 100, "period": 120,
         "msg_size": 0, "max_msgs": 4, "max_quota": 0, "max_rcpts": 0},
    ]  # fmt: skip


def test_duplicates_left_by_unlocked_writers_are_merged(pg_policy):
    """PostgreSQL's throttle has no unique key: a set keeps the oldest row, drops the others."""
    row = {"account": "bob@example.com", "kind": "outbound", "priority": 10, "period": 60,
           "msg_size": 0, "max_msgs": 3, "max_quota": 0, "max_rcpts": -1}  # fmt: skip
    pg_policy.insert("throttle", row, row, row)
    ids = [rule["id"] for rule in pg_policy.rows("throttle")]
    pg_policy.insert("throttle_tracking", {"tid": ids[1], "account": "bob@example.com"})

    throttle.set_throttle(pg_policy.store, "bob@example.com", "outbound", 60, max_msgs=7)

    assert [(rule["id"], rule["max_msgs"]) for rule in pg_policy.rows("throttle")] == [(ids[0], 7)]
    assert pg_policy.rows("throttle_tracking") == []


BAD = [
    ({"period": -1}, ["period"]),
    ({"period": "3600"}, ["period"]),
    ({"period": 60, "max_msgs": -2, "max_quota": True}, ["max_msgs", "max_quota"]),
    ({"period": 60, "max_msgs": 16_777_216}, ["max_msgs"]),
    ({"period": 60, "max_quota": 4_294_967_296}, ["max_quota"]),
    ({"period": 4_294_967_296}, ["period"]),
    ({"period": 60, "msg_size": 1.5}, ["msg_size"]),
]


@pytest.mark.parametrize("values, fields", BAD)
def test_bad_values_are_refused_naming_each_field(sqlite_policy, values, fields):
    """400 naming every bad field (Pro would store 0 silently); nothing is written."""
    with pytest.raises(ValidationFailed) as caught:
        throttle.set_throttle(sqlite_policy.store, "bob@example.com", "outbound", **values)

    assert caught.value.status == 400
    assert sorted(caught.value.errors) == fields
    assert rules(sqlite_policy) == []


@pytest.mark.parametrize(
    "account, kind, field",
    [("bob@", "outbound", "account"), ("no domain", "inbound", "account"),
     ("bob+tag@example.com", "outbound", "account"), ("example.com", "external", "kind")],
)  # fmt: skip
def test_bad_accounts_and_kinds_are_refused(sqlite_policy, account, kind, field):
    """An account iRedAPD cannot look up, or a kind other than inbound/outbound, is a 400."""
    with pytest.raises(ValidationFailed) as caught:
        throttle.set_throttle(sqlite_policy.store, account, kind, 60, max_msgs=1)

    assert list(caught.value.errors) == [field]
    assert rules(sqlite_policy) == []
