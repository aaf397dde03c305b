"""Alias domains: aliasDomains/addAliasDomain/removeAliasDomain on PUT /api/domain/<domain>."""

from __future__ import annotations

import pytest

from tests.helpers import add_many
from tests.helpers import alias_dn
from tests.helpers import assert_error
from tests.helpers import list_dn
from tests.helpers import make_alias
from tests.helpers import make_domain
from tests.helpers import make_list
from tests.helpers import make_user

DOMAIN = "example.com"
ALIAS_DOMAIN = "alias.test"


def put(api, domain=DOMAIN, **params):
    return api.put(f"/api/domain/{domain}", data=params)


def shadows(raw, dn):
    return sorted((raw.entry(dn) or {}).get("shadowaddress", []))


@pytest.fixture
def world(api):
    """example.com with a user, an alias, a list and a catch-all; other.test hosted too."""
    make_domain(api)
    make_domain(api, "other.test")
    make_user(api, "john@example.com")
    make_alias(api, "team@example.com", members="john@example.com")
    make_list(api, "list@example.com", members="john@example.com")
    assert put(api, catchall="john@example.com").status_code == 200
    return api


def account_dns(raw):
    return {
        "user": raw.user_dn("john@example.com"),
        "alias": alias_dn(raw, "team@example.com"),
        "list": list_dn(raw, "list@example.com"),
        "catchall": raw.user_dn("@example.com"),
    }


def test_adding_an_alias_domain_reaches_every_account(world, raw):
    """addAliasDomain sets domainAliasName + domainalias and a shadowAddress on every account."""
    response = put(world, addAliasDomain="alias.test,second.test")
    assert response.status_code == 200, response.json
    assert sorted(response.json["_data"]["aliasDomains"]) == ["alias.test", "second.test"]
    domain = raw.entry(raw.domain_dn(DOMAIN))
    assert sorted(domain["domainaliasname"]) == ["alias.test", "second.test"]
    assert "domainalias" in domain["enabledservice"] and "mail" in domain["enabledservice"]
    expected = {
        "user": ["john@alias.test", "john@second.test"],
        "alias": ["team@alias.test", "team@second.test"],
        "list": ["list@alias.test", "list@second.test"],
        "catchall": ["@alias.test", "@second.test"],
    }
    for kind, dn in account_dns(raw).items():
        assert shadows(raw, dn) == expected[kind], kind
    assert world.get("/api/alias/team@example.com").json["_data"]["aliases"] == expected["alias"]


def test_removing_an_alias_domain_strips_its_addresses(world, raw):
    """removeAliasDomain drops its shadowAddresses; the service goes with the last alias domain."""
    assert put(world, aliasDomains="alias.test,second.test").status_code == 200
    assert (
        world.put("/api/user/john@example.com", data={"addAlias": "jd@alias.test"}).status_code
        == 200
    )
    assert put(world, removeAliasDomain="alias.test").status_code == 200
    assert raw.entry(raw.domain_dn(DOMAIN))["domainaliasname"] == ["second.test"]
    assert shadows(raw, raw.user_dn("john@example.com")) == ["john@second.test"]
    assert shadows(raw, alias_dn(raw, "team@example.com")) == ["team@second.test"]
    assert shadows(raw, raw.user_dn("@example.com")) == ["@second.test"]
    response = put(world, aliasDomains="")
    assert response.status_code == 200 and response.json["_data"]["aliasDomains"] == []
    domain = raw.entry(raw.domain_dn(DOMAIN))
    assert "domainaliasname" not in domain and "domainalias" not in domain["enabledservice"]
    for dn in account_dns(raw).values():
        assert shadows(raw, dn) == []


def test_accounts_created_later_get_the_alias_addresses(api, raw):
    """New users, aliases, lists and catch-alls carry <local>@<alias domain> from the start."""
    make_domain(api)
    assert put(api, aliasDomains=ALIAS_DOMAIN).status_code == 200
    make_user(api, "john@example.com")
    make_alias(api, "team@example.com", members="john@example.com")
    make_list(api, "list@example.com", members="john@example.com")
    assert put(api, catchall="john@example.com").status_code == 200
    assert shadows(raw, raw.user_dn("john@example.com")) == ["john@alias.test"]
    assert shadows(raw, alias_dn(raw, "team@example.com")) == ["team@alias.test"]
    assert shadows(raw, list_dn(raw, "list@example.com")) == ["list@alias.test"]
    assert shadows(raw, raw.user_dn("@example.com")) == ["@alias.test"]


