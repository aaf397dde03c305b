"""The one helpers module of the tests: answers checked, accounts made, clients and apps built.

Test modules import what they share from here, never from another test_* module
(tests/unit/test_test_imports.py checks that). Three kinds of account helpers:

- `make_*` go through the API as the logged-in client and assert 201;
- `add_*` write entries straight into the directory as rootdn (the `raw` fixture), the way
  iRedAdmin writes them, for state the API cannot or should not make; most return the DN;
- `*_dn` name entries, for checking the directory afterwards.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from typing import NamedTuple

import requests
import sqlalchemy as sa
from ldap3 import Connection
from ldap3 import Server

from iredapi_ldap import config as cfg
from iredapi_ldap import create_app
from iredapi_ldap import sqlstore
from iredapi_ldap.embedded.process import spawn_logged
from iredapi_ldap.embedded.slapd import EmbeddedSlapd
from iredapi_ldap.ldap import get_directory
from iredapi_ldap.ldap.connection import get_pool
from iredapi_ldap.models import counters
from iredapi_ldap.models.admins.create import create_global_admin
from iredapi_ldap.passwords import hash_password
from iredapi_ldap.sqlstore.tables import audit_log
from tests.conftest import ADMIN_EMAIL
from tests.conftest import ADMIN_PASSWORD
from tests.conftest import checked
from tests.dbserver import free_port  # noqa: F401 (one free_port for every test module)

DOMAIN = "example.com"
OTHER = "other.test"
PASSWORD = "Secret-Pass-123"  # of every account the helpers make
USER_CLASSES = ["inetOrgPerson", "mailUser", "shadowAccount", "amavisAccount"]
DOMAIN_OUS = ("Users", "Groups", "Aliases", "Externals")
SERVE_ADMIN = "boss@admin.test"  # the global admin `serve --admin-email` creates in CLI tests
SERVE_PASSWORD = "Boss-Pass-123"

# -- answers -------------------------------------------------------------------------------------


def assert_error(response, status, code, field=None, names=()):
    """Assert a JSON failure envelope and return its body.

    Checks the status, success/_success false, msg/_msg `code` and a non-empty detail; with
    `field`, that `errors` names it with string messages mentioning each of `names`.
    """
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json", response.mimetype
    body = response.json
    assert body["success"] is False and body["_success"] is False, body
    assert body["msg"] == body["_msg"] == code, body
    assert isinstance(body["detail"], str) and body["detail"], body
    if field:
        assert field in body["errors"], body
        assert all(isinstance(message, str) for message in body["errors"][field]), body
        text = " ".join(body["errors"][field])
        for name in names:
            assert name in text, body
    return body


# -- through the API -----------------------------------------------------------------------------


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


def make_token(client, mail, **params):
    """Create an API token for `mail` through the API (asserting 201); return the answer's _data."""
    response = client.post(f"/api/admin/{mail}/tokens", data=params)
    assert response.status_code == 201, response.json
    return response.json["_data"]


# -- straight into the directory -----------------------------------------------------------------


def add_entry(raw, dn, defaults=None, **attributes):
    """Add an entry as rootdn: `defaults` updated by `attributes`; return its DN.

    An attribute whose value is None or [] is left out, so a caller can drop a default.
    """
    merged = {**(defaults or {}), **attributes}
    attributes = {name: value for name, value in merged.items() if value not in (None, [])}
    assert raw.conn.add(dn, attributes=attributes), raw.conn.result
    return dn


def add_domain(raw, domain, admins=(), attributes=None, **settings):
    """Add a mailDomain with its four containers; return its DN.

    `admins` become domainAdmin values, `settings` accountSetting `key:value` values, and
    `attributes` replace the default attributes.
    """
    dn = add_entry(
        raw,
        raw.domain_dn(domain),
        {
            "objectClass": ["mailDomain"],
            "domainName": domain,
            "accountStatus": "active",
            "mtaTransport": "dovecot",
            "enabledService": ["mail"],
            "domainAdmin": list(admins),
            "accountSetting": [f"{key}:{value}" for key, value in settings.items()],
        },
        **(attributes or {}),
    )
    for ou in DOMAIN_OUS:
        add_entry(raw, f"ou={ou},{dn}", objectClass=["organizationalUnit"], ou=ou)
    return dn


