"""White/blacklists in Amavisd's database, replayed through iRedAPD's and Amavisd's lookups."""

from __future__ import annotations

import pytest

from iredapi_ldap.errors import ValidationFailed
from iredapi_ldap.models.policy import spampolicy
from iredapi_ldap.models.policy import wblist

from .amavisd import DUNNO
from .amavisd import OK
from .amavisd import REJECT

BOB = "bob@example.com"


def pairs(amavisd, table="wblist"):
    """Every pair as (account, address, wb), read through the independent engine."""
    local, remote = ("rid", "sid") if table == "wblist" else ("sid", "rid")
    rows = amavisd.rows(
        f"{table} JOIN users ON users.id = {table}.{local}"
        f" JOIN mailaddr ON mailaddr.id = {table}.{remote}",
        "users.email AS account", "mailaddr.email AS address", f"{table}.wb AS wb",
        order_by="account, address",
    )  # fmt: skip
    return [(row["account"], row["address"], row["wb"]) for row in rows]


def addresses(amavisd):
    return {row["email"]: row["priority"] for row in amavisd.rows("mailaddr", "email", "priority")}


def accounts(amavisd):
    rows = amavisd.rows("users", "email", "priority", "policy_id")
    return {row["email"]: (row["priority"], row["policy_id"]) for row in rows}


def test_entries_are_rows_amavisd_and_iredapd_read(amavisd):
    """Lower case, canonical IPs, scale-B priorities; one users row with no policy (0)."""
    added = wblist.add_wblist(
        amavisd.store, "Bob@Example.com", "inbound", "blacklist",
        "Spammer@Evil.TEST, @Bad.test, 192.0.2.7, 198.51.100.0/24, 2001:DB8::1, @.spam.test,"
        " @.xyz, joe@*, @.",
    )  # fmt: skip

    assert added == ["spammer@evil.test", "@bad.test", "192.0.2.7", "198.51.100.0/24",
                     "2001:db8::1", "@.spam.test", "@.xyz", "joe@*", "@."]  # fmt: skip
    assert accounts(amavisd) == {BOB: (10, 0)}
    assert addresses(amavisd) == {
        "spammer@evil.test": 10, "192.0.2.7": 9, "2001:db8::1": 9, "198.51.100.0/24": 7,
        "joe@*": 7, "@bad.test": 5, "@.spam.test": 3, "@.xyz": 2, "@.": 0,
    }  # fmt: skip
    assert pairs(amavisd) == [(BOB, address, "B") for address in sorted(added)]
    assert pairs(amavisd, "outbound_wblist") == []


@pytest.mark.parametrize(
    "sender, client, answer",
    [
        ("spammer@evil.test", "203.0.113.5", REJECT),
        ("Spammer+tag@EVIL.test", "203.0.113.5", REJECT),  # iRedAPD drops the extension
        ("x@bad.test", "203.0.113.5", REJECT),
        ("x@mail.spam.test", "203.0.113.5", REJECT),
        ("x@spam.test", "203.0.113.5", REJECT),
        ("joe@anywhere.test", "203.0.113.5", REJECT),
        ("x@friend.test", "198.51.100.77", REJECT),  # in the network
        ("x@friend.test", "192.0.2.7", REJECT),
        ("x@friend.test", "2001:db8::1", REJECT),
        ("x@friend.test", "203.0.113.5", DUNNO),
    ],
)
def test_iredapd_rejects_blacklisted_senders(amavisd, sender, client, answer):
    """Each entry form blacklists what iRedAPD derives from a message; others pass."""
    wblist.add_wblist(
        amavisd.store, BOB, "inbound", "blacklist",
        ["spammer@evil.test", "@bad.test", "@.spam.test", "joe@*", "198.51.100.0/24",
         "192.0.2.7", "2001:db8::1"],
    )  # fmt: skip

    assert amavisd.amavisd.wblist(sender, BOB, client) == answer
    assert amavisd.amavisd.wblist(sender, "carol@example.com", client) == DUNNO


def test_the_most_specific_recipient_with_an_entry_wins(amavisd):
    """A user's whitelist beats the domain's blacklist, which beats the global whitelist."""
    wblist.add_wblist(amavisd.store, "global", "inbound", "whitelist", ["@.evil.test"])
    wblist.add_wblist(amavisd.store, "example.com", "inbound", "blacklist", ["@evil.test"])
    wblist.add_wblist(amavisd.store, BOB, "inbound", "whitelist", ["spammer@evil.test"])

    assert amavisd.amavisd.wblist("spammer@evil.test", BOB) == OK
    assert amavisd.amavisd.wblist("spammer@evil.test", "carol@example.com") == REJECT
    assert amavisd.amavisd.wblist("spammer@evil.test", "dave@other.test") == OK
    # Amavisd itself reads the e-mail forms the same way after the queue.
    assert amavisd.amavisd.sender_listed(BOB, "spammer@evil.test") == "W"
    assert amavisd.amavisd.sender_listed("carol@example.com", "spammer@evil.test") == "B"


