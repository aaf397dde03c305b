"""The failed-login counters in a SQLite file: a `limits` storage shared by the workers of a host.

`limits` keeps its counters in the memory of one process (each gunicorn worker counting on
its own) or in Redis, Memcached or MongoDB (a server to run). This storage, registered for
`sqlite:///` URLs, keeps them in one local SQLite file instead: every worker of the host
reads and writes the same rows, a hit is counted inside one `BEGIN IMMEDIATE` transaction
(SQLite's write lock, held across processes), so N workers allow exactly the limit, not N
times it. It implements what the login limiter uses: the moving window (failures) and the
fixed window (the trusted-client flags).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from limits.storage import MovingWindowSupport
from limits.storage import Storage

from ..config import ConfigError
from .engine import resolve_url

SCHEME = "sqlite"
OPTION = "[security] rate_limit_storage"
DEFAULT_FILE = Path("var") / "login-limits.sqlite"
# Seconds a worker waits for another one's write lock; each holds it for microseconds.
BUSY_TIMEOUT_SECONDS = 10.0
FILE_MODE = 0o600  # account names and client addresses

# One row per counted hit of a moving window; one row per fixed-window counter. `expires`
# lets a write drop every finished row of any key, so keys never used again do not pile up.
SCHEMA = """
CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, at REAL NOT NULL, expires REAL NOT NULL);
CREATE INDEX IF NOT EXISTS hits_key_at ON hits (key, at);
CREATE INDEX IF NOT EXISTS hits_expires ON hits (expires);
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS counters_expires ON counters (expires);
"""


def resolve_storage_uri(text: str, cwd: Path | None = None) -> str:
    """Return the configured storage URI, a `sqlite:///` one with an absolute path.

    Empty means var/login-limits.sqlite below the working directory; other schemes
    (memory://, redis://, ...) are returned unchanged for `limits` to check.
    """
    text = text.strip()
    if text and not text.lower().startswith(f"{SCHEME}:"):
        return text
    url = resolve_url(text, cwd, option=OPTION, default_file=DEFAULT_FILE)
    if url.drivername != SCHEME or url.query:
        raise ConfigError(f"{OPTION}: expected sqlite:////path/to/file.sqlite, not {text!r}")
    return f"{SCHEME}:///{url.database}"


class SqliteStorage(Storage, MovingWindowSupport):
    """Rate-limit counters in one SQLite file, shared by every process that opens it."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: float | str | bool):
        # uri is sqlite:///<absolute path> (resolve_storage_uri); nothing is opened yet.
        self.path = Path(uri.split(":///", 1)[1])
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        # A parent's connection, never used nor closed in a forked child (SQLite forbids both).
        self._inherited: list[sqlite3.Connection] = []
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """What a failing file raises (wrapped in limits' StorageError: 503)."""
        return (sqlite3.Error, OSError)

    # -- connection and transactions -------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._lock = threading.Lock()
            if self._connection is not None:
                self._inherited.append(self._connection)
                self._connection = None
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
            connection = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,  # transactions are begun explicitly below
                check_same_thread=False,  # used under self._lock only
            )
            # WAL: readers do not wait for a writer. NORMAL: no fsync per failed login; a
            # crash of the machine (not of a worker) may lose the last counts.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.executescript(SCHEMA)
            self._connection = connection
        return self._connection

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._connect()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Run a block as one transaction holding the file's write lock from its start."""
        with self._lock:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    # -- the moving window (failures) ----------------------------------------------------

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Count `amount` hits unless that would put more than `limit` in the last `expiry` s."""
        if amount > limit:
            return False
        with self._write() as connection:
            now = time.time()
            connection.execute("DELETE FROM hits WHERE expires <= ?", (now,))
            (count,) = connection.execute(
                "SELECT count(*) FROM hits WHERE key = ? AND at > ?", (key, now - expiry)
            ).fetchone()
            if count + amount > limit:
                return False
            connection.executemany(
                "INSERT INTO hits (key, at, expires) VALUES (?, ?, ?)",
                [(key, now, now + expiry)] * amount,
            )
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """Return (time of the oldest hit in the window, number of hits in it)."""
        now = time.time()
        with self._read() as connection:
            oldest, count = connection.execute(
                "SELECT min(at), count(*) FROM hits WHERE key = ? AND at > ?", (key, now - expiry)
            ).fetchone()
        return (oldest, count) if count else (now, 0)

    # -- the fixed window (trusted-client flags) ------------------------------------------

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add to a counter, started with `expiry` seconds to live if absent; return its value."""
        with self._write() as connection:
            now = time.time()
            connection.execute("DELETE FROM counters WHERE expires <= ?", (now,))
            connection.execute(
                "INSERT INTO counters (key, value, expires) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
                (key, amount, now + expiry),
            )
            (value,) = connection.execute(
                "SELECT value FROM counters WHERE key = ?", (key,)
            ).fetchone()
        return value

    def get(self, key: str) -> int:
        """Return a counter's value (0 when absent or expired)."""
        row = self._counter(key)
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        """Return when a counter expires (now when absent)."""
        row = self._counter(key)
        return row[1] if row else time.time()

    def _counter(self, key: str) -> tuple[int, float] | None:
        with self._read() as connection:
            return connection.execute(
                "SELECT value, expires FROM counters WHERE key = ? AND expires > ?",
                (key, time.time()),
            ).fetchone()

    # -- both ------------------------------------------------------------------------------

    def clear(self, key: str) -> None:
        """Forget a key's hits and counter."""
        with self._write() as connection:
            connection.execute("DELETE FROM hits WHERE key = ?", (key,))
            connection.execute("DELETE FROM counters WHERE key = ?", (key,))

    def reset(self) -> int | None:
        """Forget every key; return how many rows there were."""
        with self._write() as connection:
            removed = connection.execute("DELETE FROM hits").rowcount
            return removed + connection.execute("DELETE FROM counters").rowcount

    def check(self) -> bool:
        """Tell whether the file can be read."""
        try:
            with self._read() as connection:
                connection.execute("SELECT 1 FROM counters LIMIT 1").fetchall()
        except self.base_exceptions:
            return False
        return True
