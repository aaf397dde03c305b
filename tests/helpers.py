"""Helpers shared by the API tests: accounts made through the API, error checks, parallel calls."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.conftest import ADMIN_EMAIL
from tests.conftest import ADMIN_PASSWORD

DOMAIN = "example.com"
OTHER = "other.test"
PASSWORD = "Secret-Pass-123"


def make_domain(api, domain=DOMAIN, **params):
    """Create a domain through the API (asserting 201)."""
    response = api.post(f"/api/domain/{domain}", data=params)
    assert response.status_code == 201, response.json


def make_user(api, mail, **params):
    """Create a mail user through the API (asserting 201; PASSWORD unless given); return the response."""
    params.setdefault("password", PASSWORD)
    response = api.post(f"/api/user/{mail}", data=params)
    assert response.status_code == 201, response.json
    return response


def make_alias(api, mail, **params):
    """Create an alias through the API (asserting 201)."""
    response = api.post(f"/api/alias/{mail}", data=params)
    assert response.status_code == 201, response.json


def make_list(api, mail, **params):
    """Create a legacy mailing list through the API (asserting 201)."""
    response = api.post(f"/api/maillist/{mail}", data=params)
    assert response.status_code == 201, response.json


def make_example_accounts(api):
    """Host example.com with john and jane and other.test with bob, through the API."""
    make_domain(api)
    make_domain(api, OTHER)
    for mail in ("john@example.com", "jane@example.com", "bob@other.test"):
        make_user(api, mail)


def alias_dn(raw, mail):
    """Return the DN of an alias entry."""
    return f"mail={mail},ou=Aliases,{raw.domain_dn(mail.split('@')[1])}"


def list_dn(raw, mail):
    """Return the DN of a mailing list entry (legacy or mlmmj)."""
    return f"mail={mail},ou=Groups,{raw.domain_dn(mail.split('@')[1])}"


def assert_error(response, status, code, field=None, names=()):
    """Assert an error answer: status, msg/_msg code, and the field (naming `names`) if given."""
    assert response.status_code == status, response.json
    assert response.json["msg"] == code and response.json["_msg"] == code, response.json
    if field:
        assert field in response.json["errors"], response.json
        text = " ".join(response.json["errors"][field])
        for name in names:
            assert name in text, response.json


def logged_in_sessions(url, count):
    """Return `count` HTTP sessions logged in to the API at `url` as the global admin."""
    sessions = []
    for _ in range(count):
        session = requests.Session()
        credentials = {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        response = session.post(f"{url}/login", data=credentials)
        assert response.status_code == 200, response.text
        sessions.append(session)
    return sessions


def run_at_once(sessions, request):
    """Call request(session, index) from one thread per session, all released together."""
    barrier = threading.Barrier(len(sessions))

    def call(index):
        barrier.wait()
        response = request(sessions[index], index)
        return response.status_code, response.json()

    try:
        with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
            return list(pool.map(call, range(len(sessions))))
    finally:
        for session in sessions:
            session.close()


def private_app(make_app, server, **overrides):
    """Build an app bound to a private slapd (one a test may stop), with short timeouts."""
    creds = server.credentials
    return make_app(LDAP_URI=creds.uri, LDAP_BIND_DN=creds.vmailadmin_dn,
                    LDAP_BIND_PASSWORD=creds.vmailadmin_password, LDAP_SUFFIX=creds.suffix,
                    LDAP_CONNECT_TIMEOUT=2, LDAP_RECEIVE_TIMEOUT=5, **overrides)  # fmt: skip
