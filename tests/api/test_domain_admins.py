"""A domain's admins: GET and PUT /api/domain/admins/<domain> (addAdmin, removeAdmin, removeAllAdmins)."""

from __future__ import annotations

import pytest

from tests.helpers import add_admin
from tests.helpers import admin_dn
from tests.helpers import assert_error
from tests.helpers import make_example_accounts
from tests.helpers import new_client

DOMAIN = "example.com"
PASSWORD = "Secret-Pass-123"
STANDALONE = "boss@partner.test"


def put(api, domain=DOMAIN, **params):
    return api.put(f"/api/domain/admins/{domain}", data=params)


def domain_admins(raw, domain=DOMAIN):
    return sorted(raw.entry(raw.domain_dn(domain)).get("domainadmin", []))


def services(raw, mail):
    return raw.entry(raw.user_dn(mail))["enabledservice"]


@pytest.fixture
def world(api, raw):
    """example.com with john and jane, other.test with bob, and a standalone admin."""
    make_example_accounts(api)
    add_admin(raw, STANDALONE, password=PASSWORD)
    return api


def test_add_a_mail_user_and_a_standalone_admin(world, raw):
    """A user of the domain gets domainadmin + domainAdmin; a standalone admin only domainAdmin."""
    response = put(world, addAdmin=f"john@example.com,{STANDALONE}")
    assert response.status_code == 200, response.json
    assert response.json["_data"] == [
        {"mail": STANDALONE, "kind": "admin", "accountStatus": "active", "isGlobalAdmin": False},
        {
            "mail": "john@example.com",
            "kind": "user",
            "accountStatus": "active",
            "isGlobalAdmin": False,
        },
    ]
    assert domain_admins(raw) == [STANDALONE, "john@example.com"]
    assert "domainadmin" in services(raw, "john@example.com")
    assert "enabledservice" not in raw.entry(admin_dn(raw, STANDALONE))
    assert world.get(f"/api/domain/admins/{DOMAIN}").json["_data"] == response.json["_data"]
    assert world.get("/api/user/john@example.com").json["_data"]["isDomainAdmin"] is True


def test_refused_admins_are_named_and_nothing_changes(world, raw):
    """Users of other domains, unknown addresses and bad syntax are 400 naming them."""
    before = raw.snapshot()
    response = put(world, addAdmin="bob@other.test,ghost@example.com,nobody@nowhere.test")
    assert_error(response, 400, "INVALID_PARAMETERS", "addAdmin",
                 ["bob@other.test", "ghost@example.com", "nobody@nowhere.test"])  # fmt: skip
    assert_error(
        put(world, addAdmin="john@example.com,oops"),
        400,
        "INVALID_PARAMETERS",
        "addAdmin",
        ["oops"],
    )
    assert_error(put(world), 400, "INVALID_PARAMETERS", "addAdmin")
    assert_error(put(world, addAdmins="john@example.com"), 400, "INVALID_PARAMETERS", "addAdmins")
    assert raw.snapshot() == before
    assert_error(put(world, "nowhere.test", addAdmin=STANDALONE), 404, "NO_SUCH_DOMAIN")
    assert_error(world.get("/api/domain/admins/nowhere.test"), 404, "NO_SUCH_DOMAIN")


def test_remove_admin_drops_the_service_only_when_unused(world, raw):
    """removeAdmin drops domainAdmin; domainadmin stays on a user who is still admin elsewhere."""
    assert put(world, addAdmin="john@example.com,jane@example.com").status_code == 200
    assert raw.conn.modify(
        raw.domain_dn("other.test"), {"domainAdmin": [("MODIFY_ADD", ["jane@example.com"])]}
    )
    response = put(world, removeAdmin="john@example.com,jane@example.com,never@example.com")
    assert response.status_code == 200 and response.json["_data"] == []
    assert domain_admins(raw) == []
    assert "domainadmin" not in services(raw, "john@example.com")
    assert "domainadmin" in services(raw, "jane@example.com")  # still admin of other.test


def test_global_admin_user_keeps_its_service(world, raw):
    """Removing a global-admin user from a domain leaves its domainadmin service."""
    assert world.put("/api/user/john@example.com", data={"isGlobalAdmin": "yes"}).status_code == 200
    assert put(world, addAdmin="john@example.com").status_code == 200
    assert put(world, removeAdmin="john@example.com").status_code == 200
    assert domain_admins(raw) == [] and "domainadmin" in services(raw, "john@example.com")


def test_remove_all_admins(world, raw):
    """removeAllAdmins= (empty) removes every admin; with addAdmin it resets the set."""
    assert put(world, addAdmin=f"john@example.com,{STANDALONE}").status_code == 200
    response = put(world, removeAllAdmins="", addAdmin="jane@example.com")
    assert response.status_code == 200, response.json
    assert [a["mail"] for a in response.json["_data"]] == ["jane@example.com"]
    assert domain_admins(raw) == ["jane@example.com"]
    assert "domainadmin" not in services(raw, "john@example.com")
    assert put(world, removeAllAdmins="yes").status_code == 200
    assert domain_admins(raw) == [] and "domainadmin" not in services(raw, "jane@example.com")


def test_stale_admin_values_show_as_missing(world, raw):
    """A domainAdmin value naming no account is listed with kind `missing` and can be removed."""
    assert raw.conn.modify(
        raw.domain_dn(DOMAIN), {"domainAdmin": [("MODIFY_ADD", ["gone@partner.test"])]}
    )
    admins = world.get(f"/api/domain/admins/{DOMAIN}").json["_data"]
    assert admins == [{"mail": "gone@partner.test", "kind": "missing", "accountStatus": None,
                       "isGlobalAdmin": False}]  # fmt: skip
    assert put(world, removeAdmin="gone@partner.test").status_code == 200
    assert domain_admins(raw) == []


def test_a_new_standalone_admin_manages_the_domain(world, raw, app):
    """After addAdmin the standalone admin can read the domain; PUT stays global-only."""
    assert put(world, addAdmin=STANDALONE).status_code == 200
    boss = new_client(app, STANDALONE, PASSWORD)
    assert boss.get(f"/api/domain/{DOMAIN}").status_code == 200
    assert boss.get(f"/api/domain/admins/{DOMAIN}").status_code == 200
    assert boss.get("/api/domain/admins/other.test").status_code == 403
    assert_error(boss.put(f"/api/domain/admins/{DOMAIN}", data={"addAdmin": "jane@example.com"}), 403,
                 "PERMISSION_DENIED")  # fmt: skip
    assert domain_admins(raw) == [STANDALONE]
