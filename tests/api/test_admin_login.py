"""Admin logins: locked and disabled admins, expired passwords, single sessions, restricted IPs."""

from __future__ import annotations

import pytest

from iredapi_ldap import auth
from iredapi_ldap.models.admins.login import days_since_epoch
from tests.helpers import PASSWORD
from tests.helpers import add_admin
from tests.helpers import add_domain
from tests.helpers import add_user
from tests.helpers import admin_dn
from tests.helpers import login
from tests.helpers import settings_of
from tests.helpers import tree

ADMIN = "boss@partner.test"
NEW_PASSWORD = "Brand-New-Pass-9"


@pytest.fixture
def recheck_now(monkeypatch):
    """Re-read the admin's entry on every request instead of every 30 seconds."""
    monkeypatch.setattr(auth, "RECHECK_SECONDS", -1)


def today_minus(days):
    return str(days_since_epoch() - days)


def test_standard_admin_can_log_in(client, raw, admin):
    """A standard (non-global) admin logs in and sees only its domains."""
    add_admin(raw, ADMIN)
    add_domain(raw, "a.test", admins=[ADMIN])
    add_domain(raw, "b.test")
    assert login(client, ADMIN).status_code == 200
    response = client.get("/api/domains?name_only=yes")
    assert response.status_code == 200, response.json
    assert response.json["_data"] == ["a.test"] and response.json["total"] == 1


def test_locked_admin_cannot_log_in(client, raw, admin):
    """A locked admin's correct password gets 403 ACCOUNT_LOCKED and no session."""
    add_admin(raw, ADMIN, settings=["locked:yes"])
    response = login(client, ADMIN)
    assert response.status_code == 403 and response.json["msg"] == "ACCOUNT_LOCKED"
    assert client.get(f"/api/admin/{ADMIN}").status_code == 401
    wrong = login(client, ADMIN, "Wrong-Pass-123")
    assert wrong.status_code == 401 and wrong.json["msg"] == "INVALID_CREDENTIALS"


def test_disabled_admin_cannot_log_in(client, raw, admin):
    """A disabled admin gets 401 INVALID_CREDENTIALS, as iRedAdmin answers."""
    add_admin(raw, ADMIN, accountStatus="disabled")
    response = login(client, ADMIN)
    assert response.status_code == 401 and response.json["msg"] == "INVALID_CREDENTIALS"


def test_lock_ends_running_session(client, raw, api, app, recheck_now):
    """Locking (or disabling) an admin ends its running session at the next check."""
    add_admin(raw, ADMIN)
    other = app.test_client()
    assert login(other, ADMIN).status_code == 200
    assert other.get(f"/api/admin/{ADMIN}").status_code == 200
    assert api.put(f"/api/admin/{ADMIN}", data={"locked": "yes"}).status_code == 200
    assert other.get(f"/api/admin/{ADMIN}").status_code == 401
    assert api.put(f"/api/admin/{ADMIN}", data={"locked": "no"}).status_code == 200
    assert other.get(f"/api/admin/{ADMIN}").status_code == 401  # the session stays ended


def test_lock_does_not_wait_for_the_recheck(client, raw, api, app):
    """A lock ends a running session at its next request, not after RECHECK_SECONDS (issue 11/5)."""
    add_admin(raw, ADMIN)
    other = app.test_client()
    assert login(other, ADMIN).status_code == 200
    assert api.put(f"/api/admin/{ADMIN}", data={"locked": "yes"}).status_code == 200
    assert other.get(f"/api/admin/{ADMIN}").status_code == 401


def test_expired_password_only_allows_change(client, raw, admin):
    """With an expired password every call but the own password change is 403 PASSWORD_EXPIRED."""
    add_admin(raw, ADMIN, settings=["passwordExpiration:30"], shadowLastChange=today_minus(31))
    add_admin(raw, "peer@partner.test")
    add_domain(raw, "a.test", admins=[ADMIN])
    assert login(client, ADMIN).status_code == 200
    before = tree(raw)
    for method, path, params in (
        ("get", "/api/domains", None),
        ("get", f"/api/admin/{ADMIN}", None),
        ("put", f"/api/admin/{ADMIN}", {"name": "x"}),
        ("get", "/api/domain/a.test", None),
        ("put", "/api/admin/peer@partner.test/password", {"password": NEW_PASSWORD}),
    ):
        response = getattr(client, method)(path, data=params)
        assert response.status_code == 403, (path, response.json)
        assert response.json["msg"] == "PASSWORD_EXPIRED"
    assert tree(raw) == before
    response = client.put(
        f"/api/admin/{ADMIN}/password", data={"password": NEW_PASSWORD, "oldPassword": PASSWORD}
    )
    assert response.status_code == 200, response.json
    assert raw.entry(admin_dn(raw, ADMIN))["shadowlastchange"] == [str(days_since_epoch())]
    assert client.get("/api/domains").status_code == 200
    assert client.get(f"/api/admin/{ADMIN}").json["_data"]["passwordExpired"] is False


