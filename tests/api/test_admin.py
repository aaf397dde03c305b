"""Admin accounts: /api/admins, /api/admin/<mail>, its password and verify_password."""

from __future__ import annotations

import pytest

from iredapi_ldap.passwords import verify_password
from tests.helpers import PASSWORD
from tests.helpers import add_admin
from tests.helpers import add_domain
from tests.helpers import add_user
from tests.helpers import admin_dn
from tests.helpers import new_client
from tests.helpers import settings_of
from tests.helpers import tree

NEW = "boss@partner.test"


@pytest.fixture
def domains(raw, api):
    """Two hosted domains, a.test and b.test."""
    add_domain(raw, "a.test")
    add_domain(raw, "b.test")
    return ["a.test", "b.test"]


def test_create_pro_fields(api, raw, domains):
    """POST with iRedAdmin-Pro's fields writes a mailAdmin, accountSetting caps and domainAdmin."""
    response = api.post(
        f"/api/admin/{NEW}",
        data={
            "name": "The Boss",
            "password": PASSWORD,
            "language": "de_DE",
            "isGlobalAdmin": "no",
            "maxDomains": "5",
            "maxQuota": "10",
            "quotaUnit": "gb",
            "maxUsers": "100",
            "maxAliases": "-1",
            "maxLists": "7",
            "disableViewingMailLog": "yes",
            "disableManagingQuarantinedMails": "yes",
            "domains": "a.test,b.test",
        },
    )
    assert response.status_code == 201, response.json
    data = response.json["_data"]
    assert data["type"] == "standard" and data["isGlobalAdmin"] is False
    assert data["maxQuota"] == 10 and data["quotaUnit"] == "GB" and data["maxAliases"] == -1
    assert data["domains"] == ["a.test", "b.test"] and data["createNewDomains"] is True
    entry = raw.entry(admin_dn(raw, NEW))
    assert entry["objectclass"] == ["mailAdmin"]
    assert entry["cn"] == ["The Boss"] and entry["preferredlanguage"] == ["de_DE"]
    assert "domainglobaladmin" not in entry
    assert sorted(entry["disabledservice"]) == ["manage_quarantined_mails", "view_mail_log"]
    assert sorted(entry["accountsetting"]) == sorted([
        "create_new_domains:yes", "create_max_domains:5", "create_max_quota:10",
        "create_quota_unit:GB", "create_max_users:100", "create_max_aliases:-1",
        "create_max_lists:7",
    ])  # fmt: skip
    assert verify_password(PASSWORD, entry["userpassword"][0])
    assert entry["shadowlastchange"][0].isdigit()
    for domain in domains:
        assert raw.entry(raw.domain_dn(domain))["domainadmin"] == [NEW]


def test_create_rackspace_fields(api, raw):
    """POST with Rackspace's fields stores role, lock, expiry, sessions, IPs and a hashed answer."""
    response = api.post(
        f"/api/admin/{NEW}",
        json={
            "type": "limited",
            "password": PASSWORD,
            "firstName": "First",
            "lastName": "Last",
            "email": "First.Last@Example.org",
            "securityQuestion": "Name of your first pet?",
            "securityAnswer": "  Rex ",
            "passwordExpiration": 30,
            "allowSimultaneousLogins": False,
            "restrictedIps": "192.0.2.7, 10.0.0.0/8,2001:db8::/32",
            "enabled": True,
            "locked": True,
        },
    )
    assert response.status_code == 201, response.json
    data = response.json["_data"]
    assert data["type"] == "limited" and data["locked"] is True and data["enabled"] is True
    assert data["email"] == "first.last@example.org" and data["firstName"] == "First"
    assert data["restrictedIps"] == ["192.0.2.7", "10.0.0.0/8", "2001:db8::/32"]
    assert data["allowSimultaneousLogins"] is False and data["passwordExpiration"] == 30
    assert data["hasSecurityAnswer"] is True and "securityAnswer" not in data
    entry = raw.entry(admin_dn(raw, NEW))
    assert entry["givenname"] == ["First"] and entry["sn"] == ["Last"]
    settings = entry["accountsetting"]
    for value in ("role:limited", "locked:yes", "passwordExpiration:30",
                  "allowSimultaneousLogins:no", "restrictedIps:192.0.2.7",
                  "restrictedIps:10.0.0.0/8", "restrictedIps:2001:db8::/32",
                  "contactEmail:first.last@example.org",
                  "securityQuestion:Name of your first pet?"):  # fmt: skip
        assert value in settings
    answer = next(v for v in settings if v.startswith("securityAnswer:"))
    stored = answer.partition(":")[2]
    assert stored.startswith("{SSHA512}") and verify_password("rex", stored)
    assert "domainglobaladmin" not in entry


