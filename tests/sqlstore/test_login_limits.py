"""The SQLite rate-limit storage: one count for every process of a host, the limits' semantics."""

from __future__ import annotations

import multiprocessing
import sqlite3
import stat
import time

import pytest
from limits import RateLimitItemPerDay
from limits import parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from limits.strategies import MovingWindowRateLimiter

from iredapi_ldap.config import ConfigError
from iredapi_ldap.sqlstore import resolve_storage_uri
from iredapi_ldap.sqlstore.ratelimit import SqliteStorage

FIVE = parse("5/15minutes")
PROCESSES = 4
TRIES = 6  # per process: 24 failures against a limit of 5


def storage_at(path):
    """Return the storage `[security] rate_limit_storage = sqlite:///<path>` builds."""
    return storage_from_string(resolve_storage_uri(f"sqlite:///{path}"), wrap_exceptions=True)


def hammer(uri, start, results):
    """Count TRIES failures of one key as soon as `start` is set; put how many were taken."""
    limiter = MovingWindowRateLimiter(storage_from_string(uri, wrap_exceptions=True))
    start.wait()
    results.put(sum(limiter.hit(FIVE, "account", "victim@example.com") for _ in range(TRIES)))


def test_processes_together_count_exactly_the_limit(tmp_path):
    """Four processes hitting one key at once are granted 5 hits in all, not 5 each."""
    uri = resolve_storage_uri(f"sqlite:///{tmp_path / 'limits.sqlite'}")
    # Used in this process first: a forked child must open its own connection.
    parent = MovingWindowRateLimiter(storage_from_string(uri, wrap_exceptions=True))
    assert parent.test(FIVE, "account", "victim@example.com")
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=hammer, args=(uri, start, results)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    start.set()
    taken = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    assert sum(taken) == 5, taken
    assert not parent.test(FIVE, "account", "victim@example.com")
    assert parent.get_window_stats(FIVE, "account", "victim@example.com").remaining == 0
    with sqlite3.connect(tmp_path / "limits.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM hits").fetchone() == (5,)


def test_the_moving_window_frees_a_slot_when_its_oldest_hit_ages_out(tmp_path):
    """A hit counts for the window's length only; the window's start is the oldest hit."""
    limiter = MovingWindowRateLimiter(storage_at(tmp_path / "limits.sqlite"))
    two_per_second = parse("2/second")
    before = time.time()
    assert limiter.hit(two_per_second, "k")
    assert limiter.hit(two_per_second, "k")
    assert not limiter.hit(two_per_second, "k")
    assert limiter.hit(two_per_second, "other")  # keys are separate
    stats = limiter.get_window_stats(two_per_second, "k")
    assert stats.remaining == 0
    assert before + 1 <= stats.reset_time <= time.time() + 1
    time.sleep(1.1)
    assert limiter.test(two_per_second, "k")
    assert limiter.hit(two_per_second, "k")
    limiter.clear(two_per_second, "k")
    assert limiter.get_window_stats(two_per_second, "k").remaining == 2


def test_finished_hits_of_any_key_are_dropped_by_the_next_write(tmp_path):
    """Keys never used again (one-off client addresses) do not pile up in the file."""
    limiter = MovingWindowRateLimiter(storage_at(tmp_path / "limits.sqlite"))
    for number in range(20):
        assert limiter.hit(parse("1/second"), f"address-{number}")
    time.sleep(1.1)
    assert limiter.hit(parse("1/second"), "one-more")
    with sqlite3.connect(tmp_path / "limits.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM hits").fetchone() == (1,)


def test_fixed_window_flags_are_shared_and_expire(tmp_path):
    """The trusted-client flag (a fixed window of one hit) set by one process is seen by another."""
    path = tmp_path / "limits.sqlite"
    first = FixedWindowRateLimiter(storage_at(path))
    second = FixedWindowRateLimiter(storage_at(path))
    known = RateLimitItemPerDay(1, 30)
    assert second.test(known, "known", "owner@example.com", "192.0.2.10")
    assert first.hit(known, "known", "owner@example.com", "192.0.2.10")
    assert not second.test(known, "known", "owner@example.com", "192.0.2.10")
    stats = second.get_window_stats(known, "known", "owner@example.com", "192.0.2.10")
    assert stats.remaining == 0
    assert 30 * 86400 - 60 < stats.reset_time - time.time() <= 30 * 86400
    assert not second.hit(known, "known", "owner@example.com", "192.0.2.10")  # counted: 2 > 1
    second.clear(known, "known", "owner@example.com", "192.0.2.10")
    assert first.test(known, "known", "owner@example.com", "192.0.2.10")
    short = parse("1/second")
    assert first.hit(short, "flag")
    time.sleep(1.1)
    assert second.test(short, "flag")


def test_the_file_is_private_and_reset_empties_it(tmp_path):
    """The file (account names, client addresses) is mode 0600; reset removes every row."""
    storage = storage_at(tmp_path / "sub" / "limits.sqlite")
    assert isinstance(storage, SqliteStorage)
    assert storage.check()
    MovingWindowRateLimiter(storage).hit(FIVE, "a")
    FixedWindowRateLimiter(storage).hit(FIVE, "b")
    assert stat.S_IMODE((tmp_path / "sub" / "limits.sqlite").stat().st_mode) == 0o600
    assert storage.reset() == 2
    assert MovingWindowRateLimiter(storage).get_window_stats(FIVE, "a").remaining == 5


def test_an_unusable_file_is_a_storage_error(tmp_path):
    """A path that cannot be a file fails every call with limits' StorageError (the API: 503)."""
    (tmp_path / "not-a-dir").write_text("")
    storage = storage_at(tmp_path / "not-a-dir" / "limits.sqlite")
    with pytest.raises(StorageError):
        MovingWindowRateLimiter(storage).hit(FIVE, "a")
    assert storage.check() is False


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("", "sqlite:///{cwd}/var/login-limits.sqlite"),
        ("sqlite:///run/limits.sqlite", "sqlite:///{cwd}/run/limits.sqlite"),
        ("sqlite:////srv/limits.sqlite", "sqlite:////srv/limits.sqlite"),
        ("memory://", "memory://"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ],
)
def test_configured_uris_are_resolved(tmp_path, configured, expected):
    """Empty is a file under var/ of the working directory; sqlite paths become absolute."""
    assert resolve_storage_uri(configured, cwd=tmp_path) == expected.format(cwd=tmp_path)


@pytest.mark.parametrize(
    "configured", ["sqlite://", "sqlite:///:memory:", "sqlite:///x.sqlite?mode=ro"]
)
def test_unusable_sqlite_uris_stop_startup(tmp_path, configured):
    """An in-memory or parametrised SQLite URL is a ConfigError naming the key."""
    with pytest.raises(ConfigError, match=r"\[security\] rate_limit_storage"):
        resolve_storage_uri(configured, cwd=tmp_path)