def test_expiration_not_reached(client, raw, admin):
    """A password younger than passwordExpiration days works normally; 0 means never."""
    add_admin(raw, ADMIN, settings=["passwordExpiration:30"], shadowLastChange=today_minus(29))
    add_admin(raw, "old@partner.test", settings=["passwordExpiration:0"])
    assert login(client, ADMIN).status_code == 200
    assert client.get(f"/api/admin/{ADMIN}").json["_data"]["passwordExpired"] is False
    assert login(client, "old@partner.test").status_code == 200
    assert client.get("/api/admin/old@partner.test").status_code == 200


def test_expired_global_admin(client, raw, admin):
    """An expired global admin may change only its own password, not others'."""
    add_admin(raw, ADMIN, is_global=True, settings=["passwordExpiration:1"])
    add_admin(raw, "peer@partner.test")
    assert login(client, ADMIN).status_code == 200
    before = tree(raw)
    response = client.put("/api/admin/peer@partner.test/password", data={"password": NEW_PASSWORD})
    assert response.status_code == 403 and response.json["msg"] == "PASSWORD_EXPIRED"
    assert client.get("/api/admins").status_code == 403
    assert tree(raw) == before


def test_single_session_ends_older_login(raw, app, admin):
    """With allowSimultaneousLogins off a new login ends the older session (sessionEpoch)."""
    add_admin(raw, ADMIN, settings=["allowSimultaneousLogins:no"])
    first, second = app.test_client(), app.test_client()
    assert login(first, ADMIN).status_code == 200
    assert settings_of(raw, admin_dn(raw, ADMIN)) == [
        "allowSimultaneousLogins:no",
        "sessionEpoch:1",
    ]
    assert first.get(f"/api/admin/{ADMIN}").status_code == 200
    assert login(second, ADMIN).status_code == 200
    assert "sessionEpoch:2" in settings_of(raw, admin_dn(raw, ADMIN))
    assert first.get(f"/api/admin/{ADMIN}").status_code == 401
    assert second.get(f"/api/admin/{ADMIN}").status_code == 200


def test_simultaneous_logins_allowed_by_default(raw, app, admin):
    """By default both sessions live and nothing is written at login."""
    add_admin(raw, ADMIN)
    before = raw.entry(admin_dn(raw, ADMIN))
    first, second = app.test_client(), app.test_client()
    assert login(first, ADMIN).status_code == 200
    assert login(second, ADMIN).status_code == 200
    assert first.get(f"/api/admin/{ADMIN}").status_code == 200
    assert second.get(f"/api/admin/{ADMIN}").status_code == 200
    assert raw.entry(admin_dn(raw, ADMIN)) == before


def test_restricted_ips_at_login(client, raw, admin):
    """restrictedIps refuses a login from elsewhere (403 IP_NOT_ALLOWED) and allows one inside."""
    add_admin(raw, ADMIN, settings=["restrictedIps:10.0.0.0/8", "restrictedIps:192.0.2.7"])
    outside = login(client, ADMIN, environ_base={"REMOTE_ADDR": "198.51.100.1"})
    assert outside.status_code == 403 and outside.json["msg"] == "IP_NOT_ALLOWED"
    assert client.get(f"/api/admin/{ADMIN}").status_code == 401
    assert login(client, ADMIN, environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    assert login(client, ADMIN, environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 200


def test_restricted_ips_each_request(client, raw, admin):
    """A session of an IP-restricted admin is refused from any other address."""
    add_admin(raw, ADMIN, settings=["restrictedIps:10.0.0.0/8"])
    inside = {"REMOTE_ADDR": "10.1.2.3"}
    assert login(client, ADMIN, environ_base=inside).status_code == 200
    assert client.get(f"/api/admin/{ADMIN}", environ_base=inside).status_code == 200
    response = client.get(f"/api/admin/{ADMIN}", environ_base={"REMOTE_ADDR": "198.51.100.1"})
    assert response.status_code == 403 and response.json["msg"] == "IP_NOT_ALLOWED"


def test_promoted_users_keep_working(app, raw, admin):
    """Mail users promoted to admin log in: global ones see all, domain ones their domains."""
    add_domain(raw, "a.test", admins=["helper@a.test"])
    add_domain(raw, "b.test")
    add_user(raw, "chief@b.test", admin=True, is_global=True)
    add_user(raw, "helper@a.test", admin=True)
    add_user(raw, "plain@a.test")
    chief, helper, plain = app.test_client(), app.test_client(), app.test_client()
    assert login(chief, "chief@b.test").status_code == 200
    assert chief.get("/api/domains").json["total"] == 2
    assert login(helper, "helper@a.test").status_code == 200
    assert helper.get("/api/domains?name_only=yes").json["_data"] == ["a.test"]
    assert helper.get("/api/domain/b.test").status_code == 403
    assert helper.get("/api/admin/helper@a.test").json["_data"]["type"] == "standard"
    assert login(plain, "plain@a.test").status_code == 401


def test_limited_admin_is_read_only(app, raw, admin):
    """A limited admin reads its domains; every write is 403 and changes nothing."""
    add_admin(raw, ADMIN, settings=["role:limited"])
    add_domain(raw, "a.test", admins=[ADMIN])
    client = app.test_client()
    assert login(client, ADMIN).status_code == 200
    assert client.get("/api/domain/a.test").status_code == 200
    before = tree(raw)
    response = client.put("/api/domain/a.test", data={"name": "x"})
    assert response.status_code == 403 and response.json["msg"] == "PERMISSION_DENIED"
    assert tree(raw) == before