def test_create_super(api, raw):
    """type=super (or isGlobalAdmin=yes) writes domainGlobalAdmin: yes."""
    response = api.post(f"/api/admin/{NEW}", data={"password": PASSWORD, "type": "super"})
    assert response.status_code == 201, response.json
    assert response.json["_data"]["isGlobalAdmin"] is True
    assert raw.entry(admin_dn(raw, NEW))["domainglobaladmin"] == ["yes"]


@pytest.mark.parametrize(
    ("params", "field", "text"),
    [
        ({"password": "short"}, "password", "at least 8 characters"),
        ({"password": "alllowercase1!"}, "password", "upper-case"),
        ({"password": PASSWORD, "email": "not-an-address"}, "email", "email"),
        (
            {"password": PASSWORD, "restrictedIps": "1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4"},
            "restrictedIps",
            "A maximum of 3",
        ),
        ({"password": PASSWORD, "restrictedIps": "1.1.1.300"}, "restrictedIps", "valid addresses"),
        ({"password": PASSWORD, "type": "boss"}, "type", "Must be one of"),
        (
            {"password": PASSWORD, "type": "standard", "isGlobalAdmin": "yes"},
            "type",
            "isGlobalAdmin",
        ),
        (
            {"password": PASSWORD, "enabled": "no", "accountStatus": "active"},
            "enabled",
            "accountStatus",
        ),
        ({"password": PASSWORD, "securityAnswer": "x"}, "securityAnswer", "securityQuestion"),
        ({"password": PASSWORD, "passwordExpiration": "-1"}, "passwordExpiration", "greater"),
        ({"password": PASSWORD, "domains": "nowhere.test"}, "domains", "Not hosted"),
        ({"password": PASSWORD, "surprise": "1"}, "surprise", "Unknown"),
    ],
)
def test_create_invalid(api, raw, params, field, text):
    """Invalid input is a 400 naming the field and saying what is wrong; nothing is written."""
    before = tree(raw)
    response = api.post(f"/api/admin/{NEW}", data=params)
    assert response.status_code == 400, response.json
    assert field in response.json["errors"]
    assert text.lower() in (response.json["detail"] + str(response.json["errors"])).lower()
    assert raw.entry(admin_dn(raw, NEW)) is None
    assert tree(raw) == before


def test_create_in_hosted_domain(api, raw, domains):
    """A standalone admin's address may not be in a hosted domain (400 CAN_NOT_BE_LOCAL_DOMAIN)."""
    response = api.post("/api/admin/someone@a.test", data={"password": PASSWORD})
    assert response.status_code == 400
    assert response.json["msg"] == "CAN_NOT_BE_LOCAL_DOMAIN"
    assert raw.entry(admin_dn(raw, "someone@a.test")) is None


def test_create_twice(api, raw):
    """Creating an existing admin is 409 and leaves it unchanged."""
    assert api.post(f"/api/admin/{NEW}", data={"password": PASSWORD}).status_code == 201
    before = raw.entry(admin_dn(raw, NEW))
    response = api.post(f"/api/admin/{NEW}", data={"password": PASSWORD, "name": "Other"})
    assert response.status_code == 409
    assert raw.entry(admin_dn(raw, NEW)) == before


def test_get_profile(api, raw, domains):
    """GET shows the profile and managed domains, never a hash."""
    add_admin(raw, NEW, settings=["securityAnswer:{SSHA512}xx", "create_max_users:3"])
    add_domain(raw, "c.test", admins=[NEW])
    response = api.get(f"/api/admin/{NEW}")
    assert response.status_code == 200, response.json
    data = response.json["_data"]
    assert data["mail"] == data["adminId"] == NEW and data["kind"] == "admin"
    assert data["domains"] == ["c.test"] and data["maxUsers"] == 3
    assert data["email"] == NEW and data["passwordLastChange"] == "2022-01-08"
    assert "{SSHA512}" not in response.get_data(as_text=True)
    assert "userPassword" not in data and "password" not in data


def test_get_unknown(api):
    """GET of an unknown admin is 404; of a bad address 400."""
    assert api.get("/api/admin/nobody@partner.test").status_code == 404
    assert api.get("/api/admin/not-an-address").status_code == 400


def test_get_promoted_user(api, raw, domains):
    """A mail user promoted to admin is shown as kind=user with its type."""
    add_user(raw, "chief@a.test", admin=True, is_global=True)
    data = api.get("/api/admin/chief@a.test").json["_data"]
    assert data["kind"] == "user" and data["type"] == "super"


