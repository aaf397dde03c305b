"""Postfix's LDAP maps (iRedMail's filters, run by postmap) resolve what the API writes.

Aliases, legacy lists (internal, external and nested members), catch-alls and
alias domains are created through the API only; the maps then answer as the MTA would.
"""

from __future__ import annotations

import pytest

DOMAIN = "ex.test"
ALIAS_DOMAIN = "alias.test"
PASSWORD = "Secret-Pass-123"
JOHN, JANE, BOB = "john@ex.test", "jane@ex.test", "bob@other.test"


def ok(response, status=200):
    assert response.status_code == status, response.json
    return response.json.get("_data")


@pytest.fixture
def stack(api, postfix_maps):
    """ex.test (john, jane) and other.test (bob), made through the API; yields the client."""
    for domain in (DOMAIN, "other.test"):
        ok(api.post(f"/api/domain/{domain}", data={}), 201)
    for mail in (JOHN, JANE, BOB):
        ok(api.post(f"/api/user/{mail}", data={"password": PASSWORD}), 201)
    return api


def test_alias_resolves_to_its_members(stack, postfix_maps):
    """virtual_alias_maps turns an alias into its members; disabling or emptying it stops that."""
    ok(
        stack.post("/api/alias/team@ex.test", data={"members": f"{JOHN},{BOB},out@elsewhere.test"}),
        201,
    )
    assert postfix_maps.values("virtual_alias_maps", "team@ex.test") == sorted(
        [JOHN, BOB, "out@elsewhere.test"]
    )

    ok(stack.put("/api/alias/team@ex.test", data={"removeMember": BOB}))
    assert postfix_maps.values("virtual_alias_maps", "team@ex.test") == [JOHN, "out@elsewhere.test"]
    ok(stack.delete(f"/api/user/{JOHN}"))
    assert postfix_maps.values("virtual_alias_maps", "team@ex.test") == ["out@elsewhere.test"]
    ok(stack.put("/api/alias/team@ex.test", data={"accountStatus": "disabled"}))
    assert postfix_maps.query("virtual_alias_maps", "team@ex.test") is None


def test_list_resolves_to_internal_external_and_nested_members(stack, postfix_maps):
    """virtual_group_maps returns users, externals, nested aliases and lists; those expand in turn."""
    ok(stack.post("/api/alias/team@ex.test", data={"members": JANE}), 201)
    ok(
        stack.post("/api/maillist/sub@ex.test", data={"members": f"{BOB},sub-ext@elsewhere.test"}),
        201,
    )
    ok(stack.post("/api/maillist/all@ex.test", data={
        "members": f"{JOHN},{BOB},team@ex.test,sub@ex.test,e1@elsewhere.test,e2@elsewhere.test"}), 201)  # fmt: skip

    assert postfix_maps.values("virtual_group_maps", "all@ex.test") == sorted(
        [JOHN, BOB, "team@ex.test", "sub@ex.test", "e1@elsewhere.test", "e2@elsewhere.test"])  # fmt: skip
    # The nested members expand through the same maps.
    assert postfix_maps.values("virtual_alias_maps", "team@ex.test") == [JANE]
    assert postfix_maps.values("virtual_group_maps", "sub@ex.test") == [
        BOB,
        "sub-ext@elsewhere.test",
    ]
    # A member's own address is still its mailbox, not a group.
    assert postfix_maps.query("virtual_group_members_maps", JOHN) == JOHN

    ok(
        stack.put(
            "/api/maillist/all@ex.test",
            data={"removeMember": f"{JOHN},e1@elsewhere.test,sub@ex.test"},
        )
    )
    assert postfix_maps.values("virtual_group_maps", "all@ex.test") == [
        BOB, "e2@elsewhere.test", "team@ex.test"]  # fmt: skip
    ok(stack.delete("/api/alias/team@ex.test"))
    ok(stack.delete(f"/api/user/{BOB}"))
    assert postfix_maps.values("virtual_group_maps", "all@ex.test") == ["e2@elsewhere.test"]
    ok(stack.delete("/api/maillist/all@ex.test"))
    assert postfix_maps.query("virtual_group_maps", "all@ex.test") is None
    assert postfix_maps.values("virtual_group_maps", "sub@ex.test") == ["sub-ext@elsewhere.test"]


