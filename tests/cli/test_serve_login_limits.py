"""A real `serve` with 4 workers: the failed-login limits hold for the host, not per worker."""

from __future__ import annotations

import http.client
import json
import sqlite3
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest

from iredapi_ldap import config as cfg
from tests.helpers import SERVE_ADMIN as ADMIN
from tests.helpers import SERVE_PASSWORD as PASSWORD
from tests.helpers import Served

WORKERS = 4
PER_ACCOUNT = 5  # the default [security] login_failures_per_account, 5/15minutes
OWNER = "127.0.0.2"  # loopback source addresses: each is its own client for the limiter
ATTACKER = "127.0.0.3"


def post_login(server, username, password, source="127.0.0.1"):
    """POST /api/login on a new connection (gunicorn hands new ones to any worker)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30,
                                      source_address=(source, 0))  # fmt: skip
    try:
        body = urllib.parse.urlencode({"username": username, "password": password})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        conn.request("POST", "/api/login", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def burst(server, username, count=40):
    """Send `count` failed logins for `username` from eight clients at once; return the statuses."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda _: post_login(server, username, "wrong")[0], range(count)))


@pytest.fixture
def served(tmp_path):
    """The embedded default, serving with 4 workers and no rate-limit setting of ours."""
    server = Served(tmp_path / "var", "--workers", str(WORKERS), "--admin-email", ADMIN,
                    "--admin-password", PASSWORD)  # fmt: skip
    yield server
    server.stop()


def test_attempts_until_429_are_exactly_the_configured_number(served, tmp_path):
    """Failed logins for one account, one after the other: 5 answered 401, then 429 from every worker."""
    statuses = []
    while not statuses or statuses[-1] != 429:
        assert len(statuses) < 40, statuses
        statuses.append(post_login(served, "victim@example.com", "wrong")[0])
    assert statuses == [401] * PER_ACCOUNT + [429]
    # 40 more at once, from eight clients, so that every worker gets some: none is let through.
    assert burst(served, "victim@example.com") == [429] * 40

    # A burst on a fresh account: the limit is checked before the password and counted after
    # it, so the requests the 4 workers handle at that moment may all pass (docs/security.md).
    fresh = burst(served, "other@example.com")
    assert PER_ACCOUNT <= fresh.count(401) <= PER_ACCOUNT + WORKERS - 1, fresh
    assert fresh.count(401) + fresh.count(429) == 40, fresh

    ini = cfg.load_ini(tmp_path / "var" / "config.ini")
    path = tmp_path / "var" / "login-limits.sqlite"
    assert ini["RATE_LIMIT_STORAGE"] == f"sqlite:///{path}"
    with sqlite3.connect(path) as conn:
        (counted,) = conn.execute(
            "SELECT count(*) FROM hits WHERE key LIKE '%iredapi-login-account%'"
        ).fetchone()
    assert counted == 2 * PER_ACCOUNT  # a failure past the limit is not stored


def test_a_known_address_is_known_to_every_worker(served):
    """After the owner logged in once, a guesser's lock-out never stops it, whichever worker answers."""
    assert post_login(served, ADMIN, PASSWORD, OWNER)[0] == 200
    guesses = [post_login(served, ADMIN, "wrong", ATTACKER)[0] for _ in range(PER_ACCOUNT + 1)]
    assert guesses == [401] * PER_ACCOUNT + [429]
    with ThreadPoolExecutor(max_workers=8) as pool:
        owner = list(pool.map(lambda _: post_login(served, ADMIN, PASSWORD, OWNER)[0], range(16)))
        unknown = list(pool.map(lambda _: post_login(served, ADMIN, PASSWORD, ATTACKER)[0],
                                range(16)))  # fmt: skip
    assert owner == [200] * 16
    assert unknown == [429] * 16
