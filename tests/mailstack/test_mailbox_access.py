"""A domain admin cannot point a mailbox at another tenant's mail: checked through the real Dovecot."""

from __future__ import annotations

import os
import shutil

import pytest

from iredapi_ldap import create_app
from iredapi_ldap import sqlstore
from iredapi_ldap.ldap.connection import get_pool
from tests.conftest import AuthActions
from tests.conftest import checked
from tests.helpers import new_client
from tests.helpers import tree
from tests.mailstack.harness import deliver
from tests.mailstack.harness import make_storage

PASSWORD = "Mail-Stack-Pass-42"
DOMAIN_ADMIN = "std@partner.test"
ADMIN_PASSWORD = "Domain-Admin-Pass-42"
ATTACKER, VICTIM = "attacker@a.test", "victim@b.test"
SECRET = "b-test-confidential"


@pytest.fixture
def storage():
    """A mail storage base on this host that Dovecot's mail owner can read."""
    base = make_storage()
    yield base
    shutil.rmtree(base)


@pytest.fixture
def tenants(ldap_tree, app_config, storage, dovecot):
    """a.test and b.test with one user each (mailboxes on disk), a domain admin of a.test only."""
    app = checked(create_app({**app_config, "STORAGE_BASE_DIRECTORY": str(storage)}))
    from iredapi_ldap.ldap import get_directory
    from iredapi_ldap.models.admins.create import create_global_admin
    from tests.conftest import ADMIN_EMAIL
    from tests.conftest import ADMIN_PASSWORD as GLOBAL_PASSWORD

    with app.app_context():
        create_global_admin(get_directory(), ADMIN_EMAIL, GLOBAL_PASSWORD)
    api = app.test_client()
    assert AuthActions(api).login().status_code == 200
    for domain in ("a.test", "b.test"):
        assert api.post(f"/api/domain/{domain}").status_code == 201
    homes = {}
    for mail in (ATTACKER, VICTIM):
        created = api.post(f"/api/user/{mail}", data={"password": PASSWORD})
        assert created.status_code == 201, created.json
        homes[mail] = created.json["_data"]["maildir"]
    deliver(homes[VICTIM], SECRET)
    deliver(homes[ATTACKER], "attacker's own mail")
    created = api.post(
        f"/api/admin/{DOMAIN_ADMIN}", data={"password": ADMIN_PASSWORD, "domains": "a.test"}
    )
    assert created.status_code == 201, created.json
    yield {
        "app": app,
        "global": api,
        "admin": new_client(app, DOMAIN_ADMIN, ADMIN_PASSWORD),
        "homes": homes,
    }
    get_pool(app).close_all()
    sqlstore.dispose(app)


def test_domain_admin_cannot_read_another_tenants_mail(tenants, storage, raw, dovecot):
    """PUT/POST maildir into b.test's mailbox, via a symlink, or at /etc/: 403, Dovecot unchanged."""
    client, homes = tenants["admin"], tenants["homes"]
    assert dovecot.subjects(VICTIM) == [SECRET]
    assert dovecot.subjects(ATTACKER) == ["attacker's own mail"]
    a_dir = storage / "a.test"
    os.symlink(homes[VICTIM], a_dir / "shortcut")
    before = tree(raw)
    attempts = [
        ("put", f"/api/user/{ATTACKER}", {"maildir": homes[VICTIM]}),
        ("put", f"/api/user/{ATTACKER}", {"maildir": homes[VICTIM].rstrip("/")}),
        ("put", f"/api/user/{ATTACKER}", {"maildir": f"{a_dir}/shortcut/"}),
        ("put", f"/api/user/{ATTACKER}", {"maildir": f"{a_dir}/../b.test/x/"}),
        ("put", f"/api/user/{ATTACKER}", {"maildir": "/etc/"}),
        ("post", "/api/user/thief@a.test", {"password": PASSWORD, "maildir": homes[VICTIM]}),
        ("post", "/api/user/thief@a.test", {"password": PASSWORD, "maildir": f"{a_dir}/shortcut"}),
        ("post", "/api/user/thief@a.test", {"password": PASSWORD, "maildir": "/etc/"}),
    ]
    for method, path, body in attempts:
        response = getattr(client, method)(path, data=body)
        if ".." in body["maildir"]:
            assert response.status_code == 400 and "maildir" in response.json["errors"], body
            continue
        assert response.status_code == 403, (body, response.json)
        assert response.json["msg"] == "PERMISSION_DENIED"
        assert set(response.json["errors"]) == {"maildir"}
    assert tree(raw) == before
    assert dovecot.user_lookup(ATTACKER)["home"].rstrip("/") == homes[ATTACKER].rstrip("/")
    assert dovecot.user_lookup("thief@a.test") is None
    assert dovecot.auth_test(ATTACKER, PASSWORD)
    assert SECRET not in dovecot.subjects(ATTACKER)
    assert dovecot.subjects(VICTIM) == [SECRET]


def test_domain_admin_moves_a_mailbox_within_its_domain(tenants, storage, raw, dovecot):
    """A path inside the admin's own domain directory is accepted, and Dovecot serves it."""
    moved = f"{storage}/a.test/moved/attacker/"
    deliver(moved, "moved mail")
    response = tenants["admin"].put(f"/api/user/{ATTACKER}", data={"maildir": moved})
    assert response.status_code == 200, response.json
    assert raw.entry(raw.user_dn(ATTACKER))["homedirectory"] == [moved]
    assert dovecot.subjects(ATTACKER) == ["moved mail"]


def test_global_admin_keeps_full_freedom(tenants, raw, dovecot):
    """The same change from a global admin is applied; this is what the refusal prevents."""
    homes = tenants["homes"]
    response = tenants["global"].put(f"/api/user/{ATTACKER}", data={"maildir": homes[VICTIM]})
    assert response.status_code == 200, response.json
    assert raw.entry(raw.user_dn(ATTACKER))["homedirectory"] == [homes[VICTIM]]
    assert dovecot.subjects(ATTACKER) == [SECRET]
