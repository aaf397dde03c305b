"""API tokens: created, listed and revoked per admin; Bearer and Basic (email:token) auth."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from iredapi_ldap.ldap import filters as F
from tests.conftest import ADMIN_EMAIL
from tests.helpers import PASSWORD
from tests.helpers import add_admin
from tests.helpers import add_domain
from tests.helpers import add_user
from tests.helpers import admin_dn
from tests.helpers import app_with
from tests.helpers import basic
from tests.helpers import bearer
from tests.helpers import make_token
from tests.helpers import token_values

OTHER = "boss@example.org"


def test_starts_with_filter_is_escaped_and_matches_only_the_prefix(raw, admin):
    """starts_with escapes RFC 4515 specials and finds only values beginning with the prefix."""
    assert F.starts_with("accountSetting", "a*(b)\\") == r"(accountSetting=a\2a\28b\29\5c*)"
    dn = admin_dn(raw, ADMIN_EMAIL)
    raw.conn.modify(dn, {"accountSetting": [("MODIFY_ADD", ["k*(x):1", "k*(x)y:2", "zk*(x):3"])]})
    raw.conn.search(
        raw.suffix, F.starts_with("accountSetting", "k*(x):"), attributes=["accountSetting"]
    )
    found = [item["dn"] for item in raw.conn.response if item["type"] == "searchResEntry"]
    assert found == [dn]
    raw.conn.search(raw.suffix, F.starts_with("accountSetting", "k*(x)z"), attributes=["1.1"])
    assert [item for item in raw.conn.response if item["type"] == "searchResEntry"] == []


def test_create_shows_the_secret_once_and_stores_only_its_hash(api, raw):
    """POST answers 201 with iredapi_<id>_<secret>; the entry keeps sha256(secret), listings never show it."""
    response = api.post(
        f"/api/admin/{ADMIN_EMAIL}/tokens",
        data={
            "name": "backup script",
            "expires_in_days": "30",
            "allowed_ips": "10.0.0.0/8, 192.0.2.7",
        },
    )
    assert response.status_code == 201, response.json
    data = response.json["_data"]
    prefix, token_id, secret = data["token"].split("_", 2)
    assert prefix == "iredapi" and token_id == data["id"] and len(secret) == 43
    assert data["name"] == "backup script"
    assert data["read_only"] is False
    assert data["allowed_ips"] == ["10.0.0.0/8", "192.0.2.7/32"]
    assert abs(data["expires"] - (time.time() + 30 * 86400)) < 60
    [stored] = token_values(raw, admin_dn(raw, ADMIN_EMAIL))
    digest = hashlib.sha256(secret.encode()).hexdigest()
    assert stored.startswith(f"apiToken:{token_id}:sha256={digest};created=")
    assert ";access=rw;ips=10.0.0.0/8,192.0.2.7/32;name=YmFja3VwIHNjcmlwdA" in stored
    assert secret not in stored
    listed = api.get(f"/api/admin/{ADMIN_EMAIL}/tokens")
    assert listed.status_code == 200
    assert listed.json["_data"] == [{key: data[key] for key in data if key != "token"}]
    assert secret not in listed.get_data(as_text=True) and digest not in listed.get_data(
        as_text=True
    )


def test_bearer_token_authenticates_without_a_session(api, app):
    """A client with only `Authorization: Bearer` is the token's admin and gets no cookie."""
    token = make_token(api, ADMIN_EMAIL)["token"]
    fresh = app.test_client()
    response = fresh.post("/api/domain/example.com", headers=bearer(token), data={"name": "Ex"})
    assert response.status_code == 201, response.json
    assert "Set-Cookie" not in response.headers
    assert fresh.get("/api/domain/example.com", headers=bearer(token)).json["_data"]["name"] == "Ex"
    assert fresh.get("/api/domains").status_code == 401


