"""A throwaway MariaDB server for the tests: mariadb-install-db in a temp dir, loopback only."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pymysql

from iredapi_ldap.embedded.process import death_signal_setter
from tests.dbserver import HOST
from tests.dbserver import ServerProcess
from tests.dbserver import free_port
from tests.dbserver import server_account

INSTALL_HINT = "apt-get install mariadb-server"
SERVER_USER = "mysql"
SBIN = ("/usr/sbin", "/usr/bin")
TEST_DATABASE = "iredapi_test"
# The account the API connects as, with the rights docs/sql-store.md asks for.
API_USER = "iredapi"
API_PASSWORD = "iredapi-test-pw"
API_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE, CREATE, INDEX"
# What iRedMail's installer gives the iredadmin database (iRedAdmin SQL/iredadmin.mysql);
# the server's own default without a config file is latin1.
DATABASE_CHARSET = "CHARACTER SET utf8 COLLATE utf8_general_ci"


class MariaDBNotInstalled(RuntimeError):
    """mariadbd/mariadb-install-db (or the mysql system user) are missing."""


class MariaDBStartError(RuntimeError):
    """The server could not be initialised or did not come up."""


def find_binary(name: str) -> str:
    """Return the path of a MariaDB server program, or raise MariaDBNotInstalled."""
    found = shutil.which(name, path=os.pathsep.join((*SBIN, os.environ.get("PATH", ""))))
    if found is None:
        raise MariaDBNotInstalled(f"MariaDB's {name} not found; run `{INSTALL_HINT}`")
    return found


class MariaDBServer(ServerProcess):
    """mariadb-install-db + mariadbd as a child process, a test database and an API user."""

    log_name = "mariadbd.log"
    stop_timeout = 30

    def __init__(self) -> None:
        self.install_db = find_binary("mariadb-install-db")
        self.mariadbd = find_binary("mariadbd")
        # mariadbd refuses to run as root.
        super().__init__(server_account(SERVER_USER, MariaDBNotInstalled, INSTALL_HINT))

    def start(self, timeout: float = 60) -> MariaDBServer:
        """Initialise a data dir in a new temp dir, start the server, create the test database."""
        # Not a pytest tmp dir: that one is private to root, and mariadbd runs as mysql.
        self.root = Path(tempfile.mkdtemp(prefix="iredapi-mariadb-"))
        try:
            if self.account is not None:
                os.chown(self.root, self.account.pw_uid, self.account.pw_gid)
            self._install_db()
            for _attempt in range(3):
                if self._launch(timeout):
                    self._create_api_user()
                    self.reset_database(TEST_DATABASE)
                    return self
            raise MariaDBStartError(f"mariadbd did not start:\n{self.log_tail()}")
        except BaseException:
            self.stop()
            raise

    def _install_db(self) -> None:
        assert self.root is not None
        command = [
            self.install_db,
            "--no-defaults",
            f"--datadir={self.root / 'data'}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
        ]
        result = subprocess.run(command, capture_output=True, text=True, **self._run_as())
        if result.returncode != 0:
            raise MariaDBStartError(
                f"mariadb-install-db failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )

    def _launch(self, timeout: float) -> bool:
        """Start mariadbd on a free port; False if it lost the port to someone else."""
        assert self.root is not None
        self.port = free_port()
        log_path = self.root / self.log_name
        log_path.unlink(missing_ok=True)
        # Durability stays at the server's defaults (innodb_flush_log_at_trx_commit=1):
        # benchmarks compare against it. Only memory and the unused binlog are trimmed.
        command = [
            self.mariadbd,
            "--no-defaults",
            f"--datadir={self.root / 'data'}",
            f"--socket={self.root / 'mariadbd.sock'}",
            f"--pid-file={self.root / 'mariadbd.pid'}",
            f"--log-error={log_path}",
            f"--port={self.port}",
            f"--bind-address={HOST}",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=32M",
            "--skip-log-bin",
        ]
        self._proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # The server must not outlive a killed test run (SIGTERM: its normal shutdown).
            preexec_fn=death_signal_setter(signal.SIGTERM),
            **self._run_as(),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                if "Address already in use" in self.log_tail():
                    return False
                raise MariaDBStartError(
                    f"mariadbd exited with {self._proc.returncode}:\n{self.log_tail()}"
                )
            try:
                self._admin().close()
                return True
            except pymysql.err.OperationalError:
                time.sleep(0.05)
        raise MariaDBStartError(f"mariadbd not ready after {timeout}s:\n{self.log_tail()}")

    def _admin(self) -> pymysql.connections.Connection:
        """Return a root connection over TCP (autocommit)."""
        return pymysql.connect(
            host=HOST, port=self.port, user="root", connect_timeout=2, autocommit=True
        )

    def _create_api_user(self) -> None:
        with self._admin() as conn, conn.cursor() as cursor:
            cursor.execute(f"CREATE USER '{API_USER}'@'{HOST}' IDENTIFIED BY '{API_PASSWORD}'")

    def url(self, database: str, user: str = API_USER) -> str:
        """Return the SQLAlchemy URL of a database, as the API user by default (or as root)."""
        credentials = "root" if user == "root" else f"{API_USER}:{API_PASSWORD}"
        return f"mysql+pymysql://{credentials}@{HOST}:{self.port}/{database}?charset=utf8mb4"

    def reset_database(self, name: str) -> None:
        """(Re)create a database empty, with iRedMail's charset; the API user may use it."""
        with self._admin() as conn, conn.cursor() as cursor:
            # A session left open would hold a metadata lock and make DROP wait.
            cursor.execute(
                "SELECT id FROM information_schema.processlist WHERE user = %s", (API_USER,)
            )
            for (session_id,) in cursor.fetchall():
                try:
                    cursor.execute(f"KILL {int(session_id)}")
                except pymysql.err.OperationalError:
                    pass  # it ended meanwhile
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cursor.execute(f"CREATE DATABASE `{name}` {DATABASE_CHARSET}")
            cursor.execute(f"GRANT {API_PRIVILEGES} ON `{name}`.* TO '{API_USER}'@'{HOST}'")
