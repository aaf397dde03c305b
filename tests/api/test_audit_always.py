"""Audit rows that cannot be lost: exceptions, undescribable requests, values a database refuses."""

from __future__ import annotations

import json
import logging

import pytest

from iredapi_ldap.audit import note
from iredapi_ldap.auth import PUBLIC
from iredapi_ldap.auth import requires
from tests.helpers import app_with
from tests.helpers import audit_rows


class Unprintable:
    """A value whose text cannot be taken (a bug elsewhere must not lose the row)."""

    def __str__(self):
        raise RuntimeError("no text")


def add_route(app, rule, view):
    """Register a public POST route on an app (routes are added before the first request)."""
    app.add_url_rule(rule, view.__name__, requires(PUBLIC)(view), methods=["POST"])


def test_a_write_that_raises_is_recorded_even_when_the_exception_propagates(make_app):
    """Under TESTING the exception reaches the caller past after_request; teardown writes the row."""
    app = make_app()

    def crash():
        raise RuntimeError("boom")

    add_route(app, "/api/test-crash", crash)
    with pytest.raises(RuntimeError, match="boom"):
        app.test_client().post("/api/test-crash", data={"name": "x"})
    rows = audit_rows(app.config["SQL_URL"])
    assert [(r["method"], r["path"], r["status"], r["result"]) for r in rows] == [
        ("POST", "/api/test-crash", 500, "INTERNAL_SERVER_ERROR")
    ]
    assert json.loads(rows[0]["parameters"]) == {"name": "x"}


def test_a_request_that_cannot_be_described_is_recorded_bare(make_app, caplog):
    """If describing the request fails, a bare row (method, path, status) is written; the answer stands."""
    from iredapi_ldap.api.envelope import answer

    app = make_app()

    def odd():
        note(object=Unprintable())
        return answer(None, 200, None)

    add_route(app, "/api/test-odd", odd)
    with caplog.at_level(logging.ERROR, logger="iredapi_ldap"):
        response = app.test_client().post("/api/test-odd")
    assert response.status_code == 200
    rows = audit_rows(app.config["SQL_URL"])
    assert [(r["method"], r["path"], r["status"], r["admin"]) for r in rows] == [
        ("POST", "/api/test-odd", 200, "")
    ]
    assert "Audit row of POST /api/test-odd not described in full" in caplog.text


def test_nul_and_undecodable_path_values_are_stored(app_config, admin, sql_url):
    """A NUL in the path (PostgreSQL refuses it in text) still gives a row, on both backends."""
    with app_with(app_config, SQL_URL=sql_url) as node:
        client = node.test_client()
        response = client.post("/api/domain/a%00b.test")
        assert response.status_code == 401
        response = client.delete("/api/user/%ff%00@a.test")
        assert response.status_code == 401
    rows = audit_rows(sql_url)
    assert [(r["method"], r["status"], r["path"], r["object"]) for r in rows] == [
        ("POST", 401, "/api/domain/a\\x00b.test", "a\\x00b.test"),
        ("DELETE", 401, "/api/user/\ufffd\\x00@a.test", "\ufffd\\x00@a.test"),
    ]
