"""[api] enable_api, restrict_api_access with api_clients, and X-Forwarded-For from trusted proxies."""

from __future__ import annotations

import pytest

from iredapi_ldap import create_app
from iredapi_ldap.config import ConfigError
from tests.conftest import ADMIN_EMAIL
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import app_with

CREDENTIALS = {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}


def test_disabled_api_answers_403_everywhere_but_health(app_config, admin, raw):
    """enable_api = no: login and every route answer 403 API_DISABLED; /api/health still answers."""
    with app_with(app_config, ENABLE_API=False) as node:
        client = node.test_client()
        login = client.post("/api/login", data=CREDENTIALS)
        assert login.status_code == 403
        assert login.json["msg"] == "API_DISABLED"
        assert "Set-Cookie" not in login.headers
        created = client.post("/api/domain/example.com")
        assert created.status_code == 403 and created.json["msg"] == "API_DISABLED"
        assert raw.entry(raw.domain_dn("example.com")) is None
        for path in ("/api/domains", "/api/openapi.json", "/api/no-such-route"):
            assert client.get(path).status_code == 403, path
        health = client.get("/api/health")
        assert health.status_code == 200 and health.json["_data"] == {"ldap": "ok"}


def test_restricted_api_refuses_clients_outside_api_clients(app_config, admin, raw):
    """restrict_api_access: an address outside api_clients gets 403 NOT_AUTHORIZED, even for login."""
    with app_with(
        app_config, RESTRICT_API_ACCESS=True, API_CLIENTS="192.0.2.10, 10.0.0.0/8,2001:db8::/32"
    ) as node:
        client = node.test_client()
        refused = client.post("/api/login", data=CREDENTIALS)
        assert refused.status_code == 403
        assert refused.json["msg"] == "NOT_AUTHORIZED"
        assert client.get("/api/health").json["msg"] == "NOT_AUTHORIZED"
        for address in ("192.0.2.10", "10.99.0.1", "2001:db8:1::9", "::ffff:10.1.2.3"):
            allowed = node.test_client()
            environ = {"REMOTE_ADDR": address}
            assert (
                allowed.post("/api/login", data=CREDENTIALS, environ_base=environ).status_code
                == 200
            )
            created = allowed.post("/api/domain/example.com", environ_base=environ)
            assert created.status_code in (201, 409), address
        assert raw.entry(raw.domain_dn("example.com")) is not None
        outside = node.test_client().get("/api/domains", environ_base={"REMOTE_ADDR": "192.0.2.11"})
        assert outside.status_code == 403


def test_forwarded_for_is_ignored_from_untrusted_peers(app_config, admin):
    """Without trusted_proxies, X-Forwarded-For cannot smuggle an allowed address in."""
    with app_with(app_config, RESTRICT_API_ACCESS=True, API_CLIENTS="10.0.0.0/8") as node:
        response = node.test_client().post(
            "/api/login", data=CREDENTIALS, headers={"X-Forwarded-For": "10.0.0.5"}
        )
        assert response.status_code == 403 and response.json["msg"] == "NOT_AUTHORIZED"


def test_forwarded_for_is_honoured_from_a_trusted_proxy(app_config, admin):
    """From a trusted proxy the client is the right-most address in X-Forwarded-For."""
    with app_with(
        app_config, RESTRICT_API_ACCESS=True, API_CLIENTS="10.0.0.0/8", TRUSTED_PROXIES="127.0.0.1"
    ) as node:
        allowed = node.test_client().post(
            "/api/login", data=CREDENTIALS, headers={"X-Forwarded-For": "10.0.0.5"}
        )
        assert allowed.status_code == 200, allowed.json
        # The client wrote 10.0.0.5 itself; the proxy appended the real peer.
        spoofed = node.test_client().post(
            "/api/login", data=CREDENTIALS, headers={"X-Forwarded-For": "10.0.0.5, 198.51.100.7"}
        )
        assert spoofed.status_code == 403 and spoofed.json["msg"] == "NOT_AUTHORIZED"
        no_header = node.test_client().post("/api/login", data=CREDENTIALS)
        assert no_header.status_code == 403


def test_a_chain_of_trusted_proxies_is_walked_right_to_left(app_config, admin):
    """Several trusted hops (in one or several headers) are skipped until an untrusted address."""
    with app_with(
        app_config,
        RESTRICT_API_ACCESS=True,
        API_CLIENTS="10.0.0.0/8",
        TRUSTED_PROXIES="127.0.0.1, 172.16.0.0/12",
    ) as node:
        client = node.test_client()
        one_header = client.post(
            "/api/login", data=CREDENTIALS,
            headers={"X-Forwarded-For": "203.0.113.1, 10.0.0.5, 172.16.0.9, 172.20.1.1"},
        )  # fmt: skip
        assert one_header.status_code == 200, one_header.json
        two_headers = node.test_client().post(
            "/api/login",
            data=CREDENTIALS,
            headers=[("X-Forwarded-For", "10.0.0.5"), ("X-Forwarded-For", "172.16.0.9")],
        )
        assert two_headers.status_code == 200, two_headers.json
        unknown = node.test_client().post(
            "/api/login", data=CREDENTIALS, headers={"X-Forwarded-For": "10.0.0.5, unknown"}
        )
        assert unknown.status_code == 403 and unknown.json["msg"] == "NOT_AUTHORIZED"


def test_forwarded_ports_and_brackets_are_understood(app_config, admin):
    """Proxies that write `v4:port` or `[v6]:port` still yield the client address."""
    with app_with(
        app_config,
        RESTRICT_API_ACCESS=True,
        API_CLIENTS="10.0.0.0/8, 2001:db8::/32",
        TRUSTED_PROXIES="127.0.0.1",
    ) as node:
        for hop in ("10.0.0.5:41234", "[2001:db8::7]:443"):
            response = node.test_client().post(
                "/api/login", data=CREDENTIALS, headers={"X-Forwarded-For": hop}
            )
            assert response.status_code == 200, hop


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"RESTRICT_API_ACCESS": True}, "restrict_api_access"),
        ({"API_CLIENTS": "10.0.0.0/8, 10.0.0.300"}, "[api] api_clients"),
        ({"TRUSTED_PROXIES": "proxy.example.com"}, "[api] trusted_proxies"),
    ],
)
def test_invalid_access_settings_stop_the_app(app_config, overrides, message):
    """An allow-list that cannot work, or a value that is no IP/CIDR, is a ConfigError naming the key."""
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        create_app({**app_config, **overrides})
