"""Greylisting switches, whitelists and SPF domains, replayed through iRedAPD's decision."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from iredapi_ldap.errors import ValidationFailed
from iredapi_ldap.models.policy import greylisting

SWITCH = ("account", "priority", "sender", "sender_priority", "comment", "active")
REMOTE = "203.0.113.5"


def switches(policy):
    return policy.rows("greylisting", *SWITCH, order_by="account")


def greylisted(policy, recipient, client=REMOTE, sender="x@remote.test"):
    return policy.iredapd.greylisted(sender, recipient, client)


def test_switches_are_rows_iredapd_reads(policy):
    """global on, a domain off, one of its users on: iRedAPD's priorities decide per recipient."""
    assert greylisting.get_greylisting(policy.store, "global") == {"status": "disabled"}
    assert greylisting.get_greylisting(policy.store, "example.com") == {"status": "inherit"}

    greylisting.set_greylisting(policy.store, "global", True)
    greylisting.set_greylisting(policy.store, "Example.com", False)
    assert greylisting.set_greylisting(policy.store, "bob@example.com", True) == {
        "status": "enabled"
    }

    assert switches(policy) == [
        {"account": "@.", "priority": 0, "sender": "@.", "sender_priority": 0, "comment": "",
         "active": 1},
        {"account": "@example.com", "priority": 60, "sender": "@.", "sender_priority": 0,
         "comment": "", "active": 0},
        {"account": "bob@example.com", "priority": 100, "sender": "@.", "sender_priority": 0,
         "comment": "", "active": 1},
    ]  # fmt: skip
    assert greylisting.get_greylisting(policy.store, "example.com") == {"status": "disabled"}
    assert greylisting.get_greylisting(policy.store, "carol@example.com") == {"status": "inherit"}
    assert greylisted(policy, "bob@example.com") is True
    assert greylisted(policy, "carol@example.com") is False
    assert greylisted(policy, "dave@other.test") is True


def test_switching_again_updates_the_row_and_delete_means_inherit(policy):
    """One row per account whatever the number of writes; DELETE hands the account back to global."""
    greylisting.set_greylisting(policy.store, "global", True)
    greylisting.set_greylisting(policy.store, "bob@example.com", True)
    greylisting.set_greylisting(policy.store, "bob@example.com", False)
    assert [row["active"] for row in switches(policy)] == [1, 0]
    assert greylisted(policy, "bob@example.com") is False

    assert greylisting.delete_greylisting(policy.store, "bob@example.com") == 1

    assert [row["account"] for row in switches(policy)] == ["@."]
    assert greylisting.get_greylisting(policy.store, "bob@example.com") == {"status": "inherit"}
    assert greylisted(policy, "bob@example.com") is True


def test_the_installers_global_row_is_reused(policy):
    """iRedMail enables greylisting with ('@.', 0, '@.', 0, 1): a disable updates that row."""
    policy.insert("greylisting", {"account": "@.", "priority": 0, "sender": "@.",
                                  "sender_priority": 0, "active": 1})  # fmt: skip
    assert greylisting.get_greylisting(policy.store, "global") == {"status": "enabled"}

    greylisting.set_greylisting(policy.store, "global", False)

    assert [(row["account"], row["active"]) for row in switches(policy)] == [("@.", 0)]
    assert greylisted(policy, "bob@example.com") is False


WHITELISTED = [
    ("203.0.113.5", "203.0.113.5", "x@remote.test"),
    ("203.0.113.0/24", "203.0.113.77", "x@remote.test"),
    ("203.0.113.*", "203.0.113.9", "x@remote.test"),
    ("2001:DB8::/32", "2001:db8:1::25", "x@remote.test"),
    ("2001:db8::25", "2001:db8::25", "x@remote.test"),
    ("@Friend.test", REMOTE, "alice@friend.test"),
    ("@.friend.test", REMOTE, "alice@mx.friend.test"),
    ("alice@friend.test", REMOTE, "alice@friend.test"),
    ("@.test", REMOTE, "alice@friend.test"),
]


