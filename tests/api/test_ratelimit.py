"""Failed logins limited per account and per client address (429 + Retry-After): memory, SQLite, Redis."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import time

import pytest

from iredapi_ldap import create_app
from iredapi_ldap.config import ConfigError
from tests.conftest import ADMIN_EMAIL
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import app_with
from tests.helpers import basic
from tests.helpers import bearer
from tests.helpers import free_port
from tests.helpers import make_token

OTHER = "boss@example.org"
LIMITS = {"LOGIN_FAILURES_PER_ACCOUNT": "3/15minutes", "LOGIN_FAILURES_PER_ADDRESS": "5/15minutes"}


def login(client, username=ADMIN_EMAIL, password=ADMIN_PASSWORD, address="127.0.0.1"):
    """Post /api/login from an address."""
    return client.post(
        "/api/login",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def assert_limited(response):
    """Check a 429 answer: code, Retry-After within the window, no session started."""
    assert response.status_code == 429, response.json
    assert response.json["msg"] == "TOO_MANY_REQUESTS"
    assert 1 <= int(response.headers["Retry-After"]) <= 900
    assert "Set-Cookie" not in response.headers


def test_account_is_locked_after_its_failures_even_with_the_right_password(app_config, admin):
    """After N failed logins for an account, the right password answers 429 with Retry-After."""
    with app_with(app_config, **LIMITS) as node:
        client = node.test_client()
        for _ in range(3):
            assert login(client, password="wrong").status_code == 401
        limited = login(client)
        assert_limited(limited)
        assert client.get("/api/domains").status_code == 401
        # Other accounts from the same address are not affected by this account's limit.
        add_admin_via_root(node)
        assert login(client, username=OTHER, password="Other-Pass-456").status_code == 200


def add_admin_via_root(node):
    """Create the second global admin with the app's own model (test set-up)."""
    from iredapi_ldap.ldap import get_directory
    from iredapi_ldap.models.admins.create import create_global_admin

    with node.app_context():
        create_global_admin(get_directory(), OTHER, "Other-Pass-456")


def test_account_limit_spans_client_addresses(app_config, admin):
    """Failures for one account from different addresses add up."""
    with app_with(app_config, **LIMITS) as node:
        for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
            assert login(node.test_client(), password="wrong", address=address).status_code == 401
        assert_limited(login(node.test_client(), address="10.0.0.4"))


def test_address_is_locked_after_its_failures_across_accounts(app_config, admin):
    """Failures from one address over many usernames block that address only."""
    with app_with(app_config, **LIMITS) as node:
        for number in range(5):
            response = login(
                node.test_client(), username=f"guess{number}@example.com", password="x"
            )
            assert response.status_code == 401
        assert_limited(login(node.test_client()))
        assert login(node.test_client(), address="10.9.9.9").status_code == 200


def test_successful_logins_are_not_counted(app_config, admin):
    """Only failures count: many good logins never reach a limit."""
    with app_with(app_config, **LIMITS) as node:
        for _ in range(8):
            assert login(node.test_client()).status_code == 200


def test_failed_token_checks_count_too(api, app_config):
    """Wrong Bearer secrets count against the token id, wrong Basic tokens against the email."""
    token = make_token(api, ADMIN_EMAIL)["token"]
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    with app_with(app_config, **LIMITS) as node:
        client = node.test_client()
        for _ in range(3):
            assert client.get("/api/domains", headers=bearer(wrong)).status_code == 401
        assert_limited(client.get("/api/domains", headers=bearer(token)))
        elsewhere = {"REMOTE_ADDR": "10.1.1.1"}
        assert_limited(client.get("/api/domains", headers=bearer(token), environ_base=elsewhere))
        assert login(client, address="10.1.1.1").status_code == 200
    with app_with(app_config, **LIMITS) as node:
        client = node.test_client()
        for address in ("10.2.2.2", "10.2.2.3", "10.2.2.4"):
            response = client.get("/api/domains", headers=basic(ADMIN_EMAIL, wrong), environ_base={
                "REMOTE_ADDR": address})  # fmt: skip
            assert response.status_code == 401
        assert_limited(login(client, address="10.3.3.3"))
        assert_limited(client.get("/api/domains", headers=basic(ADMIN_EMAIL, token)))


