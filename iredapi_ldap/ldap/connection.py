"""Connections: one server set per app, a small per-process pool of bound connections."""

# Private internals of ldap3 relied on (setup.cfg pins ldap3 to 2.9.x;
# tests/unit/test_library_internals.py checks every name below):
# - Server.reset_availability -- a refused server is retried at once instead of after
#   ldap3's 5 s back-off. Gone, a failed bind raises AttributeError: 500, not 503.
# - Connection.socket -- discard() closes the socket ldap3 leaves open after a failed
#   connect or unbind, and hung_up() polls it before a write. Renamed, those sockets leak
#   until garbage collection, and a write on a connection slapd has closed fails (503)
#   instead of going to a fresh connection.

from __future__ import annotations

import logging
import os
import select
import ssl
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from flask import current_app
from flask import g
from ldap3 import BASE
from ldap3 import NONE
from ldap3 import SYNC
from ldap3 import Connection
from ldap3 import Server
from ldap3 import Tls
from ldap3.core import exceptions as lx

from .directory import Directory
from .errors import TRANSPORT_ERRORS
from .errors import translate_errors
from .failover import ServerChoice
from .failover import csn_by_server
from .failover import holds_all
from .fastpath import FastConnection

log = logging.getLogger(__name__)

EXTENSION_KEY = "iredapi_ldap"


def parse_uris(text: str) -> list[str]:
    """Split the configured URI list (space or comma separated)."""
    return [uri.rstrip("/") for uri in text.replace(",", " ").split() if uri]


def host_state_dir(config: dict[str, Any]) -> Path:
    """Return the folder this host's processes share: [ldap] counter_lock_dir, else var/counter-locks."""
    return Path(config["LDAP_COUNTER_LOCK_DIR"] or Path("var") / "counter-locks").absolute()


