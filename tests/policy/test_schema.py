"""The API's iRedAPD and Amavisd tables are iRedMail's; an existing database is used as it is."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from iredapi_ldap import sqlstore
from iredapi_ldap.models.policy import throttle
from iredapi_ldap.models.policy import wblist
from iredapi_ldap.sqlstore.amavisd import get_amavisd_store
from iredapi_ldap.sqlstore.amavisd.tables import metadata as amavisd_metadata
from iredapi_ldap.sqlstore.iredapd import get_policy_store
from iredapi_ldap.sqlstore.iredapd.tables import metadata

from .conftest import AMAVISD
from .conftest import IREDAPD
from .conftest import SQL_DIR
from .conftest import load_sql
from .conftest import open_app


def describe(engine: sa.Engine) -> dict:
    """Every table's columns (type, null, default), keys, indexes, checks and, on MySQL, collation."""
    inspector = sa.inspect(engine)
    tables = {}
    for name in sorted(inspector.get_table_names()):
        columns = {
            column["name"]: (
                column["type"].compile(dialect=engine.dialect),
                column["nullable"],
                str(column["default"]),
                column.get("autoincrement"),
            )
            for column in inspector.get_columns(name)
        }
        tables[name] = {
            "columns": columns,
            "primary": inspector.get_pk_constraint(name)["constrained_columns"],
            "indexes": sorted(
                (tuple(index["column_names"]), bool(index["unique"]))
                for index in inspector.get_indexes(name)
            ),
            "foreign": [
                (key["constrained_columns"], key["referred_table"], key["referred_columns"])
                for key in inspector.get_foreign_keys(name)
            ],
            "checks": sorted(check["sqltext"] for check in inspector.get_check_constraints(name)),
        }
    if engine.dialect.name in ("mysql", "mariadb"):
        with engine.connect() as conn:
            for name, collation in conn.execute(sa.text(
                "SELECT table_name, table_collation FROM information_schema.tables"
                " WHERE table_schema = DATABASE()"
            )):  # fmt: skip
                tables[name]["collation"] = collation
    return tables


@pytest.mark.parametrize("kind", [IREDAPD, AMAVISD], ids=lambda kind: kind.name)
@pytest.mark.parametrize("server", ["postgresql", "mariadb"])
def test_created_tables_are_iredmails(policy_databases, tmp_path, server, kind):
    """Column types, nullability, defaults, keys, indexes and checks equal those of iRedMail's DDL."""
    urls = policy_databases("pg" if server == "postgresql" else "mariadb", kind)
    app = open_app(tmp_path, **{kind.config_key: urls[server][0]})
    api, iredmail = (
        sa.create_engine(urls[server][1]),
        sa.create_engine(urls[f"{server}-iredmail"][1]),
    )
    try:
        kind.get_store(app).engine  # noqa: B018  (creates what is missing)
        created, loaded = describe(api), describe(iredmail)
    finally:
        sqlstore.dispose(app)
        api.dispose()
        iredmail.dispose()

    assert sorted(created) == sorted(kind.metadata.tables) == sorted(loaded)
    for name in loaded:
        assert created[name] == loaded[name], name


def test_an_existing_database_missing_iredapds_other_tables_works_with_dml_rights(
    pg_server, tmp_path
):
    """An older iRedAPD database without smtp_sessions: used as it is, nothing created."""
    import psycopg

    name = pg_server.create_database("iredapd_old")
    with psycopg.connect(pg_server.dsn(name), autocommit=True) as conn:
        load_sql(conn, SQL_DIR / "iredapd.pgsql")
        conn.execute("DROP TABLE smtp_sessions")
        conn.execute("CREATE ROLE iredapd_old_dml LOGIN")
        conn.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public"
                     " TO iredapd_old_dml")  # fmt: skip
        conn.execute("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO iredapd_old_dml")
    app = open_app(
        tmp_path, IREDAPD_URL=pg_server.url(name).replace("postgres@", "iredapd_old_dml@")
    )
    try:
        stored = throttle.set_throttle(get_policy_store(app), "example.com", "inbound", 60, 1)
    finally:
        sqlstore.dispose(app)
        pg_server.drop_database(name)
        with psycopg.connect(pg_server.dsn("postgres"), autocommit=True) as conn:
            conn.execute("DROP ROLE iredapd_old_dml")

    assert stored["account"] == "@example.com"


def test_an_empty_sqlite_database_gets_every_table_and_enforces_the_foreign_key(tmp_path):
    """The embedded default: all of iRedAPD's tables, and tracking rows need their rule."""
    app = open_app(tmp_path)
    try:
        engine = get_policy_store(app).engine
        assert sorted(sa.inspect(engine).get_table_names()) == sorted(metadata.tables)
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO throttle_tracking (tid, account) VALUES (99, 'x')"))
    finally:
        sqlstore.dispose(app)


def test_an_empty_sqlite_amavisd_database_stores_addresses_as_text(tmp_path):
    """The five lookup tables; a row the API writes is TEXT, and a plain string finds it."""
    app = open_app(tmp_path)
    try:
        store = get_amavisd_store(app)
        wblist.add_wblist(store, "example.com", "inbound", "blacklist", ["x@evil.test"])
        engine = store.engine
        assert sorted(sa.inspect(engine).get_table_names()) == sorted(amavisd_metadata.tables)
        with engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT typeof(email), email FROM mailaddr WHERE email = 'x@evil.test'")
            ).all()
    finally:
        sqlstore.dispose(app)

    assert found == [("text", "x@evil.test")]