def test_forwarded_client_addresses_are_limited_separately(app_config, admin):
    """Behind a trusted proxy, each X-Forwarded-For client has its own address counter."""
    with app_with(app_config, TRUSTED_PROXIES="127.0.0.1", **LIMITS) as node:
        for number in range(5):
            response = node.test_client().post(
                "/api/login",
                data={"username": f"guess{number}@example.com", "password": "x"},
                headers={"X-Forwarded-For": "203.0.113.5"},
            )
            assert response.status_code == 401
        blocked = node.test_client().post(
            "/api/login",
            data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.5"},
        )
        assert_limited(blocked)
        other = node.test_client().post(
            "/api/login",
            data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.6"},
        )
        assert other.status_code == 200


# -- the guesser is throttled, not the owner (issue 11, item 6) --------------------------

ATTACKER = "198.51.100.7"
OWNER_HOME = "192.0.2.10"
NEW_PLACE = "203.0.113.20"
DEVICE_COOKIE = "iredapi-device"


def guess(client, how, address=ATTACKER):
    """Send one wrong credential for the admin's account: a password or a Basic token."""
    if how == "password":
        return login(client, password="wrong", address=address)
    wrong = "iredapi_0123456789abcdef_" + "A" * 43
    return client.get("/api/domains", headers=basic(ADMIN_EMAIL, wrong),
                      environ_base={"REMOTE_ADDR": address})  # fmt: skip


@pytest.mark.parametrize("how", ["password", "basic"])
def test_the_guesser_is_throttled_not_the_owner_at_a_known_address(app_config, admin, how):
    """Failures from elsewhere lock the account for unknown clients, not for the owner's address."""
    with app_with(app_config, **LIMITS) as node:
        assert login(node.test_client(), address=OWNER_HOME).status_code == 200
        attacker = node.test_client()
        for _ in range(3):
            assert guess(attacker, how).status_code == 401
        assert_limited(login(attacker, address=ATTACKER))  # the right password too
        assert_limited(login(node.test_client(), address=NEW_PLACE))  # any unknown client
        owner = node.test_client()
        response = login(owner, address=OWNER_HOME)
        assert response.status_code == 200, response.json
        assert owner.get("/api/domains").status_code == 200


def test_a_known_address_has_its_own_limit(app_config, admin):
    """Failures from a known address (say a shared NAT) lock the account for that address too."""
    with app_with(app_config, **LIMITS) as node:
        owner = node.test_client()
        assert login(owner, address=OWNER_HOME).status_code == 200
        for _ in range(3):
            assert guess(node.test_client(), "password", OWNER_HOME).status_code == 401
        assert_limited(login(node.test_client(), address=OWNER_HOME))
        # The owner's device cookie is its own client, with its own (clean) count.
        assert login(owner, address=OWNER_HOME).status_code == 200


def test_a_device_cookie_lets_the_owner_in_from_a_new_address(app_config, admin):
    """A successful login sets a signed device cookie; with it the account's lock does not apply."""
    with app_with(app_config, **LIMITS) as node:
        owner = node.test_client()
        first = login(owner, address=OWNER_HOME)
        assert first.status_code == 200
        [header] = [h for h in first.headers.getlist("Set-Cookie") if h.startswith(DEVICE_COOKIE)]
        assert "HttpOnly" in header and "SameSite=Strict" in header
        assert f"Max-Age={30 * 86400}" in header
        assert ADMIN_EMAIL not in header  # signed, and the account is not readable in clear
        for _ in range(3):
            assert guess(node.test_client(), "password").status_code == 401
        assert_limited(login(node.test_client(), address=NEW_PLACE))
        response = login(owner, address=NEW_PLACE)
        assert response.status_code == 200, response.json
        assert owner.get("/api/domains").status_code == 200
        forged = node.test_client()
        forged.set_cookie(DEVICE_COOKIE, owner.get_cookie(DEVICE_COOKIE).value[:-2] + "xx")
        assert_limited(login(forged, address="203.0.113.21"))


