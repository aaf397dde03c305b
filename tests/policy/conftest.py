"""Fixtures of the policy tests: iRedAPD's and Amavisd's databases on SQLite, PostgreSQL and MariaDB.

Each server variant comes twice: with the tables the API creates in an empty database,
and with iRedMail's own DDL (tests/policy/sql/) loaded beforehand, which the API then
uses as a database user with only SELECT, INSERT, UPDATE and DELETE rights. The
databases live for the whole run; each test starts with every table emptied.
"""

from __future__ import annotations

from collections.abc import Callable
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
from iredapi_ldap.sqlstore.amavisd import AmavisdStore
from iredapi_ldap.sqlstore.amavisd import get_amavisd_store
from iredapi_ldap.sqlstore.amavisd.tables import metadata as amavisd_metadata
from iredapi_ldap.sqlstore.iredapd import PolicyStore
from iredapi_ldap.sqlstore.iredapd import get_policy_store
from iredapi_ldap.sqlstore.iredapd.tables import metadata
from tests.conftest import ADMIN_PASSWORD
from tests.conftest import checked
from tests.dbserver import HOST
from tests.helpers import new_client

from .amavisd import Amavisd
from .iredapd import Iredapd

SQL_DIR = Path(__file__).parent / "sql"
VARIANTS = ["sqlite", "postgresql", "mariadb", "postgresql-iredmail", "mariadb-iredmail"]
# The API routes: SQLite for every route; PostgreSQL and MariaDB as iRedMail creates them
# (used with DML rights only) for the writes.
API_VARIANTS = ["sqlite", "postgresql-iredmail", "mariadb-iredmail"]
POSTGRESQL_VARIANTS = ["postgresql", "postgresql-iredmail"]
# The rights a deployment gives the API on iRedMail's databases (docs/policy.md).
DML_PASSWORD = "iredapd-dml-pw"


@dataclass
class Db:
    """A store under test and an independent engine on the same database."""

    name: str
    store: Any
    db: sa.Engine

    def rows(self, table: str, *columns: str, order_by: str = "id") -> list[dict[str, Any]]:
        """Return the table's rows (all columns, or those named), binary values as text."""
        what = ", ".join(columns) if columns else "*"
        with self.db.connect() as conn:
            result = conn.execute(sa.text(f"SELECT {what} FROM {table} ORDER BY {order_by}"))
            return [
                {k: bytes(v).decode() if isinstance(v, bytes | memoryview) else v
                 for k, v in row.items()}
                for row in result.mappings()
            ]  # fmt: skip


@dataclass
class PolicyDb(Db):
    """iRedAPD's store, and iRedAPD's lookups on the same database."""

    store: PolicyStore
    iredapd: Iredapd

    def insert(self, table: str, *rows: dict[str, Any]) -> None:
        """Insert rows as another writer (iRedAPD, Pro, iRedMail's installer) would."""
        with self.db.begin() as conn:
            conn.execute(sa.insert(metadata.tables[table]), list(rows))


@dataclass
class AmavisdDb(Db):
    """Amavisd's store, and iRedAPD's and Amavisd's lookups on the same database."""

    store: AmavisdStore
    amavisd: Amavisd

    def sql(self, statement: str, **params: Any) -> None:
        """Run a statement as another writer would (plain strings, as iRedAPD and Pro send)."""
        with self.db.begin() as conn:
            conn.execute(sa.text(statement), params)

    def install_defaults(self) -> None:
        """Add what iRedMail's installer adds: the global policy and its `users` row."""
        text = (SQL_DIR / "amavisd.mysql").read_text()
        defaults = text[text.index("INSERT INTO policy") :]
        for statement in filter(str.strip, defaults.split(";")):
            self.sql(statement)


@dataclass(frozen=True)
class Kind:
    """One policy database: its name, tables, DML-only user, URL key, store and lookups."""

    name: str
    metadata: sa.MetaData
    dml_user: str
    config_key: str
    get_store: Callable[[Flask], Any]
    wrap: Callable[[str, Any, sa.Engine], Db]


