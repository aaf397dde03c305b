"""The SQL store against real databases: a SQLite file, a PostgreSQL and a MariaDB server."""

from __future__ import annotations

import os
import time
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa

from iredapi_ldap import create_app
from iredapi_ldap import sqlstore
from iredapi_ldap.config import ConfigError
from iredapi_ldap.sqlstore import TABLES
from iredapi_ldap.sqlstore import StoreUnavailable
from iredapi_ldap.sqlstore import deleted_mailboxes
from iredapi_ldap.sqlstore import get_store
from iredapi_ldap.sqlstore import last_login
from iredapi_ldap.sqlstore import metadata
from iredapi_ldap.sqlstore import used_quota
from iredapi_ldap.sqlstore.store import delete_date_for
from tests.sqlstore.conftest import make_app

DELETED_COLUMNS = ["id", "timestamp", "username", "domain", "maildir", "admin", "delete_date"]


def mailbox(username: str, keep_days: int = 7, **extra) -> dict:
    row = {
        "username": username,
        "domain": username.split("@")[1],
        "maildir": f"/var/vmail/vmail1/{username.split('@')[1]}/{username}-2024.01.02.03.04.05/",
        "admin": "postmaster@admin.test",
        "keep_days": keep_days,
    }
    row.update(extra)
    return row


def stored_rows(db: sa.Engine) -> list[tuple]:
    query = (
        "SELECT username, domain, maildir, admin, delete_date FROM deleted_mailboxes ORDER BY id"
    )
    with db.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(query))]


def test_first_use_creates_the_iredadmin_tables(store, db):
    store.engine  # noqa: B018 - first use creates the tables

    inspector = sa.inspect(db)
    assert {"deleted_mailboxes", "used_quota", "last_login"} <= set(inspector.get_table_names())
    columns = {col["name"]: col for col in inspector.get_columns("deleted_mailboxes")}
    assert list(columns) == DELETED_COLUMNS
    assert isinstance(columns["delete_date"]["type"], sa.Date)
    assert columns["delete_date"]["nullable"] is True
    assert isinstance(columns["timestamp"]["type"], sa.DateTime)
    assert columns["timestamp"]["nullable"] is False
    for name in ("username", "domain", "maildir", "admin"):
        assert isinstance(columns[name]["type"], sa.String)
        assert columns[name]["type"].length == 255
        assert columns[name]["nullable"] is False
    indexed = {tuple(index["column_names"]) for index in inspector.get_indexes("deleted_mailboxes")}
    assert {("timestamp",), ("username",), ("domain",), ("admin",), ("delete_date",)} <= indexed
    assert inspector.get_pk_constraint("used_quota")["constrained_columns"] == ["username"]
    assert [col["name"] for col in inspector.get_columns("used_quota")] == [
        "username", "bytes", "messages", "domain",
    ]  # fmt: skip
    assert [col["name"] for col in inspector.get_columns("last_login")] == [
        "username", "domain", "imap", "pop3", "lda",
    ]  # fmt: skip


def test_record_and_read_back(store, db):
    before = datetime.now(UTC).replace(microsecond=0)

    count = store.record_deleted_mailboxes(
        [
            mailbox(
                "Alice@Example.com", keep_days=30, maildir="/var/vmail/vmail1/Alice-2024.01.02/"
            ),
            mailbox("bob@example.com", keep_days=0),
        ]
    )

    assert count == 2
    rows = store.deleted_mailboxes()
    assert [row["username"] for row in rows] == ["alice@example.com", "bob@example.com"]
    assert rows[0]["id"] < rows[1]["id"]
    first = rows[0]
    assert set(first) == set(DELETED_COLUMNS)
    assert first["domain"] == "example.com"
    assert first["maildir"] == "/var/vmail/vmail1/Alice-2024.01.02/"
    assert first["admin"] == "postmaster@admin.test"
    assert first["timestamp"].tzinfo is UTC
    assert before <= first["timestamp"] <= datetime.now(UTC) + timedelta(seconds=1)
    # Whole seconds, as iRedAdmin's CURRENT_TIMESTAMP, on every database alike.
    assert first["timestamp"].microsecond == rows[1]["timestamp"].microsecond == 0
    # As iRedAdmin's delete_mailboxes.py reads them: DATE values, NULL for "keep forever".
    stored = stored_rows(db)
    assert [row[:4] for row in stored] == [
        ("alice@example.com", "example.com", first["maildir"], "postmaster@admin.test"),
        ("bob@example.com", "example.com", rows[1]["maildir"], "postmaster@admin.test"),
    ]
    assert str(stored[0][4]) == rows[0]["delete_date"].isoformat()
    assert stored[1][4] is None


