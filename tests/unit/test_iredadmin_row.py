"""iRedAdmin's admin-log row of an audit row: which requests get one, and its wording."""

from __future__ import annotations

from datetime import datetime

import pytest

from iredapi_ldap.audit import iredadmin_row

AT = datetime(2026, 12, 2, 8, 0, 5, 123456)


def audit_row(**fields):
    """Return an audit row of a successful write by a@admins.test, with fields replaced."""
    row = {"timestamp": AT, "admin": "a@admins.test", "client_address": "192.0.2.1",
           "method": "PUT", "resource": "user", "domain": "example.com",
           "object": "bob@example.com", "action": "update", "status": 200}  # fmt: skip
    return {**row, **fields}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"method": "POST", "action": "rename", "resource": "alias", "object": "al@example.com"},
         ("example.com", "al@example.com", "update", "info", "[API] Rename alias: al@example.com.")),
        ({"resource": "users", "object": "example.com", "status": 202},
         ("example.com", "", "update", "info", "[API] Update users of domain: example.com.")),
        ({"method": "POST", "action": "create", "resource": "token", "object": "a@admins.test",
          "domain": "admins.test", "status": 201},
         ("admins.test", "a@admins.test", "create", "info",
          "[API] Create API token of admin: a@admins.test.")),
        ({"method": "DELETE", "action": "delete", "resource": "domain", "object": "example.com"},
         ("example.com", "", "delete", "info", "[API] Delete domain: example.com.")),
        ({"method": "POST", "action": "login", "resource": "login", "status": 401},
         ("", "", "login", "error", "[API] Login failed.")),
    ],
)  # fmt: skip
def test_a_recorded_request_gets_iredadmins_form(fields, expected):
    """Event, level and message as iRedAdmin words them; UTC time in whole seconds."""
    row = iredadmin_row(audit_row(**fields))
    assert (row["domain"], row["username"], row["event"], row["loglevel"], row["msg"]) == expected
    assert row["timestamp"] == AT.replace(microsecond=0)
    assert (row["admin"], row["ip"]) == ("a@admins.test", "192.0.2.1")


@pytest.mark.parametrize(
    "fields",
    [
        {"status": 403},  # refused
        {"status": 400},  # malformed
        {"status": 500},  # failed
        {"method": "GET", "action": "read", "status": 401},  # a read
        {"method": "POST", "action": "logout", "resource": "login"},
        {"method": "POST", "action": "verify_password"},
        {"method": "POST", "action": "login", "resource": "login", "status": 429},  # not checked
        {"action": ""},  # a bare row: the request could not be described
    ],
)
def test_refusals_reads_and_non_changes_get_no_row(fields):
    """iRedAdmin logs changes made and logins, nothing else."""
    assert iredadmin_row(audit_row(**fields)) is None


def test_values_are_cut_to_iredadmins_columns():
    """An address longer than iRedAdmin's ip VARCHAR(40) or a NUL cannot make the row fail."""
    row = iredadmin_row(audit_row(client_address="2001:db8:1:2:3:4:5:6%a-long-interface-name-0",
                                  admin="a\x00@admins.test"))  # fmt: skip
    assert len(row["ip"]) == 40
    assert row["admin"] == "a\\x00@admins.test"