def test_basic_auth_takes_the_admin_email_and_the_token(api, app, raw):
    """HTTP Basic email:token works (mailcheap style); another email with the same token does not."""
    add_admin(raw, OTHER, is_global=True)
    token = make_token(api, ADMIN_EMAIL)["token"]
    fresh = app.test_client()
    assert fresh.get("/api/domains", headers=basic(ADMIN_EMAIL.upper(), token)).status_code == 200
    refused = fresh.get("/api/domains", headers=basic(OTHER, token))
    assert refused.status_code == 401
    assert refused.json["msg"] == "INVALID_CREDENTIALS"
    password = fresh.get("/api/domains", headers=basic(OTHER, PASSWORD))
    assert password.status_code == 401 and password.json["msg"] == "INVALID_CREDENTIALS"


def test_wrong_unknown_or_malformed_tokens_answer_401(api, app):
    """A wrong secret, an unknown id and garbage all answer 401 INVALID_CREDENTIALS with a challenge."""
    token = make_token(api, ADMIN_EMAIL)["token"]
    fresh = app.test_client()
    wrong_secret = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    unknown_id = "iredapi_0123456789abcdef_" + token.split("_", 2)[2]
    for presented in (wrong_secret, unknown_id, "not-a-token", "iredapi_" + "x" * 500):
        response = fresh.get("/api/domains", headers=bearer(presented))
        assert response.status_code == 401, presented
        assert response.json["msg"] == "INVALID_CREDENTIALS"
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="iredapi-ldap"'
    other_scheme = fresh.get("/api/domains", headers={"Authorization": "Digest abc"})
    assert other_scheme.status_code == 401 and other_scheme.json["msg"] == "LOGIN_REQUIRED"


def test_read_only_token_may_only_read(api, app, raw):
    """A read_only token answers GET but refuses writes with 403 READ_ONLY_TOKEN, changing nothing."""
    token = make_token(api, ADMIN_EMAIL, read_only="yes")
    assert token["read_only"] is True
    [stored] = token_values(raw, admin_dn(raw, ADMIN_EMAIL))
    assert ";access=ro;" in stored
    fresh = app.test_client()
    assert fresh.get("/api/domains", headers=bearer(token["token"])).status_code == 200
    assert fresh.head("/api/domains", headers=bearer(token["token"])).status_code == 200
    refused = fresh.post("/api/domain/example.com", headers=bearer(token["token"]))
    assert refused.status_code == 403
    assert refused.json["msg"] == "READ_ONLY_TOKEN"
    assert raw.entry(raw.domain_dn("example.com")) is None


def test_token_allow_list_checks_the_client_address(api, app):
    """A token with allowed_ips works only from those networks (403 NOT_AUTHORIZED elsewhere)."""
    token = make_token(api, ADMIN_EMAIL, allowed_ips="10.0.0.0/8,2001:db8::/32")["token"]
    fresh = app.test_client()
    refused = fresh.get("/api/domains", headers=bearer(token))
    assert refused.status_code == 403 and refused.json["msg"] == "NOT_AUTHORIZED"
    for address in ("10.20.30.40", "2001:db8::5", "::ffff:10.1.1.1"):
        allowed = fresh.get(
            "/api/domains", headers=bearer(token), environ_base={"REMOTE_ADDR": address}
        )
        assert allowed.status_code == 200, address


def test_expired_token_answers_token_expired(api, app, raw):
    """A token past its expiry answers 401 TOKEN_EXPIRED and is listed as expired."""
    token = make_token(api, ADMIN_EMAIL, expires_in_days="1")
    [stored] = token_values(raw, admin_dn(raw, ADMIN_EMAIL))
    past = stored.replace(f"expires={token['expires']}", f"expires={int(time.time()) - 5}")
    raw.conn.modify(
        admin_dn(raw, ADMIN_EMAIL),
        {"accountSetting": [("MODIFY_DELETE", [stored]), ("MODIFY_ADD", [past])]},
    )
    response = app.test_client().get("/api/domains", headers=bearer(token["token"]))
    assert response.status_code == 401
    assert response.json["msg"] == "TOKEN_EXPIRED"
    assert api.get(f"/api/admin/{ADMIN_EMAIL}/tokens").json["_data"][0]["expired"] is True


