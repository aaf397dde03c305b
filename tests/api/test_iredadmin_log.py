"""[sql] iredadmin_log: each API write also appears in iRedAdmin's own admin log (`log` table)."""

from __future__ import annotations

import logging
from datetime import UTC
from datetime import datetime

import pytest
import sqlalchemy as sa

from iredapi_ldap.sqlstore import TABLES
from iredapi_ldap.sqlstore import get_store
from tests.conftest import ADMIN_EMAIL
from tests.conftest import ADMIN_PASSWORD
from tests.dbserver import HOST
from tests.helpers import PASSWORD
from tests.helpers import app_with
from tests.helpers import audit_rows

CLIENT = "198.51.100.20"
COLUMNS = ("admin", "ip", "domain", "username", "event", "loglevel", "msg")

# The `log` table as iRedAdmin's SQL/iredadmin.pgsql and .mysql create it (SQLite: the same
# columns), so the rows are checked against iRedAdmin's own definition, not the API's.
IREDADMIN_LOG_DDL = {
    "sqlite": [
        "CREATE TABLE log (id INTEGER PRIMARY KEY,"
        " timestamp TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,"
        " admin VARCHAR(255) NOT NULL, ip VARCHAR(40) NOT NULL,"
        " domain VARCHAR(255) NOT NULL DEFAULT '', username VARCHAR(255) NOT NULL DEFAULT '',"
        " event VARCHAR(20) NOT NULL DEFAULT '', loglevel VARCHAR(10) NOT NULL DEFAULT 'info',"
        " msg TEXT)",
    ],
    "postgresql": [
        "CREATE TABLE log (id SERIAL PRIMARY KEY, admin VARCHAR(255) NOT NULL,"
        " timestamp TIMESTAMP WITHOUT TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,"
        " ip VARCHAR(40) NOT NULL, domain VARCHAR(255) NOT NULL DEFAULT '',"
        " username VARCHAR(255) NOT NULL DEFAULT '', event VARCHAR(20) NOT NULL DEFAULT '',"
        " loglevel VARCHAR(10) NOT NULL DEFAULT 'info', msg TEXT)",
        "CREATE INDEX idx_log_timestamp ON log (timestamp)",
        "CREATE INDEX idx_log_domain ON log (domain)",
    ],
    "mysql": [
        "CREATE TABLE IF NOT EXISTS `log` (`id` BIGINT(20) UNSIGNED AUTO_INCREMENT,"
        " `timestamp` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,"
        " `admin` VARCHAR(255) NOT NULL, `ip` VARCHAR(40) NOT NULL,"
        " `domain` VARCHAR(255) NOT NULL DEFAULT '', `username` VARCHAR(255) NOT NULL DEFAULT '',"
        " `event` VARCHAR(20) NOT NULL DEFAULT '', `loglevel` VARCHAR(10) NOT NULL DEFAULT 'info',"
        " `msg` TEXT, PRIMARY KEY (id), INDEX (timestamp), INDEX (admin), INDEX (ip),"
        " INDEX (domain), INDEX (username), INDEX (event), INDEX (loglevel)) ENGINE=InnoDB",
    ],
}


def run_sql(url, *statements):
    """Run statements on a database through an engine of our own."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def create_iredadmin_log(url):
    """Create `log` with iRedAdmin's DDL for the URL's database."""
    run_sql(url, *IREDADMIN_LOG_DDL[sa.make_url(url).get_backend_name()])


def iredadmin_rows(url):
    """Read iRedAdmin's `log` as iRedAdmin's admin log lists it (newest first), oldest first."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT * FROM log ORDER BY timestamp DESC, id DESC"))
            found = [dict(row) for row in rows.mappings()][::-1]
    finally:
        engine.dispose()
    for row in found:  # SQLite answers a raw query with text
        if isinstance(row["timestamp"], str):
            row["timestamp"] = datetime.fromisoformat(row["timestamp"])
    return found


def log_in(client, password=ADMIN_PASSWORD):
    """POST /api/login as the global admin, from CLIENT."""
    data = {"username": ADMIN_EMAIL, "password": password}
    return client.post("/api/login", data=data, headers={"X-Forwarded-For": CLIENT})