def add_user(raw, mail, password=PASSWORD, admin=False, is_global=False, **extra):
    """Add a mail user; return its DN.

    `admin` adds enabledService domainadmin, `is_global` domainGlobalAdmin=yes. `password=None`
    leaves out userPassword and shadowLastChange. `extra` attributes replace the defaults.
    """
    local, domain = mail.split("@")
    hashed = password and "userPassword" not in extra
    return add_entry(
        raw,
        raw.user_dn(mail),
        {
            "objectClass": USER_CLASSES,
            "mail": mail,
            "uid": local,
            "sn": local,
            "cn": local,
            "userPassword": hash_password(password)[0] if hashed else None,
            "shadowLastChange": "19000" if password else None,
            "accountStatus": "active",
            "enabledService": ["mail", "deliver", "smtp", "imap"]
            + (["domainadmin"] if admin else []),
            "homeDirectory": f"/var/vmail/vmail1/{domain}/{local}-2024.01.01.00.00.00/",
            "mailboxFormat": "maildir",
            "mailboxFolder": "Maildir",
            "amavisLocal": "TRUE",
            "domainGlobalAdmin": "yes" if is_global else None,
        },
        **extra,
    )


def add_many(raw, count, domain=DOMAIN):
    """Add `count` minimal users user00000@domain... quickly (one round trip each, no read-back)."""
    for i in range(count):
        mail = f"user{i:05d}@{domain}"
        add_entry(
            raw,
            raw.user_dn(mail),
            {
                "objectClass": USER_CLASSES,
                "mail": mail,
                "uid": f"user{i:05d}",
                "sn": "x",
                "cn": f"User {i}",
                "accountStatus": "active",
                "enabledService": ["mail", "deliver"],
            },
        )


def add_catchall(raw, domain=DOMAIN, **extra):
    """Add the catch-all mail=@domain (forwarding to postmaster@domain unless given); return its DN."""
    return add_entry(
        raw,
        raw.user_dn(f"@{domain}"),
        {
            "objectClass": ["inetOrgPerson", "mailUser"],
            "mail": f"@{domain}",
            "accountStatus": "active",
            "cn": "catch-all",
            "sn": "catch-all",
            "uid": "catch-all",
            "mailForwardingAddress": f"postmaster@{domain}",
        },
        **extra,
    )


def add_alias(raw, mail, **extra):
    """Add a mailAlias (enabledService mail, deliver); return its DN."""
    return add_entry(
        raw,
        alias_dn(raw, mail),
        {
            "objectClass": ["mailAlias"],
            "mail": mail,
            "accountStatus": "active",
            "enabledService": ["mail", "deliver"],
        },
        **extra,
    )


def add_list(raw, mail, **extra):
    """Add a legacy mailList (enabledService mail, deliver); return its DN."""
    return add_entry(
        raw,
        list_dn(raw, mail),
        {
            "objectClass": ["mailList"],
            "mail": mail,
            "accountStatus": "active",
            "enabledService": ["mail", "deliver"],
        },
        **extra,
    )


def add_admin(raw, mail, password=PASSWORD, is_global=False, settings=(), **extra):
    """Add a standalone mailAdmin with accountSetting values (`key:value` strings); return its DN."""
    local = mail.split("@")[0]
    return add_entry(
        raw,
        admin_dn(raw, mail),
        {
            "objectClass": ["mailAdmin"],
            "mail": mail,
            "cn": local,
            "sn": local,
            "givenName": local,
            "userPassword": hash_password(password)[0],
            "accountStatus": "active",
            "shadowLastChange": "19000",
            "domainGlobalAdmin": "yes" if is_global else None,
            "accountSetting": list(settings),
        },
        **extra,
    )


def admin_dn(raw, mail):
    """Return the DN of a standalone admin."""
    return f"mail={mail},o=domainAdmins,{raw.suffix}"


def alias_dn(raw, mail):
    """Return the DN of an alias entry."""
    return f"mail={mail},ou=Aliases,{raw.domain_dn(mail.split('@')[1])}"


def list_dn(raw, mail):
    """Return the DN of a mailing list entry (legacy or mlmmj)."""
    return f"mail={mail},ou=Groups,{raw.domain_dn(mail.split('@')[1])}"


def settings_of(raw, dn):
    """Return the accountSetting values of an entry, sorted."""
    return sorted((raw.entry(dn) or {}).get("accountsetting", []))


def token_values(raw, dn):
    """Return the apiToken accountSetting values of an entry."""
    entry = raw.entry(dn) or {}
    return [v for v in entry.get("accountsetting", []) if v.startswith("apiToken:")]