def test_expires_accepts_an_iso_date_time(api, raw):
    """expires takes ISO 8601 (no zone = UTC, or an offset) and is stored as epoch seconds."""
    moment = (datetime.now(UTC) + timedelta(days=400)).replace(microsecond=0, tzinfo=None)
    epoch = int(moment.replace(tzinfo=UTC).timestamp())
    for text, expected in (
        (moment.isoformat(), epoch),
        (moment.isoformat() + "+02:00", epoch - 7200),
    ):
        response = api.post(f"/api/admin/{ADMIN_EMAIL}/tokens", data={"expires": text})
        assert response.status_code == 201, response.json
        assert response.json["_data"]["expires"] == expected
    stored = token_values(raw, admin_dn(raw, ADMIN_EMAIL))
    assert sorted(int(v.split(";expires=")[1].split(";")[0]) for v in stored) == [
        epoch - 7200,
        epoch,
    ]


def test_revocation_is_immediate_on_this_node(api, app, raw):
    """DELETE removes the value from the entry and the token fails at once, cache or not."""
    token = make_token(api, ADMIN_EMAIL)
    fresh = app.test_client()
    assert fresh.get("/api/domains", headers=bearer(token["token"])).status_code == 200
    response = api.delete(f"/api/admin/{ADMIN_EMAIL}/tokens/{token['id']}")
    assert response.status_code == 200, response.json
    assert token_values(raw, admin_dn(raw, ADMIN_EMAIL)) == []
    assert fresh.get("/api/domains", headers=bearer(token["token"])).status_code == 401
    again = api.delete(f"/api/admin/{ADMIN_EMAIL}/tokens/{token['id']}")
    assert again.status_code == 404 and again.json["msg"] == "NO_SUCH_TOKEN"


def test_revocation_elsewhere_is_seen_at_once_whatever_the_cache_time(api, app_config, raw):
    """A token removed from the entry by another node or tool is refused at the next request."""
    token = make_token(api, ADMIN_EMAIL)
    with app_with(app_config, TOKEN_CACHE_SECONDS=3600) as node:
        other = node.test_client()
        assert other.get("/api/domains", headers=bearer(token["token"])).status_code == 200
        [stored] = token_values(raw, admin_dn(raw, ADMIN_EMAIL))
        raw.conn.modify(
            admin_dn(raw, ADMIN_EMAIL), {"accountSetting": [("MODIFY_DELETE", [stored])]}
        )
        assert other.get("/api/domains", headers=bearer(token["token"])).status_code == 401


def test_tokens_of_disabled_or_locked_admins_fail(api, app_config, raw):
    """Disabling or locking the admin makes its token fail (cache off: the next request)."""
    add_admin(raw, OTHER, is_global=True)
    token = make_token(api, OTHER)["token"]
    with app_with(app_config, TOKEN_CACHE_SECONDS=0) as node:
        other = node.test_client()
        assert other.get("/api/domains", headers=bearer(token)).status_code == 200
        raw.conn.modify(admin_dn(raw, OTHER), {"accountStatus": [("MODIFY_REPLACE", ["disabled"])]})
        disabled = other.get("/api/domains", headers=bearer(token))
        assert disabled.status_code == 401 and disabled.json["msg"] == "INVALID_CREDENTIALS"
        raw.conn.modify(admin_dn(raw, OTHER), {"accountStatus": [("MODIFY_REPLACE", ["active"])]})
        assert other.get("/api/domains", headers=bearer(token)).status_code == 200
        raw.conn.modify(admin_dn(raw, OTHER), {"accountSetting": [("MODIFY_ADD", ["locked:yes"])]})
        assert other.get("/api/domains", headers=bearer(token)).status_code == 401


def test_a_standard_admin_manages_only_its_own_tokens(api, app, raw):
    """A domain admin's token lists and creates its own tokens; another admin's answer 403."""
    add_domain(raw, "example.net", admins=[OTHER])
    dn = add_admin(raw, OTHER)
    token = make_token(api, OTHER)["token"]
    assert len(token_values(raw, dn)) == 1
    fresh = app.test_client()
    own = fresh.get(f"/api/admin/{OTHER}/tokens", headers=bearer(token))
    assert own.status_code == 200 and len(own.json["_data"]) == 1
    created = fresh.post(
        f"/api/admin/{OTHER}/tokens", headers=bearer(token), data={"name": "second"}
    )
    assert created.status_code == 201, created.json
    assert len(token_values(raw, dn)) == 2
    foreign = fresh.get(f"/api/admin/{ADMIN_EMAIL}/tokens", headers=bearer(token))
    assert foreign.status_code == 403
    stolen = fresh.post(f"/api/admin/{ADMIN_EMAIL}/tokens", headers=bearer(token))
    assert stolen.status_code == 403
    assert token_values(raw, admin_dn(raw, ADMIN_EMAIL)) == []


