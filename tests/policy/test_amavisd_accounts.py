"""Amavisd rows go with their accounts: deleted with a user or domain, moved on a rename."""

from __future__ import annotations

from iredapi_ldap.models.policy import cleanup
from iredapi_ldap.models.policy import spampolicy
from iredapi_ldap.models.policy import wblist

from .amavisd import DUNNO
from .amavisd import REJECT

ACCOUNTS = ("bob@example.com", "carol@example.com", "example.com", "dave@example.net",
            "notexample.com", "global")  # fmt: skip
ALIASES = {"example.com": "alias.test", "example.net": "net-alias.test",
           "notexample.com": "not-alias.test"}  # fmt: skip


def populate(amavisd):
    """A list in each direction and a policy for every account; bob shares a sender with dave."""
    for account in ACCOUNTS:
        wblist.add_wblist(amavisd.store, account, "inbound", "blacklist", ["x@evil.test"])
        wblist.add_wblist(
            amavisd.store, account, "outbound", "blacklist", [f"@{len(account)}.test"]
        )
        aliases = [ALIASES[account.rpartition("@")[2]]] if account != "global" else []
        spampolicy.set_spam_policy(
            amavisd.store, account, {"spam_score": len(account)}, alias_domains=aliases
        )
    wblist.add_wblist(amavisd.store, "bob@example.com", "inbound", "whitelist", ["only@bob.test"])


def emails(amavisd, table="users", column="email"):
    return sorted(row[column] for row in amavisd.rows(table, column))


def test_deleting_a_user_deletes_its_rows_and_what_only_it_listed(amavisd):
    """bob's users row, pairs, policy and alias row go; shared senders and others stay."""
    populate(amavisd)

    cleanup.delete_account_rows(amavisd.store, "Bob@Example.com")

    assert emails(amavisd) == ["@.", "@alias.test", "@example.com", "@not-alias.test",
                               "@notexample.com", "carol@alias.test", "carol@example.com",
                               "dave@example.net", "dave@net-alias.test"]  # fmt: skip
    assert "bob@example.com" not in emails(amavisd, "policy", "policy_name")
    assert "only@bob.test" not in emails(amavisd, "mailaddr")
    assert "x@evil.test" in emails(amavisd, "mailaddr")
    assert amavisd.amavisd.wblist("x@evil.test", "bob@example.com") == REJECT  # the domain's
    assert amavisd.amavisd.wblist("only@bob.test", "bob@example.com") == DUNNO


def test_deleting_a_domain_deletes_the_rows_of_everything_in_it(amavisd):
    """@example.com and every x@example.com go, with their alias rows; neighbours stay."""
    populate(amavisd)

    cleanup.delete_account_rows(amavisd.store, "example.com")

    assert emails(amavisd) == ["@.", "@not-alias.test", "@notexample.com", "dave@example.net",
                               "dave@net-alias.test"]  # fmt: skip
    assert emails(amavisd, "policy", "policy_name") == ["@.", "@notexample.com", "dave@example.net"]
    assert linked_policy(amavisd, "@not-alias.test") == "@notexample.com"
    assert len(amavisd.rows("wblist", order_by="rid")) == 3
    assert len(amavisd.rows("outbound_wblist", order_by="rid")) == 3
    assert "only@bob.test" not in emails(amavisd, "mailaddr")


def linked_policy(amavisd, email):
    rows = amavisd.rows(
        "users JOIN policy ON policy.id = users.policy_id",
        "users.email AS email", "policy.policy_name AS name", order_by="users.email",
    )  # fmt: skip
    return {row["email"]: row["name"] for row in rows}.get(email)


def test_renaming_a_user_moves_its_rows_and_drops_leftovers(amavisd):
    """bob's lists, policy and alias row become robert's; a removed robert's rows do not survive."""
    populate(amavisd)
    wblist.add_wblist(amavisd.store, "robert@example.com", "inbound", "whitelist", ["x@evil.test"])

    cleanup.rename_account_rows(amavisd.store, "bob@example.com", "robert@example.com")

    users = emails(amavisd)
    assert "robert@example.com" in users and "robert@alias.test" in users
    assert "bob@example.com" not in users and "bob@alias.test" not in users
    assert linked_policy(amavisd, "robert@alias.test") == "robert@example.com"
    assert wblist.list_wblist(amavisd.store, "robert@example.com", "inbound", "blacklist", 0, 9) == (
        ["x@evil.test"], 1
    )  # fmt: skip
    assert amavisd.amavisd.wblist("only@bob.test", "robert@example.com") == "OK"
    assert amavisd.amavisd.setting("robert@alias.test", "spam_kill_level") == (
        15.0,
        "robert@alias.test",
    )


def test_renaming_a_user_into_another_domain_drops_its_alias_rows(amavisd):
    """The old domain's alias forms no longer reach the user."""
    populate(amavisd)

    cleanup.rename_account_rows(amavisd.store, "bob@example.com", "bob@example.net")

    assert "bob@alias.test" not in emails(amavisd)
    assert linked_policy(amavisd, "bob@example.net") == "bob@example.net"


def test_renaming_a_domain_moves_every_account_in_it(amavisd):
    """@example.com -> @example.org and x@example.com -> x@example.org, policies named anew."""
    populate(amavisd)

    cleanup.rename_account_rows(amavisd.store, "example.com", "Example.ORG")

    users = emails(amavisd)
    assert [u for u in users if "example." in u] == ["@example.org", "@notexample.com",
                                                     "bob@example.org", "carol@example.org",
                                                     "dave@example.net"]  # fmt: skip
    assert linked_policy(amavisd, "@alias.test") == "@example.org"
    assert linked_policy(amavisd, "bob@alias.test") == "bob@example.org"
    assert amavisd.amavisd.wblist("x@evil.test", "carol@example.org") == REJECT
    assert amavisd.amavisd.setting("erin@example.org", "spam_kill_level") == (11.0, "@example.org")