def write_and_read_back(app_config, url):
    """Log in (once wrongly), create, change and delete through the API; return the `log` rows."""
    with app_with(app_config, SQL_URL=url, SQL_IREDADMIN_LOG=True,
                  TRUSTED_PROXIES="127.0.0.1") as node:  # fmt: skip
        client = node.test_client()
        headers = {"X-Forwarded-For": CLIENT}
        assert log_in(client, "Wrong-Pass-1").status_code == 401
        assert log_in(client).status_code == 200
        assert client.post("/api/domain/example.com", headers=headers).status_code == 201
        assert client.post("/api/domain/example.com", headers=headers).status_code == 409
        created = client.post(
            "/api/user/bob@example.com", data={"password": PASSWORD}, headers=headers
        )
        assert created.status_code == 201, created.json
        assert client.put(
            "/api/user/bob@example.com", data={"name": "Bob"}, headers=headers
        ).status_code == 200  # fmt: skip
        assert client.get("/api/user/bob@example.com", headers=headers).status_code == 200
        assert client.delete("/api/user/bob@example.com", headers=headers).status_code == 200
    return iredadmin_rows(url)


EXPECTED = [
    (ADMIN_EMAIL, CLIENT, "", "", "login", "error", "[API] Login failed."),
    (ADMIN_EMAIL, CLIENT, "", "", "login", "info", "[API] Admin login success"),
    (ADMIN_EMAIL, CLIENT, "example.com", "", "create", "info", "[API] Create domain: example.com."),
    (ADMIN_EMAIL, CLIENT, "example.com", "bob@example.com", "create", "info",
     "[API] Create user: bob@example.com."),
    (ADMIN_EMAIL, CLIENT, "example.com", "bob@example.com", "update", "info",
     "[API] Update user: bob@example.com."),
    (ADMIN_EMAIL, CLIENT, "example.com", "bob@example.com", "delete", "info",
     "[API] Delete user: bob@example.com."),
]  # fmt: skip


def test_writes_appear_in_iredadmins_own_log_table(app_config, admin, sql_url, raw):
    """On iRedAdmin's `log` (its DDL; SQLite, PostgreSQL, MariaDB) a row per write and login."""
    create_iredadmin_log(sql_url)
    before = datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    rows = write_and_read_back(app_config, sql_url)

    after = datetime.now(UTC).replace(tzinfo=None)
    assert [tuple(row[column] for column in COLUMNS) for row in rows] == EXPECTED
    for row in rows:  # UTC in whole seconds, as iRedAdmin writes it
        assert before <= row["timestamp"] <= after and row["timestamp"].microsecond == 0
    # The refused create (409) and the read are in the API's own audit log only.
    assert [(r["method"], r["status"]) for r in audit_rows(sql_url)][2:4] == [
        ("POST", 201),
        ("POST", 409),
    ]
    assert raw.entry(raw.domain_dn("example.com")) is not None


def test_without_the_switch_iredadmins_log_stays_empty(app_config, admin, tmp_path):
    """The default (iredadmin_log = no) writes only the API's audit log."""
    url = f"sqlite:///{tmp_path / 'iredadmin.sqlite'}"
    create_iredadmin_log(url)
    with app_with(app_config, SQL_URL=url) as node:
        client = node.test_client()
        assert log_in(client).status_code == 200
        assert client.post("/api/domain/example.com").status_code == 201
    assert iredadmin_rows(url) == []
    assert len(audit_rows(url)) == 2


def test_a_missing_log_table_is_created_in_iredadmins_form(app_config, admin, tmp_path):
    """A new store creates `log` with iRedAdmin's columns, so iRedAdmin can read it later."""
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with app_with(app_config, SQL_URL=url, SQL_IREDADMIN_LOG=True) as node:
        client = node.test_client()
        assert log_in(client).status_code == 200
        assert client.post("/api/domain/example.com").status_code == 201
    engine = sa.create_engine(url)
    try:
        columns = {c["name"]: c for c in sa.inspect(engine).get_columns("log")}
    finally:
        engine.dispose()
    assert list(columns) == ["id", "timestamp", "admin", "ip", "domain", "username", "event",
                             "loglevel", "msg"]  # fmt: skip
    assert columns["ip"]["type"].length == 40 and columns["event"]["type"].length == 20
    assert [row["msg"] for row in iredadmin_rows(url)] == [
        "[API] Admin login success",
        "[API] Create domain: example.com.",
    ]
    assert "log" in {table.name for table in TABLES}


def test_a_failing_iredadmin_log_keeps_the_answer_and_the_audit_row(
    app_config, admin, tmp_path, raw, caplog
):
    """When iRedAdmin's table refuses the row, the write still answers 201 and is audited."""
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with app_with(app_config, SQL_URL=url, SQL_IREDADMIN_LOG=True) as node:
        client = node.test_client()
        assert log_in(client).status_code == 200
        run_sql(url, "DROP TABLE log")
        with caplog.at_level(logging.ERROR, logger="iredapi_ldap.audit"):
            assert client.post("/api/domain/example.com").status_code == 201
    assert raw.entry(raw.domain_dn("example.com")) is not None
    assert [(r["path"], r["status"]) for r in audit_rows(url)][-1] == (
        "/api/domain/example.com",
        201,
    )
    assert "iRedAdmin's admin log not written: POST /api/domain/example.com" in caplog.text