def test_a_device_cookie_has_its_own_lockout(app_config, admin):
    """A copied device cookie that keeps failing is locked itself; the owner's address is not."""
    with app_with(app_config, **LIMITS) as node:
        owner = node.test_client()
        assert login(owner, address=OWNER_HOME).status_code == 200
        stolen = node.test_client()
        stolen.set_cookie(DEVICE_COOKIE, owner.get_cookie(DEVICE_COOKIE).value)
        for _ in range(3):
            assert login(stolen, password="wrong", address=NEW_PLACE).status_code == 401
        assert_limited(login(stolen, address=NEW_PLACE))
        assert login(node.test_client(), address=OWNER_HOME).status_code == 200


def test_a_device_cookie_counts_only_for_its_own_account(app_config, admin):
    """The cookie names the account it was issued for; another account's lock still applies."""
    with app_with(app_config, **LIMITS) as node:
        add_admin_via_root(node)
        owner = node.test_client()
        assert login(owner, address=OWNER_HOME).status_code == 200
        for _ in range(3):
            assert login(node.test_client(), OTHER, "wrong", ATTACKER).status_code == 401
        assert_limited(login(owner, OTHER, "Other-Pass-456", NEW_PLACE))


def test_a_successful_token_makes_its_address_known(api, app_config):
    """A script authenticating with a token from an address keeps working, login included."""
    token = make_token(api, ADMIN_EMAIL)["token"]
    script_host = {"REMOTE_ADDR": "192.0.2.30"}
    with app_with(app_config, **LIMITS) as node:
        script = node.test_client()
        headers = basic(ADMIN_EMAIL, token)
        assert (
            script.get("/api/domains", headers=headers, environ_base=script_host).status_code == 200
        )
        for _ in range(3):
            assert guess(node.test_client(), "basic").status_code == 401
        assert_limited(node.test_client().get("/api/domains", headers=headers))
        assert (
            script.get("/api/domains", headers=headers, environ_base=script_host).status_code == 200
        )
        assert login(node.test_client(), address="192.0.2.30").status_code == 200


def test_trusted_client_days_zero_restores_one_shared_account_limit(app_config, admin):
    """With trusted_client_days = 0 no cookie is issued and every client shares the account's limit."""
    with app_with(app_config, TRUSTED_CLIENT_DAYS=0, **LIMITS) as node:
        owner = node.test_client()
        response = login(owner, address=OWNER_HOME)
        assert response.status_code == 200
        assert not any(h.startswith(DEVICE_COOKIE) for h in response.headers.getlist("Set-Cookie"))
        for _ in range(3):
            assert guess(node.test_client(), "password").status_code == 401
        assert_limited(login(owner, address=OWNER_HOME))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"LOGIN_FAILURES_PER_ACCOUNT": "five per hour"}, "login_failures_per_account"),
        ({"LOGIN_FAILURES_PER_ADDRESS": "5/fortnight"}, "login_failures_per_address"),
        ({"RATE_LIMIT_STORAGE": "nosuch://x"}, "rate_limit_storage"),
        ({"RATE_LIMIT_STORAGE": "sqlite:///:memory:"}, "rate_limit_storage"),
    ],
)
def test_invalid_rate_limit_settings_stop_the_app(app_config, overrides, message):
    """An unparsable limit or an unknown storage is a ConfigError naming the key."""
    with pytest.raises(ConfigError, match=message):
        create_app({**app_config, **overrides})


# -- one host: a SQLite file shared by every worker (the default) -----------------------


def test_workers_of_one_host_share_failures_and_known_addresses(app_config, admin, tmp_path):
    """Two apps (two workers) on one SQLite file: the failures of both count, 3 in all."""
    settings = dict(LIMITS, RATE_LIMIT_STORAGE=f"sqlite:///{tmp_path / 'login-limits.sqlite'}")
    with app_with(app_config, **settings) as first, app_with(app_config, **settings) as second:
        assert login(first.test_client(), address=OWNER_HOME).status_code == 200
        assert login(first.test_client(), password="wrong").status_code == 401
        assert login(second.test_client(), password="wrong").status_code == 401
        assert login(first.test_client(), password="wrong").status_code == 401
        assert_limited(login(second.test_client()))
        assert_limited(login(first.test_client(), address=NEW_PLACE))
        # The owner's address, known from its login on the first worker, passes on the second.
        assert login(second.test_client(), address=OWNER_HOME).status_code == 200


