"""RFC 5805 transactions (ldap/txn.py) and `[ldap] transactions = yes` for user creation.

Run on a throwaway slapd: slapd 2.5.13 corrupts its memory when a transaction
fails at commit or commits under concurrent load (docs/performance.md), so these
tests commit only sequential transactions that succeed, and check the failure
report (txnEndRes) from the bytes slapd sends.
"""

from __future__ import annotations

import pytest
from ldap3 import BASE
from ldap3 import Connection
from ldap3 import Server

from iredapi_ldap.ldap import Directory
from iredapi_ldap.ldap import get_directory
from iredapi_ldap.ldap.txn import END_OID
from iredapi_ldap.ldap.txn import START_OID
from iredapi_ldap.ldap.txn import end_request_value
from iredapi_ldap.ldap.txn import failed_message_id
from iredapi_ldap.ldap.txn import spec_control
from iredapi_ldap.models.admins.create import create_global_admin
from tests.conftest import ADMIN_EMAIL
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import new_client
from tests.helpers import private_app


def test_end_request_is_ber_of_rfc_5805():
    # SEQUENCE { identifier "" } — commit TRUE is the DEFAULT and left out.
    assert end_request_value(b"") == b"\x30\x02\x04\x00"
    assert end_request_value(b"\x01\x02") == b"\x30\x04\x04\x02\x01\x02"
    # SEQUENCE { commit FALSE, identifier "" }
    assert end_request_value(b"", commit=False) == b"\x30\x05\x01\x01\x00\x04\x00"
    assert spec_control(b"") == ("1.3.6.1.1.21.2", True, b"")
    assert (START_OID, END_OID) == ("1.3.6.1.1.21.1", "1.3.6.1.1.21.3")


def test_failed_update_is_named_by_its_message_id():
    # What slapd 2.5 answered when the 12th message (a compare-and-swap modify) failed.
    assert failed_message_id(b"\x30\x03\x02\x01\x0c") == 12
    assert failed_message_id(b"\x30\x00") is None
    assert failed_message_id(None) is None
    assert failed_message_id(b"garbage") is None


@pytest.fixture
def directory(private_slapd):
    """A Directory on a throwaway slapd, bound as cn=vmailadmin, with one domain."""
    creds = private_slapd.credentials
    conn = Connection(Server(creds.uri), creds.vmailadmin_dn, creds.vmailadmin_password,
                      auto_bind=True, raise_exceptions=True)  # fmt: skip
    found = Directory(conn, creds.suffix)
    found.add(found.dn.domain("txn.test"), {"objectClass": "mailDomain", "domainName": "txn.test",
                                            "domainCurrentUserNumber": "4"})  # fmt: skip
    found.add(found.dn.users("txn.test"), {"objectClass": "organizationalUnit", "ou": "Users"})
    yield found
    conn.unbind()


def _user(directory, mail):
    return {"objectClass": ["inetOrgPerson", "mailUser"], "mail": mail, "uid": mail.split("@")[0],
            "sn": "x", "cn": "x"}  # fmt: skip


def _counter(creds, dn):
    """Read the counter on a second connection (what other clients see)."""
    conn = Connection(Server(creds.uri), creds.root_dn, creds.root_password, auto_bind=True)
    conn.search(dn, "(objectClass=*)", BASE, attributes=["domainCurrentUserNumber"])
    value = conn.response[0]["raw_attributes"]["domainCurrentUserNumber"][0].decode()
    conn.unbind()
    return value


def test_updates_are_applied_together_at_commit(directory, private_slapd):
    domain_dn = directory.dn.domain("txn.test")
    with directory.transaction() as txn:
        directory.modify(domain_dn, {"domainCurrentUserNumber": ("increment", 1)}, txn=txn)
        directory.add(directory.dn.user("a@txn.test"), _user(directory, "a@txn.test"), txn=txn)
        assert txn.queued == 2
        # Queued, not applied: nobody sees them before the end.
        assert _counter(private_slapd.credentials, domain_dn) == "4"
        assert directory.get(directory.dn.user("a@txn.test")) is None
    assert _counter(private_slapd.credentials, domain_dn) == "5"
    assert directory.get(directory.dn.user("a@txn.test")).first("mail") == "a@txn.test"