def test_a_recipient_through_an_alias_domain_gets_the_accounts_lists(amavisd):
    """iRedAPD adds the alias target's forms: bob@alias.test is bob@example.com."""
    wblist.add_wblist(amavisd.store, BOB, "inbound", "blacklist", ["@evil.test"])
    aliases = {"alias.test": "example.com"}

    assert amavisd.amavisd.wblist("x@evil.test", "bob@alias.test", aliases=aliases) == REJECT
    assert amavisd.amavisd.wblist("x@evil.test", "bob@alias.test") == DUNNO


def test_outbound_lists_apply_to_authenticated_senders(amavisd):
    """bob may not send to @blocked.test; a whitelist only ends the check with DUNNO."""
    wblist.add_wblist(amavisd.store, BOB, "outbound", "blacklist", ["@blocked.test"])
    wblist.add_wblist(amavisd.store, "example.com", "outbound", "blacklist", ["@.partner.test"])
    wblist.add_wblist(amavisd.store, BOB, "outbound", "whitelist", ["ok@partner.test"])

    assert pairs(amavisd, "outbound_wblist") == [
        ("@example.com", "@.partner.test", "B"),
        (BOB, "@blocked.test", "B"),
        (BOB, "ok@partner.test", "W"),
    ]
    send = amavisd.amavisd.wblist
    assert send(BOB, "x@blocked.test", sasl=BOB) == REJECT
    assert send("carol@example.com", "x@blocked.test", sasl="carol@example.com") == DUNNO
    assert send("carol@example.com", "x@partner.test", sasl="carol@example.com") == REJECT
    assert send(BOB, "ok@partner.test", sasl=BOB) == DUNNO
    assert pairs(amavisd) == []


def test_adding_to_one_list_takes_the_address_off_the_other(amavisd):
    """As Pro: one pair per (account, address, direction); the other direction is separate."""
    wblist.add_wblist(amavisd.store, BOB, "inbound", "blacklist", ["x@evil.test", "@bad.test"])
    wblist.add_wblist(amavisd.store, BOB, "outbound", "blacklist", ["x@evil.test"])

    wblist.add_wblist(amavisd.store, BOB, "inbound", "whitelist", ["X@evil.test"])

    assert pairs(amavisd) == [(BOB, "@bad.test", "B"), (BOB, "x@evil.test", "W")]
    assert pairs(amavisd, "outbound_wblist") == [(BOB, "x@evil.test", "B")]
    assert wblist.list_wblist(amavisd.store, BOB, "inbound", "blacklist", 0, 10) == (
        ["@bad.test"], 1
    )  # fmt: skip
    assert amavisd.amavisd.wblist("x@evil.test", BOB) == OK
    assert len(addresses(amavisd)) == 2


def test_lists_are_read_in_pages_and_streamed_in_byte_order(amavisd):
    """A window and its total; the stream walks every entry whatever the page size."""
    entries = [f"s{i:02d}@evil.test" for i in range(12)] + ["192.0.2.1", "@.evil.test"]
    wblist.add_wblist(amavisd.store, BOB, "inbound", "blacklist", entries)
    wblist.add_wblist(amavisd.store, BOB, "inbound", "whitelist", ["w@good.test"])
    expected = sorted(entries)

    page, total = wblist.list_wblist(amavisd.store, BOB, "inbound", "blacklist", 5, 4)
    streamed = wblist.iter_wblist(amavisd.store, BOB, "inbound", "blacklist", page_size=5)

    assert (page, total) == (expected[5:9], 14)
    assert list(streamed) == expected
    assert list(wblist.iter_wblist(amavisd.store, "other.test", "inbound", "blacklist")) == []
    assert wblist.list_wblist(amavisd.store, BOB, "outbound", "blacklist", 0, 5) == ([], 0)


def test_removing_drops_rows_nothing_else_refers_to(amavisd):
    """Addresses listed elsewhere stay; the users row goes with its last entry."""
    wblist.add_wblist(amavisd.store, BOB, "inbound", "blacklist", ["a@evil.test", "b@evil.test"])
    wblist.add_wblist(amavisd.store, BOB, "inbound", "whitelist", ["c@good.test"])
    wblist.add_wblist(amavisd.store, "carol@example.com", "outbound", "blacklist", ["a@evil.test"])

    removed = wblist.remove_wblist(
        amavisd.store, BOB, "inbound", "blacklist", ["A@evil.test", "b@evil.test", "c@good.test",
                                                     "never@listed.test"],
    )  # fmt: skip

    assert removed == 2  # c@good.test is on the whitelist, which keeps it
    assert pairs(amavisd) == [(BOB, "c@good.test", "W")]
    assert set(addresses(amavisd)) == {"a@evil.test", "c@good.test"}
    assert set(accounts(amavisd)) == {BOB, "carol@example.com"}

    assert wblist.delete_wblist(amavisd.store, BOB, "inbound", "whitelist") == 1
    assert wblist.delete_wblist(amavisd.store, BOB, "inbound", "whitelist") == 0

    assert set(accounts(amavisd)) == {"carol@example.com"}
    assert set(addresses(amavisd)) == {"a@evil.test"}
    assert amavisd.amavisd.wblist("c@good.test", BOB) == DUNNO


