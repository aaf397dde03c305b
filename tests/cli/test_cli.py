"""The `iredapi-ldap` command: embedded serve, the sample client, init-directory, create-admin."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests
from ldap3 import Connection
from ldap3 import Server

from iredapi_ldap import config as cfg
from tests.helpers import SERVE_ADMIN
from tests.helpers import SERVE_PASSWORD
from tests.helpers import Served
from tests.helpers import cli

SAMPLE = Path(__file__).with_name("iredadmin_pro_sample.py")


def test_embedded_serve_runs_sample_client_and_keeps_data(tmp_path):
    """The embedded default serves the unchanged sample client, and a restart keeps data."""
    data = tmp_path / "var"
    server = Served(data, "--admin-email", SERVE_ADMIN, "--admin-password", SERVE_PASSWORD)
    try:
        env = {**os.environ, "SAMPLE_URL": server.base, "SAMPLE_ADMIN": SERVE_ADMIN,
               "SAMPLE_PASSWORD": SERVE_PASSWORD}  # fmt: skip
        result = subprocess.run([sys.executable, str(SAMPLE)], env=env, capture_output=True,
                                text=True, timeout=60)  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        session = requests.Session()
        assert session.post(
            server.base + "/login", data={"username": SERVE_ADMIN, "password": SERVE_PASSWORD}
        ).ok
        assert (
            session.post(server.base + "/domain/kept.test", data={"cn": "Kept"}).status_code == 201
        )
    finally:
        server.stop()
    assert "created global admin boss@admin.test" in server.output()
    values = cfg.load_ini(data / "config.ini")
    assert values["LDAP_BIND_DN"].startswith("cn=vmailadmin,")
    assert oct((data / "config.ini").stat().st_mode & 0o777) == "0o600"

    again = Served(data)
    try:
        session = requests.Session()
        assert session.post(
            again.base + "/login", data={"username": SERVE_ADMIN, "password": SERVE_PASSWORD}
        ).ok
        body = session.get(again.base + "/domain/kept.test").json()
        assert body["_data"]["name"] == "Kept"
        assert cfg.load_ini(data / "config.ini")["SECRET_KEY"] == values["SECRET_KEY"]
    finally:
        again.stop()
    assert "a global admin exists already" not in again.output()


def test_serve_generates_admin_password_once(tmp_path):
    """Without --admin-password a password is generated, printed once and stored 0600."""
    data = tmp_path / "var"
    server = Served(data)
    try:
        secret = data / "admin-password.txt"
        email, password = secret.read_text().split()
        assert oct(secret.stat().st_mode & 0o777) == "0o600"
        assert password in server.output()
        login = requests.post(
            server.base + "/login", data={"username": email, "password": password}
        )
        assert login.status_code == 200
    finally:
        server.stop()


def test_counts_written_behind_survive_a_graceful_stop(tmp_path):
    """Counters pending in a gunicorn worker are written when it stops (SIGTERM), not lost."""
    data = tmp_path / "var"
    Served(data, "--admin-email", SERVE_ADMIN, "--admin-password", SERVE_PASSWORD).stop()
    values = cfg.load_ini(data / "config.ini")
    cfg.write_ini(
        data / "config.ini", {**values, "LDAP_COUNTER_FLUSH_SECONDS": 600}
    )  # no timer: exit only
    server = Served(data)
    try:
        session = requests.Session()
        assert session.post(
            server.base + "/login", data={"username": SERVE_ADMIN, "password": SERVE_PASSWORD}
        ).ok
        assert session.post(server.base + "/domain/count.test").status_code == 201
        for name in ("a", "b", "c"):
            created = session.post(
                f"{server.base}/user/{name}@count.test", data={"password": "Secret-Pass-123"}
            )
            assert created.status_code == 201, created.text
    finally:
        server.stop()
    again = Served(data)
    try:
        session = requests.Session()
        assert session.post(
            again.base + "/login", data={"username": SERVE_ADMIN, "password": SERVE_PASSWORD}
        ).ok
        assert session.get(again.base + "/domain/count.test").json()["_data"]["currentUsers"] == 3
    finally:
        again.stop()


def test_serve_without_slapd_says_what_to_install(tmp_path):
    """With no slapd on PATH, serve exits non-zero naming the Debian packages."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    result = subprocess.run(
        [*cli(), "serve", "--data-dir", str(tmp_path / "var")],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "apt-get install slapd ldap-utils" in result.stderr