@pytest.mark.parametrize("entry, client, sender", WHITELISTED)
def test_whitelist_entries_win_over_greylisting(policy, entry, client, sender):
    """Each accepted form is stored as iRedAPD compares it and lets that sender through."""
    greylisting.set_greylisting(policy.store, "global", True)
    before = policy.iredapd.greylisted(sender, "bob@example.com", client)

    found = greylisting.add_whitelists(policy.store, "example.com", [entry])

    assert before is True
    assert policy.iredapd.greylisted(sender, "bob@example.com", client) is False
    # Other domains and other clients are still greylisted.
    assert policy.iredapd.greylisted(sender, "dave@other.test", client) is True
    assert policy.iredapd.greylisted("eve@evil.example", "bob@example.com", "198.51.100.1") is True
    stored = policy.rows("greylisting_whitelists", "account", "sender", "comment")
    assert stored == [{"account": "@example.com", "sender": found["whitelists"][0], "comment": ""}]
    assert found["whitelists"] == [entry.lower()]


def test_whitelists_are_replaced_added_to_and_removed_from(policy):
    """senders replaces; addSenders keeps what is there; removeSenders removes only the account's."""
    greylisting.set_whitelists(policy.store, "global", "192.0.2.1, 192.0.2.2")
    greylisting.set_whitelists(policy.store, "bob@example.com", ["192.0.2.1", "@a.test"])

    greylisting.update_whitelists(
        policy.store, "bob@example.com", add_senders=["@b.test", "@a.test"],
        remove_senders=["192.0.2.1"],
    )  # fmt: skip
    assert greylisting.get_whitelists(policy.store, "bob@example.com") == {
        "whitelists": ["@a.test", "@b.test"]
    }
    replaced = greylisting.set_whitelists(policy.store, "bob@example.com", ["192.0.2.9"])

    assert replaced == {"whitelists": ["192.0.2.9"]}
    rows = policy.rows("greylisting_whitelists", "account", "sender", order_by="account, sender")
    assert rows == [
        {"account": "@.", "sender": "192.0.2.1"},
        {"account": "@.", "sender": "192.0.2.2"},
        {"account": "bob@example.com", "sender": "192.0.2.9"},
    ]
    assert greylisting.get_whitelists(policy.store, "global") == {
        "whitelists": ["192.0.2.1", "192.0.2.2"],
        "whitelist_domains": [],
    }
    greylisting.set_whitelists(policy.store, "bob@example.com", [])
    assert len(policy.rows("greylisting_whitelists")) == 2


BAD_SENDERS = [
    "192.0.2.1/24",  # host bits: iRedAPD's strict parse skips it
    "10.0.0.0/7",  # iRedAPD only tries networks starting with the client's first octet
    "2001:db8:1:2:3:4:5:0/112",  # no ':/': iRedAPD never tries it
    "user@*",
    "bob+tag@example.com",
    "192.0.*.*",
    "not an address",
    "@" + "a" * 95 + ".test",  # longer than MySQL's VARCHAR(100)
]


def test_every_bad_sender_is_named_and_nothing_is_written(sqlite_policy):
    """One call with eight bad entries and a good one: 400 naming all eight, no row."""
    with pytest.raises(ValidationFailed) as caught:
        greylisting.add_whitelists(sqlite_policy.store, "example.com", ["192.0.2.1", *BAD_SENDERS])

    assert caught.value.status == 400
    messages = caught.value.errors["addSenders"]
    assert len(messages) == len(BAD_SENDERS)
    for bad, message in zip(BAD_SENDERS, messages, strict=True):
        assert message.startswith(repr(bad))
        assert repr(bad) in caught.value.detail
    assert sqlite_policy.rows("greylisting_whitelists") == []


@pytest.mark.parametrize(
    "arguments, field",
    [
        ({"senders": ["192.0.2.1"], "add_senders": ["192.0.2.2"]}, "senders"),
        ({"add_senders": ["192.0.2.2"], "remove_senders": ["192.0.2.2"]}, "removeSenders"),
        ({"remove_senders": ["nonsense"]}, "removeSenders"),
    ],
)
def test_contradicting_whitelist_changes_are_refused(sqlite_policy, arguments, field):
    """replace with add/remove, or one value both added and removed, is a 400; nothing changes."""
    with pytest.raises(ValidationFailed) as caught:
        greylisting.update_whitelists(sqlite_policy.store, "example.com", **arguments)

    assert field in caught.value.errors
    assert sqlite_policy.rows("greylisting_whitelists") == []


