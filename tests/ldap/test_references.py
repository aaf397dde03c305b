"""References to an address on other entries: removed on delete, rewritten on rename."""

from __future__ import annotations

import pytest

from iredapi_ldap.ldap import Entry
from iredapi_ldap.ldap import get_directory
from iredapi_ldap.models import references
from tests.helpers import add_alias
from tests.helpers import add_domain
from tests.helpers import add_entry
from tests.helpers import add_list
from tests.helpers import add_user

ONE, TWO = "one.test", "two.test"


@pytest.fixture
def directory(app):
    with app.app_context():
        yield get_directory()


def _ou(raw, domain, ou):
    return f"ou={ou},{raw.domain_dn(domain)}"


def _externals(raw, list_mail, *members):
    """Add the ou=Externals holder of a legacy list's external members; return its DN."""
    return add_entry(
        raw,
        f"memberOfGroup={list_mail},{_ou(raw, list_mail.split('@')[1], 'Externals')}",
        objectClass="mailExternalUser",
        memberOfGroup=list_mail,
        accountStatus="active",
        mail=list(members),
    )


def _values(raw, dn, attribute):
    return (raw.entry(dn) or {}).get(attribute.lower(), [])


@pytest.fixture
def tree(raw):
    """Two domains whose entries name u@one.test in every referencing attribute."""
    u = f"u@{ONE}"
    add_domain(raw, ONE, admins=[u, f"boss@{ONE}"], attributes={"domainSenderBccAddress": u})
    add_domain(raw, TWO, admins=["U@One.Test"])  # stored in another case
    dns = {
        "self": add_user(raw, u, mailForwardingAddress=[u, "away@else.org"]),
        "friend": add_user(
            raw,
            f"friend@{TWO}",
            mailForwardingAddress=[u, f"friend@{TWO}"],
            userManager=u,
            userRecipientBccAddress=u,
            memberOfGroup=f"team@{ONE}",
        ),
        "bystander": add_user(
            raw,
            f"by@{ONE}",
            mailForwardingAddress="ux@one.test",
            memberOfGroup=[f"team@{ONE}", f"other@{ONE}"],
        ),
        "alias": add_alias(raw, f"all@{ONE}", mailForwardingAddress=[u, f"by@{ONE}"]),
        "alias_only_u": add_alias(raw, f"solo@{TWO}", mailForwardingAddress=u),
        "list": add_list(
            raw,
            f"team@{ONE}",
            listModerator=u,
            listOwner=[u, f"boss@{ONE}"],
            listAllowedUser=[u, f"*@{TWO}"],
            member=raw.user_dn(u),
        ),
        "externals": _externals(raw, f"team@{ONE}", "ext@else.org"),
    }
    dns["domain_one"] = raw.domain_dn(ONE)
    dns["domain_two"] = raw.domain_dn(TWO)
    return dns


def test_remove_address_references(directory, raw, tree):
    u = f"u@{ONE}"
    changed = references.remove_address_references(
        directory, u, keep_dn=tree["self"], member_dn=raw.user_dn(u)
    )
    # domain_one, domain_two, friend, alias, alias_only_u, list (addresses), list (member DN)
    assert changed == 7
    assert _values(raw, tree["domain_one"], "domainAdmin") == [f"boss@{ONE}"]
    assert _values(raw, tree["domain_one"], "domainSenderBccAddress") == []
    assert _values(raw, tree["domain_two"], "domainAdmin") == []
    friend = raw.entry(tree["friend"])
    assert friend["mailforwardingaddress"] == [f"friend@{TWO}"]
    assert "usermanager" not in friend and "userrecipientbccaddress" not in friend
    assert friend["memberofgroup"] == [f"team@{ONE}"]
    assert _values(raw, tree["alias"], "mailForwardingAddress") == [f"by@{ONE}"]
    assert _values(raw, tree["alias_only_u"], "mailForwardingAddress") == []
    team = raw.entry(tree["list"])
    assert "listmoderator" not in team and "member" not in team
    assert team["listowner"] == [f"boss@{ONE}"]
    assert team["listallowedUser".lower()] == [f"*@{TWO}"]
    # The account's own entry and look-alike values are left alone.
    assert _values(raw, tree["self"], "mailForwardingAddress") == [u, "away@else.org"]
    assert _values(raw, tree["bystander"], "mailForwardingAddress") == ["ux@one.test"]
    assert references.remove_address_references(directory, u, keep_dn=tree["self"]) == 0


