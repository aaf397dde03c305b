"""Catch-all: `catchall` on PUT /api/domain/<domain>, stored as the `mail=@<domain>` entry."""

from __future__ import annotations

import pytest

from tests.helpers import assert_error
from tests.helpers import make_domain
from tests.helpers import make_user

DOMAIN = "example.com"


def set_catchall(api, value, domain=DOMAIN, **extra):
    return api.put(f"/api/domain/{domain}", data={"catchall": value, **extra})


def catchall(raw, domain=DOMAIN):
    return raw.entry(raw.user_dn(f"@{domain}"))


@pytest.fixture
def world(api):
    """example.com with john and jane."""
    make_domain(api)
    make_user(api, "john@example.com")
    make_user(api, "jane@example.com")
    return api


def test_catchall_is_written_as_iredmail_does(world, raw):
    """catchall creates mail=@domain (inetOrgPerson+mailUser, cn/sn/uid catch-all) with the targets."""
    response = set_catchall(world, "john@example.com, someone@elsewhere.test")
    assert response.status_code == 200, response.json
    assert response.json["_data"]["catchall"] == ["john@example.com", "someone@elsewhere.test"]
    entry = catchall(raw)
    assert sorted(entry["objectclass"]) == ["inetOrgPerson", "mailUser"]
    assert entry["mail"] == ["@example.com"] and entry["accountstatus"] == ["active"]
    assert entry["cn"] == entry["sn"] == entry["uid"] == ["catch-all"]
    assert sorted(entry["mailforwardingaddress"]) == ["john@example.com", "someone@elsewhere.test"]
    assert "enabledservice" not in entry and "userpassword" not in entry
    assert world.get(f"/api/domain/{DOMAIN}").json["_data"]["catchall"] == [
        "john@example.com", "someone@elsewhere.test"]  # fmt: skip


def test_catchall_is_not_a_user(world, raw):
    """The catch-all is neither listed, counted nor readable as a user."""
    assert set_catchall(world, "john@example.com").status_code == 200
    users = world.get(f"/api/users/{DOMAIN}?email_only=yes").json
    assert (
        sorted(users["_data"]) == ["jane@example.com", "john@example.com"] and users["total"] == 2
    )
    assert raw.entry(raw.domain_dn(DOMAIN))["domaincurrentusernumber"] == ["2"]
    assert world.get("/api/user/@example.com").status_code in (400, 404)


def test_catchall_is_replaced_and_removed(world, raw):
    """A new list replaces the targets; an empty catchall deletes the entry."""
    assert set_catchall(world, "john@example.com").status_code == 200
    response = set_catchall(world, "jane@example.com")
    assert response.status_code == 200 and response.json["_data"]["catchall"] == [
        "jane@example.com"
    ]
    assert catchall(raw)["mailforwardingaddress"] == ["jane@example.com"]
    response = set_catchall(world, "")
    assert response.status_code == 200 and response.json["_data"]["catchall"] == []
    assert catchall(raw) is None
    assert set_catchall(world, "").status_code == 200  # removing twice is fine


def test_bad_targets_are_named_and_nothing_changes(world, raw):
    """Invalid targets and unknown addresses of hosted domains are 400 naming them."""
    assert set_catchall(world, "john@example.com").status_code == 200
    before = raw.snapshot()
    assert_error(
        set_catchall(world, "john@example.com,junk"),
        400,
        "INVALID_PARAMETERS",
        "catchall",
        ["junk"],
    )
    assert_error(set_catchall(world, "ghost@example.com", name="Renamed"), 400, "INVALID_PARAMETERS",
                 "catchall", ["ghost@example.com"])  # fmt: skip
    assert raw.snapshot() == before


def test_catchall_follows_domain_state(world, raw):
    """In a disabled domain it carries domainStatus; alias domains become @alias shadowAddresses."""
    assert world.put(f"/api/domain/{DOMAIN}", data={"accountStatus": "disabled",
                                                     "aliasDomains": "alias.test"}).status_code == 200  # fmt: skip
    assert set_catchall(world, "john@example.com").status_code == 200
    entry = catchall(raw)
    assert entry["domainstatus"] == ["disabled"] and entry["shadowaddress"] == ["@alias.test"]
    assert world.put(f"/api/domain/{DOMAIN}", data={"accountStatus": "active"}).status_code == 200
    assert "domainstatus" not in catchall(raw)


def test_deleting_a_target_user_removes_it_from_the_catchall(world, raw):
    """A deleted user no longer receives the catch-all's mail."""
    assert set_catchall(world, "john@example.com,jane@example.com").status_code == 200
    assert world.delete("/api/user/john@example.com").status_code == 200
    assert catchall(raw)["mailforwardingaddress"] == ["jane@example.com"]


def test_domain_without_catchall_and_unknown_domain(world, raw):
    """GET shows an empty catchall; a catch-all for an unknown domain is 404."""
    assert world.get(f"/api/domain/{DOMAIN}").json["_data"]["catchall"] == []
    assert_error(
        set_catchall(world, "john@example.com", domain="nowhere.test"), 404, "NO_SUCH_DOMAIN"
    )
