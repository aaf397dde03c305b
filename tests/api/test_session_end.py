"""Sessions and tokens end everywhere at once: logout, password changes, disabled admins, revocation.

A second app built from the same config (same directory, same SQL store) stands for another
worker or API node; nothing it caches may keep an ended session or token alive.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from iredapi_ldap.models.admins import login as admin_model
from tests.conftest import ADMIN_EMAIL
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import add_admin
from tests.helpers import add_domain
from tests.helpers import add_user
from tests.helpers import admin_dn
from tests.helpers import app_with
from tests.helpers import bearer
from tests.helpers import login
from tests.helpers import make_token
from tests.helpers import new_client
from tests.helpers import settings_of
from tests.helpers import token_values
from tests.helpers import tree

COOKIE = "iRedAdmin-LDAP"
OTHER = "boss@partner.test"
HELPER = "helper@a.test"
NEW_PASSWORD = "Brand-New-Pass-9"


def copy_cookie(source, target):
    """Give `target` the session cookie `source` holds now (a stolen or shared copy)."""
    target.set_cookie(COOKIE, source.get_cookie(COOKIE).value)
    return target


def assert_refused(response):
    """Assert a 401 LOGIN_REQUIRED answer."""
    assert response.status_code == 401, response.json
    assert response.json["msg"] == "LOGIN_REQUIRED"


def ended_records(raw, dn):
    """Return the endedSession accountSetting values of an entry."""
    return [v for v in settings_of(raw, dn) if v.startswith("endedSession:")]


def test_a_cookie_copied_before_logout_is_refused_after_it_on_every_node(
    client, auth, app, app_config, raw
):
    """Logout records the session as ended on the admin's entry: every copy, on any node, is 401."""
    assert auth.login().status_code == 200
    same_node = copy_cookie(client, app.test_client())
    with app_with(app_config) as node:
        other_node = copy_cookie(client, node.test_client())
        assert same_node.get("/api/domains").status_code == 200
        assert other_node.get("/api/domains").status_code == 200
        response = auth.logout()
        assert response.status_code == 200 and response.json["success"] is True
        assert_refused(client.get("/api/domains"))
        assert_refused(same_node.get("/api/domains"))
        assert_refused(other_node.get("/api/domains"))
        before = tree(raw)
        assert_refused(other_node.post("/api/domain/copied.test"))
        assert_refused(same_node.put(f"/api/admin/{ADMIN_EMAIL}", data={"name": "x"}))
        assert tree(raw) == before
    [record] = ended_records(raw, admin_dn(raw, ADMIN_EMAIL))
    session_id, until = record.split(":")[1:]
    assert len(session_id) >= 20
    lifetime = app.permanent_session_lifetime.total_seconds()
    assert time.time() + lifetime - 5 < int(until) <= time.time() + lifetime + 2
    # A new login starts a new session that the old record does not touch.
    assert auth.login().status_code == 200
    assert client.get("/api/domains").status_code == 200


