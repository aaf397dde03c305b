"""PUT /api/users/<domain> and PUT /api/users/<domain>/password: one change, every user."""

from __future__ import annotations

import datetime

import pytest

from iredapi_ldap.passwords import hash_password
from iredapi_ldap.passwords import verify_password
from tests.helpers import DOMAIN
from tests.helpers import add_catchall
from tests.helpers import add_many
from tests.helpers import add_user
from tests.helpers import make_domain

TODAY = str((datetime.date.today() - datetime.date(1970, 1, 1)).days)
NEW_PASSWORD = "Fresh-Pass-2024!"
USERS = ("alice", "bob", "carol")


@pytest.fixture
def domain(api, raw):
    make_domain(api)
    for name in USERS:
        add_user(
            raw,
            f"{name}@{DOMAIN}",
            userPassword=hash_password("Old-Pass-123"),
            shadowLastChange="19000",
            preferredLanguage="en_US",
        )
    add_catchall(raw)
    return DOMAIN


def _user(raw, name):
    return raw.entry(raw.user_dn(f"{name}@{DOMAIN}"))


def _catchall(raw):
    return raw.entry(raw.user_dn(f"@{DOMAIN}"))


def test_bulk_status_language_transport(api, raw, domain):
    before = _catchall(raw)
    response = api.put(
        f"/api/users/{domain}",
        data={
            "accountStatus": "disabled",
            "language": "fr_FR",
            "transport": "lmtp:unix:private/dovecot-lmtp",
        },
    )
    assert response.status_code == 200, response.json
    assert response.json["_data"] == {"updated": 3}
    for name in USERS:
        entry = _user(raw, name)
        assert entry["accountstatus"] == ["disabled"]
        assert entry["preferredlanguage"] == ["fr_FR"]
        assert entry["mtatransport"] == ["lmtp:unix:private/dovecot-lmtp"]
        assert entry["shadowlastchange"] == ["19000"]  # no password change
    after = _catchall(raw)
    assert after["accountstatus"] == before["accountstatus"] == ["active"]
    assert "preferredlanguage" not in after and "mtatransport" not in after


def test_bulk_json_body_and_empty_transport_clears(api, raw, domain):
    api.put(f"/api/users/{domain}", json={"transport": "dovecot"})
    response = api.put(f"/api/users/{domain}", json={"transport": "", "accountStatus": "active"})
    assert response.status_code == 200, response.json
    assert all("mtatransport" not in _user(raw, name) for name in USERS)


def test_bulk_password_hashes_each_user_separately(api, raw, domain):
    response = api.put(f"/api/users/{domain}", data={"password": NEW_PASSWORD})
    assert response.status_code == 200, response.json
    assert response.json["_data"] == {"updated": 3}
    hashes = []
    for name in USERS:
        entry = _user(raw, name)
        (stored,) = entry["userpassword"]
        assert stored.startswith("{SSHA512}")
        assert verify_password(NEW_PASSWORD, stored)
        assert not verify_password("Old-Pass-123", stored)
        assert entry["shadowlastchange"] == [TODAY]
        hashes.append(stored)
    assert len(set(hashes)) == 3, "every user gets its own salt"
    assert "userpassword" not in _catchall(raw)


def test_password_endpoint(api, raw, domain):
    response = api.put(f"/api/users/{domain}/password", data={"password": NEW_PASSWORD})
    assert response.status_code == 200, response.json
    assert response.json["_data"] == {"updated": 3}
    assert all(verify_password(NEW_PASSWORD, _user(raw, n)["userpassword"][0]) for n in USERS)

    response = api.put(f"/api/users/{domain}/password", data={})
    assert response.status_code == 400 and "password" in response.json["errors"]
    response = api.put(
        f"/api/users/{domain}/password", data={"password": NEW_PASSWORD, "language": "de_DE"}
    )
    assert response.status_code == 400 and "language" in response.json["errors"]


@pytest.mark.parametrize(
    "password, code",
    [
        ("short1A!", None),
        ("alllowercase-1", "PW_NO_UPPERCASE"),
        ("No-Digits-Here", "PW_NO_DIGIT_NUMBER"),
    ],
)
def test_password_policy_refuses_and_changes_nothing(api, raw, domain, password, code):
    # The domain asks for at least 12 characters, more than the default 8.
    assert api.put(f"/api/domain/{domain}", data={"minPasswordLength": 12}).status_code == 200
    before = {name: _user(raw, name)["userpassword"] for name in USERS}
    response = api.put(
        f"/api/users/{domain}", data={"password": password, "accountStatus": "disabled"}
    )
    assert response.status_code == 400, response.json
    assert "password" in response.json["errors"]
    assert response.json["msg"] == (code or "PW_SHORTER_THAN_MIN_LENGTH")
    for name in USERS:
        entry = _user(raw, name)
        assert entry["userpassword"] == before[name]
        assert entry["accountstatus"] == ["active"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "_schema"),
        ({"accountStatus": "sleeping"}, "accountStatus"),
        ({"language": "english"}, "language"),
        ({"transport": "bad transport"}, "transport"),
        ({"quota": "10"}, "quota"),
        ({"password": ""}, "password"),
    ],
)
def test_bad_body_is_400_naming_the_field(api, raw, domain, body, field):
    before = [_user(raw, name) for name in USERS]
    response = api.put(f"/api/users/{domain}", data=body)
    assert response.status_code == 400
    assert field in response.json["errors"]
    assert [_user(raw, name) for name in USERS] == before


def test_unknown_domain_and_login(api, client, domain):
    response = api.put("/api/users/nowhere.example", data={"accountStatus": "disabled"})
    assert response.status_code == 404 and response.json["msg"] == "NO_SUCH_DOMAIN"
    response = api.put("/api/users/nowhere.example/password", data={"password": NEW_PASSWORD})
    assert response.status_code == 404
    client.post("/api/logout")
    response = client.put(f"/api/users/{domain}", data={"accountStatus": "disabled"})
    assert response.status_code == 401


def test_bulk_update_of_a_large_domain(api, raw):
    """1,200 users, above the service DN's 500-entry size limit."""
    make_domain(api)
    add_many(raw, 1200)
    add_catchall(raw)
    response = api.put(
        f"/api/users/{DOMAIN}",
        data={"accountStatus": "disabled", "language": "de_DE", "password": NEW_PASSWORD},
    )
    assert response.status_code == 200, response.json
    assert response.json["_data"] == {"updated": 1200}
    base = raw.domain_dn(DOMAIN)
    assert raw.count(base, "(&(objectClass=mailUser)(accountStatus=disabled))") == 1200
    assert raw.count(base, "(&(objectClass=mailUser)(preferredLanguage=de_DE))") == 1200
    assert raw.count(base, f"(&(objectClass=mailUser)(shadowLastChange={TODAY}))") == 1200
    assert raw.count(base, "(&(objectClass=mailUser)(userPassword=*))") == 1200
    assert _catchall(raw)["accountstatus"] == ["active"]
    for i in (0, 499, 500, 1199):
        stored = raw.entry(raw.user_dn(f"user{i:05d}@{DOMAIN}"))["userpassword"][0]
        assert verify_password(NEW_PASSWORD, stored)
