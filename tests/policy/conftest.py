"""Fixtures of the policy tests: iRedAPD's database on SQLite, PostgreSQL and MariaDB.

Each server variant comes twice: with the tables the API creates in an empty database,
and with iRedMail's own DDL (tests/policy/sql/) loaded beforehand, which the API then
uses as a database user with only SELECT, INSERT, UPDATE and DELETE rights. The
databases live for the whole run; each test starts with every table emptied.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pytest
import sqlalchemy as sa
from flask import Flask

from iredapi_ldap import create_app
from iredapi_ldap import sqlstore
from iredapi_ldap.ldap.connection import get_pool
from iredapi_ldap.sqlstore.iredapd import PolicyStore
from iredapi_ldap.sqlstore.iredapd import get_policy_store
from iredapi_ldap.sqlstore.iredapd.tables import metadata
from tests.conftest import ADMIN_PASSWORD
from tests.conftest import checked
from tests.dbserver import HOST
from tests.helpers import new_client

from .iredapd import Iredapd

SQL_DIR = Path(__file__).parent / "sql"
VARIANTS = ["sqlite", "postgresql", "mariadb", "postgresql-iredmail", "mariadb-iredmail"]
# The API routes: SQLite for every route; PostgreSQL and MariaDB as iRedMail creates them
# (used with DML rights only) for the writes.
API_VARIANTS = ["sqlite", "postgresql-iredmail", "mariadb-iredmail"]
POSTGRESQL_VARIANTS = ["postgresql", "postgresql-iredmail"]
# The rights a deployment gives the API on iRedMail's iredapd database (docs/policy.md).
DML_USER = "iredapd_dml"
DML_PASSWORD = "iredapd-dml-pw"


@dataclass
class PolicyDb:
    """The store under test, an independent engine on the same database, and iRedAPD's lookups."""

    name: str
    store: PolicyStore
    db: sa.Engine
    iredapd: Iredapd

    def rows(self, table: str, *columns: str, order_by: str = "id") -> list[dict[str, Any]]:
        """Return the table's rows (all columns, or those named) through the independent engine."""
        what = ", ".join(columns) if columns else "*"
        with self.db.connect() as conn:
            result = conn.execute(sa.text(f"SELECT {what} FROM {table} ORDER BY {order_by}"))
            return [dict(row) for row in result.mappings()]

    def insert(self, table: str, *rows: dict[str, Any]) -> None:
        """Insert rows as another writer (iRedAPD, Pro, iRedMail's installer) would."""
        with self.db.begin() as conn:
            conn.execute(sa.insert(metadata.tables[table]), list(rows))


def load_sql(conn: Any, path: Path) -> None:
    """Run each statement of a DDL file on a DB-API connection."""
    text = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("--"))
    with conn.cursor() as cursor:
        for statement in filter(str.strip, text.split(";")):
            cursor.execute(statement)


@pytest.fixture(scope="session")
def pg_policy_urls(pg_server):
    """Two PostgreSQL databases: (API URL, admin URL) for the API's schema and iRedMail's."""
    import psycopg

    api = pg_server.create_database("iredapd_api")
    iredmail = pg_server.create_database("iredapd_iredmail")
    with psycopg.connect(pg_server.dsn(iredmail), autocommit=True) as conn:
        load_sql(conn, SQL_DIR / "iredapd.pgsql")
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (DML_USER,)).fetchone():
            conn.execute(f"CREATE ROLE {DML_USER} LOGIN")
        conn.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {DML_USER}"
        )
        conn.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {DML_USER}")
    dml = f"postgresql+psycopg://{DML_USER}@{HOST}:{pg_server.port}/{iredmail}"
    return {
        "postgresql": (pg_server.url(api), pg_server.url(api)),
        "postgresql-iredmail": (dml, pg_server.url(iredmail)),
    }