def test_alias_domain_addresses_are_taken(api, raw):
    """An alias-domain address of an account cannot become another alias or list."""
    make_domain(api)
    assert put(api, aliasDomains=ALIAS_DOMAIN).status_code == 200
    make_user(api, "john@example.com")
    assert_error(api.post("/api/alias/john@example.com", data={}), 409, "ALREADY_EXISTS")
    assert (
        api.post("/api/alias/team@example.com", data={"members": "john@alias.test"}).status_code
        == 201
    )
    response = api.post("/api/alias/x@example.com", data={"members": "team@alias.test"})
    assert response.status_code == 201, response.json


def test_refused_alias_domains_change_nothing(world, raw):
    """The domain itself is 400; a hosted domain or another domain's alias is 409; bad names 400."""
    assert put(world, "other.test", aliasDomains="taken.test").status_code == 200
    before = raw.snapshot()
    assert_error(
        put(world, addAliasDomain=DOMAIN), 400, "INVALID_PARAMETERS", "addAliasDomain", [DOMAIN]
    )
    assert_error(
        put(world, addAliasDomain="other.test"),
        409,
        "ALREADY_EXISTS",
        "addAliasDomain",
        ["other.test"],
    )
    assert_error(put(world, aliasDomains="fine.test,taken.test"), 409, "ALREADY_EXISTS", "aliasDomains",
                 ["taken.test"])  # fmt: skip
    assert_error(
        put(world, addAliasDomain="not a domain"), 400, "INVALID_PARAMETERS", "addAliasDomain"
    )
    assert_error(put(world, aliasDomains="a.test", addAliasDomain="b.test"), 400, "INVALID_PARAMETERS",
                 "aliasDomains")  # fmt: skip
    assert raw.snapshot() == before
    assert_error(world.post("/api/domain/taken.test", data={}), 409, "ALREADY_EXISTS")


def test_renames_keep_alias_domain_addresses_in_step(world, raw):
    """Renaming a user or an alias renames its alias-domain address too."""
    assert put(world, aliasDomains=ALIAS_DOMAIN).status_code == 200
    assert (
        world.post("/api/user/john@example.com/change_email/johnny@example.com").status_code == 200
    )
    assert shadows(raw, raw.user_dn("johnny@example.com")) == ["johnny@alias.test"]
    assert (
        world.post("/api/alias/team@example.com/change_email/crew@example.com").status_code == 200
    )
    assert shadows(raw, alias_dn(raw, "crew@example.com")) == ["crew@alias.test"]


def test_list_member_given_by_alias_domain_address_is_internal(world, raw):
    """A member named by an alias-domain address is the account itself (memberOfGroup on it)."""
    assert put(world, aliasDomains=ALIAS_DOMAIN).status_code == 200
    make_user(world, "jane@example.com")
    response = world.put("/api/maillist/list@example.com", data={"addMember": "jane@alias.test"})
    assert response.status_code == 200, response.json
    assert response.json["_data"]["members"] == ["jane@example.com", "john@example.com"]
    assert response.json["_data"]["externalMembers"] == []
    assert raw.entry(raw.user_dn("jane@example.com"))["memberofgroup"] == ["list@example.com"]
    response = world.put("/api/maillist/list@example.com", data={"removeMember": "jane@alias.test"})
    assert response.json["_data"]["members"] == ["john@example.com"]


def test_every_account_of_a_large_domain_is_updated(api, raw):
    """Accounts are collected with paged searches: 230 users (page size 100) all get the address."""
    make_domain(api)
    base = f"ou=Users,{raw.domain_dn(DOMAIN)}"
    add_many(raw, 230)
    assert put(api, aliasDomains=ALIAS_DOMAIN).status_code == 200
    assert raw.count(base, "(shadowAddress=*@alias.test)") == 230
    assert put(api, aliasDomains="").status_code == 200
    assert raw.count(base, "(shadowAddress=*)") == 0