def test_spf_domains_and_what_the_cron_job_derived_from_them(policy):
    """Domains are stored lower-case in ASCII; removing one drops its AUTO-UPDATE addresses too."""
    greylisting.update_whitelist_spf_domains(policy.store, add_domains="Google.com, bücher.example")
    policy.insert(
        "greylisting_whitelist_domain_spf",
        {"account": "@.", "sender": "209.85.128.0/17", "comment": "AUTO-UPDATE: google.com"},
        {
            "account": "@.",
            "sender": "192.0.2.0/24",
            "comment": "AUTO-UPDATE: xn--bcher-kva.example",
        },
    )
    assert greylisted(policy, "bob@example.com", client="209.85.130.1") is False

    found = greylisting.remove_whitelist_spf_domains(policy.store, ["google.com"])

    assert found == {"domains": ["xn--bcher-kva.example"]}
    assert policy.rows("greylisting_whitelist_domains", "domain") == [
        {"domain": "xn--bcher-kva.example"}
    ]
    assert [row["sender"] for row in policy.rows("greylisting_whitelist_domain_spf")] == [
        "192.0.2.0/24"
    ]
    greylisting.set_greylisting(policy.store, "global", True)
    assert greylisted(policy, "bob@example.com", client="209.85.130.1") is True
    # A reset keeps what stays (and its derived rows), drops the rest.
    greylisting.set_whitelist_spf_domains(policy.store, ["bücher.example", "github.com"])
    assert greylisting.get_whitelist_spf_domains(policy.store) == {
        "domains": ["github.com", "xn--bcher-kva.example"]
    }
    assert len(policy.rows("greylisting_whitelist_domain_spf")) == 1
    greylisting.set_whitelist_spf_domains(policy.store, "github.com")
    assert policy.rows("greylisting_whitelist_domain_spf") == []
    assert policy.rows("greylisting_whitelist_domains", "domain") == [{"domain": "github.com"}]


def test_bad_spf_domains_are_named(sqlite_policy):
    """Only domain names: each bad one is named, nothing is written."""
    with pytest.raises(ValidationFailed) as caught:
        greylisting.update_whitelist_spf_domains(
            sqlite_policy.store, domains=["good.test", "192.0.2.1", "@bad.test"]
        )

    assert [message.split(":")[0] for message in caught.value.errors["domains"]] == [
        "'192.0.2.1'", "'@bad.test'"
    ]  # fmt: skip
    assert sqlite_policy.rows("greylisting_whitelist_domains") == []


def test_listing_every_row_reads_bounded_pages(policy):
    """250 rows with pages of 100: three short reads of at most 100 rows, grouped per account."""
    rows = [{"account": f"u{n % 25:02d}@example.com", "sender": f"192.0.2.{n}",
             "priority": 100, "active": n % 2} for n in range(250)]  # fmt: skip
    policy.insert("greylisting", *rows)
    statements = []
    sa.event.listen(
        policy.store.engine, "before_cursor_execute",
        lambda *args: statements.append(args[2]) if "FROM greylisting" in args[2] else None,
    )  # fmt: skip

    groups = greylisting.iter_greylisting_by_account(policy.store, page_size=100)
    first = next(groups)
    assert len(statements) == 1  # lazily: one page read so far
    rest = list(groups)

    assert len(statements) == 3 and all("LIMIT" in s.upper() for s in statements)
    accounts = [first[0], *(account for account, _ in rest)]
    assert accounts == [f"u{n:02d}@example.com" for n in range(25)]
    everything = [row for _, group in [first, *rest] for row in group]
    assert len(everything) == 250
    assert all(row["account"] == account for account, group in [first, *rest] for row in group)
    assert {row["status"] for row in everything} == {"enabled", "disabled"}