def test_delete_date_is_today_plus_keep_days_or_null(store):
    today = date.today()

    store.record_deleted_mailboxes(
        [mailbox("a@example.com", 1), mailbox("b@example.com", 365), mailbox("c@example.com", 0)]
    )

    dates = [row["delete_date"] for row in store.deleted_mailboxes()]
    # Tolerate the run crossing midnight.
    assert dates[0] in (today + timedelta(days=1), date.today() + timedelta(days=1))
    assert dates[1] in (today + timedelta(days=365), date.today() + timedelta(days=365))
    assert dates[2] is None


def test_delete_date_uses_the_local_date_like_iredadmin():
    now = time.time()
    expected = time.strftime("%Y-%m-%d", time.localtime(now + 7 * 86400))

    assert delete_date_for(7, now=now).isoformat() == expected
    assert delete_date_for(0, now=now) is None


@pytest.mark.parametrize("keep_days", [-1, "7", 1.5, True, None])
def test_bad_keep_days_writes_nothing(store, db, keep_days):
    store.engine  # noqa: B018 - create the tables

    with pytest.raises(ValueError, match="keep_days"):
        store.record_deleted_mailboxes(
            [mailbox("a@example.com"), mailbox("b@example.com", keep_days)]
        )

    assert stored_rows(db) == []


def test_empty_list_records_nothing(store):
    assert store.record_deleted_mailboxes([]) == 0
    assert store.deleted_mailboxes() == []


def test_domain_and_username_filters(store):
    store.record_deleted_mailboxes(
        [
            mailbox("a@one.test"),
            mailbox("b@one.test"),
            mailbox("a@two.test"),
            mailbox("a@one.test", keep_days=0),
        ]
    )

    def users(rows):
        return [(row["username"], row["delete_date"] is None) for row in rows]

    assert users(store.deleted_mailboxes(domain="one.test")) == [
        ("a@one.test", False), ("b@one.test", False), ("a@one.test", True),
    ]  # fmt: skip
    assert users(store.deleted_mailboxes(domain="TWO.test")) == [("a@two.test", False)]
    assert users(store.deleted_mailboxes(username="A@one.test")) == [
        ("a@one.test", False), ("a@one.test", True),
    ]  # fmt: skip
    assert users(store.deleted_mailboxes(domain="two.test", username="b@one.test")) == []
    assert store.deleted_mailboxes(domain="none.test") == []
    assert len(store.deleted_mailboxes()) == 4


def test_two_stores_on_the_same_url_share_data(apps):
    first, second = get_store(apps()), get_store(apps())

    first.record_deleted_mailboxes([mailbox("a@example.com")])
    second.record_deleted_mailboxes([mailbox("b@example.com")])

    assert [row["username"] for row in first.deleted_mailboxes()] == [
        "a@example.com",
        "b@example.com",
    ]
    assert second.deleted_mailboxes() == first.deleted_mailboxes()
    assert first.engine is not second.engine


def test_store_gets_fresh_connections_after_a_pid_change(apps, monkeypatch):
    app = apps()
    store = get_store(app)
    store.record_deleted_mailboxes([mailbox("a@example.com")])
    inherited_pool = store.engine.pool
    assert inherited_pool.checkedin() == 1
    real_pid = os.getpid()

    monkeypatch.setattr(os, "getpid", lambda: real_pid + 100000)
    store.record_deleted_mailboxes([mailbox("b@example.com")])

    assert [row["username"] for row in store.deleted_mailboxes()] == [
        "a@example.com",
        "b@example.com",
    ]
    assert store.engine.pool is not inherited_pool
    # The "parent's" connection was left alone: neither used nor closed.
    assert inherited_pool.checkedin() == 1
    sqlstore.dispose(app)  # the "child" closes its own connections...
    monkeypatch.undo()
    sqlstore.dispose(app)  # ...and the "parent" its own
    assert inherited_pool.checkedin() == 0


