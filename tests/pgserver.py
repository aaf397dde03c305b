"""A throwaway PostgreSQL server for the tests: initdb in a temp dir, loopback only, trust auth."""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from iredapi_ldap.embedded.process import death_signal_setter
from tests.dbserver import HOST
from tests.dbserver import ServerProcess
from tests.dbserver import free_port
from tests.dbserver import server_account

BIN_GLOB = "/usr/lib/postgresql/*/bin"
INSTALL_HINT = "apt-get install postgresql"
SERVER_USER = "postgres"
TEST_DATABASE = "iredapi_test"


class PostgresNotInstalled(RuntimeError):
    """initdb/postgres (or the postgres system user) are missing."""


class PostgresStartError(RuntimeError):
    """The server could not be initialised or did not come up."""


def find_bin_dir() -> Path:
    """Return the newest PostgreSQL bin directory that has initdb and postgres."""
    found = [Path(path) for path in glob.glob(BIN_GLOB)]
    found = [
        path for path in found if (path / "initdb").is_file() and (path / "postgres").is_file()
    ]
    if found:
        return max(found, key=lambda path: [int(n) for n in re.findall(r"\d+", path.parent.name)])
    initdb, postgres = shutil.which("initdb"), shutil.which("postgres")
    if initdb and postgres and Path(initdb).parent == Path(postgres).parent:
        return Path(initdb).parent
    raise PostgresNotInstalled(
        f"PostgreSQL server binaries (initdb, postgres) not found in {BIN_GLOB} or PATH;"
        f" run `{INSTALL_HINT}`"
    )


class PostgresServer(ServerProcess):
    """initdb + postgres as a child process, with one database for the tests to share."""

    log_name = "postgres.log"
    stop_signal = signal.SIGINT  # fast shutdown

    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        super().__init__(server_account(SERVER_USER, PostgresNotInstalled, INSTALL_HINT))
        self._serial = 0

    def _environment(self) -> dict[str, str]:
        return {k: v for k, v in super()._environment().items() if not k.startswith("PG")}

    def start(self, timeout: float = 30) -> PostgresServer:
        """Initialise a cluster in a new temp dir, start it, create TEST_DATABASE."""
        self.root = Path(tempfile.mkdtemp(prefix="iredapi-pg-"))
        try:
            self._initdb()
            for _attempt in range(3):
                if self._launch(timeout):
                    with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
                        conn.execute(f"CREATE DATABASE {TEST_DATABASE}")
                    return self
            raise PostgresStartError(f"postgres did not start:\n{self.log_tail()}")
        except BaseException:
            self.stop()
            raise

    def _initdb(self) -> None:
        assert self.root is not None
        (self.root / "sock").mkdir()
        if self.account is not None:
            for path in (self.root, self.root / "sock"):
                os.chown(path, self.account.pw_uid, self.account.pw_gid)
        command = [
            str(self.bin_dir / "initdb"),
            "--pgdata", str(self.root / "data"),
            "--username", SERVER_USER,
            "--auth", "trust",
            "--encoding", "UTF8",
            "--locale", "C",
            "--no-sync",
            "--no-instructions",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, **self._run_as())
        if result.returncode != 0:
            raise PostgresStartError(f"initdb failed:\n{result.stdout}{result.stderr}")

    def _launch(self, timeout: float) -> bool:
        """Start postgres on a free port; False if it lost the port to someone else."""
        assert self.root is not None
        self.port = free_port()
        settings = {
            "port": self.port,
            "listen_addresses": HOST,
            "unix_socket_directories": self.root / "sock",
            # Throwaway data: durability only costs time.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": 100,
            "shared_buffers": "32MB",
        }
        command = [str(self.bin_dir / "postgres"), "-D", str(self.root / "data")]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        with open(self.root / self.log_name, "ab") as log:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # The server must not outlive a killed test run (SIGINT: its fast shutdown).
                preexec_fn=death_signal_setter(signal.SIGINT),
                **self._run_as(),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                if "could not bind" in self.log_tail() or "already in use" in self.log_tail():
                    return False
                raise PostgresStartError(
                    f"postgres exited with {self._proc.returncode}:\n{self.log_tail()}"
                )
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        raise PostgresStartError(f"postgres not ready after {timeout}s:\n{self.log_tail()}")

    def dsn(self, database: str) -> str:
        """Return a libpq connection string for a database on this server."""
        return f"host={HOST} port={self.port} user={SERVER_USER} dbname={database}"

    def url(self, database: str) -> str:
        """Return the SQLAlchemy URL of a database on this server."""
        return f"postgresql+psycopg://{SERVER_USER}@{HOST}:{self.port}/{database}"

    def create_database(self, prefix: str = "test") -> str:
        """Create a new empty database and return its name."""
        self._serial += 1
        name = f"{prefix}_{os.getpid()}_{self._serial}"
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if conn.info.server_version >= 150000:
                # A file copy of the small template beats WAL-logging it (~20 ms vs ~150 ms).
                statement += sql.SQL(" STRATEGY FILE_COPY")
            conn.execute(statement)
        return name

    def reset_database(self, name: str) -> None:
        """Empty a database (a new public schema), ending sessions still connected to it."""
        with psycopg.connect(self.dsn(name), autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")

    def drop_database(self, name: str) -> None:
        """Drop a database, ending any session still connected to it."""
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