def test_init_directory_and_create_admin(tmp_path, slapd_server):
    """init-directory adds only missing base entries; create-admin writes a mailAdmin."""
    creds = slapd_server.credentials
    slapd_server.reset_tree()
    conn = Connection(Server(creds.uri), creds.root_dn, creds.root_password, auto_bind=True)
    conn.delete(f"o=domainAdmins,{creds.suffix}")
    ini = tmp_path / "config.ini"
    cfg.write_ini(ini, {"LDAP_URI": creds.uri, "LDAP_BIND_DN": creds.vmailadmin_dn,
                        "LDAP_BIND_PASSWORD": creds.vmailadmin_password,
                        "LDAP_SUFFIX": creds.suffix, "SECRET_KEY": "k"})  # fmt: skip
    run = [*cli(), "init-directory", "--config", str(ini), "--bind-dn", creds.root_dn,
           "--bind-password", creds.root_password]  # fmt: skip
    first = subprocess.run(run, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert f"added o=domainAdmins,{creds.suffix}" in first.stdout
    second = subprocess.run(run, capture_output=True, text=True, timeout=60)
    assert "nothing changed" in second.stdout

    made = subprocess.run(
        [*cli(), "create-admin", "ops@admins.test", "--password", "Ops-Pass-1234", "--global",
         "--config", str(ini)], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    conn.search(f"mail=ops@admins.test,o=domainAdmins,{creds.suffix}", "(objectClass=mailAdmin)",
                attributes=["domainGlobalAdmin", "accountStatus", "userPassword"])  # fmt: skip
    entry = conn.entries[0]
    assert entry.domainGlobalAdmin.value == "yes"
    assert entry.accountStatus.value == "active"
    assert entry.userPassword.value.startswith(b"{SSHA512}")
    duplicate = subprocess.run(
        [*cli(), "create-admin", "ops@admins.test", "--password", "x", "--config", str(ini)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert duplicate.returncode != 0 and "ALREADY_EXISTS" in duplicate.stderr
    conn.unbind()


def test_cli_without_config_explains(tmp_path):
    """create-admin with no config anywhere fails with a clear message."""
    env = {k: v for k, v in os.environ.items() if k != cfg.ENV_VAR}
    result = subprocess.run(
        [*cli(), "create-admin", "a@b.test", "--password", "x", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert result.returncode != 0
    assert "No configuration" in result.stderr


def test_missing_config_file_names_it(tmp_path):
    """serve --config with a missing file names the file and who gave it."""
    result = subprocess.run(
        [*cli(), "serve", "--config", str(tmp_path / "nope.ini")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "nope.ini" in result.stderr and "--config" in result.stderr


def test_purge_audit_log_deletes_old_rows(tmp_path, slapd_server):
    """purge-audit-log deletes rows older than --keep-days (or [sql] audit_keep_days) and says how many."""
    import sqlalchemy as sa

    from iredapi_ldap.sqlstore.tables import audit_log

    creds = slapd_server.credentials
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    ini = tmp_path / "config.ini"
    cfg.write_ini(ini, {"LDAP_URI": creds.uri, "LDAP_BIND_DN": creds.vmailadmin_dn,
                        "LDAP_BIND_PASSWORD": creds.vmailadmin_password, "LDAP_SUFFIX": creds.suffix,
                        "SECRET_KEY": "k", "SQL_URL": url})  # fmt: skip
    engine = sa.create_engine(url)
    audit_log.create(engine)
    now = time.time()
    with engine.begin() as conn:
        for days in (100, 40, 1):
            stamp = sa.func.datetime(now - days * 86400, "unixepoch")
            conn.execute(sa.insert(audit_log).values(timestamp=stamp, parameters="{}", status=200))
    nothing = subprocess.run(
        [*cli(), "purge-audit-log", "--config", str(ini)], capture_output=True, text=True
    )
    assert nothing.returncode != 0 and "audit_keep_days" in nothing.stderr
    purged = subprocess.run([*cli(), "purge-audit-log", "--keep-days", "30", "--config", str(ini)],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert purged.returncode == 0, purged.stderr
    assert "deleted 2 audit row(s) older than 30 day(s)" in purged.stdout
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar() == 1
    engine.dispose()