@pytest.fixture(scope="session")
def mariadb_policy_urls(mariadb_server):
    """Two MariaDB databases, made as iRedMail makes `iredapd` (utf8mb4_unicode_ci)."""
    admin = pymysql.connect(host=HOST, port=mariadb_server.port, user="root", autocommit=True)
    try:
        for name in ("iredapd_api", "iredapd_iredmail"):
            mariadb_server.reset_database(name)
            with admin.cursor() as cursor:
                cursor.execute(
                    f"ALTER DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
        admin.select_db("iredapd_iredmail")
        load_sql(admin, SQL_DIR / "iredapd.mysql")
        with admin.cursor() as cursor:
            cursor.execute(
                f"CREATE USER IF NOT EXISTS '{DML_USER}'@'{HOST}' IDENTIFIED BY '{DML_PASSWORD}'"
            )
            cursor.execute(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON `iredapd_iredmail`.* TO '{DML_USER}'@'{HOST}'"
            )
    finally:
        admin.close()
    dml = (
        f"mysql+pymysql://{DML_USER}:{DML_PASSWORD}@{HOST}:{mariadb_server.port}"
        "/iredapd_iredmail?charset=utf8mb4"
    )
    return {
        "mariadb": (mariadb_server.url("iredapd_api"), mariadb_server.url("iredapd_api", "root")),
        "mariadb-iredmail": (dml, mariadb_server.url("iredapd_iredmail", "root")),
    }


def policy_urls(request, tmp_path, variant: str) -> tuple[str, str]:
    """Return (URL the API uses, URL of the independent engine) of a variant, emptied."""
    if variant == "sqlite":
        url = f"sqlite:///{tmp_path / 'iredapd.sqlite'}"
        return url, url
    fixture = "pg_policy_urls" if variant.startswith("postgresql") else "mariadb_policy_urls"
    return request.getfixturevalue(fixture)[variant]


def empty_tables(engine: sa.Engine) -> None:
    """Delete every row of iRedAPD's tables that exist (children before parents)."""
    present = set(sa.inspect(engine).get_table_names())
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name in present:
                conn.execute(sa.delete(table))


def open_policy(request, tmp_path, variant: str):
    """Yield a PolicyDb on the variant's emptied database; close its connections after."""
    api_url, admin_url = policy_urls(request, tmp_path, variant)
    db = sa.create_engine(admin_url)
    empty_tables(db)
    app = Flask(__name__)
    app.config["SQL_URL"] = f"sqlite:///{tmp_path / 'store.sqlite'}"
    app.config["IREDAPD_URL"] = api_url
    sqlstore.init_app(app)
    store = get_policy_store(app)
    try:
        assert store.engine is not None  # first use: iRedAPD's tables exist from here on
        yield PolicyDb(variant, store, db, Iredapd(db))
    finally:
        sqlstore.dispose(app)
        db.dispose()


@pytest.fixture(params=VARIANTS)
def policy(request, tmp_path):
    """A PolicyDb on each of the five databases in turn."""
    yield from open_policy(request, tmp_path, request.param)


@pytest.fixture(params=POSTGRESQL_VARIANTS)
def pg_policy(request, tmp_path):
    """A PolicyDb on PostgreSQL only, whose throttle table has no unique key."""
    yield from open_policy(request, tmp_path, request.param)


@pytest.fixture
def sqlite_policy(request, tmp_path):
    """A PolicyDb on SQLite, for what does not depend on the database (input checks)."""
    yield from open_policy(request, tmp_path, "sqlite")


@dataclass
class PolicyApi:
    """A client logged in as the global admin, its app, and the PolicyDb its routes write."""

    client: Any
    app: Flask
    policy: PolicyDb


def open_api(request, tmp_path, app_config, admin: str, variant: str):
    """Yield a PolicyApi whose app's [iredapd] url is the variant's emptied database."""
    api_url, admin_url = policy_urls(request, tmp_path, variant)
    db = sa.create_engine(admin_url)
    empty_tables(db)
    app = checked(create_app({**app_config, "IREDAPD_URL": api_url}))
    try:
        client = new_client(app, admin, ADMIN_PASSWORD)
        policy = PolicyDb(variant, get_policy_store(app), db, Iredapd(db))
        assert policy.store.engine is not None  # iRedAPD's tables exist from here on
        yield PolicyApi(client, app, policy)
    finally:
        get_pool(app).close_all()
        sqlstore.dispose(app)
        db.dispose()


@pytest.fixture(params=API_VARIANTS)
def policy_api(request, tmp_path, app_config, admin):
    """The policy routes on SQLite, PostgreSQL and MariaDB (iRedMail's schema) in turn."""
    yield from open_api(request, tmp_path, app_config, admin, request.param)


@pytest.fixture
def sqlite_api(request, tmp_path, app_config, admin):
    """The policy routes on SQLite, for what does not depend on the database."""
    yield from open_api(request, tmp_path, app_config, admin, "sqlite")