MIN_USER = "iredapi_min"
MIN_PASSWORD = "min-pw-1"


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_insert_on_log_is_the_only_right_it_needs(request, app_config, admin, backend):
    """As docs/sql-store.md says: with the store's tables made, INSERT on `log` (PostgreSQL:
    and USAGE on its sequence) is all the API's database user needs there."""
    if backend == "postgresql":
        from tests.pgserver import TEST_DATABASE

        server = request.getfixturevalue("pg_server")
        server.reset_database(TEST_DATABASE)
        admin_url = server.url(TEST_DATABASE)
        api_url = f"postgresql+psycopg://{MIN_USER}@{HOST}:{server.port}/{TEST_DATABASE}"
    else:
        from tests.mariadbserver import TEST_DATABASE

        server = request.getfixturevalue("mariadb_server")
        server.reset_database(TEST_DATABASE)
        admin_url = server.url(TEST_DATABASE, "root")
        api_url = (f"mysql+pymysql://{MIN_USER}:{MIN_PASSWORD}@{HOST}:{server.port}"
                   f"/{TEST_DATABASE}?charset=utf8mb4")  # fmt: skip
    create_iredadmin_log(admin_url)
    with app_with(app_config, SQL_URL=admin_url) as node:  # the store's tables, as documented
        assert get_store(node).engine is not None
    own = [table.name for table in TABLES if table.name != "log"]
    if backend == "postgresql":
        run_sql(
            admin_url,
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{MIN_USER}')"
            f" THEN CREATE ROLE {MIN_USER} LOGIN; END IF; END $$",
            # The test server's re-created schema grants nothing; iRedMail's `public` does.
            f"GRANT USAGE ON SCHEMA public TO {MIN_USER}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(own)} TO {MIN_USER}",
            f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {MIN_USER}",
            f"GRANT INSERT ON log TO {MIN_USER}",
        )
    else:
        account = f"'{MIN_USER}'@'{HOST}'"
        run_sql(
            admin_url,
            f"DROP USER IF EXISTS {account}",
            f"CREATE USER {account} IDENTIFIED BY '{MIN_PASSWORD}'",
            *(f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{TEST_DATABASE}`.`{name}` TO {account}"
              for name in own),
            f"GRANT INSERT ON `{TEST_DATABASE}`.`log` TO {account}",
        )  # fmt: skip
    try:
        with app_with(app_config, SQL_URL=api_url, SQL_IREDADMIN_LOG=True) as node:
            client = node.test_client()
            assert log_in(client).status_code == 200
            assert client.post("/api/domain/example.com").status_code == 201
        assert [row["msg"] for row in iredadmin_rows(admin_url)] == [
            "[API] Admin login success",
            "[API] Create domain: example.com.",
        ]
        assert len(audit_rows(admin_url)) == 2
    finally:
        if backend == "mariadb":
            run_sql(admin_url, f"DROP USER IF EXISTS '{MIN_USER}'@'{HOST}'")


def test_iredadmin_reads_the_utc_time_on_a_server_in_another_zone(
    app_config, admin, mariadb_server
):
    """MariaDB in UTC+2: a session in the server's zone (iRedAdmin's) reads the row's UTC time."""
    from tests.mariadbserver import TEST_DATABASE

    mariadb_server.reset_database(TEST_DATABASE)
    root = mariadb_server.url(TEST_DATABASE, "root")
    create_iredadmin_log(root)
    engine = sa.create_engine(root)
    with engine.connect() as conn:
        zone = conn.execute(sa.text("SELECT @@global.time_zone")).scalar_one()
    engine.dispose()
    run_sql(root, "SET GLOBAL time_zone = '+02:00'")
    try:
        before = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        with app_with(app_config, SQL_URL=mariadb_server.url(TEST_DATABASE),
                      SQL_IREDADMIN_LOG=True) as node:  # fmt: skip
            assert log_in(node.test_client()).status_code == 200
        after = datetime.now(UTC).replace(tzinfo=None)
        [row] = iredadmin_rows(root)
    finally:
        run_sql(root, f"SET GLOBAL time_zone = '{zone}'")
    assert row["msg"] == "[API] Admin login success"
    assert before <= row["timestamp"] <= after
