"""[iredapd] url and [amavisd] url: checked at startup, files in the data dir by default, 503 when unreachable."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask

from iredapi_ldap import config as cfg
from iredapi_ldap import sqlstore
from iredapi_ldap.cli import write_embedded_config
from iredapi_ldap.config import ConfigError
from iredapi_ldap.errors import NoSuchDomain
from iredapi_ldap.errors import NotFound
from iredapi_ldap.errors import ValidationFailed
from iredapi_ldap.ldap import get_directory
from iredapi_ldap.models.policy import greylisting
from iredapi_ldap.models.policy import spampolicy
from iredapi_ldap.models.policy import throttle
from iredapi_ldap.models.policy import wblist
from iredapi_ldap.models.policy.addresses import resolve_account
from iredapi_ldap.sqlstore import AmavisdStoreUnavailable
from iredapi_ldap.sqlstore import PolicyStoreUnavailable
from iredapi_ldap.sqlstore import get_store
from iredapi_ldap.sqlstore.amavisd import get_amavisd_store
from iredapi_ldap.sqlstore.iredapd import get_policy_store
from tests.dbserver import free_port
from tests.helpers import add_domain
from tests.helpers import add_user
from tests.helpers import assert_error


def bare_app(url: str, tmp_path: Path, key: str = "IREDAPD_URL") -> Flask:
    app = Flask(__name__)
    app.config["SQL_URL"] = f"sqlite:///{tmp_path / 'store.sqlite'}"
    app.config[key] = url
    sqlstore.init_app(app)
    return app


@pytest.mark.parametrize("name", ["iredapd", "amavisd"])
@pytest.mark.parametrize(
    "url, message",
    [
        ("not a url", r"^\[{name}\] url is not a database URL"),
        ("oracle://u:secret@db/{name}", r"^\[{name}\] url: unsupported database 'oracle'"),
        ("mysql://u:secret@db/{name}?charset=utf8", r"^\[{name}\] url: charset=utf8 "),
        ("sqlite://", r"^\[{name}\] url: SQLite needs a file path"),
    ],
)
def test_a_bad_url_stops_startup_naming_the_key(tmp_path, name, url, message):
    """The message names [iredapd] url or [amavisd] url, never [sql] url, nor the password."""
    with pytest.raises(ConfigError, match=message.format(name=name)) as caught:
        bare_app(url.format(name=name), tmp_path, f"{name.upper()}_URL")

    assert "secret" not in str(caught.value)


def test_empty_url_means_a_sqlite_file_in_var_below_the_working_directory(tmp_path, monkeypatch):
    """Like [sql] url: var/iredapd.sqlite and var/amavisd.sqlite, fixed at startup, made at first use."""
    monkeypatch.chdir(tmp_path)
    app = bare_app("", tmp_path)
    monkeypatch.chdir("/")
    try:
        greylisting.set_greylisting(get_policy_store(app), "global", True)
        wblist.add_wblist(get_amavisd_store(app), "global", "inbound", "blacklist", ["@evil.test"])
    finally:
        sqlstore.dispose(app)

    for name in ("iredapd", "amavisd"):
        assert app.config[f"{name.upper()}_URL"] == f"sqlite:///{tmp_path}/var/{name}.sqlite"
        assert (tmp_path / "var" / f"{name}.sqlite").is_file()
        assert (name, "url") in cfg.OPTIONS and cfg.DEFAULTS[f"{name.upper()}_URL"] == ""


def test_the_embedded_default_keeps_iredapd_in_the_data_dir(tmp_path):
    """serve without a config writes [iredapd] url next to [sql] url, also into an older config."""
    creds = SimpleNamespace(uri="ldapi://x", vmailadmin_dn="cn=vmailadmin,dc=x",
                            vmailadmin_password="pw", suffix="dc=x")  # fmt: skip
    cfg.write_ini(tmp_path / "config.ini", {"SECRET_KEY": "kept", "SQL_URL": "sqlite:////a"})

    values = cfg.load_ini(write_embedded_config(tmp_path, creds))

    assert values["IREDAPD_URL"] == f"sqlite:///{tmp_path / 'iredapd.sqlite'}"
    assert values["AMAVISD_URL"] == f"sqlite:///{tmp_path / 'amavisd.sqlite'}"
    assert values["SQL_URL"] == "sqlite:////a" and values["SECRET_KEY"] == "kept"


DOWN = {
    "postgresql": "postgresql+psycopg://iredapd:secret@127.0.0.1:{port}/iredapd?connect_timeout=2",
    "mariadb": "mysql+pymysql://iredapd:secret@127.0.0.1:{port}/iredapd?connect_timeout=2",
}


@pytest.mark.parametrize("server", sorted(DOWN))
def test_an_unreachable_policy_database_is_503_for_policy_calls_only(tmp_path, server):
    """Reads and writes answer 503 POLICY_SERVER_UNAVAILABLE; the SQL store goes on working."""
    app = bare_app(DOWN[server].format(port=free_port()), tmp_path)
    store = get_policy_store(app)
    try:
        for call in (
            lambda: throttle.get_throttle(store, "example.com", "inbound"),
            lambda: throttle.set_throttle(store, "example.com", "inbound", 60, 1),
            lambda: greylisting.set_whitelists(store, "global", ["192.0.2.1"]),
        ):
            with pytest.raises(PolicyStoreUnavailable) as caught:
                call()
            assert caught.value.status == 503
            assert caught.value.code == "POLICY_SERVER_UNAVAILABLE"
            assert "secret" not in caught.value.detail
        assert get_store(app).deleted_mailboxes() == []
    finally:
        sqlstore.dispose(app)


@pytest.mark.parametrize("server", sorted(DOWN))
def test_an_unreachable_amavisd_database_is_503_for_its_calls_only(tmp_path, server):
    """Lists and spam policies answer 503 naming Amavisd; iRedAPD's database goes on working."""
    app = Flask(__name__)
    app.config.update(SQL_URL=f"sqlite:///{tmp_path / 's.sqlite'}",
                      IREDAPD_URL=f"sqlite:///{tmp_path / 'i.sqlite'}",
                      AMAVISD_URL=DOWN[server].format(port=free_port()).replace("iredapd", "amavisd"))  # fmt: skip
    sqlstore.init_app(app)
    store = get_amavisd_store(app)
    try:
        for call in (
            lambda: wblist.list_wblist(store, "example.com", "inbound", "whitelist", 0, 10),
            lambda: wblist.add_wblist(store, "example.com", "inbound", "whitelist", ["@a.test"]),
            lambda: spampolicy.set_spam_policy(store, "global", {"spam_score": 5}),
        ):
            with pytest.raises(AmavisdStoreUnavailable) as caught:
                call()
            assert (caught.value.status, caught.value.code) == (503, "POLICY_SERVER_UNAVAILABLE")
            assert "Amavisd" in caught.value.detail and "secret" not in caught.value.detail
        assert greylisting.set_greylisting(get_policy_store(app), "global", True)
    finally:
        sqlstore.dispose(app)