IREDAPD = Kind("iredapd", metadata, "iredapd_dml", "IREDAPD_URL", get_policy_store,
               lambda name, store, db: PolicyDb(name, store, db, Iredapd(db)))  # fmt: skip
AMAVISD = Kind("amavisd", amavisd_metadata, "amavisd_dml", "AMAVISD_URL", get_amavisd_store,
               lambda name, store, db: AmavisdDb(name, store, db, Amavisd(db)))  # fmt: skip
DML_USER = IREDAPD.dml_user


def load_sql(conn: Any, path: Path) -> None:
    """Run each statement of a DDL file on a DB-API connection."""
    text = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("--"))
    with conn.cursor() as cursor:
        for statement in filter(str.strip, text.split(";")):
            cursor.execute(statement)


def pg_urls(pg_server, kind: Kind) -> dict[str, tuple[str, str]]:
    """Two PostgreSQL databases: (API URL, admin URL) for the API's schema and iRedMail's."""
    import psycopg

    api = pg_server.create_database(f"{kind.name}_api")
    iredmail = pg_server.create_database(f"{kind.name}_iredmail")
    with psycopg.connect(pg_server.dsn(iredmail), autocommit=True) as conn:
        load_sql(conn, SQL_DIR / f"{kind.name}.pgsql")
        if kind is AMAVISD:
            # iRedMail sets it on the amavisd database; psycopg must read bytea either way.
            conn.execute(f"ALTER DATABASE {iredmail} SET bytea_output TO 'escape'")
        user = kind.dml_user
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone():
            conn.execute(f"CREATE ROLE {user} LOGIN")
        conn.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {user}"
        )
        conn.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {user}")
    dml = f"postgresql+psycopg://{kind.dml_user}@{HOST}:{pg_server.port}/{iredmail}"
    return {
        "postgresql": (pg_server.url(api), pg_server.url(api)),
        "postgresql-iredmail": (dml, pg_server.url(iredmail)),
    }


