"""Field-level rights on mail users: mailbox path, transport and admin services (issue 11, 1-2)."""

from __future__ import annotations

import json
import os

import pytest
from werkzeug.datastructures import MultiDict

from tests.helpers import PASSWORD
from tests.helpers import add_admin
from tests.helpers import add_domain
from tests.helpers import add_user
from tests.helpers import login
from tests.helpers import new_client
from tests.helpers import tree

STANDARD = "std@partner.test"
HELPER = "helper@a.test"  # a mail user of a.test promoted to admin of a.test
USER, CHIEF, VICTIM = "user@a.test", "chief@a.test", "victim@b.test"
PLAIN = "plain@d.test"  # d.test holds no admin account, so bulk updates are the admin's
FOREIGN = "smtp:[203.0.113.9]:25"


@pytest.fixture
def storage(tmp_path_factory):
    """A storage base on this host (lower-case, as maildir values are stored)."""
    return tmp_path_factory.mktemp("vmail")


@pytest.fixture
def app_config(app_config, storage):
    """The test app's config with the storage base above."""
    return {**app_config, "STORAGE_BASE_DIRECTORY": str(storage)}


def home(storage, mail):
    """Return the mailbox path of a fixture user: <base>/<domain>/<first letter>/<local>/."""
    local, domain = mail.split("@")
    return f"{storage}/{domain}/{local[0]}/{local}/"


@pytest.fixture
def world(app, raw, admin, storage):
    """a.test (admins: STANDARD, HELPER; users incl. a global admin), b.test, d.test."""
    add_domain(raw, "a.test", admins=[STANDARD, HELPER])
    add_domain(raw, "b.test")
    add_domain(raw, "d.test", admins=[STANDARD])
    add_user(raw, PLAIN, homeDirectory=home(storage, PLAIN))
    add_admin(raw, STANDARD)
    add_user(raw, USER, homeDirectory=home(storage, USER))
    add_user(raw, HELPER, admin=True, homeDirectory=home(storage, HELPER))
    add_user(raw, CHIEF, admin=True, is_global=True, homeDirectory=home(storage, CHIEF))
    add_user(raw, VICTIM, homeDirectory=home(storage, VICTIM))
    return {
        "global": new_client(app, admin, "Secret-Pass-123"),
        "standard": new_client(app, STANDARD),
        "helper": new_client(app, HELPER),
    }


def assert_refused(response, field):
    """Assert 403 PERMISSION_DENIED naming exactly this field."""
    assert response.status_code == 403, response.json
    assert response.json["msg"] == "PERMISSION_DENIED"
    assert set(response.json["errors"]) == {field}, response.json


def stored(raw, mail, attribute):
    """Return an attribute's values on a user entry ([] when absent or no entry)."""
    return (raw.entry(raw.user_dn(mail)) or {}).get(attribute.lower(), [])


# -- mailbox path ---------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "{storage}/b.test/v/victim/",  # another tenant's mailbox: the reported attack
        "{storage}/b.test/new/",
        "{storage}/a.testx/u/user2/",  # a name that only starts like the domain's directory
        "{storage}/a.test/",  # the domain directory itself
        "{storage}/",
        "/etc/",
        "/var/vmail/vmail1/a.test/u/user2/",  # not this server's storage base
    ],
    ids=["victim", "other-domain", "prefix", "domain-dir", "base", "etc", "other-base"],
)
def test_maildir_outside_own_domain_is_refused(world, raw, storage, path):
    """PUT and POST: a domain admin's maildir must lie below its domain's directory (403)."""
    path = path.format(storage=storage)
    before = tree(raw)
    for client in (world["standard"], world["helper"]):
        assert_refused(client.put(f"/api/user/{USER}", data={"maildir": path}), "maildir")
        response = client.post("/api/user/new@a.test", data={"password": PASSWORD, "maildir": path})
        assert_refused(response, "maildir")
    assert tree(raw) == before


def test_maildir_through_a_symlink_is_refused(world, raw, storage):
    """A path in the domain's directory that a symlink on this host leads elsewhere is refused."""
    (storage / "a.test").mkdir()
    os.symlink(home(storage, VICTIM), storage / "a.test" / "link")
    os.symlink("/etc", storage / "a.test" / "etc")
    before = tree(raw)
    for path in ("link/", "link/sub/", "etc/", "etc/ssl/"):
        response = world["standard"].put(
            f"/api/user/{USER}", data={"maildir": f"{storage}/a.test/{path}"}
        )
        assert_refused(response, "maildir")
    assert tree(raw) == before