def test_a_mail_user_admin_keeps_its_tokens_on_its_user_entry(api, app, raw):
    """Tokens of a mail user promoted to admin live on its ou=Users entry and authenticate it."""
    add_domain(raw, "example.com", admins=["helper@example.com"])
    dn = add_user(raw, "helper@example.com", admin=True)
    token = make_token(api, "helper@example.com")["token"]
    assert len(token_values(raw, dn)) == 1
    response = app.test_client().get("/api/domain/example.com", headers=bearer(token))
    assert response.status_code == 200, response.json


def test_invalid_create_parameters_answer_400_and_store_nothing(api, raw):
    """Bad networks, both expiry forms, a past expiry, too many IPs or unknown fields: 400 naming the field."""
    cases = [
        ({"allowed_ips": "10.0.0.0/8,not-an-ip"}, "allowed_ips"),
        ({"expires": "2099-01-01", "expires_in_days": "3"}, "expires"),
        ({"expires": "2001-01-01"}, "expires"),
        ({"expires": "tomorrow"}, "expires"),
        ({"expires_in_days": "-1"}, "expires_in_days"),
        ({"allowed_ips": ",".join(f"10.0.0.{i}" for i in range(21))}, "allowed_ips"),
        ({"name": "x" * 65}, "name"),
        ({"name": "bad\x01name"}, "name"),
        ({"read_only": "maybe"}, "read_only"),
        ({"scope": "all"}, "scope"),
    ]
    for params, field in cases:
        response = api.post(f"/api/admin/{ADMIN_EMAIL}/tokens", data=params)
        assert response.status_code == 400, (params, response.json)
        assert field in response.json["errors"], (params, response.json)
    assert token_values(raw, admin_dn(raw, ADMIN_EMAIL)) == []


def test_at_most_twenty_tokens_per_admin(api, raw):
    """The 21st token answers 400 TOO_MANY_TOKENS and is not stored."""
    for number in range(20):
        make_token(api, ADMIN_EMAIL, name=f"t{number}")
    response = api.post(f"/api/admin/{ADMIN_EMAIL}/tokens", data={"name": "one too many"})
    assert response.status_code == 400
    assert response.json["msg"] == "TOO_MANY_TOKENS"
    assert len(token_values(raw, admin_dn(raw, ADMIN_EMAIL))) == 20


def test_unknown_admins_and_tokens_answer_404(api, raw):
    """Tokens of an address that is no admin, or an unknown token id, answer 404."""
    missing = api.post("/api/admin/nobody@example.com/tokens")
    assert missing.status_code == 404 and missing.json["msg"] == "NO_SUCH_ACCOUNT"
    make_token(api, ADMIN_EMAIL)
    for token_id in ("0123456789abcdef", "not-an-id"):
        response = api.delete(f"/api/admin/{ADMIN_EMAIL}/tokens/{token_id}")
        assert response.status_code == 404 and response.json["msg"] == "NO_SUCH_TOKEN"
    assert len(token_values(raw, admin_dn(raw, ADMIN_EMAIL))) == 1


def test_other_account_settings_survive_token_changes(api, raw):
    """Creating and revoking tokens leaves the entry's other accountSetting values alone."""
    dn = admin_dn(raw, ADMIN_EMAIL)
    raw.conn.modify(dn, {"accountSetting": [("MODIFY_ADD", ["language:de_DE"])]})
    token = make_token(api, ADMIN_EMAIL)
    assert api.delete(f"/api/admin/{ADMIN_EMAIL}/tokens/{token['id']}").status_code == 200
    assert raw.entry(dn)["accountsetting"] == ["language:de_DE"]