def mariadb_urls(mariadb_server, kind: Kind) -> dict[str, tuple[str, str]]:
    """Two MariaDB databases, made as iRedMail makes them (utf8mb4_unicode_ci)."""
    api, iredmail = f"{kind.name}_api", f"{kind.name}_iredmail"
    user = kind.dml_user
    admin = pymysql.connect(host=HOST, port=mariadb_server.port, user="root", autocommit=True)
    try:
        for name in (api, iredmail):
            mariadb_server.reset_database(name)
            with admin.cursor() as cursor:
                cursor.execute(
                    f"ALTER DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
        admin.select_db(iredmail)
        load_sql(admin, SQL_DIR / f"{kind.name}.mysql")
        with admin.cursor() as cursor:
            cursor.execute(
                f"CREATE USER IF NOT EXISTS '{user}'@'{HOST}' IDENTIFIED BY '{DML_PASSWORD}'"
            )
            cursor.execute(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{iredmail}`.* TO '{user}'@'{HOST}'"
            )
    finally:
        admin.close()
    dml = (
        f"mysql+pymysql://{user}:{DML_PASSWORD}@{HOST}:{mariadb_server.port}"
        f"/{iredmail}?charset=utf8mb4"
    )
    return {
        "mariadb": (mariadb_server.url(api), mariadb_server.url(api, "root")),
        "mariadb-iredmail": (dml, mariadb_server.url(iredmail, "root")),
    }


@pytest.fixture(scope="session")
def policy_databases(request):
    """Return urls(server, kind): the two databases of a kind on pg or mariadb, made once."""
    made: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}

    def urls(server: str, kind: Kind = IREDAPD) -> dict[str, tuple[str, str]]:
        if (server, kind.name) not in made:
            make = pg_urls if server == "pg" else mariadb_urls
            made[server, kind.name] = make(request.getfixturevalue(f"{server}_server"), kind)
        return made[server, kind.name]

    return urls


@pytest.fixture(scope="session")
def pg_policy_urls(policy_databases):
    """iRedAPD's two PostgreSQL databases."""
    return policy_databases("pg")


@pytest.fixture(scope="session")
def mariadb_policy_urls(policy_databases):
    """iRedAPD's two MariaDB databases."""
    return policy_databases("mariadb")


def policy_urls(request, tmp_path, variant: str, kind: Kind = IREDAPD) -> tuple[str, str]:
    """Return (URL the API uses, URL of the independent engine) of a variant, emptied."""
    if variant == "sqlite":
        url = f"sqlite:///{tmp_path / f'{kind.name}.sqlite'}"
        return url, url
    server = "pg" if variant.startswith("postgresql") else "mariadb"
    return request.getfixturevalue("policy_databases")(server, kind)[variant]


def empty_tables(engine: sa.Engine, tables: sa.MetaData = metadata) -> None:
    """Delete every row of the database's tables that exist (children before parents)."""
    present = set(sa.inspect(engine).get_table_names())
    with engine.begin() as conn:
        for table in reversed(tables.sorted_tables):
            if table.name in present:
                conn.execute(sa.delete(table))


def open_app(tmp_path, **urls: str) -> Flask:
    """Return a bare app whose SQL store is a file in tmp_path and the policy URLs as given."""
    app = Flask(__name__)
    app.config["SQL_URL"] = f"sqlite:///{tmp_path / 'store.sqlite'}"
    app.config["IREDAPD_URL"] = f"sqlite:///{tmp_path / 'iredapd.sqlite'}"
    app.config["AMAVISD_URL"] = f"sqlite:///{tmp_path / 'amavisd.sqlite'}"
    app.config.update(urls)
    sqlstore.init_app(app)
    return app


def open_database(request, tmp_path, variant: str, kind: Kind = IREDAPD):
    """Yield a Db of the kind on the variant's emptied database; close its connections after."""
    api_url, admin_url = policy_urls(request, tmp_path, variant, kind)
    db = sa.create_engine(admin_url)
    empty_tables(db, kind.metadata)
    app = open_app(tmp_path, **{kind.config_key: api_url})
    store = kind.get_store(app)
    try:
        assert store.engine is not None  # first use: the tables exist from here on
        yield kind.wrap(variant, store, db)
    finally:
        sqlstore.dispose(app)
        db.dispose()


@pytest.fixture(params=VARIANTS)
def policy(request, tmp_path):
    """A PolicyDb on each of the five databases in turn."""
    yield from open_database(request, tmp_path, request.param)


@pytest.fixture(params=POSTGRESQL_VARIANTS)
def pg_policy(request, tmp_path):
    """A PolicyDb on PostgreSQL only, whose throttle table has no unique key."""
    yield from open_database(request, tmp_path, request.param)


@pytest.fixture
def sqlite_policy(request, tmp_path):
    """A PolicyDb on SQLite, for what does not depend on the database (input checks)."""
    yield from open_database(request, tmp_path, "sqlite")


@pytest.fixture(params=VARIANTS)
def amavisd(request, tmp_path):
    """An AmavisdDb on each of the five databases in turn."""
    yield from open_database(request, tmp_path, request.param, AMAVISD)


@pytest.fixture
def sqlite_amavisd(request, tmp_path):
    """An AmavisdDb on SQLite, for what does not depend on the database (input checks)."""
    yield from open_database(request, tmp_path, "sqlite", AMAVISD)


@pytest.fixture(params=["mariadb", "mariadb-iredmail"])
def mariadb_amavisd(request, tmp_path):
    """An AmavisdDb on MariaDB only (the database of an iRedMail OpenLDAP host)."""
    yield from open_database(request, tmp_path, request.param, AMAVISD)


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
