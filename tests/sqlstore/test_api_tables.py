"""The API's own tables (audit log, jobs, token usage) on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from iredapi_ldap import sqlstore
from iredapi_ldap.jobs.store import public_view
from iredapi_ldap.sqlstore import get_store
from iredapi_ldap.sqlstore import metadata
from iredapi_ldap.sqlstore.tables import audit_log
from iredapi_ldap.sqlstore.tables import jobs
from iredapi_ldap.sqlstore.tables import token_usage
from tests.mariadbserver import TEST_DATABASE
from tests.sqlstore.conftest import make_app

# After 2038 (the end of MySQL's TIMESTAMP), with microseconds.
LATE = datetime(2040, 2, 29, 23, 59, 58, 123456)


def test_times_are_kept_to_the_microsecond_and_beyond_2038(store, db):
    """What the API writes into its time columns is read back unchanged on every database."""
    rows = {
        audit_log: {"timestamp": LATE, "parameters": "{}", "status": 200},
        jobs: {
            "id": "a" * 32, "kind": "k", "params": "{}", "state": "done", "created": LATE,
            "started": LATE, "finished": LATE, "heartbeat": LATE,
        },
        token_usage: {"token_id": "0123456789abcdef", "last_used": LATE},
    }  # fmt: skip
    with store.engine.begin() as conn:
        for table, row in rows.items():
            conn.execute(sa.insert(table), [row])

    with db.connect() as conn:
        for table, row in rows.items():
            times = [name for name, value in row.items() if value is LATE]
            stored = conn.execute(sa.select(*(table.c[name] for name in times))).one()
            assert dict(zip(times, stored, strict=True)) == dict.fromkeys(times, LATE), table.name


def test_jobs_are_listed_newest_first_and_claimed_once(store, db):
    """Jobs created within one second keep their order; a claim succeeds once; finish sticks."""
    job_store = store.jobs
    created = [job_store.create("bulk_update", "example.com", {"n": n}, "a@b.c") for n in range(3)]

    listed, total = job_store.page(0, 10)
    assert ([row["id"] for row in listed], total) == (created[::-1], 3)
    assert job_store.claimable(stale_seconds=60) == created
    assert job_store.claim(created[0], "host:1", stale_seconds=60) is True
    assert job_store.claim(created[0], "host:2", stale_seconds=60) is False
    assert job_store.beat(created[0], "host:1", 0, None) is True
    assert job_store.beat(created[0], "host:2", 0, None) is False
    assert job_store.finish(created[0], "host:1", 5, 5, result={"updated": 5}) is True

    view = public_view(job_store.get(created[0]))
    assert (view["state"], view["progress"], view["result"], view["attempts"]) == (
        "done", 5, {"updated": 5}, 1,
    )  # fmt: skip
    with db.connect() as conn:
        states = dict(conn.execute(sa.select(jobs.c.id, jobs.c.state)).all())
    assert states == {created[0]: "done", created[1]: "pending", created[2]: "pending"}


@pytest.mark.parametrize("scheme", ["mysql", "mariadb"])
def test_every_table_is_created_utf8mb4_innodb_on_mariadb(mariadb_server, scheme):
    """Tables the API creates hold any Unicode text although iRedMail's database is utf8."""
    mariadb_server.reset_database(TEST_DATABASE)
    url = mariadb_server.url(TEST_DATABASE)
    app = make_app(f"{scheme}://{url.partition('://')[2]}")
    try:
        engine = get_store(app).engine
        query = sa.text(
            "SELECT table_name, engine, table_collation FROM information_schema.tables"
            " WHERE table_schema = DATABASE()"
        )
        with engine.connect() as conn:
            created = {name: (kind, collation) for name, kind, collation in conn.execute(query)}
            database = conn.execute(sa.text("SELECT @@character_set_database")).scalar_one()
    finally:
        sqlstore.dispose(app)

    assert database == "utf8mb3"  # as iRedMail creates iredadmin
    assert set(created) == set(metadata.tables)
    for name, (kind, collation) in created.items():
        assert (kind, collation.split("_")[0]) == ("InnoDB", "utf8mb4"), name