def tree(raw):
    """Return a full dump (with entryCSN) of o=domains and o=domainAdmins."""
    return {
        **raw.snapshot(f"o=domains,{raw.suffix}"),
        **raw.snapshot(f"o=domainAdmins,{raw.suffix}"),
    }


# -- clients and apps ----------------------------------------------------------------------------


def login(client, mail, password=PASSWORD, **kwargs):
    """Log a test client in; return the response."""
    return client.post("/api/login", data={"username": mail, "password": password}, **kwargs)


def new_client(app, mail, password=PASSWORD):
    """Return a fresh test client logged in as `mail` (asserting the login worked)."""
    client = app.test_client()
    response = login(client, mail, password)
    assert response.status_code == 200, response.json
    return client


def bearer(token):
    """Return headers sending a token as Bearer."""
    return {"Authorization": f"Bearer {token}"}


def basic(username, secret):
    """Return headers sending HTTP Basic credentials."""
    encoded = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


@contextmanager
def app_with(app_config, **overrides):
    """Build a second app (another API node) on the same directory and SQL store."""
    application = checked(create_app({**app_config, **overrides}))
    try:
        yield application
    finally:
        get_pool(application).close_all()
        sqlstore.dispose(application)


def private_app(make_app, server, **overrides):
    """Build an app bound to a private slapd (one a test may stop), with short timeouts."""
    creds = server.credentials
    values = {"LDAP_URI": creds.uri, "LDAP_BIND_DN": creds.vmailadmin_dn,
              "LDAP_BIND_PASSWORD": creds.vmailadmin_password, "LDAP_SUFFIX": creds.suffix,
              "LDAP_CONNECT_TIMEOUT": 2, "LDAP_RECEIVE_TIMEOUT": 5}  # fmt: skip
    return make_app(**{**values, **overrides})


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


# -- processes -----------------------------------------------------------------------------------


def cli() -> list[str]:
    """Return the command that runs the `iredapi-ldap` CLI from this checkout."""
    return [sys.executable, "-m", "iredapi_ldap.cli"]


