"""Connection pool, fork safety, recovery, and the Directory wrapper against the real slapd."""

from __future__ import annotations

import json
import os
import warnings

import pytest
from ldap3 import Connection
from ldap3 import Server

from iredapi_ldap import errors
from iredapi_ldap.ldap import StaleValue
from iredapi_ldap.ldap import connection as connection_module
from iredapi_ldap.ldap import filters as F
from iredapi_ldap.ldap import get_directory
from iredapi_ldap.ldap import get_pool
from iredapi_ldap.ldap.connection import PooledDirectory
from iredapi_ldap.ldap.connection import parse_uris
from iredapi_ldap.ldap.directory import Entry
from iredapi_ldap.ldap.dn import rdn
from iredapi_ldap.models.admins.create import create_global_admin
from tests.conftest import ADMIN_EMAIL
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import private_app

HOSTILE = ["*", "*)(domainName=*", "*)(|(objectClass=*", "a.com)(objectClass=*", "\\2a",
           "(", ")", "\\", "a,b+c", "#lead", " lead", "trail ", "münchen"]  # fmt: skip


@pytest.fixture
def directory(module_app, ldap_tree):
    """Yield a pooled Directory inside an app context, on a freshly reset tree."""
    with module_app.app_context():
        yield get_directory()


def add_domains(raw, *names):
    """Add bare mailDomain entries directly."""
    for name in names:
        assert raw.conn.add(raw.domain_dn(name), ["mailDomain"], {"domainName": name}), (
            raw.conn.result
        )


# -- pool ---------------------------------------------------------------------------------------


def test_creating_the_app_does_not_connect(make_app):
    """create_app opens no connection, so a dead server does not stop it (lazy binds)."""
    app = make_app(LDAP_URI="ldap://127.0.0.1:1")
    assert get_pool(app).opened == 0


@pytest.fixture
def own_app(make_app):
    """An app whose requests each push their own app context (unlike the `app` fixture's)."""
    app = make_app()
    with app.app_context():
        create_global_admin(get_directory(), ADMIN_EMAIL, ADMIN_PASSWORD)
    return app


