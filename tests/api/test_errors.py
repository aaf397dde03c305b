"""Failure envelope for routing, protocol, unexpected and directory errors; LDAP recovery."""

from __future__ import annotations

import logging

import pytest

from iredapi_ldap.auth import PUBLIC
from iredapi_ldap.auth import requires
from iredapi_ldap.ldap import get_directory
from iredapi_ldap.ldap.connection import get_pool
from iredapi_ldap.models.admins.create import create_global_admin
from iredapi_ldap.passwords import hash_password
from tests.conftest import ADMIN_EMAIL
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import assert_error as failure

GENERIC_500 = {
    "success": False,
    "_success": False,
    "msg": "INTERNAL_SERVER_ERROR",
    "_msg": "INTERNAL_SERVER_ERROR",
    "detail": "Internal server error.",
}
UNAVAILABLE = "LDAP_SERVER_UNAVAILABLE"
SECRET = "s3cr3t-ldap://10.9.8.7 cn=Manager password=hunter2"


def login(client):
    """Log the client in as the test global admin."""
    response = client.post("/api/login", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.json


# -- routing and protocol ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/nothing", "/nothing", "/api/domain", "/api/domain/a.com/x"])
def test_unknown_route_is_enveloped_404(client, path):
    """An unknown URL answers 404 NOT_FOUND in the JSON envelope, logged in or not."""
    failure(client.get(path), 404, "NOT_FOUND")


def test_unknown_route_when_logged_in(api):
    """Logged in, an unknown URL is still a plain 404."""
    failure(api.post("/api/domainz/a.com"), 404, "NOT_FOUND")


def test_wrong_method_is_enveloped_405_with_allow(api):
    """A method the route lacks answers 405 with the Allow header."""
    response = api.patch("/api/domain/a.example")
    failure(response, 405, "METHOD_NOT_ALLOWED")
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST", "PUT", "DELETE"} <= allowed
    assert "PATCH" not in allowed
    response = api.delete("/api/domains")
    failure(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("kind", ["form", "json"])
def test_body_above_max_content_length_is_413(make_app, raw, kind):
    """A body above MAX_CONTENT_LENGTH answers 413 REQUEST_TOO_LARGE and changes nothing."""
    app = make_app(MAX_CONTENT_LENGTH=200)
    with app.app_context():
        create_global_admin(get_directory(), ADMIN_EMAIL, ADMIN_PASSWORD)
    client = app.test_client()
    login(client)
    before = raw.snapshot()
    big = {"name": "x" * 300}
    if kind == "json":
        response = client.post("/api/domain/big.example", json=big)
    else:
        response = client.post("/api/domain/big.example", data=big)
    failure(response, 413, "REQUEST_TOO_LARGE")
    assert raw.snapshot() == before
    failure(app.test_client().post("/api/login", data={"username": "a" * 300, "password": "x"}),
            413, "REQUEST_TOO_LARGE")  # fmt: skip


def test_invalid_json_is_400(api, raw):
    """A body that is not valid JSON answers 400 INVALID_JSON and changes nothing."""
    before = raw.snapshot()
    response = api.post("/api/domain/j.example", data='{"name": ', content_type="application/json")
    failure(response, 400, "INVALID_JSON")
    assert raw.snapshot() == before


def test_invalid_json_on_login_is_400(client, admin):
    """Broken JSON on the public login route is 400 too."""
    failure(
        client.post("/api/login", data="{", content_type="application/json"), 400, "INVALID_JSON"
    )


# -- unexpected errors ------------------------------------------------------------------------------


def add_crashing_route(app):
    """Register a public route that raises an exception carrying internal details."""

    @requires(PUBLIC)
    def crash():
        raise RuntimeError(SECRET)

    app.add_url_rule("/api/test-crash", "test_crash", crash)


def test_unexpected_exception_is_generic_500(make_app, caplog):
    """An unhandled exception answers a generic 500 that leaks nothing; the log has the details."""
    app = make_app(PROPAGATE_UNEXPECTED=False)
    add_crashing_route(app)
    with caplog.at_level(logging.ERROR, logger="iredapi_ldap"):
        response = app.test_client().get("/api/test-crash")
    assert failure(response, 500, "INTERNAL_SERVER_ERROR") == GENERIC_500
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "RuntimeError" not in text and "Traceback" not in text
    assert any(r.exc_info and "hunter2" in str(r.exc_info[1]) for r in caplog.records)


def test_unexpected_exception_in_production_mode(make_app):
    """With TESTING off the same generic 500 is answered."""
    app = make_app(TESTING=False)
    add_crashing_route(app)
    response = app.test_client().get("/api/test-crash")
    assert failure(response, 500, "INTERNAL_SERVER_ERROR") == GENERIC_500


def test_unexpected_exception_propagates_in_tests(make_app):
    """Under TESTING (default) the exception reaches the test, so bugs are not hidden."""
    app = make_app()
    add_crashing_route(app)
    with pytest.raises(RuntimeError, match="hunter2"):
        app.test_client().get("/api/test-crash")


def test_ldap_error_is_generic_500(make_app, raw, slapd_server):
    """A real LDAP refusal (read-only service DN writing) is 500 without LDAP details."""
    creds = slapd_server.credentials
    app = make_app(LDAP_BIND_DN=creds.vmail_dn, LDAP_BIND_PASSWORD=creds.vmail_password,
                   PROPAGATE_UNEXPECTED=False)  # fmt: skip
    raw.conn.add(f"mail={ADMIN_EMAIL},o=domainAdmins,{raw.suffix}", ["mailAdmin"], {
        "mail": ADMIN_EMAIL, "accountStatus": "active", "domainGlobalAdmin": "yes",
        "userPassword": hash_password(ADMIN_PASSWORD, "SSHA512"),
    })  # fmt: skip
    client = app.test_client()
    login(client)
    before = raw.snapshot()
    response = client.post("/api/domain/ro.example", data={"name": "x"})
    assert failure(response, 500, "INTERNAL_SERVER_ERROR") == GENERIC_500
    text = response.get_data(as_text=True).lower()
    for leak in ("insufficient", "access", "vmail", "dc=example", "ldap3"):
        assert leak not in text
    assert raw.snapshot() == before


# -- directory unavailable ------------------------------------------------------------------------------


def test_ldap_down_is_503(make_app):
    """An unreachable directory answers 503 LDAP_SERVER_UNAVAILABLE on login and health."""
    app = make_app(LDAP_URI="ldap://127.0.0.1:1", LDAP_CONNECT_TIMEOUT=2)
    client = app.test_client()
    body = failure(client.post("/api/login", data={"username": ADMIN_EMAIL, "password": "x"}),
                   503, UNAVAILABLE)  # fmt: skip
    assert "127.0.0.1" not in body["detail"]
    failure(client.get("/api/health"), 503, UNAVAILABLE)
    assert get_pool(app).opened == 0


def test_wrong_service_password_is_503(make_app):
    """A refused service bind is 503 (the server is unusable), not 401 for the caller."""
    app = make_app(LDAP_BIND_PASSWORD="wrong-password")
    failure(app.test_client().get("/api/health"), 503, UNAVAILABLE)


def test_recovers_after_slapd_restart(make_app, private_slapd):
    """slapd stopped: 503; started again: the next request is 200, same app and session."""
    creds = private_slapd.credentials
    app = make_app(LDAP_URI=creds.uri, LDAP_BIND_DN=creds.vmailadmin_dn,
                   LDAP_BIND_PASSWORD=creds.vmailadmin_password, LDAP_SUFFIX=creds.suffix,
                   LDAP_CONNECT_TIMEOUT=2, LDAP_RECEIVE_TIMEOUT=5)  # fmt: skip
    with app.app_context():
        create_global_admin(get_directory(), ADMIN_EMAIL, ADMIN_PASSWORD)
    client = app.test_client()
    login(client)
    assert client.post("/api/domain/r.example").status_code == 201
    assert client.get("/api/domain/r.example").status_code == 200

    private_slapd.stop()
    failure(client.get("/api/domain/r.example"), 503, UNAVAILABLE)
    failure(client.get("/api/health"), 503, UNAVAILABLE)
    failure(client.get("/api/domains"), 503, UNAVAILABLE)

    private_slapd.start()
    response = client.get("/api/domain/r.example")
    assert response.status_code == 200, response.json
    assert response.json["_data"]["domain"] == "r.example"
    assert client.get("/api/health").status_code == 200
    assert client.put("/api/domain/r.example", data={"name": "back"}).status_code == 200


def test_query_string_on_route_without_query_arguments_is_refused(api, raw):
    """A query parameter a route does not read answers 400 naming it, and nothing changes."""
    assert api.post("/api/domain/q.test", data={"cn": "Q"}).status_code == 201
    response = api.delete("/api/domain/q.test?bogus=1")
    assert response.status_code == 400
    assert response.json["errors"] == {"bogus": ["Unknown field."]}
    assert raw.entry(raw.domain_dn("q.test")) is not None


def test_body_that_is_neither_json_nor_form_is_refused(api, raw):
    """A text/plain body answers 415 instead of being read as empty, and nothing changes."""
    assert api.post("/api/domain/t.test", data={"cn": "T"}).status_code == 201
    response = api.put("/api/domain/t.test", data="cn=Changed", content_type="text/plain")
    assert response.status_code == 415
    assert response.json["msg"] == "UNSUPPORTED_MEDIA_TYPE"
    assert raw.entry(raw.domain_dn("t.test"))["cn"] == ["T"]


def test_surrounding_whitespace_is_stripped(api, raw):
    """Text values are stored without surrounding whitespace."""
    assert api.post("/api/domain/w.test", data={"cn": "  Spaced  "}).status_code == 201
    assert raw.entry(raw.domain_dn("w.test"))["cn"] == ["Spaced"]