class Served:
    """A running `iredapi-ldap serve` child process."""

    def __init__(self, data_dir: Path, *extra: str, workers: int = 1) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/api"
        self.log = data_dir.parent / f"serve-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if k != cfg.ENV_VAR}
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [*cli(), "serve", "--data-dir", str(data_dir), "--listen",
                 f"127.0.0.1:{self.port}", "--workers", str(workers), *extra],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited early:\n{self.output()}")
            try:
                if requests.get(self.base + "/health", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError(f"serve did not come up:\n{self.output()}")

    def output(self) -> str:
        """Return what the server printed."""
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """Stop the server (gunicorn shuts down, then the embedded slapd)."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def serve_config(tmp_path: Path, slapd, uri: str | None = None, **values: Any) -> Path:
    """Write the INI of a `serve --config` on slapd (or on `uri`: several servers); add the admin.

    Short LDAP timeouts, files in tmp_path; `values` adds or overrides keys (Flask names).
    """
    creds = slapd.credentials
    values = {
        "LDAP_URI": uri or creds.uri, "LDAP_BIND_DN": creds.vmailadmin_dn,
        "LDAP_BIND_PASSWORD": creds.vmailadmin_password, "LDAP_SUFFIX": creds.suffix,
        "LDAP_CONNECT_TIMEOUT": 2, "LDAP_RECEIVE_TIMEOUT": 5, "SECRET_KEY": "faults",
        "SQL_URL": f"sqlite:///{tmp_path / 'api.sqlite'}",
        "LDAP_COUNTER_LOCK_DIR": str(tmp_path / "counter-locks"), **values,
    }  # fmt: skip
    ini = tmp_path / "config.ini"
    cfg.write_ini(ini, values)
    app = create_app(cfg.load_ini(ini))
    with app.app_context():
        create_global_admin(get_directory(), ADMIN_EMAIL, ADMIN_PASSWORD)
    get_pool(app).close_all()
    return ini


# Domains of the counter tests under load: one without limits (counted behind), one with
# limits too high to refuse anything (reserved by compare-and-swap).
FREE, LIMITED = "free.test", "limited.test"
LIMITS = {"numberOfUsers": "100000", "quota": "1000000", "numberOfAliases": "100000",
          "numberOfLists": "100000"}  # fmt: skip


def start_clients(url: str, make, count: int, stop: threading.Event):
    """Create FREE and LIMITED at url, then run `count` clients, each in a thread, until stop.

    `make(session, url, index)` builds a client around a logged-in session; its
    `run(stop)` is the thread. Returns the clients and the started threads.
    """
    admin = logged_in_sessions(url, 1)[0]
    assert admin.post(f"{url}/domain/{FREE}").status_code == 201
    assert admin.post(f"{url}/domain/{LIMITED}", data=LIMITS).status_code == 201
    clients = [make(session, url, index)
               for index, session in enumerate(logged_in_sessions(url, count))]  # fmt: skip
    threads = [threading.Thread(target=client.run, args=(stop,)) for client in clients]
    for thread in threads:
        thread.start()
    return clients, threads


def truth_and_counters(
    slapd, domains=(FREE, LIMITED)
) -> dict[str, tuple[dict[str, int], dict[str, int | None]]]:
    """Return per domain the real counts and the stored counters, read as rootdn from slapd."""
    creds = slapd.credentials
    conn = Connection(Server(creds.uri), creds.root_dn, creds.root_password, auto_bind=True)
    try:
        result = {}
        for domain in domains:
            base = f"domainName={domain},o=domains,{creds.suffix}"

            def found(container, search_filter, attributes=("1.1",), _base=base):
                return list(conn.extend.standard.paged_search(
                    f"{container},{_base}", search_filter, search_scope="LEVEL",
                    attributes=list(attributes), paged_size=500, generator=True))  # fmt: skip

            users = found("ou=Users", f"(&(objectClass=mailUser)(!(mail=@{domain})))",
                          ["mailQuota"])  # fmt: skip
            real = {
                counters.USERS: len(users),
                counters.QUOTA: sum(int(u["attributes"]["mailQuota"] or 0) for u in users),
                counters.ALIASES: len(found("ou=Aliases", "(objectClass=mailAlias)")),
                counters.LISTS: len(found("ou=Groups", "(objectClass=mailList)")),
            }
            conn.search(base, "(objectClass=*)", "BASE", attributes=list(counters.COUNTED))
            attributes = conn.entries[0].entry_attributes_as_dict
            stored = {name: (attributes.get(name) or [None])[0] for name in counters.COUNTED}
            result[domain] = (
                real,
                {k: int(v) if v is not None else None for k, v in stored.items()},
            )
        return result
    finally:
        conn.unbind()


class ConfigSlapd:
    """The embedded server's set-up without slapo-unique, run from cn=config (slapd -F)."""

    def __init__(self, data_dir: Path) -> None:
        self.server = EmbeddedSlapd(data_dir, durable=False)
        self.creds = self.server.create()
        kept = [line for line in self.server.conf_path.read_text().splitlines()
                if not line.startswith(("moduleload unique", "overlay unique", "unique_uri"))]  # fmt: skip
        conf = "\n".join(kept).replace(
            "database mdb",
            f'database config\naccess to * by dn.exact="{self.creds.root_dn}" manage\n\n'
            "database mdb",
        )
        plain = data_dir / "plain.conf"
        plain.write_text(conf + "\n")
        config_dir = data_dir / "slapd.d"
        config_dir.mkdir()
        # Given both -f and an empty -F directory, slapd converts slapd.conf into cn=config.
        command = [self.server.client.tools["slapd"], "-d", "none", "-f", str(plain), "-F", str(config_dir), "-h",
                   f"{self.creds.uri}/ {self.server.ldapi_uri}"]  # fmt: skip
        self.proc = spawn_logged(command, data_dir / "slapd.log")
        deadline = time.monotonic() + 15
        while self.server.client.run("ldapwhoami", check=False).returncode != 0:
            assert self.proc.poll() is None and time.monotonic() < deadline, (
                data_dir / "slapd.log"
            ).read_text()
            time.sleep(0.05)
        self.server.init_tree()

    def add(self, ldif: str) -> subprocess.CompletedProcess[str]:
        """Add entries as the rootdn (ldapi, SASL EXTERNAL)."""
        return self.server.client.run("ldapadd", input=ldif, check=False)

    def stop(self) -> None:
        """Stop slapd."""
        self.proc.terminate()
        self.proc.wait(timeout=10)


def audit_rows(url):
    """Read audit_log straight from the database, oldest first."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            result = conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).mappings().all()
            return [dict(row) for row in result]
    finally:
        engine.dispose()


# -- every route of the app, and a world to call them in ---------------------------------------

WORLD_DOMAIN = "a.test"  # the domain build_world makes, for tests that walk every route
BOSS = "boss@partner.test"  # a standard admin of a.test
WORLD_TARGET = "target@partner.test"  # another admin, the subject of the admin routes
PATH_VALUES = {
    "domain": WORLD_DOMAIN,
    "days": "30",
    "new_mail": f"new@{WORLD_DOMAIN}",
    "token_id": "0123456789abcdef",
    "job_id": "0123456789abcdef",
    "filename": "x.css",
    "account": f"u@{WORLD_DOMAIN}",  # the policy routes: a domain or an address
    "kind": "inbound",
    "queue_id": "4ABCDE12345",
    "service": "clamav",
}
MAIL_BY_RESOURCE = {
    "user": f"u@{WORLD_DOMAIN}",
    "alias": f"al@{WORLD_DOMAIN}",
    "maillist": f"ml@{WORLD_DOMAIN}",
    "ml": f"list@{WORLD_DOMAIN}",
    "admin": WORLD_TARGET,
    "token": WORLD_TARGET,
}


class Route(NamedTuple):
    """One method of one URL rule, with its path filled in."""

    method: str
    url: str
    endpoint: str
    view: Any

    def argument_schemas(self) -> list[Any]:
        """Return the schemas the view parses its arguments with."""
        parameters = getattr(self.view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
        return [p["schema"] for p in parameters]

    def reads_body(self) -> bool:
        """Tell whether the view parses a JSON or form body."""
        parameters = getattr(self.view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
        return any(p.get("in") == "json_or_form" for p in parameters)


def every_route(app) -> list[Route]:
    """Return every rule and method of the app (HEAD and OPTIONS aside), DELETEs last."""
    routes = []
    for rule in app.url_map.iter_rules():
        resource = rule.endpoint.split(".")[0]
        values = {
            name: MAIL_BY_RESOURCE.get(resource, f"u@{WORLD_DOMAIN}")
            if name == "mail"
            else PATH_VALUES[name]
            for name in rule.arguments
        }
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append(Route(method, url, rule.endpoint, app.view_functions[rule.endpoint]))
    return sorted(routes, key=lambda route: route.method == "DELETE")


def build_world(app, raw) -> None:
    """The global admin, a.test with a user, an alias and a list, its admin BOSS, and TARGET."""
    with app.app_context():
        create_global_admin(get_directory(), ADMIN_EMAIL, ADMIN_PASSWORD)
    add_domain(raw, WORLD_DOMAIN, admins=[BOSS])
    add_admin(raw, BOSS)
    add_admin(raw, WORLD_TARGET)
    add_user(raw, f"u@{WORLD_DOMAIN}")
    client = app.test_client()
    assert login(client, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200
    assert client.post(f"/api/alias/al@{WORLD_DOMAIN}").status_code == 201
    assert client.post(f"/api/maillist/ml@{WORLD_DOMAIN}").status_code == 201


def wait_done(api, job_id, timeout=60):
    """Poll GET /api/jobs/<id> until the job is done or failed; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = api.get(f"/api/jobs/{job_id}")
        assert response.status_code == 200, response.json
        job = response.json["_data"]
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} not finished after {timeout} s: {job}")