def test_leaving_with_an_error_aborts_and_frees_the_connection(directory, private_slapd):
    domain_dn = directory.dn.domain("txn.test")
    with pytest.raises(RuntimeError):
        with directory.transaction() as txn:
            directory.modify(domain_dn, {"domainCurrentUserNumber": ("increment", 1)}, txn=txn)
            directory.add(directory.dn.user("b@txn.test"), _user(directory, "b@txn.test"), txn=txn)
            raise RuntimeError("changed my mind")
    assert _counter(private_slapd.credentials, domain_dn) == "4"
    assert directory.get(directory.dn.user("b@txn.test")) is None
    # The connection is out of the transaction: a plain update applies at once.
    directory.modify(domain_dn, {"domainCurrentUserNumber": ("increment", 2)})
    assert _counter(private_slapd.credentials, domain_dn) == "6"
    with directory.transaction() as txn:
        directory.modify(domain_dn, {"domainCurrentUserNumber": ("increment", 1)}, txn=txn)
    assert _counter(private_slapd.credentials, domain_dn) == "7"


@pytest.fixture
def txn_client(make_app, private_slapd):
    """A logged-in client of an app with [ldap] transactions = yes on the throwaway slapd."""
    # app_config writes counters with each request, which transactions need.
    app = private_app(make_app, private_slapd, LDAP_TRANSACTIONS=True)
    with app.app_context():
        create_global_admin(get_directory(), ADMIN_EMAIL, ADMIN_PASSWORD)
    return new_client(app, ADMIN_EMAIL, ADMIN_PASSWORD)


def test_create_user_with_transactions(txn_client, private_slapd):
    creds = private_slapd.credentials
    raw = Connection(Server(creds.uri), creds.root_dn, creds.root_password, auto_bind=True)
    assert txn_client.post("/api/domain/t.example").status_code == 201
    for name in ("a", "b", "c"):
        response = txn_client.post(
            f"/api/user/{name}@t.example", data={"password": "Secret-Pass-123"}
        )
        assert response.status_code == 201, response.json
        assert response.json["_data"]["mail"] == f"{name}@t.example"
    raw.search(f"domainName=t.example,o=domains,{creds.suffix}", "(objectClass=*)", BASE,
               attributes=["domainCurrentUserNumber", "domainCurrentQuotaSize"])  # fmt: skip
    stored = raw.response[0]["raw_attributes"]
    assert stored["domainCurrentUserNumber"] == [b"3"] and stored["domainCurrentQuotaSize"] == [
        b"0"
    ]
    # Taken addresses are refused before anything is written (no failing transaction).
    response = txn_client.post("/api/user/a@t.example", data={"password": "Secret-Pass-123"})
    assert response.status_code == 409
    # A limited domain keeps the compare-and-swap reservation.
    assert txn_client.put("/api/domain/t.example", data={"numberOfUsers": "4"}).status_code == 200
    assert (
        txn_client.post("/api/user/d@t.example", data={"password": "Secret-Pass-123"}).status_code
        == 201
    )
    response = txn_client.post("/api/user/e@t.example", data={"password": "Secret-Pass-123"})
    assert response.status_code == 403 and response.json["msg"] == "EXCEEDED_DOMAIN_ACCOUNT_LIMIT"
    raw.search(f"domainName=t.example,o=domains,{creds.suffix}", "(objectClass=*)", BASE,
               attributes=["domainCurrentUserNumber"])  # fmt: skip
    assert raw.response[0]["raw_attributes"]["domainCurrentUserNumber"] == [b"4"]
    raw.unbind()