def test_remove_without_keep_dn_touches_the_account_too(directory, raw, tree):
    changed = references.remove_address_references(directory, f"U@{ONE}")
    assert changed == 7  # six entries with the address plus the account's own forwarding
    assert _values(raw, tree["self"], "mailForwardingAddress") == ["away@else.org"]


def test_rename_address_references(directory, raw, tree):
    old, new = f"u@{ONE}", f"renamed@{TWO}"
    # friend already forwards to the new address too: the old value just goes.
    raw.conn.modify(tree["friend"], {"mailForwardingAddress": [("MODIFY_ADD", [new])]})
    changed = references.rename_address_references(
        directory, old, new, old_dn=raw.user_dn(old), new_dn=raw.user_dn(new)
    )
    assert changed == 8  # the six referencing entries, the account itself, the list's member DN
    assert sorted(_values(raw, tree["domain_one"], "domainAdmin")) == [f"boss@{ONE}", new]
    assert _values(raw, tree["domain_one"], "domainSenderBccAddress") == [new]
    assert _values(raw, tree["domain_two"], "domainAdmin") == [new]
    friend = raw.entry(tree["friend"])
    assert sorted(friend["mailforwardingaddress"]) == [f"friend@{TWO}", new]
    assert friend["usermanager"] == [new] and friend["userrecipientbccaddress"] == [new]
    assert sorted(_values(raw, tree["alias"], "mailForwardingAddress")) == [f"by@{ONE}", new]
    team = raw.entry(tree["list"])
    assert team["listmoderator"] == [new]
    assert sorted(team["listowner"]) == [f"boss@{ONE}", new]
    assert sorted(team["listalloweduser"]) == [f"*@{TWO}", new]
    assert team["member"] == [raw.user_dn(new)]
    assert sorted(_values(raw, tree["self"], "mailForwardingAddress")) == ["away@else.org", new]
    assert references.rename_address_references(directory, old, new) == 0


def test_rename_of_a_list_moves_memberships_and_externals(directory, raw, tree):
    old, new = f"team@{ONE}", f"crew@{TWO}"
    changed = references.rename_address_references(directory, old, new)
    assert changed == 3  # externals holder, friend, bystander
    assert _values(raw, tree["friend"], "memberOfGroup") == [new]
    assert sorted(_values(raw, tree["bystander"], "memberOfGroup")) == [new, f"other@{ONE}"]
    assert raw.entry(tree["externals"]) is None
    moved = raw.entry(f"memberOfGroup={new},{_ou(raw, TWO, 'Externals')}")
    assert moved["memberofgroup"] == [new] and moved["mail"] == ["ext@else.org"]


def test_rename_of_a_list_within_its_domain(directory, raw, tree):
    new = f"crew@{ONE}"
    assert references.rename_address_references(directory, f"team@{ONE}", new) == 3
    moved = raw.entry(f"memberOfGroup={new},{_ou(raw, ONE, 'Externals')}")
    assert moved["memberofgroup"] == [new]


def test_remove_group_references(directory, raw, tree):
    assert references.remove_group_references(directory, f"Team@{ONE}") == 3
    assert raw.entry(tree["externals"]) is None
    assert _values(raw, tree["friend"], "memberOfGroup") == []
    assert _values(raw, tree["bystander"], "memberOfGroup") == [f"other@{ONE}"]
    assert references.remove_group_references(directory, f"team@{ONE}") == 0


def test_vanished_entries_and_values_are_skipped(directory, raw, tree):
    u = f"u@{ONE}"
    values = {"mailForwardingAddress": (u, None)}
    names = ["mailForwardingAddress"]
    gone = Entry(f"mail=gone@{ONE},{_ou(raw, ONE, 'Aliases')}", {"mailforwardingaddress": [u]})
    assert references._rewrite_one(directory, gone, values, names) == 0
    # A stale read: the value was removed by someone else meanwhile; re-read, nothing to do.
    raw.conn.modify(tree["alias_only_u"], {"mailForwardingAddress": [("MODIFY_DELETE", [u])]})
    stale = Entry(tree["alias_only_u"], {"mailforwardingaddress": [u]})
    assert references._rewrite_one(directory, stale, values, names) == 0
    # A read missing later values still removes exactly the address.
    stale = Entry(tree["alias"], {"mailforwardingaddress": [u, "old@else.org"]})
    assert references._rewrite_one(directory, stale, values, names) == 1
    assert _values(raw, tree["alias"], "mailForwardingAddress") == [f"by@{ONE}"]