def test_catch_all_resolves_to_its_targets(stack, postfix_maps):
    """catchall_maps answers any address of the domain with the catch-all targets until removed."""
    ok(stack.put(f"/api/domain/{DOMAIN}", data={"catchall": f"{JOHN},{BOB}"}))
    assert postfix_maps.values("catchall_maps", "whoever@ex.test") == [BOB, JOHN]
    assert postfix_maps.query("catchall_maps", "whoever@other.test") is None
    ok(stack.put(f"/api/domain/{DOMAIN}", data={"catchall": JANE}))
    assert postfix_maps.values("catchall_maps", "whoever@ex.test") == [JANE]
    ok(stack.put(f"/api/domain/{DOMAIN}", data={"catchall": ""}))
    assert postfix_maps.query("catchall_maps", "whoever@ex.test") is None


def test_alias_domain_address_reaches_the_right_mailbox(stack, postfix_maps):
    """An alias-domain address is accepted, finds the same mailbox, transport, alias and catch-all."""
    ok(stack.put(f"/api/user/{JOHN}", data={"transport": "lmtp:unix:private/dovecot-lmtp"}))
    ok(stack.post("/api/alias/team@ex.test", data={"members": JANE}), 201)
    ok(stack.put(f"/api/domain/{DOMAIN}", data={"catchall": JANE, "addAliasDomain": ALIAS_DOMAIN}))
    home = postfix_maps.query("virtual_mailbox_maps", JOHN)

    assert postfix_maps.query("virtual_mailbox_domains", ALIAS_DOMAIN) == DOMAIN
    assert postfix_maps.query("virtual_mailbox_maps", "john@alias.test") == home
    assert postfix_maps.query("virtual_mailbox_maps", "jane@alias.test") == postfix_maps.query(
        "virtual_mailbox_maps", JANE)  # fmt: skip
    assert postfix_maps.query("transport_maps_user", JOHN) == "lmtp:unix:private/dovecot-lmtp"
    # transport_maps_user searches below domainName=%d, which an alias domain has not, so its
    # addresses take the domain's transport (iRedMail's maps, not a choice of the API).
    assert postfix_maps.query("transport_maps_user", "john@alias.test") is None
    assert postfix_maps.query("transport_maps_domain", ALIAS_DOMAIN) == "dovecot"
    assert postfix_maps.values("virtual_alias_maps", "team@alias.test") == [JANE]
    # iRedMail's virtual_group_maps has no clause for a legacy list's shadowAddress, so
    # list@alias.test stays unknown although the API writes the address as mlmmjadmin does.
    ok(stack.post("/api/maillist/all@ex.test", data={"members": JOHN}), 201)
    assert postfix_maps.values("virtual_group_maps", "all@ex.test") == [JOHN]
    assert postfix_maps.query("virtual_group_maps", "all@alias.test") is None
    assert postfix_maps.values("catchall_maps", "whoever@alias.test") == [JANE]
    assert postfix_maps.query("sender_login_maps", "john@alias.test") == JOHN

    # Accounts created later answer on the alias domain too.
    ok(stack.post("/api/user/late@ex.test", data={"password": PASSWORD}), 201)
    assert postfix_maps.query("virtual_mailbox_maps", "late@alias.test") is not None

    ok(stack.put(f"/api/domain/{DOMAIN}", data={"removeAliasDomain": ALIAS_DOMAIN}))
    assert postfix_maps.query("virtual_mailbox_domains", ALIAS_DOMAIN) is None
    assert postfix_maps.query("virtual_mailbox_maps", "john@alias.test") is None
    assert postfix_maps.query("virtual_alias_maps", "team@alias.test") is None
    assert postfix_maps.query("catchall_maps", "whoever@alias.test") is None


def test_disabled_domain_stops_aliases_lists_and_catch_all(stack, postfix_maps):
    """Disabling the domain marks aliases, lists and externals, so none of the maps answer."""
    ok(stack.post("/api/alias/team@ex.test", data={"members": JANE}), 201)
    ok(stack.post("/api/maillist/all@ex.test", data={"members": f"{JOHN},e1@elsewhere.test"}), 201)
    ok(stack.put(f"/api/domain/{DOMAIN}", data={"catchall": JOHN}))
    ok(stack.put(f"/api/domain/{DOMAIN}", data={"accountStatus": "disabled"}))
    assert postfix_maps.query("virtual_alias_maps", "team@ex.test") is None
    assert postfix_maps.query("virtual_group_maps", "all@ex.test") is None
    assert postfix_maps.query("catchall_maps", "whoever@ex.test") is None
    ok(stack.put(f"/api/domain/{DOMAIN}", data={"accountStatus": "active"}))
    assert postfix_maps.values("virtual_group_maps", "all@ex.test") == ["e1@elsewhere.test", JOHN]