def logged_in(app):
    """Return a test client of app, logged in as the global admin."""
    client = app.test_client()
    response = client.post("/api/login", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.json
    return client


def test_steady_state_opens_no_new_connections(own_app):
    """After the first request, 20 more reuse the same pooled connection."""
    client = logged_in(own_app)
    assert client.post("/api/domain/pool.example").status_code == 201
    pool = get_pool(own_app)
    opened = pool.opened
    assert opened == 1 and len(pool._idle) == 1
    for i in range(10):
        assert client.get("/api/domain/pool.example").status_code == 200
        assert client.get(f"/api/domains?page={i + 1}").status_code == 200
    assert pool.opened == opened
    assert len(pool._idle) == 1


def test_teardown_returns_the_connection(app):
    """Leaving the app context gives the connection back to the pool."""
    with app.app_context():
        conn = get_directory().conn
        assert get_directory().conn is conn
    assert get_pool(app)._idle == [conn]
    with app.app_context():
        assert get_directory().conn is conn


def test_pool_keeps_at_most_pool_size(make_app):
    """Connections beyond LDAP_POOL_SIZE are unbound on release."""
    app = make_app(LDAP_POOL_SIZE=2)
    pool = get_pool(app)
    conns = [pool.acquire()[0] for _ in range(3)]
    assert pool.opened == 3
    for conn in conns:
        pool.release(conn)
    assert pool._idle == conns[:2]
    assert conns[2].closed and not conns[0].closed


def test_broken_or_closed_connections_are_not_pooled(app):
    """release(broken=True) and closed connections are discarded."""
    pool = get_pool(app)
    first, _ = pool.acquire()
    second, _ = pool.acquire()
    pool.release(first, broken=True)
    second.unbind()
    pool.release(second)
    assert pool._idle == []
    assert first.closed


def test_pool_reset_when_pid_changes(app, monkeypatch):
    """After a fork (new pid) inherited connections are dropped, not unbound, and new ones open."""
    pool = get_pool(app)
    parent_conn, _ = pool.acquire()
    pool.release(parent_conn)
    assert pool._idle == [parent_conn]
    real_pid = os.getpid()
    monkeypatch.setattr(connection_module.os, "getpid", lambda: real_pid + 1)
    child_conn, reused = pool.acquire()
    assert not reused and child_conn is not parent_conn
    assert pool.opened == 2
    # The parent's socket must still work: the "child" did not unbind it.
    assert parent_conn.bound and parent_conn.search(pool.bind_dn, "(objectClass=*)", "BASE")
    pool.release(child_conn)
    assert pool._idle == [child_conn]
    connection_module.discard(parent_conn)  # the pool forgot it; close it for the test


def test_real_fork_gets_fresh_connections(own_app):
    """A forked child opens its own connection; the parent's pooled one keeps working."""
    app = own_app
    api = logged_in(app)
    assert api.post("/api/domain/fork.example").status_code == 201
    pool = get_pool(app)
    parent_conn = pool._idle[0]
    opened = pool.opened
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # multi-threaded fork (3.12+)
        pid = os.fork()
    if pid == 0:  # child: report and leave without running any cleanup
        os.close(read_end)
        try:
            with app.app_context():
                directory = get_directory()
                found = directory.exists(directory.dn.domain("fork.example"))
                report = {"found": found, "opened": pool.opened,
                          "fresh": directory.conn is not parent_conn}  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - anything must reach the parent
            report = {"error": repr(exc)}
        os.write(write_end, json.dumps(report).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        report = json.loads(pipe.read() or "{}")
    os.waitpid(pid, 0)
    assert report == {"found": True, "opened": opened + 1, "fresh": True}
    assert api.get("/api/domain/fork.example").status_code == 200
    assert pool.opened == opened
    assert pool._idle == [parent_conn]


def test_restart_between_requests_is_invisible(make_app, private_slapd):
    """A pooled connection killed by a slapd restart is replaced within the same request."""
    app = private_app(make_app, private_slapd)
    client = app.test_client()
    assert client.get("/api/health").status_code == 200
    private_slapd.stop()
    private_slapd.start()
    response = client.get("/api/health")
    assert response.status_code == 200, response.json
    assert get_pool(app).opened == 2


def test_second_uri_used_when_first_is_down(make_app, slapd_server):
    """With several URIs, a dead first server is skipped."""
    uri = f"ldap://127.0.0.1:1 {slapd_server.credentials.uri}"
    app = make_app(LDAP_URI=uri, LDAP_CONNECT_TIMEOUT=2)
    assert app.test_client().get("/api/health").status_code == 200


def test_parse_uris():
    """URIs may be separated by spaces or commas; trailing slashes are dropped."""
    assert parse_uris("ldap://a/, ldap://b:389  ldaps://c/") == [
        "ldap://a",
        "ldap://b:389",
        "ldaps://c",
    ]
    assert parse_uris("") == []


def test_unreachable_server_raises_directory_unavailable(make_app):
    """Opening a connection to a dead port raises DirectoryUnavailable, never an ldap3 error."""
    app = make_app(LDAP_URI="ldap://127.0.0.1:1", LDAP_CONNECT_TIMEOUT=2)
    with app.app_context():
        with pytest.raises(errors.DirectoryUnavailable):
            get_directory()
        with pytest.raises(errors.DirectoryUnavailable):
            get_directory()
    assert get_pool(app).opened == 0


def test_bad_service_password_raises_directory_unavailable(make_app):
    """A refused service bind is DirectoryUnavailable (503)."""
    app = make_app(LDAP_BIND_PASSWORD="nope")
    with app.app_context():
        with pytest.raises(errors.DirectoryUnavailable):
            get_directory()


# -- hostile values against the real server --------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_filter_values_match_nothing(raw, directory, value):
    """Escaped hostile values match no domain, while an exact name still matches one."""
    add_domains(raw, "a.com", "b.com")
    base = directory.dn.domains
    for search_filter in (F.eq("domainName", value), F.contains("domainName", value),
                          F.and_(F.object_class("mailDomain"), F.eq("domainName", value)),
                          F.any_of("domainName", [value, value + "x"])):  # fmt: skip
        assert list(directory.search(base, search_filter, ["domainName"])) == [], search_filter
        assert directory.count(base, search_filter) == 0
    assert directory.count(base, F.eq("domainName", "a.com")) == 1
    assert directory.count(base, F.contains("domainName", ".co")) == 2


def test_nul_in_a_filter_value_never_reaches_slapd(raw, directory):
    """slapd would match a.com for (domainName=a.com\\00x); the builder refuses the value."""
    add_domains(raw, "a.com")
    raw.conn.search(directory.dn.domains, "(domainName=a.com\\00x)", attributes=["1.1"])
    assert len(raw.conn.response) == 1  # the server-side truncation this guards against
    with pytest.raises(errors.ValidationFailed):
        directory.count(directory.dn.domains, F.eq("domainName", "a.com\x00x"))


@pytest.mark.parametrize("value", HOSTILE + ["a.com\x00", "mid#dle", "a\\00", "日本"])
def test_hostile_rdn_values_round_trip(raw, directory, value):
    """Entries named with hostile values are created, found, read back and deleted exactly."""
    add_domains(raw, "a.com")
    dn = f"{rdn('cn', value)},{directory.dn.domains}"
    directory.add(dn, {"objectClass": "organizationalRole", "cn": value})
    assert raw.children(directory.dn.domains) != []
    entry = directory.get(dn, ["cn"])
    assert entry is not None and entry.all("cn") == [value]
    role = F.object_class("organizationalRole")
    found = list(directory.search(directory.dn.domains, role, ["cn"], scope="one"))
    assert len(found) == 1
    if "\x00" not in value:
        assert [e.dn for e in directory.search(directory.dn.domains, F.eq("cn", value))] == [
            found[0].dn
        ]
    assert directory.dn.rdn_value(found[0].dn) == value  # the DN as slapd spells it
    directory.modify(found[0].dn, {"description": ("replace", "seen")})
    assert directory.get(dn, ["description"]).first("description") == "seen"
    assert directory.delete_tree(found[0].dn) == 1
    assert directory.get(dn) is None
    assert directory.count(directory.dn.domains, F.eq("domainName", "a.com")) == 1


def test_user_dn_with_hash_is_deleted_with_its_domain(raw, directory):
    """A user whose address has '#' is removed by delete_tree (slapd returns the '#' bare)."""
    add_domains(raw, "h.example")
    ou = f"ou=Users,{raw.domain_dn('h.example')}"
    raw.conn.add(ou, ["organizationalUnit"], {"ou": "Users"})
    mail = "a#b@h.example"
    directory.add(directory.dn.user(mail), {
        "objectClass": ["inetOrgPerson", "mailUser"], "mail": mail, "uid": "a#b", "cn": "x",
        "sn": "x",
    })  # fmt: skip
    [entry] = directory.search(ou, F.eq("mail", mail), ["mail"], scope="one")
    assert directory.dn.rdn_value(entry.dn) == mail
    assert directory.delete_tree(raw.domain_dn("h.example")) == 3
    assert raw.entry(raw.domain_dn("h.example")) is None


# -- paging and the size limit ----------------------------------------------------------------------


@pytest.fixture
def big_ou(raw, ldap_tree):
    """Add one ou holding 650 entries (slapd's size limit for the service DN is 500)."""
    base = f"ou=Big,o=domains,{raw.suffix}"
    assert raw.conn.add(base, ["organizationalUnit"], {"ou": "Big"})
    for i in range(650):
        assert raw.conn.add(f"cn=e{i:03d},{base}", ["organizationalRole"], {"cn": f"e{i:03d}"})
    return base


def test_size_limit_is_real(big_ou, slapd_server):
    """An unpaged search by the service DN stops at 500: paging is needed."""
    creds = slapd_server.credentials
    conn = Connection(Server(creds.uri), creds.vmailadmin_dn, creds.vmailadmin_password,
                      auto_bind=True)  # fmt: skip
    try:
        conn.search(big_ou, "(objectClass=organizationalRole)", attributes=["1.1"])
        assert conn.result["description"] == "sizeLimitExceeded"
        assert len(conn.response) == 500
    finally:
        conn.unbind()


def test_paged_search_returns_everything(big_ou, directory):
    """search/count page through all 650 entries with any page size."""
    search_filter = F.object_class("organizationalRole")
    assert directory.count(big_ou, search_filter) == 650
    names = [e.first("cn") for e in directory.search(big_ou, search_filter, ["cn"], page_size=7)]
    assert sorted(names) == [f"e{i:03d}" for i in range(650)]
    assert len(list(directory.search(big_ou, search_filter, ["cn"], scope="one"))) == 650


def test_window_beyond_the_size_limit(big_ou, directory):
    """window() picks [offset, offset+limit) and reports the full total."""
    search_filter = F.object_class("organizationalRole")
    entries, total = directory.window(big_ou, search_filter, ["cn"], "one", 640, 20)
    assert total == 650 and len(entries) == 10
    entries, total = directory.window(big_ou, search_filter, ["cn"], "one", 700, 20)
    assert (entries, total) == ([], 650)


def test_delete_tree_beyond_the_size_limit(big_ou, directory, raw):
    """delete_tree removes 651 entries through paged searches."""
    assert directory.delete_tree(big_ou) == 651
    assert raw.entry(big_ou) is None


# -- the Directory wrapper --------------------------------------------------------------------------


def test_errors_are_translated(raw, directory):
    """ldap3 failures come out as the API's errors."""
    add_domains(raw, "e.example")
    dn = raw.domain_dn("e.example")
    raw.conn.add(f"ou=Users,{dn}", ["organizationalUnit"], {"ou": "Users"})
    with pytest.raises(errors.AlreadyExists):
        directory.add(dn, {"objectClass": "mailDomain", "domainName": "e.example"})
    with pytest.raises(errors.NotEmpty):
        directory.delete(dn)
    missing = raw.domain_dn("missing.example")
    with pytest.raises(errors.NotFound):
        directory.modify(missing, {"cn": ("replace", "x")})
    with pytest.raises(errors.NotFound):
        directory.delete(missing)
    assert directory.modify_ignoring_missing(missing, {"cn": ("replace", "x")}) is False
    assert directory.get(missing) is None and not directory.exists(missing)
    with pytest.raises(errors.ValidationFailed):
        directory.get("this is not a dn")


def test_search_below_missing_base_is_not_found(directory):
    """A search under a base that does not exist raises NotFound (404)."""
    with pytest.raises(errors.NotFound):
        list(directory.search("ou=gone,o=domains," + directory.dn.suffix, F.everything()))


def test_modify_is_atomic_and_detects_stale_values(raw, directory):
    """Deleting a value that another writer already changed fails as a whole (StaleValue)."""
    add_domains(raw, "s.example")
    dn = raw.domain_dn("s.example")
    directory.modify(dn, {"accountSetting": ("add", ["numberOfUsers:5", "defaultQuota:10"])})
    raw.conn.modify(dn, {"accountSetting": [("MODIFY_DELETE", ["numberOfUsers:5"]),
                                            ("MODIFY_ADD", ["numberOfUsers:7"])]})  # fmt: skip
    with pytest.raises(StaleValue) as info:
        directory.modify(dn, {
            "cn": ("replace", "should not be written"),
            "accountSetting": [("delete", ["numberOfUsers:5"]), ("add", ["numberOfUsers:9"])],
        })  # fmt: skip
    assert info.value.status == 409 and info.value.code == "CONFLICT"
    stored = raw.attrs(dn)
    assert stored["accountsetting"] == ["defaultQuota:10", "numberOfUsers:7"]
    assert "cn" not in stored


def test_add_leaves_out_empty_values(raw, directory):
    """None, "" and [] attributes are not written; other values become strings."""
    add_domains(raw, "v.example")
    dn = f"cn=x,{raw.domain_dn('v.example')}"
    directory.add(dn, {"objectClass": ["organizationalRole"], "cn": "x", "description": None,
                       "l": [], "ou": "", "telephoneNumber": 12345})  # fmt: skip
    assert raw.attrs(dn) == {"objectclass": ["organizationalRole"], "cn": ["x"],
                             "telephonenumber": ["12345"]}  # fmt: skip


def test_increment_and_rename(raw, directory):
    """increment and rename work through the wrapper."""
    add_domains(raw, "i.example")
    dn = raw.domain_dn("i.example")
    directory.modify(dn, {"domainCurrentUserNumber": ("replace", 1)})
    directory.modify(dn, {"domainCurrentUserNumber": ("increment", 2)})
    assert directory.get(dn).first("domainCurrentUserNumber") == "3"
    leaf = f"cn=old,{dn}"
    directory.add(leaf, {"objectClass": "organizationalRole", "cn": "old"})
    directory.rename(leaf, rdn("cn", "new,name"))
    assert directory.get(leaf) is None
    assert directory.get(f"cn=new\\,name,{dn}").all("cn") == ["new,name"]


def test_entry_helpers():
    """Entry.first/all/has read lower-cased attribute names, values case-insensitively."""
    entry = Entry("cn=x", {"enabledservice": ["Mail", "smtp"], "cn": ["x"]})
    assert entry.first("CN") == "x" and entry.first("sn", "d") == "d" and entry.first("sn") is None
    assert entry.all("enabledService") == ["Mail", "smtp"] and entry.all("l") == []
    assert entry.has("EnabledService", "mail") and not entry.has("enabledService", "imap")


def test_pooled_directory_retries_once_on_a_fresh_connection(make_app, private_slapd):
    """A stale pooled connection is retried once; a fresh one that fails is not retried."""
    app = private_app(make_app, private_slapd)
    pool = get_pool(app)
    with app.app_context():
        get_directory()
    private_slapd.stop()
    private_slapd.start()
    directory = PooledDirectory(pool, private_slapd.credentials.suffix, 100)
    assert directory._reused
    assert directory.exists(directory.dn.domains)
    assert not directory._reused
    directory.close()
    private_slapd.stop()
    fresh = PooledDirectory(pool, private_slapd.credentials.suffix, 100)
    with pytest.raises(errors.DirectoryUnavailable):
        fresh.exists(fresh.dn.domains)
    fresh.close(broken=True)
