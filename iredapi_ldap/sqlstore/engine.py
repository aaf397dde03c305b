"""The SQL URL, and one lazily built, fork-safe engine per app."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask import current_app
from sqlalchemy import exc as sx
from sqlalchemy.engine import URL
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import Pool

from ..config import ConfigError
from .tables import TABLES
from .tables import metadata

DEFAULT_SQLITE_FILE = Path("var") / "iredapi-ldap.sqlite"
SUPPORTED_BACKENDS = ("sqlite", "postgresql", "mysql", "mariadb")
# The drivers setup.cfg installs, used when the URL names none.
DEFAULT_DRIVERS = {"postgresql": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}
DRIVER_PACKAGES = {
    "psycopg": "psycopg[binary]",
    "psycopg2": "psycopg2-binary, or write postgresql+psycopg://",
    "pymysql": "pymysql, or iredapi-ldap[mysql]",
}
OPTION = "[sql] url"
MYSQL_CHARSET = "utf8mb4"

log = logging.getLogger(__name__)


def resolve_url(
    text: str,
    cwd: Path | None = None,
    *,
    option: str = OPTION,
    default_file: Path = DEFAULT_SQLITE_FILE,
) -> URL:
    """Parse and check a configured URL; raise ConfigError naming the option (`[sql] url`)."""
    base = Path(cwd or os.getcwd())
    if not text.strip():
        return make_url(f"sqlite:///{(base / default_file).absolute()}")
    try:
        url = make_url(text.strip())
    except (sx.ArgumentError, ValueError) as exc:
        # The parser's message repeats the URL, password included.
        raise ConfigError(
            f"{option} is not a database URL; expected e.g. sqlite:////var/lib/iredapi-ldap/"
            "store.sqlite or postgresql+psycopg://user:password@host/dbname"
        ) from exc
    backend = url.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise ConfigError(
            f"{option}: unsupported database {backend!r}; use sqlite, postgresql or mysql/mariadb"
        )
    if "+" not in url.drivername and backend in DEFAULT_DRIVERS:
        url = url.set(drivername=f"{backend}+{DEFAULT_DRIVERS[backend]}")
    if backend == "sqlite":
        url = _absolute_sqlite(url, base, option)
    elif backend in ("mysql", "mariadb"):
        url = _utf8mb4(url, option)
    _check_driver(url, option)
    return url


def _absolute_sqlite(url: URL, base: Path, option: str) -> URL:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        # Every pooled connection would see its own empty in-memory database.
        raise ConfigError(
            f"{option}: SQLite needs a file path, e.g. sqlite:////path/to/store.sqlite"
        )
    return url.set(database=str((base / database).absolute()))


def _utf8mb4(url: URL, option: str) -> URL:
    # MySQL's "utf8" (iRedAdmin's setting) is utf8mb3: a 4-byte character such as an
    # emoji in a logged parameter would make the server refuse the row.
    charset = url.query.get("charset", MYSQL_CHARSET)
    if charset != MYSQL_CHARSET:
        raise ConfigError(
            f"{option}: charset={charset} cannot store every character; use"
            f" charset={MYSQL_CHARSET} (the default when the URL names none)"
        )
    return url.update_query_dict({"charset": MYSQL_CHARSET})


def _check_driver(url: URL, option: str) -> None:
    try:
        dialect = url.get_dialect()
    except sx.NoSuchModuleError as exc:
        raise ConfigError(f"{option}: unknown database driver {url.drivername!r}") from exc
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        driver = url.get_driver_name()
        package = DRIVER_PACKAGES.get(driver, driver)
        raise ConfigError(
            f"{option}: the Python driver {driver!r} is not installed (pip install {package})"
        ) from exc


def describe(url: URL) -> str:
    """Return the URL with its password hidden, for logs and errors."""
    return url.render_as_string(hide_password=True)


def build_engine(url: URL, echo: bool = False) -> Engine:
    """Create the engine; nothing connects until the first query."""
    options: dict[str, Any] = {"echo": echo, "pool_pre_ping": True}
    backend = url.get_backend_name()
    if backend == "sqlite":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # A local file needs no ping; wait for other workers' write locks.
        options.update(pool_pre_ping=False, connect_args={"timeout": 30})
    elif backend in ("mysql", "mariadb"):
        # PostgreSQL's default. InnoDB's own, REPEATABLE READ, locks the gap where a
        # missing row would go, so one worker's "update, else insert" of a new key
        # blocks (or deadlocks) another's insert of a different key.
        options["isolation_level"] = "READ COMMITTED"
    engine = sa.create_engine(url, **options)
    if backend == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_on_connect)
    elif backend in ("mysql", "mariadb"):
        sa.event.listen(engine, "connect", _mysql_on_connect)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets gunicorn workers read while another one writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL still survives an application crash; it only skips the fsync per
    # commit, which on every audited write competed with slapd's own sync for the disk.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# We write UTC; MySQL TIMESTAMP converts from the session zone, so make it UTC.
MYSQL_UTC_SESSION = "SET time_zone = '+00:00'"


def _mysql_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(MYSQL_UTC_SESSION)
    cursor.close()


class SqlState:
    """One app's engine: built on first use, rebuilt in a forked child, tables created once."""

    def __init__(self, url: URL, echo: bool = False, tables: sa.MetaData = metadata) -> None:
        self.url = url
        self.echo = echo
        self.metadata = tables
        self._engine: Engine | None = None
        self._created = False
        self._pid = os.getpid()
        self._lock = threading.Lock()
        # (pid that opened them, pool): a parent's connections, never closed elsewhere.
        self._inherited: list[tuple[int, Pool]] = []

    def engine(self) -> Engine:
        """Return the engine, every table of TABLES present."""
        if os.getpid() != self._pid:
            self._after_fork()
        if self._engine is None or not self._created:
            with self._lock:
                if self._engine is None:
                    self._engine = self.build()
                if not self._created:
                    self._create_tables(self._engine)
        return self._engine

    def build(self) -> Engine:
        """Build this state's engine (subclasses add per-database settings)."""
        return build_engine(self.url, self.echo)

    def _after_fork(self) -> None:
        # Connections inherited from the parent (gunicorn --preload) must not be
        # used here, nor closed: closing would end the parent's sessions. Keep
        # them referenced so garbage collection cannot close them either.
        parent = self._pid
        self._pid = os.getpid()
        self._lock = threading.Lock()
        if self._engine is not None:
            self._inherited.append((parent, self._engine.pool))
            self._engine.dispose(close=False)

    def _create_tables(self, engine: Engine) -> None:
        # The one place tables are created: all of them at once, in a fixed order, whatever
        # modules happen to be imported.
        with engine.connect() as conn:
            try:
                self.create_missing(conn)
                conn.commit()
            except sx.DatabaseError:
                # Another worker created a table between our check and create.
                conn.rollback()
                self.create_missing(conn)
                conn.commit()
        self._created = True

    def create_missing(self, conn: sa.Connection) -> None:
        """Create the store's tables (TABLES, in that order) that do not exist yet."""
        self.metadata.create_all(conn, tables=TABLES, checkfirst=True)

    def dispose(self) -> None:
        """Close the connections this process opened; leave a parent's alone."""
        pid = os.getpid()
        for owner, pool in [item for item in self._inherited if item[0] == pid]:
            pool.dispose()
            self._inherited.remove((owner, pool))
        if self._engine is not None and self._pid == pid:
            self._engine.dispose()


class AppDatabase:
    """A database an app names by one INI key: checked at startup, its engine built at first use."""

    def __init__(
        self,
        extension: str,
        config_key: str,
        option: str,
        default_file: Path,
        state: type[SqlState],
    ) -> None:
        self.extension = extension
        self.config_key = config_key
        self.option = option
        self.default_file = default_file
        self.state_class = state

    def init_app(self, app: Flask) -> None:
        """Check the URL (ConfigError naming the option if unusable); nothing connects yet."""
        text = app.config.get(self.config_key) or ""
        url = resolve_url(text, option=self.option, default_file=self.default_file)
        app.config[self.config_key] = url.render_as_string(hide_password=False)
        app.extensions[self.extension] = self.state_class(url, bool(app.config.get("SQL_ECHO")))
        log.debug("%s: %s", self.option, describe(url))

    def state(self, app: Flask | None = None) -> SqlState:
        """Return the app's state (the current app by default)."""
        return (app or current_app).extensions[self.extension]

    def dispose(self, app: Flask | None = None) -> None:
        """Close the app's pooled connections to this database (tests, shutdown)."""
        state = (app or current_app).extensions.get(self.extension)
        if state is not None:
            state.dispose()