class ConnectionPool:
    """Bound service connections reused across requests; reset after a fork.

    With several URIs every connection goes to the host's active server
    (failover.ServerChoice); idle connections to another one are dropped.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.bind_dn = config["LDAP_BIND_DN"]
        self.bind_password = config["LDAP_BIND_PASSWORD"]
        self.size = max(1, int(config["LDAP_POOL_SIZE"]))
        self._lock = threading.Lock()
        self._idle: list[Connection] = []
        self._pid = os.getpid()
        self.opened = 0  # connections opened by this process, for tests and benchmarks
        self.uris = parse_uris(config["LDAP_URI"])
        self.servers = self._build_servers()
        shared = host_state_dir(config) if len(self.servers) > 1 else None
        self.choice = ServerChoice(self.uris, shared)

    def _build_servers(self) -> list[Server]:
        tls = None
        if self.config.get("LDAP_START_TLS") or any(
            uri.startswith("ldaps://") for uri in self.uris
        ):
            tls = Tls(
                validate=ssl.CERT_REQUIRED,
                ca_certs_file=self.config.get("LDAP_CA_FILE") or None,
            )
        return [
            # No schema read at bind: one round trip less per new connection.
            Server(uri, connect_timeout=self.config["LDAP_CONNECT_TIMEOUT"], tls=tls, get_info=NONE)
            for uri in self.uris
        ]

    def _check_fork(self) -> None:
        # Sockets inherited from a parent (gunicorn --preload) must never be shared;
        # drop them without unbinding, which would hang up the parent's session.
        if os.getpid() != self._pid:
            self._idle = []
            self._lock = threading.Lock()
            self._pid = os.getpid()
            self.servers = self._build_servers()
            self.choice.after_fork()

    def _connect(self, index: int) -> Connection:
        """Open and bind a connection to server `index`; ldap3's exceptions pass through."""
        server = self.servers[index]
        conn = FastConnection(
            server,
            user=self.bind_dn,
            password=self.bind_password,
            client_strategy=SYNC,
            raise_exceptions=True,
            receive_timeout=self.config["LDAP_RECEIVE_TIMEOUT"],
            auto_referrals=False,
            read_only=False,
        )
        try:
            if self.config.get("LDAP_START_TLS"):
                conn.open()
                conn.start_tls()
            conn.bind()
        except lx.LDAPException as exc:
            discard(conn)
            if isinstance(exc, TRANSPORT_ERRORS):
                # ldap3 marks a refused address unusable for 5 s; the choice of server
                # is ours (failover.py), and one server must be retried at once after
                # a slapd restart.
                server.reset_availability()
            raise
        conn.server_index = index
        return conn

    def _open(self) -> Connection:
        """Open a connection to the active server; on a transport failure fail over, once per server."""
        attempts = len(self.servers)
        with translate_errors():
            for attempt in range(1, attempts + 1):
                index = self.choice.current().active
                try:
                    conn = self._connect(index)
                except lx.LDAPInvalidCredentialsResult as exc:
                    raise lx.LDAPBindError(str(exc)) from exc
                except TRANSPORT_ERRORS:
                    if attempts > 1:
                        self.choice.failed(index)
                    if attempt == attempts:
                        raise
                    continue
                self.opened += 1
                return conn
        raise AssertionError("the last attempt returns or raises")  # pragma: no cover

    def acquire(self) -> tuple[Connection, bool]:
        """Return a bound connection and whether it was reused from the pool."""
        self._check_fork()
        active = self.choice.current().active
        if len(self.servers) > 1:
            self.choice.probe_if_due(self._check_returning)
        stale = []
        try:
            with self._lock:
                while self._idle:
                    conn = self._idle.pop()
                    if getattr(conn, "server_index", 0) == active:
                        return conn, True
                    stale.append(conn)  # opened to a server the host has left
        finally:
            for conn in stale:
                discard(conn)
        return self._open(), False

    def release(self, conn: Connection, broken: bool = False) -> None:
        """Give a connection back, or close it when broken, the pool is full or the host switched."""
        active = self.choice.current().active
        if (
            os.getpid() == self._pid and not broken and not conn.closed
            and getattr(conn, "server_index", 0) == active
        ):  # fmt: skip
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

    def _check_returning(self, candidate: int, active: int) -> bool | None:
        """Health check of a server due to return: None if it does not answer, else caught up?

        Caught up: it holds every change the active server had before it was read
        (contextCSN), and the active server every change it holds (those it took before
        it failed, which the active one pulls when it returns).
        """
        try:
            conn = self._connect(candidate)
        except lx.LDAPException:
            return None
        try:
            try:
                before = self._context_csn(active)
            except lx.LDAPException:
                return True  # the active server is gone too: the candidate is the best there is
            returning = self._context_csn(candidate, conn)
            try:
                after = self._context_csn(active)
            except lx.LDAPException:
                return True
        except lx.LDAPException:
            return None
        finally:
            discard(conn)
        if holds_all(returning, before) and holds_all(after, returning):
            return True
        log.info("LDAP: server %d answers, catching up (%s, active %s)", candidate + 1,
                 returning, after)  # fmt: skip
        return False

    def _context_csn(self, index: int, conn: Connection | None = None) -> dict[str, str]:
        """Return the suffix's contextCSN values of server `index`, by serverID."""
        own = conn is None
        conn = conn or self._connect(index)
        try:
            suffix = self.config["LDAP_SUFFIX"]
            conn.search(suffix, "(objectClass=*)", search_scope=BASE, attributes=["contextCSN"])
            values = [
                value.decode()
                for item in conn.response
                if item["type"] == "searchResEntry"
                for name, raw in item["raw_attributes"].items()
                if name.lower() == "contextcsn"
                for value in raw
            ]
            return csn_by_server(values)
        finally:
            if own:
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


def hung_up(conn: Connection) -> bool:
    """Tell whether the server has closed an idle connection (its socket reads EOF)."""
    sock = getattr(conn, "socket", None)
    if sock is None or conn.closed:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    # Nothing is due on an idle LDAP connection: readable means EOF or a notice of
    # disconnection, both the end of it.
    return bool(readable)


class PooledDirectory(Directory):
    """A Directory that holds one pooled connection and retries a read once on a stale one.

    A write is never sent twice: slapd may have applied it before the connection
    broke (a second increment would count twice, a second add answer 409). So before
    the first write on a reused connection its socket is checked, and one slapd has
    closed (restarted, failed over) is replaced first.
    """

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

    def _before_write(self) -> None:
        if self._reused and hung_up(self.conn):
            discard(self.conn)
            self.conn, self._reused = self.pool._open(), False

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