# -- dummy daemons for the mail host helper's command backend -----------------------------

DUMMY_DAEMON = Path(__file__).parent / "mailhost" / "dummy_daemon.py"


def command_section(run_dir: Path, name: str, delay: float = 0.0, stop_delay: float = 0.0):
    """Return a [command:<name>] section starting and stopping a dummy daemon."""
    pidfile = run_dir / f"{name}.pid"
    section = {
        "start": f"{sys.executable} -I {DUMMY_DAEMON} start {pidfile} {delay}",
        "pidfile": str(pidfile),
    }
    if stop_delay:
        section["stop"] = f"{sys.executable} -I {DUMMY_DAEMON} stop {pidfile} {stop_delay}"
    return section


def alive(pid: int) -> bool:
    """Tell whether a process runs (a zombie waiting for init to reap it does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def pid_of(pidfile: Path) -> int | None:
    """Return the live pid in a pidfile, or None."""
    try:
        pid = int(pidfile.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if alive(pid) else None


def kill_dummy_daemons(run_dir: Path) -> None:
    """Kill every dummy daemon whose pidfile is in run_dir (test clean-up)."""
    for pidfile in run_dir.glob("*.pid"):
        pid = pid_of(pidfile)
        if pid:
            os.kill(pid, signal.SIGKILL)