def test_lists_and_the_spam_policy_share_the_accounts_users_row(amavisd):
    """One row per account: a policy keeps it when the lists go, and the other way round."""
    wblist.add_wblist(amavisd.store, BOB, "inbound", "blacklist", ["a@evil.test"])
    spampolicy.set_spam_policy(amavisd.store, BOB, {"spam_score": 5})
    (policy_id,) = [row["id"] for row in amavisd.rows("policy", "id")]

    assert accounts(amavisd) == {BOB: (10, policy_id)}
    wblist.delete_wblist(amavisd.store, BOB, "inbound", "blacklist")
    assert accounts(amavisd) == {BOB: (10, policy_id)}
    assert addresses(amavisd) == {}

    wblist.add_wblist(amavisd.store, BOB, "outbound", "whitelist", ["a@good.test"])
    spampolicy.delete_spam_policy(amavisd.store, BOB)
    assert accounts(amavisd) == {BOB: (10, 0)}


def test_the_installers_global_row_keeps_its_policy(amavisd):
    """iRedMail's users('@.', 0) links the global policy; adding a global entry keeps that link."""
    amavisd.install_defaults()
    (policy_id,) = [row["policy_id"] for row in amavisd.rows("users", "policy_id")]

    wblist.add_wblist(amavisd.store, "global", "inbound", "blacklist", ["@evil.test"])

    assert accounts(amavisd) == {"@.": (0, policy_id)}
    assert amavisd.amavisd.wblist("x@evil.test", "anyone@example.com") == REJECT


def test_rows_written_by_another_writer_are_found(amavisd):
    """Pro and iRedAPD's tools write plain strings: the API lists, moves and removes those rows."""
    amavisd.sql("INSERT INTO users (email, priority, policy_id) VALUES ('bob@example.com', 10, 0)")
    amavisd.sql("INSERT INTO mailaddr (email, priority) VALUES ('x@evil.test', 10)")
    amavisd.sql(
        "INSERT INTO wblist (rid, sid, wb) SELECT users.id, mailaddr.id, 'B' FROM users, mailaddr"
    )

    assert wblist.list_wblist(amavisd.store, BOB, "inbound", "blacklist", 0, 9) == (
        ["x@evil.test"], 1
    )  # fmt: skip
    wblist.add_wblist(amavisd.store, BOB, "inbound", "whitelist", ["x@evil.test"])
    assert pairs(amavisd) == [(BOB, "x@evil.test", "W")]
    assert len(addresses(amavisd)) == 1


@pytest.mark.parametrize(
    "direction, value, reason",
    [
        ("inbound", "not an address", "Not an e-mail address"),
        ("inbound", "192.0.2.1/24", "Host bits are set"),
        ("inbound", "10.0.0.0/7", "/8 or longer"),
        ("inbound", "2001:db8::/32", "never evaluates IPv6 networks"),
        ("inbound", "192.0.2.*", "Wildcard IPs"),
        ("inbound", "user+tag@evil.test", "+extension"),
        ("inbound", "us er@*", "local part"),
        ("inbound", "@.x", "top-level domain"),
        ("outbound", "192.0.2.1", "never compares an IP"),
        ("outbound", "joe@*", "never compares user@*"),
        ("inbound", "x" * 250 + "@evil.test", "Longer than 255"),
    ],
)
def test_a_bad_entry_is_named_and_nothing_is_written(sqlite_amavisd, direction, value, reason):
    """400 naming each bad value, with the reason; the good entries of the call are not written."""
    with pytest.raises(ValidationFailed) as caught:
        wblist.add_wblist(
            sqlite_amavisd.store, BOB, direction, "blacklist", ["ok@evil.test", value]
        )

    (message,) = caught.value.errors["addresses"]
    assert message.startswith(repr(value)) and reason in message
    assert sqlite_amavisd.rows("users") == [] and sqlite_amavisd.rows("mailaddr") == []


def test_every_bad_entry_is_named_and_bad_targets_are_refused(sqlite_amavisd):
    """Two bad values, two messages; a bad direction, list or account is refused too."""
    with pytest.raises(ValidationFailed) as caught:
        wblist.remove_wblist(
            sqlite_amavisd.store, BOB, "inbound", "whitelist", "a@b, 1.2.3.*, x@y.test"
        )
    assert len(caught.value.errors["addresses"]) == 2

    for call, field in (
        (lambda: wblist.add_wblist(sqlite_amavisd.store, BOB, "sideways", "whitelist", ["a@b.test"]), "direction"),
        (lambda: wblist.add_wblist(sqlite_amavisd.store, BOB, "inbound", "greylist", ["a@b.test"]), "list"),
        (lambda: wblist.add_wblist(sqlite_amavisd.store, "not a domain", "inbound", "whitelist", ["a@b.test"]), "account"),
    ):  # fmt: skip
        with pytest.raises(ValidationFailed) as caught:
            call()
        assert field in caught.value.errors
    assert sqlite_amavisd.rows("users") == []