@pytest.fixture
def app_config(app_config):
    """The test app, with iRedAPD's database pointing at a closed port."""
    return {**app_config, "IREDAPD_URL": DOWN["postgresql"].format(port=free_port())}


def test_account_routes_work_while_the_policy_database_is_down(api):
    """Nothing outside the policy calls touches iRedAPD's database."""
    assert api.post("/api/domain/example.com", data={"cn": "Example"}).status_code == 201
    assert api.get("/api/domain/example.com").status_code == 200
    assert api.delete("/api/domain/example.com").status_code == 200


def test_only_hosted_domains_and_users_are_policy_accounts(app, raw):
    """resolve_account: global, a hosted domain or user; 404 with the usual codes otherwise."""
    add_domain(raw, "example.com")
    add_user(raw, "bob@example.com")
    with app.test_request_context():
        directory = get_directory()
        assert resolve_account(directory, "global") == "@."
        assert resolve_account(directory, "Example.COM") == "@example.com"
        assert resolve_account(directory, "Bob@example.com") == "bob@example.com"
        with pytest.raises(NoSuchDomain):
            resolve_account(directory, "other.test")
        with pytest.raises(NotFound) as caught:
            resolve_account(directory, "carol@example.com")
        assert caught.value.code == "NO_SUCH_ACCOUNT"
        with pytest.raises(ValidationFailed):
            resolve_account(directory, "not a domain")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/throttle/global/inbound", None),
        ("POST", "/api/throttle/example.com/outbound", {"period": "60", "max_msgs": "5"}),
        ("GET", "/api/greylisting/all", None),
        ("POST", "/api/greylisting/bob@example.com", {"status": "enable"}),
        ("POST", "/api/greylisting/global/whitelists", {"addSenders": "192.0.2.1"}),
        ("POST", "/api/greylisting/whitelist_spf_domains", {"addDomains": "example.org"}),
    ],
)
def test_policy_routes_answer_503_while_account_routes_work(api, raw, caplog, method, path, body):
    """The policy routes say POLICY_SERVER_UNAVAILABLE; a user is still read and deleted (logged)."""
    add_domain(raw, "example.com")
    add_user(raw, "bob@example.com")

    response = api.open(path, method=method, data=body)

    body = assert_error(response, 503, "POLICY_SERVER_UNAVAILABLE")
    assert "secret" not in body["detail"] and "iredapd:" not in body["detail"]
    assert api.get("/api/user/bob@example.com").status_code == 200
    assert api.delete("/api/user/bob@example.com").status_code == 200
    assert raw.count(raw.domain_dn("example.com"), "(mail=bob@example.com)") == 0
    assert "Could not delete the policy rows of bob@example.com" in caplog.text
