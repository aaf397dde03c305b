"""Cookie login: credentials, the session cookie, logout, idle timeout, who may log in."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from iredapi_ldap import auth as auth_module
from tests.conftest import ADMIN_EMAIL
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import add_domain
from tests.helpers import add_user
from tests.helpers import assert_error as failure

COOKIE = "iRedAdmin-LDAP"
USER_PASSWORD = "User-Pass-456"


def session_cookie(response):
    """Return the Set-Cookie header of the session cookie, or None."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(COOKIE + "="):
            return header
    return None


@pytest.fixture
def hosted(client, auth, raw):
    """Create the domain users.example directly and return its name."""
    add_domain(raw, "users.example")
    return "users.example"


# -- success ---------------------------------------------------------------------------------


def test_login_form_sets_cookie_and_grants_access(client, auth):
    """A form login answers the success envelope and sets the HttpOnly SameSite cookie."""
    response = auth.login()
    assert response.status_code == 200
    assert response.json == {"success": True, "_success": True}
    cookie = session_cookie(response)
    assert cookie is not None
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/api/domains").status_code == 200


def test_login_json(client, auth):
    """A JSON body logs in too."""
    response = client.post("/api/login", json={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200 and response.json["_success"] is True
    assert session_cookie(response) is not None
    assert client.get("/api/domains").status_code == 200


def test_login_username_is_case_insensitive(client, auth):
    """The username is an address: upper case and spaces around it still match."""
    response = client.post("/api/login", data={"username": f"  {ADMIN_EMAIL.upper()} ",
                                               "password": ADMIN_PASSWORD})  # fmt: skip
    assert response.status_code == 200, response.json


# -- failures ---------------------------------------------------------------------------------


def test_wrong_password_and_unknown_user_are_indistinguishable(client, auth):
    """Wrong password, unknown user and a non-address username give the same 401 body."""
    wrong = failure(auth.login(password="nope"), 401, "INVALID_CREDENTIALS")
    unknown = failure(auth.login(username="ghost@admin.test"), 401, "INVALID_CREDENTIALS")
    garbage = failure(auth.login(username="not an address"), 401, "INVALID_CREDENTIALS")
    hostile = failure(auth.login(username="*)(mail=*"), 401, "INVALID_CREDENTIALS")
    assert wrong == unknown == garbage == hostile
    assert "errors" not in wrong
    assert client.get("/api/domains").status_code == 401


def test_failed_login_sets_no_session(client, auth):
    """A failed login gives no usable session."""
    response = auth.login(password="nope")
    assert response.status_code == 401
    failure(client.get("/api/domains"), 401, "LOGIN_REQUIRED")


@pytest.mark.parametrize(
    "form, field",
    [({"username": ADMIN_EMAIL}, "password"), ({"password": "x"}, "username"),
     ({"username": ADMIN_EMAIL, "password": "x", "remember": "1"}, "remember")],
)  # fmt: skip
def test_login_parameters_are_validated(client, auth, form, field):
    """A missing or unknown login parameter is 400 naming it."""
    body = failure(client.post("/api/login", data=form), 400, "INVALID_PARAMETERS")
    assert field in body["errors"]


def test_unauthenticated_access(client, admin):
    """Without a login, a protected route answers 401 LOGIN_REQUIRED."""
    body = failure(client.get("/api/domains"), 401, "LOGIN_REQUIRED")
    assert body["detail"]
    failure(client.post("/api/domain/x.example"), 401, "LOGIN_REQUIRED")


def test_logout_ends_access(client, auth):
    """After logout the same client is refused again."""
    auth.login()
    assert client.get("/api/domains").status_code == 200
    response = auth.logout()
    assert response.status_code == 200 and response.json["success"] is True
    failure(client.get("/api/domains"), 401, "LOGIN_REQUIRED")


def test_forged_cookie_is_ignored(client, auth, app):
    """A session cookie signed with another key is not accepted."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    other = Flask("forger")
    other.secret_key = "not-the-secret"
    serializer = SecureCookieSessionInterface().get_signing_serializer(other)
    forged = serializer.dumps({"_user_id": ADMIN_EMAIL, "_fresh": True,
                               auth_module.SESSION_KEY: {"mail": ADMIN_EMAIL}})  # fmt: skip
    client.set_cookie(COOKIE, forged)
    failure(client.get("/api/domains"), 401, "LOGIN_REQUIRED")


# -- who may log in ------------------------------------------------------------------------------


def test_disabled_admin_cannot_log_in(client, auth, raw, slapd_server):
    """A standalone admin with accountStatus disabled gets the same 401 as a wrong password."""
    dn = f"mail={ADMIN_EMAIL},o=domainAdmins,{raw.suffix}"
    assert raw.conn.modify(dn, {"accountStatus": [("MODIFY_REPLACE", ["disabled"])]})
    expected = failure(auth.login(password="nope"), 401, "INVALID_CREDENTIALS")
    assert failure(auth.login(), 401, "INVALID_CREDENTIALS") == expected


def test_admin_disabled_while_logged_in_loses_access(client, auth, raw, monkeypatch):
    """Once the admin entry is re-read, a disabled admin's session stops working."""
    auth.login()
    assert client.get("/api/domains").status_code == 200
    dn = f"mail={ADMIN_EMAIL},o=domainAdmins,{raw.suffix}"
    assert raw.conn.modify(dn, {"accountStatus": [("MODIFY_REPLACE", ["disabled"])]})
    monkeypatch.setattr(auth_module, "RECHECK_SECONDS", -1)
    failure(client.get("/api/domains"), 401, "LOGIN_REQUIRED")


def test_mail_user_global_admin_can_log_in(client, auth, raw, hosted):
    """A mail user with enabledService domainadmin and domainGlobalAdmin yes logs in."""
    mail = f"boss@{hosted}"
    add_user(
        raw, mail, USER_PASSWORD, enabledService=["mail", "domainadmin"], domainGlobalAdmin="yes"
    )
    response = client.post("/api/login", data={"username": mail, "password": USER_PASSWORD})
    assert response.status_code == 200, response.json
    assert client.get(f"/api/domain/{hosted}").status_code == 200
    assert client.post("/api/domain/new.example").status_code == 201
    assert raw.entry(raw.domain_dn("new.example")) is not None


@pytest.mark.parametrize(
    "attrs",
    [
        {"domainGlobalAdmin": "yes"},  # no enabledService domainadmin
        {"enabledService": ["mail", "domainadmin"], "domainGlobalAdmin": "yes",
         "accountStatus": "disabled"},
        {"enabledService": ["mail", "domainadmin"], "domainGlobalAdmin": "yes",
         "domainStatus": "disabled"},
    ],
)  # fmt: skip
def test_mail_user_that_is_not_an_active_admin_cannot_log_in(client, auth, raw, hosted, attrs):
    """Plain users, disabled users and users of a disabled domain get 401."""
    mail = f"plain@{hosted}"
    add_user(raw, mail, USER_PASSWORD, **attrs)
    response = client.post("/api/login", data={"username": mail, "password": USER_PASSWORD})
    failure(response, 401, "INVALID_CREDENTIALS")
    failure(client.get("/api/domains"), 401, "LOGIN_REQUIRED")


def test_non_global_admin_is_forbidden(client, auth, raw, hosted):
    """A domain admin without domainGlobalAdmin logs in but gets 403 for global-only work."""
    mail = f"helper@{hosted}"
    add_user(raw, mail, USER_PASSWORD, enabledService=["mail", "domainadmin"])
    before = raw.snapshot(f"o=domains,{raw.suffix}")
    response = client.post("/api/login", data={"username": mail, "password": USER_PASSWORD})
    assert response.status_code == 200, response.json
    failure(client.post("/api/domain/other.example"), 403, "PERMISSION_DENIED")
    failure(client.get("/api/domain/unmanaged.example"), 403, "PERMISSION_DENIED")
    failure(client.put(f"/api/domain/{hosted}", data={"name": "x"}), 403, "PERMISSION_DENIED")
    assert raw.snapshot(f"o=domains,{raw.suffix}") == before


# -- idle timeout ---------------------------------------------------------------------------------


def test_session_expires_when_idle(client, auth, app):
    """A session cookie older than the idle lifetime is refused by the server itself."""
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=1)
    response = auth.login()
    value = session_cookie(response).split(";", 1)[0].split("=", 1)[1]
    replay = app.test_client()
    replay.set_cookie(COOKIE, value)
    assert replay.get("/api/domains").status_code == 200
    time.sleep(2.2)
    fresh = app.test_client()
    fresh.set_cookie(COOKIE, value)
    failure(fresh.get("/api/domains"), 401, "LOGIN_REQUIRED")


def test_activity_refreshes_the_session(client, auth, app):
    """Each request renews the cookie, so an active client is not logged out."""
    # 4 x 0.6 s: each cookie is at most 1 s old when used, the first one 2.4 s by the end.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=1)
    auth.login()
    for _ in range(4):
        time.sleep(0.6)
        assert client.get("/api/domains").status_code == 200


def test_session_lifetime_comes_from_config(make_app):
    """SESSION_TIMEOUT_MINUTES sets the permanent session lifetime (idle timeout)."""
    app = make_app(SESSION_TIMEOUT_MINUTES=3)
    assert app.permanent_session_lifetime == timedelta(minutes=3)
    assert app.config["SESSION_COOKIE_NAME"] == COOKIE


def test_a_changed_secret_key_ends_sessions_even_with_the_reused_serializer(client, auth, app):
    """The session serializer is built once per key set; a new key (or fallback) counts at once."""
    auth.login()
    assert client.get("/api/domains").status_code == 200
    old_cookie = client.get_cookie(COOKIE).value
    first = app.session_interface.get_signing_serializer(app)
    assert app.session_interface.get_signing_serializer(app) is first
    old_key = app.secret_key
    app.secret_key = "a-rotated-secret-key-of-enough-length"
    try:
        assert app.session_interface.get_signing_serializer(app) is not first
        failure(client.get("/api/domains"), 401, "LOGIN_REQUIRED")
        app.config["SECRET_KEY_FALLBACKS"] = [old_key]
        client.set_cookie(COOKIE, old_cookie)
        assert client.get("/api/domains").status_code == 200
    finally:
        app.secret_key = old_key
        app.config["SECRET_KEY_FALLBACKS"] = []