def test_maildir_overlapping_another_mailbox_is_refused(world, raw, storage):
    """Sharing, entering or containing another account's mailbox (a global admin's) is refused."""
    before = tree(raw)
    for path in (home(storage, CHIEF), home(storage, CHIEF) + "Maildir/", f"{storage}/a.test/c/"):
        response = world["standard"].put(f"/api/user/{USER}", data={"maildir": path})
        assert_refused(response, "maildir")
        assert CHIEF in response.json["errors"]["maildir"][0]
    assert tree(raw) == before
    # The user's own mailbox does not count against it.
    own = home(storage, USER) + "moved/"
    assert world["standard"].put(f"/api/user/{USER}", data={"maildir": own}).status_code == 200
    assert stored(raw, USER, "homeDirectory") == [own]


def test_maildir_of_another_domains_user_in_this_tree_is_refused(world, raw, storage):
    """A mailbox a global admin placed in a.test's directory for a b.test user stays its own."""
    placed = f"{storage}/a.test/shared/"
    add_user(raw, "guest@b.test", homeDirectory=placed)
    before = tree(raw)
    for path in (placed, placed + "Maildir/"):
        response = world["standard"].put(f"/api/user/{USER}", data={"maildir": path})
        assert_refused(response, "maildir")
        assert "guest@b.test" in response.json["errors"]["maildir"][0]
    assert tree(raw) == before


def test_maildir_inside_own_domain_is_accepted(world, raw, storage):
    """A fresh path below the domain's directory works on PUT and POST, lower-cased."""
    path = f"{storage}/a.test/Custom/user/"
    response = world["standard"].put(f"/api/user/{USER}", data={"maildir": path})
    assert response.status_code == 200, response.json
    assert stored(raw, USER, "homeDirectory") == [path.lower()]
    created = world["standard"].post(
        "/api/user/new@a.test", data={"password": PASSWORD, "maildir": f"{storage}/a.test/n/new"}
    )
    assert created.status_code == 201, created.json
    assert stored(raw, "new@a.test", "homeDirectory") == [f"{storage}/a.test/n/new"]


def test_domain_storage_base_is_honoured(world, raw, app):
    """A domain's defaultStorageBaseDirectory is its storage too (the path need not exist here)."""
    add_domain(raw, "c.test", admins=[STANDARD], defaultStorageBaseDirectory="/srv/vmail2")
    client = new_client(app, STANDARD)
    response = client.post(
        "/api/user/u@c.test", data={"password": PASSWORD, "maildir": "/srv/vmail2/c.test/u/u/"}
    )
    assert response.status_code == 201, response.json
    response = client.post(
        "/api/user/w@c.test", data={"password": PASSWORD, "maildir": "/srv/vmail2/a.test/w/"}
    )
    assert_refused(response, "maildir")
    assert stored(raw, "w@c.test", "mail") == []


def test_maildir_is_global_only_without_domain_directories(world, raw, make_app, storage):
    """With maildir_prepend_domain = no there is no per-domain tree: only global admins set it."""
    app = make_app(STORAGE_BASE_DIRECTORY=str(storage), MAILDIR_PREPEND_DOMAIN=False)
    before = tree(raw)
    response = new_client(app, STANDARD).put(
        f"/api/user/{USER}", data={"maildir": f"{storage}/a.test/u/x/"}
    )
    assert_refused(response, "maildir")
    assert tree(raw) == before


def test_global_admin_sets_any_maildir(world, raw, storage):
    """Global admins keep full freedom (absolute, no '..'), on PUT and POST."""
    client = world["global"]
    assert client.put(f"/api/user/{USER}", data={"maildir": "/etc/"}).status_code == 200
    assert stored(raw, USER, "homeDirectory") == ["/etc/"]
    response = client.post(
        "/api/user/new@a.test", data={"password": PASSWORD, "maildir": home(storage, VICTIM)}
    )
    assert response.status_code == 201, response.json
    response = client.put(f"/api/user/{USER}", data={"maildir": f"{storage}/a.test/../b.test/"})
    assert response.status_code == 400 and "maildir" in response.json["errors"]


# -- transport ------------------------------------------------------------------