def test_openapi_documents_token_auth_and_endpoints(api):
    """The OpenAPI document names bearer and basic schemes and the token routes."""
    spec = api.get("/api/openapi.json").json
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["basicAuth"]["scheme"] == "basic"
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/api/admin/{mail}/tokens"])
    assert "delete" in paths["/api/admin/{mail}/tokens/{token_id}"]
    security = paths["/api/admin/{mail}/tokens"]["post"]["security"]
    assert {"bearerAuth": []} in security and {"basicAuth": []} in security


def _usage_rows(app_config):
    import sqlalchemy as sa

    from iredapi_ldap.sqlstore.tables import token_usage

    engine = sa.create_engine(app_config["SQL_URL"])
    try:
        with engine.connect() as conn:
            return {
                row["token_id"]: dict(row)
                for row in conn.execute(sa.select(token_usage)).mappings()
            }
    finally:
        engine.dispose()


def test_listing_shows_when_and_from_where_a_token_was_last_used(api, app, app_config):
    """last_used / last_used_from: null until used, then the request's time and client; once a minute."""
    used = make_token(api, ADMIN_EMAIL, name="used")
    idle = make_token(api, ADMIN_EMAIL, name="idle")
    fresh = app.test_client()
    before = datetime.now(UTC).replace(microsecond=0)
    assert fresh.get("/api/domains", headers=bearer(used["token"])).status_code == 200
    first = _usage_rows(app_config)[used["id"]]
    assert fresh.get("/api/domains", headers=bearer(used["token"])).status_code == 200
    assert _usage_rows(app_config)[used["id"]] == first  # not rewritten within the minute

    listed = {t["id"]: t for t in api.get(f"/api/admin/{ADMIN_EMAIL}/tokens").json["_data"]}
    assert (listed[idle["id"]]["last_used"], listed[idle["id"]]["last_used_from"]) == (None, None)
    stamp = datetime.fromisoformat(listed[used["id"]]["last_used"].replace("Z", "+00:00"))
    assert before <= stamp <= datetime.now(UTC) + timedelta(seconds=1)
    assert listed[used["id"]]["last_used_from"] == "127.0.0.1"
    assert idle["id"] not in _usage_rows(app_config)

    assert api.delete(f"/api/admin/{ADMIN_EMAIL}/tokens/{used['id']}").status_code == 200
    assert _usage_rows(app_config) == {}


def test_an_unreachable_sql_store_does_not_fail_token_requests(api, app_config):
    """Recording the last use is best effort: the request itself is answered as usual."""
    token = make_token(api, ADMIN_EMAIL)["token"]
    with app_with(app_config, SQL_URL="postgresql://nobody@127.0.0.1:1/none") as node:
        assert node.test_client().get("/api/domains", headers=bearer(token)).status_code == 200


def test_first_uses_of_two_tokens_do_not_wait_for_each_other(api, app_config, server_sql_url):
    """A worker between the UPDATE and the INSERT of one token's first use holds no lock that
    makes another worker wait to record a second token (MariaDB: no REPEATABLE READ gap lock)."""
    import sqlalchemy as sa

    from iredapi_ldap.sqlstore import get_store
    from iredapi_ldap.sqlstore import utc_now
    from iredapi_ldap.sqlstore.tables import token_usage

    first, second = make_token(api, ADMIN_EMAIL), make_token(api, ADMIN_EMAIL)
    answers = []
    with (
        app_with(app_config, SQL_URL=server_sql_url) as worker_a,
        app_with(app_config, SQL_URL=server_sql_url) as worker_b,
    ):
        client = worker_b.test_client()
        other = threading.Thread(
            target=lambda: answers.append(
                client.get("/api/domains", headers=bearer(second["token"])).status_code
            )
        )
        with get_store(worker_a).engine.begin() as conn:
            # What token_usage.note_use runs first for a token without a row yet.
            update = sa.update(token_usage).where(token_usage.c.token_id == first["id"])
            assert conn.execute(update.values(last_used=utc_now())).rowcount == 0
            other.start()
            other.join(timeout=5)
            answered_meanwhile = list(answers)
        other.join()

    assert answered_meanwhile == [200]
    assert set(_usage_rows({"SQL_URL": server_sql_url})) == {second["id"]}