def test_logout_ends_only_that_session(app, raw, admin):
    """Other sessions of the same admin (other scripts, other devices) live on."""
    first, second = new_client(app, ADMIN_EMAIL, ADMIN_PASSWORD), app.test_client()
    assert login(second, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200
    assert first.post("/api/logout").status_code == 200
    assert_refused(first.get("/api/domains"))
    assert second.get("/api/domains").status_code == 200


def test_own_password_change_ends_every_other_copy_but_not_the_changers_session(
    client, auth, app_config, raw
):
    """After its own password change the changer goes on; copies of its cookie are 401 at once."""
    assert auth.login().status_code == 200
    with app_with(app_config) as node:
        copy = copy_cookie(client, node.test_client())
        assert copy.get("/api/domains").status_code == 200
        response = client.put(
            f"/api/admin/{ADMIN_EMAIL}/password",
            data={"password": NEW_PASSWORD, "oldPassword": ADMIN_PASSWORD},
        )
        assert response.status_code == 200, response.json
        assert "Set-Cookie" in response.headers  # the changer's session is re-issued
        assert_refused(copy.get("/api/domains"))
        before = tree(raw)
        assert_refused(copy.post("/api/domain/copied.test"))
        assert tree(raw) == before
        assert client.get("/api/domains").status_code == 200
        assert login(node.test_client(), ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 401
        assert login(node.test_client(), ADMIN_EMAIL, NEW_PASSWORD).status_code == 200


def test_password_change_by_a_global_admin_ends_the_admins_sessions(api, app_config, raw):
    """A global admin setting another admin's password ends that admin's sessions on every node."""
    add_admin(raw, OTHER)
    add_domain(raw, "a.test", admins=[OTHER])
    with app_with(app_config) as node:
        other = new_client(node, OTHER)
        assert other.get("/api/domain/a.test").status_code == 200
        response = api.put(f"/api/admin/{OTHER}/password", data={"password": NEW_PASSWORD})
        assert response.status_code == 200, response.json
        assert_refused(other.get("/api/domain/a.test"))
        assert new_client(node, OTHER, NEW_PASSWORD).get("/api/domain/a.test").status_code == 200
    assert api.get("/api/domains").status_code == 200


def test_mail_user_admin_changing_its_password_through_the_user_route_keeps_its_session(
    app, app_config, raw, admin
):
    """A domain admin that is a mail user changes its own password: it goes on, copies end."""
    add_domain(raw, "a.test", admins=[HELPER])
    add_user(raw, HELPER, admin=True)
    helper = new_client(app, HELPER)
    with app_with(app_config) as node:
        copy = copy_cookie(helper, node.test_client())
        assert copy.get("/api/domain/a.test").status_code == 200
        response = helper.put(f"/api/user/{HELPER}/password", data={"password": NEW_PASSWORD})
        assert response.status_code == 200, response.json
        assert_refused(copy.get("/api/domain/a.test"))
    assert helper.get("/api/domain/a.test").status_code == 200
    assert login(app.test_client(), HELPER, NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("target", "method", "path", "data"),
    [
        (OTHER, "put", f"/api/admin/{OTHER}", {"accountStatus": "disabled"}),
        (OTHER, "put", f"/api/admin/{OTHER}", {"locked": "yes"}),
        (OTHER, "delete", f"/api/admin/{OTHER}", None),
        (HELPER, "put", f"/api/user/{HELPER}", {"accountStatus": "disabled"}),
        (HELPER, "put", f"/api/user/{HELPER}", {"removeService": "domainadmin"}),
        (HELPER, "delete", f"/api/user/{HELPER}", None),
        (HELPER, "put", "/api/domain/a.test", {"accountStatus": "disabled"}),
    ],
    ids=["disabled", "locked", "deleted", "user-disabled", "user-demoted", "user-deleted",
         "domain-disabled"],
)  # fmt: skip
def test_an_admin_disabled_through_one_node_loses_sessions_and_tokens_on_another_at_once(
    api, app_config, raw, target, method, path, data
):
    """Disabling, locking, deleting or demoting an admin ends its session and tokens everywhere."""
    add_domain(raw, "a.test", admins=[OTHER, HELPER])
    add_admin(raw, OTHER)
    add_user(raw, HELPER, admin=True)
    token = make_token(api, target)["token"]
    # A long token cache: the node must not trust what it cached about the admin.
    with app_with(app_config, TOKEN_CACHE_SECONDS=3600) as node:
        session = new_client(node, target)
        tokens = node.test_client()
        assert session.get("/api/domain/a.test").status_code == 200
        assert tokens.get("/api/domain/a.test", headers=bearer(token)).status_code == 200
        response = getattr(api, method)(path, data=data)
        assert response.status_code == 200, response.json
        before = tree(raw)
        assert_refused(session.get("/api/domain/a.test"))
        assert_refused(session.put("/api/domain/a.test", data={"name": "x"}))
        refused = tokens.put("/api/domain/a.test", headers=bearer(token), data={"name": "x"})
        assert refused.status_code == 401 and refused.json["msg"] == "INVALID_CREDENTIALS"
        assert tree(raw) == before


def test_a_demoted_global_admin_loses_global_rights_at_the_next_request(api, app_config, raw):
    """Taking domainGlobalAdmin away is seen by a running session and a cached token at once."""
    add_admin(raw, OTHER, is_global=True)
    token = make_token(api, OTHER)["token"]
    with app_with(app_config, TOKEN_CACHE_SECONDS=3600) as node:
        session, tokens = new_client(node, OTHER), node.test_client()
        assert session.get("/api/admins").status_code == 200
        assert tokens.get("/api/admins", headers=bearer(token)).status_code == 200
        response = api.put(f"/api/admin/{OTHER}", data={"type": "standard"})
        assert response.status_code == 200, response.json
        assert session.get("/api/admins").status_code == 403
        assert tokens.get("/api/admins", headers=bearer(token)).status_code == 403
        assert session.get("/api/domains?name_only=yes").json["_data"] == []


def test_a_revoked_token_is_refused_on_another_node_at_the_very_next_request(api, app_config, raw):
    """A node that cached a token refuses it right after another node revoked it; no write passes."""
    token = make_token(api, ADMIN_EMAIL)
    with app_with(app_config, TOKEN_CACHE_SECONDS=3600) as node:
        other = node.test_client()
        assert other.get("/api/domains", headers=bearer(token["token"])).status_code == 200
        response = api.delete(f"/api/admin/{ADMIN_EMAIL}/tokens/{token['id']}")
        assert response.status_code == 200, response.json
        assert token_values(raw, admin_dn(raw, ADMIN_EMAIL)) == []
        refused = other.post("/api/domain/d0.test", headers=bearer(token["token"]))
        assert refused.status_code == 401 and refused.json["msg"] == "INVALID_CREDENTIALS"
        for number in range(1, 10):
            # A revoked token counts as a failed login, so the later ones may be 429.
            refused = other.post(f"/api/domain/d{number}.test", headers=bearer(token["token"]))
            assert refused.status_code in (401, 429), refused.json
        assert raw.count(f"o=domains,{raw.suffix}", "(objectClass=mailDomain)") == 0


def test_many_live_logout_records_end_all_sessions_instead(app, raw, admin, monkeypatch):
    """Beyond MAX_ENDED_SESSIONS live records a logout raises sessionEpoch: every session ends."""
    monkeypatch.setattr(admin_model, "MAX_ENDED_SESSIONS", 2)
    dn = admin_dn(raw, ADMIN_EMAIL)
    clients = [new_client(app, ADMIN_EMAIL, ADMIN_PASSWORD) for _ in range(4)]
    for client in clients[:2]:
        assert client.post("/api/logout").status_code == 200
    assert len(ended_records(raw, dn)) == 2
    assert clients[3].get("/api/domains").status_code == 200
    assert clients[2].post("/api/logout").status_code == 200
    assert settings_of(raw, dn) == ["sessionEpoch:1"]
    assert_refused(clients[3].get("/api/domains"))
    assert new_client(app, ADMIN_EMAIL, ADMIN_PASSWORD).get("/api/domains").status_code == 200


def test_logout_records_go_once_no_copy_can_be_valid(app, raw, admin):
    """A record is dropped at a later logout once the idle lifetime has passed since it was made."""
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=1)
    dn = admin_dn(raw, ADMIN_EMAIL)
    first = new_client(app, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert first.post("/api/logout").status_code == 200
    [old] = ended_records(raw, dn)
    time.sleep(2.2)
    second = new_client(app, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert second.post("/api/logout").status_code == 200
    [new] = ended_records(raw, dn)
    assert new != old


def test_a_cookie_without_a_session_id_is_refused(client, auth, app):
    """Cookies signed before sessions had ids (or forged without one) do not authenticate."""
    assert auth.login().status_code == 200
    serializer = app.session_interface.get_signing_serializer(app)
    stored = serializer.loads(client.get_cookie(COOKIE).value)
    del stored["_iredapi_admin"]["sid"]
    client.set_cookie(COOKIE, serializer.dumps(stored))
    assert_refused(client.get("/api/domains"))


def test_logout_without_a_session_writes_nothing(client, raw, admin):
    """Logout answers 200 with or without a session and only a real session leaves a record."""
    before = tree(raw)
    response = client.post("/api/logout")
    assert response.status_code == 200 and response.json["success"] is True
    assert tree(raw) == before