def test_list_paged(api, raw, domains):
    """GET /api/admins pages standalone admins then promoted users: offset, size, total."""
    for i in range(4):
        add_admin(raw, f"admin{i}@partner.test", settings=["locked:yes"] if i == 1 else [])
    add_user(raw, "chief@a.test", admin=True)
    add_user(raw, "plain@a.test")
    first = api.get("/api/admins?size=3&page=1")
    assert first.status_code == 200, first.json
    assert first.json["total"] == 6 and first.json["size"] == 3 and first.json["offset"] == 0
    second = api.get("/api/admins?offset=3&limit=3").json
    mails = [item["mail"] for item in first.json["_data"] + second["_data"]]
    assert sorted(mails) == sorted(
        ["postmaster@admin.test", *(f"admin{i}@partner.test" for i in range(4)), "chief@a.test"]
    )
    assert mails[-1] == "chief@a.test"
    items = {item["mail"]: item for item in first.json["_data"] + second["_data"]}
    assert items["admin1@partner.test"]["locked"] is True
    assert items["postmaster@admin.test"]["type"] == "super"
    assert set(items["chief@a.test"]) == {
        "adminId",
        "mail",
        "kind",
        "name",
        "type",
        "enabled",
        "locked",
        "isGlobalAdmin",
    }


def test_update_fields(api, raw, domains):
    """PUT changes type, lock, IPs, caps and the domains triad; other settings are kept."""
    add_admin(raw, NEW, settings=["timezone:Europe/Berlin", "restrictedIps:192.0.2.1"])
    add_domain(raw, "c.test", admins=[NEW])
    response = api.put(
        f"/api/admin/{NEW}",
        data={"type": "limited", "locked": "yes", "restrictedIps": "", "maxUsers": "9",
              "addDomain": "a.test", "removeDomain": "c.test", "disableViewingMailLog": "yes"},
    )  # fmt: skip
    assert response.status_code == 200, response.json
    data = response.json["_data"]
    assert data["type"] == "limited" and data["locked"] and data["restrictedIps"] == []
    assert data["domains"] == ["a.test"]
    assert settings_of(raw, admin_dn(raw, NEW)) == sorted(
        ["timezone:Europe/Berlin", "role:limited", "locked:yes", "create_max_users:9"]
    )
    assert raw.entry(admin_dn(raw, NEW))["disabledservice"] == ["view_mail_log"]
    assert raw.entry(raw.domain_dn("a.test"))["domainadmin"] == [NEW]
    assert "domainadmin" not in raw.entry(raw.domain_dn("c.test"))
    response = api.put(f"/api/admin/{NEW}", data={"type": "super", "locked": "no", "domains": ""})
    assert response.status_code == 200, response.json
    entry = raw.entry(admin_dn(raw, NEW))
    assert entry["domainglobaladmin"] == ["yes"]
    assert sorted(entry["accountsetting"]) == ["create_max_users:9", "timezone:Europe/Berlin"]
    assert "domainadmin" not in raw.entry(raw.domain_dn("a.test"))


def test_update_triad_conflict(api, raw, domains):
    """domains cannot be combined with addDomain/removeDomain (400); nothing changes."""
    add_admin(raw, NEW)
    before = tree(raw)
    response = api.put(f"/api/admin/{NEW}", data={"domains": "a.test", "addDomain": "b.test"})
    assert response.status_code == 400 and "domains" in response.json["errors"]
    assert tree(raw) == before


def test_update_unknown_domain(api, raw, domains):
    """addDomain naming a domain not hosted here is 400 naming addDomain; nothing changes."""
    add_admin(raw, NEW)
    before = tree(raw)
    response = api.put(f"/api/admin/{NEW}", data={"addDomain": "nowhere.test", "name": "X"})
    assert response.status_code == 400 and "addDomain" in response.json["errors"]
    assert tree(raw) == before


def test_global_admin_sets_password(api, raw, app):
    """A global admin sets another admin's password without the old one; shadowLastChange moves."""
    add_admin(raw, NEW)
    response = api.put(f"/api/admin/{NEW}/password", data={"password": "Brand-New-Pass-9"})
    assert response.status_code == 200, response.json
    entry = raw.entry(admin_dn(raw, NEW))
    assert verify_password("Brand-New-Pass-9", entry["userpassword"][0])
    assert int(entry["shadowlastchange"][0]) > 19000
    new_client(app, NEW, "Brand-New-Pass-9")


def test_password_policy(api, raw):
    """A password outside the global policy is 400 naming password; the hash is unchanged."""
    add_admin(raw, NEW)
    before = raw.entry(admin_dn(raw, NEW))["userpassword"]
    response = api.put(f"/api/admin/{NEW}/password", data={"password": "abc"})
    assert response.status_code == 400
    assert response.json["detail"].startswith("Password must be at least 8 characters")
    assert "password" in response.json["errors"]
    assert raw.entry(admin_dn(raw, NEW))["userpassword"] == before