def test_store_works_in_a_forked_child_without_breaking_the_parent(apps):
    store = get_store(apps())
    store.record_deleted_mailboxes([mailbox("parent@example.com")])
    connects = []
    sa.event.listen(store.engine, "connect", lambda *_args: connects.append(os.getpid()))

    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        code = 1
        try:
            store.record_deleted_mailboxes([mailbox("child@example.com")])
            code = 0 if len(store.deleted_mailboxes()) == 2 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    rows = store.deleted_mailboxes()
    assert [row["username"] for row in rows] == ["parent@example.com", "child@example.com"]
    # The parent kept its pooled connection: the child neither used nor closed it.
    assert connects == []


def test_rename_account_moves_quota_and_last_login_rows(store, db):
    store.engine  # noqa: B018 - create the tables
    with db.begin() as conn:
        conn.execute(
            sa.insert(used_quota),
            [
                {"username": "old@one.test", "bytes": 1024, "messages": 3, "domain": "one.test"},
                {"username": "new@two.test", "bytes": 9, "messages": 9, "domain": "two.test"},
                {"username": "other@one.test", "bytes": 5, "messages": 1, "domain": "one.test"},
            ],
        )
        conn.execute(
            sa.insert(last_login),
            [{"username": "old@one.test", "domain": "one.test", "imap": 1700000000}],
        )
    store.record_deleted_mailboxes([mailbox("old@one.test")])

    store.rename_account("Old@one.test", "New@two.test")

    with db.connect() as conn:
        quota = conn.execute(sa.select(used_quota).order_by(used_quota.c.username)).all()
        logins = conn.execute(sa.select(last_login)).all()
    assert [tuple(row) for row in quota] == [
        ("new@two.test", 1024, 3, "two.test"),
        ("other@one.test", 5, 1, "one.test"),
    ]
    assert [tuple(row) for row in logins] == [("new@two.test", "two.test", 1700000000, None, None)]
    # The deletion log is history: it keeps the address the mailbox had.
    assert [row["username"] for row in store.deleted_mailboxes()] == ["old@one.test"]


def test_forget_accounts_and_domains(store, db):
    store.engine  # noqa: B018 - create the tables
    with db.begin() as conn:
        conn.execute(
            sa.insert(used_quota),
            [
                {"username": "a@one.test", "domain": "one.test"},
                # Dovecot's rows have no domain unless iRedMail's trigger fills it.
                {"username": "b@one.test", "domain": ""},
                {"username": "c@two.test", "domain": "two.test"},
                {"username": "d@x_one.test", "domain": ""},
                {"username": "e@three.test", "domain": "three.test"},
            ],
        )
        conn.execute(
            sa.insert(last_login), [{"username": "b@one.test"}, {"username": "e@three.test"}]
        )

    store.forget_domains(["One.test"])
    store.forget_accounts(["c@two.test"])

    with db.connect() as conn:
        quota = (
            conn.execute(sa.select(used_quota.c.username).order_by(used_quota.c.username))
            .scalars()
            .all()
        )
        logins = conn.execute(sa.select(last_login.c.username)).scalars().all()
    assert quota == ["d@x_one.test", "e@three.test"]
    assert logins == ["e@three.test"]