def test_the_default_storage_is_a_file_below_the_working_directory(
    app_config, admin, tmp_path, monkeypatch
):
    """Without a setting the counters live in var/login-limits.sqlite, private to the API user."""
    monkeypatch.chdir(tmp_path)
    with app_with(app_config, RATE_LIMIT_STORAGE="", **LIMITS) as node:
        path = tmp_path / "var" / "login-limits.sqlite"
        assert node.config["RATE_LIMIT_STORAGE"] == f"sqlite:///{path}"
        assert login(node.test_client(), password="wrong").status_code == 401
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        with sqlite3.connect(path) as conn:
            keys = [key for (key,) in conn.execute("SELECT key FROM hits")]
        assert any("iredapi-login-account" in key and ADMIN_EMAIL in key for key in keys), keys


def test_an_unusable_file_refuses_logins_with_503(app_config, admin, tmp_path):
    """When the counters' file cannot be opened, logins answer 503 rather than going unlimited."""
    (tmp_path / "plain-file").write_text("")
    storage = f"sqlite:///{tmp_path / 'plain-file' / 'login-limits.sqlite'}"
    with app_with(app_config, RATE_LIMIT_STORAGE=storage) as node:
        response = login(node.test_client())
        assert response.status_code == 503
        assert response.json["msg"] == "RATE_LIMIT_STORAGE_UNAVAILABLE"
        assert "Set-Cookie" not in response.headers


# -- Redis: several API nodes share the counters ---------------------------------------


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """Start a private redis-server on a free loopback port; fail (never skip) if it is missing."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not installed (Debian: apt-get install redis-server)", pytrace=False
        )
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("redis-server did not start", pytrace=False)
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


def test_redis_shares_failures_between_api_nodes(app_config, admin, redis_url):
    """Two nodes on one Redis: failures on one node lock the account on the other."""
    import redis

    settings = dict(LIMITS, RATE_LIMIT_STORAGE=redis_url)
    redis.Redis.from_url(redis_url).flushdb()
    with app_with(app_config, **settings) as first, app_with(app_config, **settings) as second:
        for _ in range(3):
            assert login(first.test_client(), password="wrong").status_code == 401
        assert_limited(login(second.test_client()))
        keys = [key.decode() for key in redis.Redis.from_url(redis_url).keys("*")]
        assert any("iredapi-login-account" in key and ADMIN_EMAIL in key for key in keys), keys
    redis.Redis.from_url(redis_url).flushdb()


def test_unreachable_redis_refuses_logins_with_503(app_config, admin):
    """When the shared storage is down, logins answer 503 rather than going unlimited."""
    with app_with(app_config, RATE_LIMIT_STORAGE=f"redis://127.0.0.1:{free_port()}/0") as node:
        response = login(node.test_client())
        assert response.status_code == 503
        assert response.json["msg"] == "RATE_LIMIT_STORAGE_UNAVAILABLE"
        assert "Set-Cookie" not in response.headers


def test_redis_shares_known_addresses_between_api_nodes(app_config, admin, redis_url):
    """With Redis, a login on one node makes its address known to the others."""
    import redis

    settings = dict(LIMITS, RATE_LIMIT_STORAGE=redis_url)
    redis.Redis.from_url(redis_url).flushdb()
    with app_with(app_config, **settings) as first, app_with(app_config, **settings) as second:
        assert login(first.test_client(), address=OWNER_HOME).status_code == 200
        for _ in range(3):
            assert guess(second.test_client(), "password").status_code == 401
        assert_limited(login(first.test_client(), address=NEW_PLACE))
        assert login(second.test_client(), address=OWNER_HOME).status_code == 200
        keys = [key.decode() for key in redis.Redis.from_url(redis_url).keys("*")]
        assert any("iredapi-login-known" in key and OWNER_HOME in key for key in keys), keys
    redis.Redis.from_url(redis_url).flushdb()