def test_delete(api, raw, domains):
    """DELETE removes the entry and its domainAdmin values."""
    add_admin(raw, NEW)
    add_domain(raw, "c.test", admins=[NEW, "other@partner.test"])
    response = api.delete(f"/api/admin/{NEW}")
    assert response.status_code == 200, response.json
    assert raw.entry(admin_dn(raw, NEW)) is None
    assert raw.entry(raw.domain_dn("c.test"))["domainadmin"] == ["other@partner.test"]
    assert api.delete(f"/api/admin/{NEW}").status_code == 404


def test_delete_promoted_user(api, raw, domains):
    """DELETE of an admin mail user takes the admin role only; the mailbox stays."""
    add_user(raw, "chief@a.test", admin=True, is_global=True)
    add_domain(raw, "c.test", admins=["chief@a.test"])
    assert api.delete("/api/admin/chief@a.test").status_code == 200
    entry = raw.entry(raw.user_dn("chief@a.test"))
    assert "domainadmin" not in entry["enabledservice"] and "domainglobaladmin" not in entry
    assert "domainadmin" not in raw.entry(raw.domain_dn("c.test"))


def test_last_global_admin(api, raw, admin):
    """The last active global admin cannot be deleted, demoted, disabled or locked (409)."""
    before = tree(raw)
    for call in (
        lambda: api.delete(f"/api/admin/{admin}"),
        lambda: api.put(f"/api/admin/{admin}", data={"type": "standard"}),
        lambda: api.put(f"/api/admin/{admin}", data={"enabled": "no"}),
        lambda: api.put(f"/api/admin/{admin}", data={"locked": "yes"}),
    ):
        response = call()
        assert response.status_code == 409 and response.json["msg"] == "LAST_GLOBAL_ADMIN"
    assert tree(raw) == before
    add_admin(raw, NEW, is_global=True)
    assert api.put(f"/api/admin/{admin}", data={"type": "standard"}).status_code == 200


def test_verify_password(api, raw):
    """verify_password answers 200 on a match, 401 otherwise, 404 for no such admin."""
    add_admin(raw, NEW)
    assert (
        api.post(f"/api/verify_password/admin/{NEW}", data={"password": PASSWORD}).status_code
        == 200
    )
    wrong = api.post(f"/api/verify_password/admin/{NEW}", data={"password": "nope"})
    assert wrong.status_code == 401 and wrong.json["msg"] == "INVALID_CREDENTIALS"
    missing = api.post("/api/verify_password/admin/x@partner.test", data={"password": "x"})
    assert missing.status_code == 404


def test_self_service(app, raw, api, domains):
    """A standard admin reads and edits its own profile but not its role or limits."""
    add_admin(raw, NEW)
    add_admin(raw, "peer@partner.test")
    own = new_client(app, NEW)
    assert own.get(f"/api/admin/{NEW}").status_code == 200
    assert own.get("/api/admin/peer@partner.test").status_code == 403
    response = own.put(f"/api/admin/{NEW}", data={"name": "Me", "language": "fr_FR"})
    assert response.status_code == 200, response.json
    assert raw.entry(admin_dn(raw, NEW))["cn"] == ["Me"]
    before = tree(raw)
    for params in ({"type": "super"}, {"maxUsers": "0"}, {"addDomain": "a.test"}, {"locked": "no"}):
        response = own.put(f"/api/admin/{NEW}", data=params)
        assert response.status_code == 403, params
        assert set(response.json["errors"]) == set(params)
    assert tree(raw) == before


def test_self_password_needs_old(app, raw, api):
    """Changing your own password needs the right oldPassword and a different new one."""
    add_admin(raw, NEW)
    own = new_client(app, NEW)
    before = tree(raw)
    for params, field in (
        ({"password": "Brand-New-Pass-9"}, "oldPassword"),
        ({"password": "Brand-New-Pass-9", "oldPassword": "wrong"}, "oldPassword"),
        ({"password": PASSWORD, "oldPassword": PASSWORD}, "password"),
    ):
        response = own.put(f"/api/admin/{NEW}/password", data=params)
        assert response.status_code == 400 and field in response.json["errors"], params
    assert tree(raw) == before
    response = own.put(
        f"/api/admin/{NEW}", data={"password": "Brand-New-Pass-9", "oldPassword": PASSWORD}
    )
    assert response.status_code == 200, response.json
    assert verify_password("Brand-New-Pass-9", raw.entry(admin_dn(raw, NEW))["userpassword"][0])


def test_openapi_documents_admin_routes(api):
    """The OpenAPI document lists the admin routes with their access policy."""
    spec = api.get("/api/openapi.json").json
    assert {"/api/admins", "/api/admin/{mail}", "/api/admin/{mail}/password"} <= set(spec["paths"])
    assert (
        "Access: Global (super) admins only." in spec["paths"]["/api/admins"]["get"]["description"]
    )