# deleted_mailboxes as iRedAdmin's own SQL files create it (int id, no indexes of ours).
IREDADMIN_DELETED_MAILBOXES = {
    "sqlite": "CREATE TABLE deleted_mailboxes ("
    " id INTEGER PRIMARY KEY,"
    " timestamp TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,"
    " username VARCHAR(255) NOT NULL DEFAULT '',"
    " domain VARCHAR(255) NOT NULL DEFAULT '',"
    " maildir VARCHAR(255) NOT NULL DEFAULT '',"
    " admin VARCHAR(255) NOT NULL DEFAULT '',"
    " delete_date DATE DEFAULT NULL)",
    "postgresql": "CREATE TABLE deleted_mailboxes ("
    " id SERIAL PRIMARY KEY,"
    " timestamp TIMESTAMP WITHOUT TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,"
    " username VARCHAR(255) NOT NULL DEFAULT '',"
    " domain VARCHAR(255) NOT NULL DEFAULT '',"
    " maildir VARCHAR(255) NOT NULL DEFAULT '',"
    " admin VARCHAR(255) NOT NULL DEFAULT '',"
    " delete_date DATE DEFAULT NULL)",
    # SQL/iredadmin.mysql, in a database created as iRedMail does (utf8, not utf8mb4).
    "mysql": "CREATE TABLE IF NOT EXISTS `deleted_mailboxes` ("
    " `id` BIGINT(20) UNSIGNED AUTO_INCREMENT,"
    " `timestamp` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,"
    " `username` VARCHAR(255) NOT NULL DEFAULT '',"
    " `domain` VARCHAR(255) NOT NULL DEFAULT '',"
    " `maildir` VARCHAR(255) NOT NULL DEFAULT '',"
    " `admin` VARCHAR(255) NOT NULL DEFAULT '',"
    " delete_date DATE DEFAULT NULL,"
    " PRIMARY KEY (id), INDEX (timestamp), INDEX (username), INDEX (domain),"
    " INDEX (admin), INDEX (delete_date)"
    ") ENGINE=InnoDB",
}


def test_an_existing_iredadmin_table_is_used_as_it_is(sql_url, apps, db):
    with db.begin() as conn:
        conn.execute(sa.text(IREDADMIN_DELETED_MAILBOXES[db.dialect.name]))
        conn.execute(
            sa.text(
                "INSERT INTO deleted_mailboxes (username, domain, maildir) VALUES ('x@old.test', 'old.test', '/m/x')"
            )
        )
    store = get_store(apps())

    store.record_deleted_mailboxes(
        [mailbox("a@example.com", keep_days=3), mailbox("b@example.com", 0)]
    )

    assert [row["username"] for row in store.deleted_mailboxes()] == [
        "x@old.test",
        "a@example.com",
        "b@example.com",
    ]
    # iRedAdmin's cron job selects rows whose date has come, or NULL with --delete-null-date.
    cutoff = date.today() + timedelta(days=4)
    due = sa.select(deleted_mailboxes.c.username).where(
        sa.or_(deleted_mailboxes.c.delete_date <= cutoff, deleted_mailboxes.c.delete_date.is_(None))
    )
    with db.connect() as conn:
        assert conn.execute(due.order_by(deleted_mailboxes.c.id)).scalars().all() == [
            "x@old.test", "a@example.com", "b@example.com",
        ]  # fmt: skip
        assert (
            conn.execute(due.where(deleted_mailboxes.c.delete_date <= date.today())).scalars().all()
            == []
        )


def test_every_table_is_created_at_first_use_and_only_those_of_sqlstore(store, db):
    """The first use creates all of TABLES at once; a table defined anywhere else never is."""
    store.record_deleted_mailboxes([mailbox("a@example.com")])
    assert set(sa.inspect(db).get_table_names()) == {table.name for table in TABLES}
    assert set(metadata.tables.values()) == set(TABLES)  # sqlstore defines every table

    later = sa.Table("test_later_module", metadata, sa.Column("k", sa.String(50), primary_key=True))
    try:
        store.record_deleted_mailboxes([mailbox("b@example.com")])
        assert "test_later_module" not in sa.inspect(db).get_table_names()
    finally:
        metadata.remove(later)


def test_empty_url_means_a_sqlite_file_in_var_below_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app("")
    monkeypatch.chdir("/")
    try:
        get_store(app).record_deleted_mailboxes([mailbox("a@example.com")])
    finally:
        sqlstore.dispose(app)

    assert app.config["SQL_URL"] == f"sqlite:///{tmp_path}/var/iredapi-ldap.sqlite"
    assert (tmp_path / "var" / "iredapi-ldap.sqlite").is_file()