def test_transport_is_global_only_by_default(world, raw):
    """A domain admin may not route a user's or all users' mail elsewhere; empty is allowed."""
    before = tree(raw)
    client = world["standard"]
    assert_refused(client.put(f"/api/user/{USER}", data={"transport": FOREIGN}), "transport")
    assert_refused(client.put(f"/api/user/{USER}", data={"transport": "dovecot"}), "transport")
    assert_refused(client.put("/api/users/d.test", data={"transport": FOREIGN}), "transport")
    assert tree(raw) == before
    assert world["global"].put(f"/api/user/{USER}", data={"transport": FOREIGN}).status_code == 200
    assert stored(raw, USER, "mtaTransport") == [FOREIGN]
    assert client.put(f"/api/user/{USER}", data={"transport": ""}).status_code == 200
    assert stored(raw, USER, "mtaTransport") == []
    response = client.put("/api/users/d.test", data={"transport": "", "language": "de_DE"})
    assert response.status_code == 200, response.json


def test_transport_allow_list(world, raw, make_app):
    """[api] domain_admin_transports lists what domain admins may set, compared exactly."""
    app = make_app(DOMAIN_ADMIN_TRANSPORTS="dovecot, lmtp:unix:private/dovecot-lmtp")
    client = new_client(app, STANDARD)
    for value in ("dovecot", "lmtp:unix:private/dovecot-lmtp"):
        response = client.put(f"/api/user/{USER}", data={"transport": value})
        assert response.status_code == 200, response.json
        assert stored(raw, USER, "mtaTransport") == [value]
    before = tree(raw)
    for value in (FOREIGN, "lmtp:unix:private/other"):
        response = client.put(f"/api/user/{USER}", data={"transport": value})
        assert_refused(response, "transport")
        assert "dovecot" in response.json["errors"]["transport"][0]
    assert_refused(client.put("/api/users/d.test", data={"transport": FOREIGN}), "transport")
    assert tree(raw) == before
    assert client.put("/api/users/d.test", data={"transport": "dovecot"}).status_code == 200
    assert stored(raw, PLAIN, "mtaTransport") == ["dovecot"]
    assert stored(raw, VICTIM, "mtaTransport") == []


# -- admin rights ---------------------------------------------------------------

GRANTS = [
    {"addService": "domainadmin"},
    {"addService": "imap, DomainAdmin"},
    {"services": "mail,deliver,domainadmin"},
    MultiDict([("services", "mail"), ("services", "domainadmin")]),
    {"isGlobalAdmin": "yes"},
]


@pytest.mark.parametrize("body", GRANTS, ids=["add", "add-case", "replace", "repeated", "global"])
def test_domain_admin_cannot_promote(world, raw, app, body):
    """Granting domainadmin in any parameter is 403; the user stays unable to log in as admin."""
    field = next(iter(body.keys()))
    before = tree(raw)
    for client in (world["standard"], world["helper"]):
        assert_refused(client.put(f"/api/user/{USER}", data=body), field)
    assert tree(raw) == before
    assert login(app.test_client(), USER).status_code == 401


def test_grant_in_json_list_is_refused(world, raw):
    """The same through a JSON list."""
    before = tree(raw)
    response = world["standard"].put(
        f"/api/user/{USER}",
        data=json.dumps({"services": ["mail", "domainadmin"]}),
        content_type="application/json",
    )
    assert_refused(response, "services")
    assert tree(raw) == before


@pytest.mark.parametrize(
    "body",
    [{"removeService": "domainadmin"}, {"services": "mail,imap"}, {"isGlobalAdmin": "no"}],
    ids=["remove", "replace", "global"],
)
def test_promoted_admin_cannot_remove_admin_rights(world, raw, body):
    """Removing an admin capability, own included, is global-only."""
    field = next(iter(body))
    before = tree(raw)
    assert_refused(world["helper"].put(f"/api/user/{HELPER}", data=body), field)
    assert tree(raw) == before


def test_other_services_stay_open(world, raw):
    """Services that confer no admin right are still the domain admin's to change."""
    response = world["helper"].put(f"/api/user/{HELPER}", data={"addService": "sogo"})
    assert response.status_code == 200, response.json
    response = world["standard"].put(f"/api/user/{USER}", data={"services": "mail,imap"})
    assert response.status_code == 200, response.json
    assert sorted(stored(raw, USER, "enabledService")) == ["imap", "mail"]


def test_global_admin_promotes(world, raw, app):
    """A global admin may grant domainadmin; the user then logs in as an admin."""
    response = world["global"].put(f"/api/user/{USER}", data={"addService": "domainadmin"})
    assert response.status_code == 200, response.json
    assert "domainadmin" in stored(raw, USER, "enabledService")
    assert login(app.test_client(), USER).status_code == 200
