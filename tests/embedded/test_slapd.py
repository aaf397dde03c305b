"""Tests for the embedded slapd, run against a real server."""

import base64
import hashlib
import json
import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ldap3 import BASE
from ldap3 import MODIFY_ADD
from ldap3 import MODIFY_REPLACE
from ldap3 import Connection
from ldap3 import Server
from ldap3.core.exceptions import LDAPInsufficientAccessRightsResult

from iredapi_ldap.embedded.slapd import DirectoryCredentials
from iredapi_ldap.embedded.slapd import EmbeddedSlapd
from iredapi_ldap.embedded.slapd import SlapdNotInstalled
from iredapi_ldap.embedded.slapd import SlapdStartError
from iredapi_ldap.embedded.slapd import check_installed

SUFFIX = "dc=example,dc=com"
DOMAINS = f"o=domains,{SUFFIX}"
ADMINS = f"o=domainAdmins,{SUFFIX}"
BASE_CHILDREN = [f"cn=vmail,{SUFFIX}", f"cn=vmailadmin,{SUFFIX}", DOMAINS, ADMINS]


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSlapd]:
    """Start one throwaway server for the module; fail (never skip) without slapd."""
    server = EmbeddedSlapd(tmp_path_factory.mktemp("slapd"), durable=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tree(slapd: EmbeddedSlapd) -> Iterator[EmbeddedSlapd]:
    """Give a test the base tree and empty it afterwards."""
    yield slapd
    slapd.reset_tree()


class Binder:
    """Open ldap3 connections to one server and unbind them all at the end."""

    def __init__(self, creds: DirectoryCredentials) -> None:
        self.creds = creds
        self.opened: list[Connection] = []

    def as_dn(self, dn: str, password: str) -> Connection:
        """Return a connection bound as dn."""
        server = Server(self.creds.uri, get_info=None, connect_timeout=5)
        conn = Connection(server, dn, password, raise_exceptions=True, receive_timeout=10)
        self.opened.append(conn)
        conn.bind()
        return conn

    def root(self) -> Connection:
        """Bind as the rootdn."""
        return self.as_dn(self.creds.root_dn, self.creds.root_password)

    def vmail(self) -> Connection:
        """Bind as the read-only service DN."""
        return self.as_dn(self.creds.vmail_dn, self.creds.vmail_password)

    def vmailadmin(self) -> Connection:
        """Bind as the read-write service DN."""
        return self.as_dn(self.creds.vmailadmin_dn, self.creds.vmailadmin_password)

    def close(self) -> None:
        """Unbind every connection opened so far."""
        for conn in self.opened:
            conn.unbind()
        self.opened.clear()


@pytest.fixture
def ldap(slapd: EmbeddedSlapd) -> Iterator[Binder]:
    """Give a test ldap3 connections to the module server."""
    binder = Binder(slapd.credentials)
    yield binder
    binder.close()


def text(value: str | bytes) -> str:
    """Return an attribute value as text (ldap3 without schema may give bytes)."""
    return value.decode() if isinstance(value, bytes) else value


def ssha512(password: str) -> str:
    """Return an OpenLDAP {SSHA512} hash."""
    salt = os.urandom(16)
    digest = hashlib.sha512(password.encode() + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode()


def add_domain(conn: Connection, domain: str) -> str:
    """Add a mail domain with its four OUs the way iRedAdmin does; return its DN."""
    dn = f"domainName={domain},{DOMAINS}"
    conn.add(
        dn,
        ["mailDomain"],
        {
            "domainName": domain,
            "mtaTransport": "dovecot",
            "accountStatus": "active",
            "enabledService": ["mail"],
            "accountSetting": ["minPasswordLength:8", "defaultQuota:1024"],
        },
    )
    for ou in ("Users", "Groups", "Aliases", "Externals"):
        conn.add(f"ou={ou},{dn}", ["organizationalUnit"], {"ou": ou})
    return dn


def add_user(conn: Connection, address: str, password_hash: str) -> str:
    """Add a mail user with iRedAdmin's object classes; return its DN."""
    local, domain = address.split("@")
    dn = f"mail={address},ou=Users,domainName={domain},{DOMAINS}"
    conn.add(
        dn,
        ["inetOrgPerson", "mailUser", "shadowAccount", "amavisAccount"],
        {
            "mail": address,
            "uid": local,
            "cn": local,
            "sn": local,
            "userPassword": password_hash,
            "accountStatus": "active",
            "homeDirectory": f"/var/vmail/vmail1/{domain}/{local}",
            "mailboxFormat": "maildir",
            "mailboxFolder": "Maildir",
            "mailQuota": 104857600,
            "enabledService": [
                "mail",
                "smtp",
                "imap",
                "deliver",
                "lmtp",
                "shadowaddress",
            ],
            "shadowAddress": f"{local}@alias-{domain}",
            "preferredLanguage": "en_US",
            "shadowLastChange": 19000,
            "amavisLocal": "TRUE",
            "amavisSpamTagLevel": "2.0",
        },
    )
    return dn


def children(conn: Connection, base: str) -> list[str]:
    """Return the DNs one level below base."""
    conn.search(base, "(objectClass=*)", search_scope="LEVEL", attributes=["1.1"])
    return [entry.entry_dn for entry in conn.entries]


def test_start_and_stop(tmp_path: Path) -> None:
    """Start answers simple binds as rootdn; stop ends the child and may be repeated."""
    server = EmbeddedSlapd(tmp_path, durable=False)
    creds = server.start()
    assert server.running()
    assert creds.uri == f"ldap://127.0.0.1:{server.port}"
    binder = Binder(creds)
    whoami = binder.root().extend.standard.who_am_i()
    binder.close()
    assert whoami.lower() == f"dn:{creds.root_dn.lower()}"
    assert (tmp_path / "slapd" / "slapd.pid").exists()
    server.stop()
    assert not server.running()
    server.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_layout_and_config(slapd: EmbeddedSlapd) -> None:
    """The data directory holds the documented files; credentials are private."""
    run_dir = slapd.data_dir / "slapd"
    for name in ("slapd.conf", "db", "slapd.pid", "slapd.log", "credentials.json"):
        assert (run_dir / name).exists(), name
    assert stat.S_IMODE((run_dir / "credentials.json").stat().st_mode) == 0o600
    stored = json.loads((run_dir / "credentials.json").read_text())
    assert stored["port"] == slapd.port
    assert stored["vmailadmin_password"] == slapd.credentials.vmailadmin_password
    conf = (run_dir / "slapd.conf").read_text()
    assert "moduleload pw-sha2" in conf
    assert "\ndbnosync\n" in conf
    assert "sizelimit 500" in conf
    assert slapd.credentials.root_password not in conf
    assert "moduleload unique\n" in conf and "\noverlay unique\n" in conf


def test_durable_server_with_other_suffix(tmp_path: Path) -> None:
    """A durable server (no dbnosync) builds its tree under any dc= suffix."""
    with EmbeddedSlapd(tmp_path, suffix="dc=mail,dc=test") as server:
        assert "dbnosync" not in server.conf_path.read_text()
        assert server.credentials.vmail_dn == "cn=vmail,dc=mail,dc=test"
        tree = server.ldapsearch("dc=mail,dc=test", "(objectClass=*)", "1.1")
        assert sorted(tree.split()) == sorted(
            ["dn:"] * 5
            + [
                "dc=mail,dc=test",
                "cn=vmail,dc=mail,dc=test",
                "cn=vmailadmin,dc=mail,dc=test",
                "o=domains,dc=mail,dc=test",
                "o=domainAdmins,dc=mail,dc=test",
            ]
        )


def test_second_server_on_a_running_data_dir_refuses(slapd: EmbeddedSlapd) -> None:
    """Two slapd processes never share one data_dir."""
    with pytest.raises(SlapdStartError, match="already serves"):
        EmbeddedSlapd(slapd.data_dir, durable=False).start()
    assert slapd.running()


def test_restart_keeps_data_port_and_passwords(tmp_path: Path) -> None:
    """A second server on the same data_dir reuses port, passwords and entries."""
    with EmbeddedSlapd(tmp_path, durable=False) as first:
        creds = first.credentials
        binder = Binder(creds)
        add_domain(binder.vmailadmin(), "kept.example")
        binder.close()
    assert not first.running()
    second = EmbeddedSlapd(tmp_path, durable=False)
    with second:
        assert second.credentials == creds
        assert second.port == first.port
        binder = Binder(second.credentials)
        assert children(binder.vmailadmin(), DOMAINS) == [f"domainName=kept.example,{DOMAINS}"]
        binder.close()


def test_start_fails_when_port_is_taken(tmp_path: Path) -> None:
    """SlapdStartError carries slapd's own explanation."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        server = EmbeddedSlapd(tmp_path, port=blocker.getsockname()[1], durable=False)
        with pytest.raises(SlapdStartError, match="Address already in use"):
            server.start()
    assert not server.running()


def test_init_tree_is_idempotent(tree: EmbeddedSlapd) -> None:
    """init_tree adds only missing entries and never rewrites existing ones."""
    before = tree.ldapsearch(SUFFIX, "(objectClass=*)", "*", "entryCSN")
    tree.init_tree()
    assert tree.ldapsearch(SUFFIX, "(objectClass=*)", "*", "entryCSN") == before
    tree.ldapdelete(ADMINS)
    tree.init_tree()
    after = tree.ldapsearch(SUFFIX, "(objectClass=*)", "*", "entryCSN")
    assert f"dn: {ADMINS}\n" in after
    vmail = tree.ldapsearch(f"cn=vmail,{SUFFIX}", "(objectClass=*)", "*", "entryCSN", scope="base")
    assert vmail in before and vmail in after


def test_base_tree(tree: EmbeddedSlapd, ldap: Binder) -> None:
    """The base tree has the suffix, both service DNs and both containers."""
    conn = ldap.root()
    assert sorted(children(conn, SUFFIX)) == sorted(BASE_CHILDREN)
    conn.search(f"cn=vmail,{SUFFIX}", "(objectClass=*)", BASE, attributes=["*"])
    vmail = conn.entries[0]
    assert set(vmail.objectClass.values) == {"person", "shadowAccount", "top"}
    assert vmail.cn.value == vmail.sn.value == vmail.uid.value == "vmail"
    assert text(vmail.userPassword.value).startswith("{SSHA}")
    conn.search(SUFFIX, "(objectClass=*)", BASE, attributes=["*"])
    assert set(conn.entries[0].objectClass.values) == {"dcObject", "organization"}


def test_service_passwords_bind(tree: EmbeddedSlapd, ldap: Binder) -> None:
    """The recorded passwords of cn=vmail and cn=vmailadmin work for simple binds."""
    assert ldap.vmail().extend.standard.who_am_i() == f"dn:{tree.credentials.vmail_dn}"
    assert ldap.vmailadmin().extend.standard.who_am_i() == f"dn:{tree.credentials.vmailadmin_dn}"


def test_vmailadmin_can_write(tree: EmbeddedSlapd, ldap: Binder) -> None:
    """cn=vmailadmin can add, modify and delete below o=domains and o=domainAdmins."""
    conn = ldap.vmailadmin()
    dn = add_domain(conn, "rw.example")
    conn.modify(dn, {"accountStatus": [(MODIFY_REPLACE, ["disabled"])]})
    conn.search(dn, "(objectClass=*)", BASE, attributes=["accountStatus"])
    assert conn.entries[0].accountStatus.value == "disabled"
    conn.add(
        f"mail=boss@other.example,{ADMINS}",
        ["mailAdmin"],
        {"mail": "boss@other.example"},
    )
    conn.delete(f"mail=boss@other.example,{ADMINS}")
    for ou in ("Users", "Groups", "Aliases", "Externals"):
        conn.delete(f"ou={ou},{dn}")
    conn.delete(dn)
    assert children(conn, DOMAINS) == []


def test_vmail_is_read_only(tree: EmbeddedSlapd, ldap: Binder) -> None:
    """cn=vmail reads everything a mail server needs but cannot write."""
    admin = ldap.vmailadmin()
    dn = add_domain(admin, "ro.example")
    user = add_user(admin, "reader@ro.example", ssha512("pw"))
    conn = ldap.vmail()
    conn.search(
        user,
        "(objectClass=*)",
        BASE,
        attributes=["mail", "userPassword", "enabledService"],
    )
    assert text(conn.entries[0].userPassword.value).startswith("{SSHA512}")
    with pytest.raises(LDAPInsufficientAccessRightsResult):
        conn.modify(dn, {"accountStatus": [(MODIFY_REPLACE, ["disabled"])]})
    with pytest.raises(LDAPInsufficientAccessRightsResult):
        conn.add(f"ou=Extra,{dn}", ["organizationalUnit"], {"ou": "Extra"})
    with pytest.raises(LDAPInsufficientAccessRightsResult):
        conn.delete(user)


def test_users_see_only_their_domain(tree: EmbeddedSlapd, ldap: Binder) -> None:
    """A mail user reads its own domain only, and no other password."""
    admin = ldap.vmailadmin()
    add_domain(admin, "a.example")
    add_domain(admin, "b.example")
    alice = add_user(admin, "alice@a.example", ssha512("alice-pw"))
    add_user(admin, "bob@a.example", ssha512("bob-pw"))
    add_user(admin, "carol@b.example", ssha512("carol-pw"))
    conn = ldap.as_dn(alice, "alice-pw")
    conn.search(DOMAINS, "(objectClass=mailUser)", attributes=["mail", "userPassword"])
    found = {entry.mail.value: entry for entry in conn.entries}
    assert set(found) == {"alice@a.example", "bob@a.example"}
    assert text(found["alice@a.example"].userPassword.value).startswith("{SSHA512}")
    assert not found["bob@a.example"].userPassword.values


def test_standalone_admin_writes_its_domain_only(tree: EmbeddedSlapd, ldap: Binder) -> None:
    """mail=*@<domain>,o=domainAdmins may write that domain's subtree only."""
    admin = ldap.vmailadmin()
    own = add_domain(admin, "own.example")
    other = add_domain(admin, "other.example")
    boss = f"mail=boss@own.example,{ADMINS}"
    admin.add(boss, ["mailAdmin"], {"mail": "boss@own.example", "userPassword": ssha512("b")})
    conn = ldap.as_dn(boss, "b")
    # description falls through rules 1-5 to the per-domain rule 8.
    conn.modify(own, {"description": [(MODIFY_REPLACE, ["mine"])]})
    with pytest.raises(LDAPInsufficientAccessRightsResult):
        conn.modify(other, {"description": [(MODIFY_REPLACE, ["mine"])]})
    with pytest.raises(LDAPInsufficientAccessRightsResult):
        conn.modify(own, {"accountStatus": [(MODIFY_REPLACE, ["disabled"])]})


def test_anonymous_bind_refused(slapd: EmbeddedSlapd) -> None:
    """Anonymous binds are refused and unauthenticated searches see nothing."""
    conn = Connection(Server(slapd.credentials.uri, get_info=None), raise_exceptions=False)
    try:
        assert conn.bind() is False
        assert conn.result["result"] == 48  # inappropriateAuthentication
    finally:
        conn.unbind()
    conn = Connection(Server(slapd.credentials.uri, get_info=None), raise_exceptions=False)
    try:
        conn.open()
        conn.search(SUFFIX, "(objectClass=*)", attributes=["*"])
        assert conn.entries == []
    finally:
        conn.unbind()


def test_paged_search_is_unlimited_for_service_dns(tree: EmbeddedSlapd, ldap: Binder) -> None:
    """Paged searches by service DNs return 700 entries; unpaged stop at 500."""
    add_domain(ldap.vmailadmin(), "big.example")
    users = f"ou=Users,domainName=big.example,{DOMAINS}"
    tree.ldapadd(
        "".join(
            f"dn: mail=u{i}@big.example,{users}\n"
            "objectClass: inetOrgPerson\nobjectClass: mailUser\n"
            f"mail: u{i}@big.example\nuid: u{i}\ncn: u{i}\nsn: u{i}\n\n"
            for i in range(700)
        )
    )
    for conn in (ldap.vmailadmin(), ldap.vmail()):
        entries = conn.extend.standard.paged_search(
            users,
            "(objectClass=mailUser)",
            attributes=["mail"],
            paged_size=100,
            generator=False,
        )
        assert len([e for e in entries if e["type"] == "searchResEntry"]) == 700
        conn.search(users, "(objectClass=mailUser)", attributes=["mail"])
        assert conn.result["result"] == 4  # sizeLimitExceeded
        assert len(conn.entries) == 500


def test_iredmail_objects_can_be_added(tree: EmbeddedSlapd, ldap: Binder) -> None:
    """Every iRedMail object type can be stored by cn=vmailadmin."""
    conn = ldap.vmailadmin()
    domain = add_domain(conn, "objects.example")
    user = add_user(conn, "postmaster@objects.example", ssha512("secret"))
    conn.add(
        f"mail=@objects.example,ou=Users,{domain}",
        ["inetOrgPerson", "mailUser"],
        {
            "mail": "@objects.example",
            "uid": "catch-all",
            "cn": "catch-all",
            "sn": "catch-all",
            "accountStatus": "active",
            "mailForwardingAddress": "postmaster@objects.example",
        },
    )
    conn.add(
        f"mail=sales@objects.example,ou=Aliases,{domain}",
        ["mailAlias"],
        {
            "mail": "sales@objects.example",
            "accountStatus": "active",
            "cn": "Sales",
            "enabledService": ["mail", "deliver"],
            "mailForwardingAddress": [
                "postmaster@objects.example",
                "x@elsewhere.example",
            ],
        },
    )
    conn.add(
        f"mail=news@objects.example,ou=Groups,{domain}",
        ["mailList"],
        {
            "mail": "news@objects.example",
            "accountStatus": "active",
            "mtaTransport": "mlmmj:objects.example/news",
            "mailingListID": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "enabledService": ["mail", "deliver", "mlmmj"],
            "accessPolicy": "membersonly",
            "listOwner": "postmaster@objects.example",
            "member": user,
        },
    )
    conn.add(
        f"memberOfGroup=news@objects.example,ou=Externals,{domain}",
        ["mailExternalUser"],
        {
            "memberOfGroup": "news@objects.example",
            "mail": ["a@ext.example", "b@ext.example"],
            "accountStatus": "active",
            "enabledService": ["mail", "deliver"],
        },
    )
    conn.add(
        f"mail=admin@admins.example,{ADMINS}",
        ["mailAdmin"],
        {
            "mail": "admin@admins.example",
            "userPassword": ssha512("admin-pw"),
            "cn": "Admin",
            "accountStatus": "active",
            "domainGlobalAdmin": "yes",
            "shadowLastChange": 19000,
        },
    )
    conn.search(user, "(objectClass=*)", BASE, attributes=["objectClass", "amavisLocal"])
    assert conn.entries[0].amavisLocal.value == "TRUE"
    assert set(conn.entries[0].objectClass.values) == {
        "inetOrgPerson",
        "mailUser",
        "shadowAccount",
        "amavisAccount",
    }
    conn.search(
        DOMAINS,
        "(|(objectClass=mailAlias)(objectClass=mailList)(objectClass=mailExternalUser))",
        attributes=["1.1"],
    )
    assert len(conn.entries) == 3
    assert children(conn, ADMINS) == [f"mail=admin@admins.example,{ADMINS}"]


def test_addresses_are_unique_below_o_domains(tree: EmbeddedSlapd, ldap: Binder) -> None:
    """slapd itself refuses a second user, alias or list with a used mail or shadowAddress."""
    conn = ldap.vmailadmin()
    domain = add_domain(conn, "uniq.example")
    add_user(conn, "john@uniq.example", ssha512("secret"))  # shadowAddress john@alias-uniq...
    conn.raise_exceptions = False
    taken = [
        (f"mail=john@uniq.example,ou=Aliases,{domain}", ["mailAlias"],
         {"mail": "john@uniq.example"}),
        (f"mail=JOHN@uniq.example,ou=Groups,{domain}", ["mailList"],
         {"mail": "JOHN@uniq.example"}),
        (f"mail=sales@uniq.example,ou=Aliases,{domain}", ["mailAlias"],
         {"mail": "sales@uniq.example", "shadowAddress": "john@alias-uniq.example"}),
    ]  # fmt: skip
    for dn, classes, attributes in taken:
        assert not conn.add(dn, classes, attributes), dn
        assert conn.result["result"] == 19, conn.result
        assert "non-unique attributes" in conn.result["message"]
    alias = f"mail=team@uniq.example,ou=Aliases,{domain}"
    assert conn.add(alias, ["mailAlias"], {"mail": "team@uniq.example"}), conn.result
    assert not conn.modify(alias, {"shadowAddress": [(MODIFY_ADD, ["john@alias-uniq.example"])]})
    assert conn.result["result"] == 19, conn.result
    assert not conn.modify_dn(alias, "mail=john@uniq.example")
    assert conn.result["result"] == 19, conn.result
    assert len(search_dns(conn, DOMAINS, "(|(mail=john@*)(shadowAddress=john@*))")) == 1
    # Not guarded: a legacy list's external members may be shared between lists, and a
    # standalone admin (outside o=domains) may have a user's address.
    for holder in ("one@uniq.example", "two@uniq.example"):
        assert conn.add(
            f"memberOfGroup={holder},ou=Externals,{domain}",
            ["mailExternalUser"],
            {"memberOfGroup": holder, "mail": ["friend@ext.example", "john@uniq.example"]},
        ), conn.result
    assert conn.add(f"mail=john@uniq.example,{ADMINS}", ["mailAdmin"],
                    {"mail": "john@uniq.example"}), conn.result  # fmt: skip


def search_dns(conn: Connection, base: str, search_filter: str) -> list[str]:
    """Return the DNs below base that match the filter."""
    conn.search(base, search_filter, attributes=["1.1"])
    return [entry.entry_dn for entry in conn.entries]


def test_mail_user_needs_a_structural_class(tree: EmbeddedSlapd, ldap: Binder) -> None:
    """Reject a mailUser entry without a structural class (it is AUXILIARY)."""
    conn = ldap.vmailadmin()
    domain = add_domain(conn, "aux.example")
    conn.raise_exceptions = False
    dn = f"mail=x@aux.example,ou=Users,{domain}"
    assert not conn.add(dn, ["mailUser"], {"mail": "x@aux.example", "uid": "x"})
    assert conn.result["result"] == 65  # objectClassViolation


def test_ssha512_user_can_simple_bind(tree: EmbeddedSlapd, ldap: Binder) -> None:
    """A {SSHA512} userPassword works for simple binds (pw-sha2 is loaded)."""
    admin = ldap.vmailadmin()
    add_domain(admin, "bind.example")
    dn = add_user(admin, "user@bind.example", ssha512("correct horse"))
    assert ldap.as_dn(dn, "correct horse").extend.standard.who_am_i() == f"dn:{dn}"
    wrong = Connection(
        Server(tree.credentials.uri, get_info=None), dn, "wrong", raise_exceptions=False
    )
    try:
        assert wrong.bind() is False
        assert wrong.result["result"] == 49  # invalidCredentials
    finally:
        wrong.unbind()


def test_reset_tree_empties_both_containers(tree: EmbeddedSlapd, ldap: Binder) -> None:
    """reset_tree removes every child of o=domains and o=domainAdmins but keeps them."""
    conn = ldap.vmailadmin()
    for name in ("r1.example", "r2.example"):
        add_domain(conn, name)
        add_user(conn, f"user@{name}", ssha512("pw"))
    conn.add(
        f"mail=admin@admins.example,{ADMINS}",
        ["mailAdmin"],
        {"mail": "admin@admins.example"},
    )
    started = time.perf_counter()
    tree.reset_tree()
    assert time.perf_counter() - started < 0.3
    assert children(conn, DOMAINS) == []
    assert children(conn, ADMINS) == []
    assert sorted(children(ldap.root(), SUFFIX)) == sorted(BASE_CHILDREN)
    tree.reset_tree()


def test_transactions_are_advertised(slapd: EmbeddedSlapd) -> None:
    """back-mdb serves RFC 5805 transactions without any extra directive."""
    root_dse = slapd.ldapsearch("", "(objectClass=*)", "+", scope="base")
    assert "supportedExtension: 1.3.6.1.1.21.1\n" in root_dse


def test_check_installed_without_slapd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A PATH without slapd raises SlapdNotInstalled with the Debian install hint."""
    check_installed()
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(
        SlapdNotInstalled,
        match="install on Debian with `apt-get install slapd ldap-utils`",
    ):
        check_installed()
