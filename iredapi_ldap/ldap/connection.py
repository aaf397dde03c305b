"""Connections: one server set per app, a small per-process pool of bound connections."""

# Private internals of ldap3 relied on (setup.cfg pins ldap3 to 2.9.x;
# tests/unit/test_library_internals.py checks every name below):
# - Server.reset_availability -- a refused single server is retried at once instead of
#   after ldap3's 5 s back-off. Gone, a failed bind raises AttributeError: 500, not 503.
# - Connection.socket -- discard() closes the socket ldap3 leaves open after a failed
#   connect or unbind. Renamed, those sockets leak until garbage collection.

from __future__ import annotations

import os
import ssl
import threading
from typing import Any

from flask import Flask
from flask import current_app
from flask import g
from ldap3 import FIRST
from ldap3 import NONE
from ldap3 import SYNC
from ldap3 import Connection
from ldap3 import Server
from ldap3 import ServerPool
from ldap3 import Tls
from ldap3.core import exceptions as lx

from .directory import Directory
from .errors import TRANSPORT_ERRORS
from .errors import translate_errors
from .fastpath import FastConnection

EXTENSION_KEY = "iredapi_ldap"


def parse_uris(text: str) -> list[str]:
    """Split the configured URI list (space or comma separated)."""
    return [uri.rstrip("/") for uri in text.replace(",", " ").split() if uri]


class ConnectionPool:
    """Bound service connections reused across requests; reset after a fork."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.bind_dn = config["LDAP_BIND_DN"]
        self.bind_password = config["LDAP_BIND_PASSWORD"]
        self.size = max(1, int(config["LDAP_POOL_SIZE"]))
        self._lock = threading.Lock()
        self._idle: list[Connection] = []
        self._pid = os.getpid()
        self.opened = 0  # connections opened by this process, for tests and benchmarks
        self.server = self._build_server()

    def _build_server(self) -> Server | ServerPool:
        tls = None
        if self.config.get("LDAP_START_TLS") or any(
            uri.startswith("ldaps://") for uri in parse_uris(self.config["LDAP_URI"])
        ):
            tls = Tls(
                validate=ssl.CERT_REQUIRED,
                ca_certs_file=self.config.get("LDAP_CA_FILE") or None,
            )
        servers = [
            # No schema read at bind: one round trip less per new connection.
            Server(uri, connect_timeout=self.config["LDAP_CONNECT_TIMEOUT"], tls=tls, get_info=NONE)
            for uri in parse_uris(self.config["LDAP_URI"])
        ]
        if len(servers) == 1:
            return servers[0]
        # FIRST: prefer the first server; a dead one is skipped for `exhaust` seconds.
        return ServerPool(servers, FIRST, active=1, exhaust=10)

    def _check_fork(self) -> None:
        # Sockets inherited from a parent (gunicorn --preload) must never be shared;
        # drop them without unbinding, which would hang up the parent's session.
        if os.getpid() != self._pid:
            self._idle = []
            self._lock = threading.Lock()
            self._pid = os.getpid()
            self.server = self._build_server()

    def _open(self) -> Connection:
        conn = FastConnection(
            self.server,
            user=self.bind_dn,
            password=self.bind_password,
            client_strategy=SYNC,
            raise_exceptions=True,
            receive_timeout=self.config["LDAP_RECEIVE_TIMEOUT"],
            auto_referrals=False,
            read_only=False,
        )
        with translate_errors():
            try:
                if self.config.get("LDAP_START_TLS"):
                    conn.open()
                    conn.start_tls()
                conn.bind()
            except lx.LDAPException as exc:
                discard(conn)
                if isinstance(exc, TRANSPORT_ERRORS) and isinstance(self.server, Server):
                    # ldap3 marks a refused address unusable for 5 s; with one server
                    # that only delays recovery after a slapd restart.
                    self.server.reset_availability()
                if isinstance(exc, lx.LDAPInvalidCredentialsResult):
                    raise lx.LDAPBindError(str(exc)) from exc
                raise
        self.opened += 1
        return conn

    def acquire(self) -> tuple[Connection, bool]:
        """Return a bound connection and whether it was reused from the pool."""
        self._check_fork()
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._open(), False

    def release(self, conn: Connection, broken: bool = False) -> None:
        """Give a connection back, or close it when broken or the pool is full."""
        if os.getpid() == self._pid and not broken and not conn.closed:
            with self._lock:
                if len(self._idle) < self.size:
                    self._idle.append(conn)
                    return
        discard(conn)

    def close_all(self) -> None:
        """Unbind every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            discard(conn)


def discard(conn: Connection) -> None:
    """Unbind a connection, ignoring transport errors, and close its socket."""
    try:
        conn.unbind()
    except (lx.LDAPException, OSError):
        pass
    # ldap3 leaves the socket open when the connect or the unbind request failed.
    sock = getattr(conn, "socket", None)
    if sock is not None:
        try:
            sock.close()
        except OSError:
            pass


class PooledDirectory(Directory):
    """A Directory that holds one pooled connection and retries once on a stale one."""

    def __init__(self, pool: ConnectionPool, suffix: str, page_size: int) -> None:
        self.pool = pool
        conn, self._reused = pool.acquire()
        super().__init__(conn, suffix, page_size)

    def _reconnect(self) -> bool:
        # A pooled connection may have been closed by the server (idle timeout,
        # restart); one retry on a fresh connection hides that from the client.
        if not self._reused:
            return False
        discard(self.conn)
        self.conn, self._reused = self.pool._open(), False
        return True

    def close(self, broken: bool = False) -> None:
        """Return the connection to the pool."""
        self.pool.release(self.conn, broken=broken)


def init_app(app: Flask) -> None:
    """Build the server set and pool for this app; nothing connects yet."""
    app.extensions[EXTENSION_KEY] = ConnectionPool(app.config)


def get_pool(app: Flask | None = None) -> ConnectionPool:
    """Return the app's connection pool."""
    return (app or current_app).extensions[EXTENSION_KEY]


def get_directory() -> Directory:
    """Return this request's Directory, checking a connection out on first use."""
    directory = g.get("_iredapi_ldap_directory")
    if directory is None or directory.conn.closed:
        directory = PooledDirectory(
            get_pool(),
            current_app.config["LDAP_SUFFIX"],
            current_app.config["LDAP_PAGE_SIZE"],
        )
        g._iredapi_ldap_directory = directory
    return directory


def release_directory(exc: BaseException | None) -> None:
    """teardown_appcontext: return the context's connection to the pool (broken: closed)."""
    directory = g.pop("_iredapi_ldap_directory", None)
    if directory is not None:
        directory.close(broken=isinstance(exc, TRANSPORT_ERRORS) or directory.conn.closed)