def test_relative_sqlite_path_is_fixed_at_init(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app("sqlite:///data/store.sqlite")

    assert app.config["SQL_URL"] == f"sqlite:///{tmp_path}/data/store.sqlite"


def test_driverless_urls_use_the_installed_drivers():
    assert make_app("postgresql://u:p@db.test/iredadmin").config["SQL_URL"] == (
        "postgresql+psycopg://u:p@db.test/iredadmin"
    )
    assert (
        make_app("mysql://u:p@db.test/iredadmin").config["SQL_URL"].startswith("mysql+pymysql://")
    )
    assert (
        make_app("mariadb://u:p@db.test/iredadmin")
        .config["SQL_URL"]
        .startswith("mariadb+pymysql://")
    )


def test_mysql_urls_talk_utf8mb4():
    """The connection charset is utf8mb4 unless named; MySQL's 3-byte "utf8" is refused below."""
    assert make_app("mysql://u:p@db.test/iredadmin").config["SQL_URL"] == (
        "mysql+pymysql://u:p@db.test/iredadmin?charset=utf8mb4"
    )
    assert make_app("mariadb://u:p@db.test/iredadmin?charset=utf8mb4&connect_timeout=5").config[
        "SQL_URL"
    ] == ("mariadb+pymysql://u:p@db.test/iredadmin?charset=utf8mb4&connect_timeout=5")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("not a url", "not a database URL"),
        ("mysql://scott:s3cret@db.test/iredadmin?charset=utf8", "charset=utf8 cannot store"),
        ("mariadb://scott:s3cret@db.test/iredadmin?charset=latin1", "use charset=utf8mb4"),
        ("oracle://scott:s3cret@db.test/orcl", "unsupported database 'oracle'"),
        ("postgresql+nosuchdriver://scott:s3cret@db.test/x", "unknown database driver"),
        ("sqlite://", "SQLite needs a file path"),
        ("sqlite:///:memory:", "SQLite needs a file path"),
    ],
)
def test_bad_url_fails_at_init_naming_the_option(url, reason):
    with pytest.raises(ConfigError) as caught:
        make_app(url)

    message = str(caught.value)
    assert message.startswith("[sql] url")
    assert reason in message
    assert "s3cret" not in message


def test_unreachable_database_is_a_503_api_error():
    # A closed port on loopback: connection refused at once.
    app = make_app("postgresql+psycopg://nobody@127.0.0.1:1/none")

    with pytest.raises(StoreUnavailable) as caught:
        get_store(app).deleted_mailboxes()
    assert caught.value.status == 503
    assert caught.value.code == "SQL_SERVER_UNAVAILABLE"


def write_ini(path, sql_url: str) -> None:
    path.write_text(
        "[ldap]\nuri = ldap://127.0.0.1:1\nbind_dn = cn=vmailadmin,dc=example,dc=com\n"
        "suffix = dc=example,dc=com\n[general]\nsecret_key = x\n"
        f"[sql]\nurl = {sql_url}\necho = no\n"
    )


def test_create_app_reads_sql_section_and_wires_the_store(tmp_path, sql_url):
    ini = tmp_path / "config.ini"
    write_ini(ini, sql_url)

    app = create_app(config_file=str(ini))
    try:
        with app.app_context():
            get_store().record_deleted_mailboxes([mailbox("a@example.com")])
            assert [row["username"] for row in get_store().deleted_mailboxes()] == ["a@example.com"]
    finally:
        sqlstore.dispose(app)
    assert app.config["SQL_ECHO"] is False


def test_create_app_rejects_a_bad_sql_url(tmp_path):
    ini = tmp_path / "config.ini"
    write_ini(ini, "oracle://scott:s3cret@db.test/orcl")

    with pytest.raises(ConfigError, match=r"^\[sql\] url: unsupported database"):
        create_app(config_file=str(ini))
