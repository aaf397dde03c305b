"""Audit log: every write (failed ones and logins too) in SQL, secrets masked; GET /api/log."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa

from iredapi_ldap.sqlstore.tables import audit_log
from tests.conftest import ADMIN_EMAIL
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import add_admin
from tests.helpers import add_domain
from tests.helpers import app_with
from tests.helpers import audit_rows
from tests.helpers import bearer
from tests.helpers import make_token

OTHER = "boss@example.org"


def test_a_write_is_recorded_with_who_where_what_and_result(app_config, admin, sql_url, raw):
    """POST /api/domain writes one row (SQLite and PostgreSQL) naming admin, client, object and result."""
    with app_with(app_config, SQL_URL=sql_url, TRUSTED_PROXIES="127.0.0.1") as node:
        client = node.test_client()
        assert (
            client.post(
                "/api/login", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            ).status_code
            == 200
        )
        before = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
        response = client.post(
            "/api/domain/example.com",
            data={"name": "Example", "defaultQuota": "1024"},
            headers={"X-Forwarded-For": "198.51.100.20"},
        )
        assert response.status_code == 201
        assert client.get("/api/domain/example.com").status_code == 200
        recorded = audit_rows(sql_url)
    assert raw.entry(raw.domain_dn("example.com")) is not None
    assert [row["action"] for row in recorded] == ["login", "create"]
    row = recorded[1]
    assert row["admin"] == ADMIN_EMAIL
    assert row["client_address"] == "198.51.100.20"
    assert (row["method"], row["path"], row["status"], row["result"]) == (
        "POST", "/api/domain/example.com", 201, "SUCCESS"
    )  # fmt: skip
    assert (row["resource"], row["domain"], row["object"]) == (
        "domain",
        "example.com",
        "example.com",
    )
    assert json.loads(row["parameters"]) == {"name": "Example", "defaultQuota": "1024"}
    assert (
        before <= row["timestamp"] <= datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=1)
    )


def test_text_beyond_utf8mb3_is_recorded_and_shown_as_sent(app_config, admin, sql_url, raw):
    """A name with an emoji is logged verbatim on every database (MariaDB: the API's tables
    are utf8mb4 although iRedMail creates its database as utf8, where the row would fail)."""
    name = "Caf\u00e9 \U0001f600 \u6f22\u5b57"
    with app_with(app_config, SQL_URL=sql_url) as node:
        client = node.test_client()
        login = {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        assert client.post("/api/login", data=login).status_code == 200
        response = client.post("/api/domain/example.com", data={"name": name})
        assert response.status_code == 201
        shown = client.get("/api/log?action=create").json

    assert raw.entry(raw.domain_dn("example.com"))["cn"] == [name]
    assert [json.loads(row["parameters"]) for row in audit_rows(sql_url)] == [
        {"password": "********", "username": ADMIN_EMAIL},
        {"name": name},
    ]
    assert [entry["parameters"] for entry in shown["_data"]] == [{"name": name}]


def test_failed_and_unauthenticated_writes_are_recorded(api, app, app_config, raw):
    """A 409 and an anonymous 401 are logged with their status and error code."""
    assert api.post("/api/domain/example.com").status_code == 201
    assert api.post("/api/domain/example.com").status_code == 409
    anonymous = app.test_client().delete("/api/domain/example.com")
    assert anonymous.status_code == 401
    assert raw.entry(raw.domain_dn("example.com")) is not None
    recorded = audit_rows(app_config["SQL_URL"])
    assert [(r["method"], r["status"], r["result"], r["admin"]) for r in recorded[1:]] == [
        ("POST", 201, "SUCCESS", ADMIN_EMAIL),
        ("POST", 409, "ALREADY_EXISTS", ADMIN_EMAIL),
        ("DELETE", 401, "LOGIN_REQUIRED", ""),
    ]


def test_logins_are_recorded_with_the_password_masked(client, admin, app_config):
    """Failed and successful logins name the username tried; the password is never stored."""
    assert (
        client.post("/api/login", data={"username": ADMIN_EMAIL, "password": "Wrong-1"}).status_code
        == 401
    )
    assert (
        client.post(
            "/api/login", json={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        ).status_code
        == 200
    )
    assert client.post("/api/logout").status_code == 200
    recorded = audit_rows(app_config["SQL_URL"])
    assert [(r["action"], r["status"], r["result"], r["admin"]) for r in recorded] == [
        ("login", 401, "INVALID_CREDENTIALS", ADMIN_EMAIL),
        ("login", 200, "SUCCESS", ADMIN_EMAIL),
        ("logout", 200, "SUCCESS", ADMIN_EMAIL),
    ]
    for row in recorded[:2]:
        assert json.loads(row["parameters"]) == {"username": ADMIN_EMAIL, "password": "********"}
        assert (row["object"], row["domain"]) == (ADMIN_EMAIL, "admin.test")
    stored = json.dumps(recorded, default=str)
    assert "Wrong-1" not in stored and ADMIN_PASSWORD not in stored


def test_secrets_are_masked_and_tokens_never_stored(api, app, app_config):
    """Password-like parameters are masked; a created token's secret appears in no row; the token used is named."""
    token = make_token(api, ADMIN_EMAIL, name="ci")
    response = app.test_client().post(
        "/api/domain/example.com",
        headers=bearer(token["token"]),
        json={
            "name": "Ex",
            "password": "P4ss!",
            "nested": {"password_hash": "{SSHA}x", "keep": "y"},
        },
    )
    assert response.status_code == 400  # unknown fields; logged all the same
    recorded = audit_rows(app_config["SQL_URL"])
    assert token["token"] not in json.dumps(recorded, default=str)
    last = recorded[-1]
    assert last["token"] == token["id"] and last["admin"] == ADMIN_EMAIL
    assert json.loads(last["parameters"]) == {
        "name": "Ex", "password": "********", "nested": {"password_hash": "********", "keep": "y"},
    }  # fmt: skip
    assert recorded[-2]["resource"] == "token" and recorded[-2]["action"] == "create"


def test_answered_reads_are_not_recorded(api, app_config):
    """GET requests answered 2xx or 404 leave no rows."""
    count = len(audit_rows(app_config["SQL_URL"]))
    assert api.get("/api/domains").status_code == 200
    assert api.get("/api/log").status_code == 200
    assert api.get("/api/domain/absent.example").status_code == 404
    assert len(audit_rows(app_config["SQL_URL"])) == count


def test_refused_and_malformed_reads_are_recorded(api, app, app_config, raw):
    """A read refused (401, 403) or malformed (400) leaves one row each, with action read."""
    add_domain(raw, "theirs.example.net")
    add_admin(raw, OTHER)
    token = make_token(api, OTHER)["token"]
    count = len(audit_rows(app_config["SQL_URL"]))
    assert app.test_client().get("/api/domains").status_code == 401
    refused = app.test_client().get("/api/domain/theirs.example.net", headers=bearer(token))
    assert refused.status_code == 403
    assert api.get("/api/domains?page=0").status_code == 400
    recorded = audit_rows(app_config["SQL_URL"])[count:]
    assert [(r["method"], r["action"], r["status"], r["admin"], r["path"]) for r in recorded] == [
        ("GET", "read", 401, "", "/api/domains"),
        ("GET", "read", 403, OTHER, "/api/domain/theirs.example.net"),
        ("GET", "read", 400, ADMIN_EMAIL, "/api/domains"),
    ]


def test_an_unreachable_sql_store_does_not_fail_the_write(app_config, admin, raw, caplog):
    """With the SQL database down the write still succeeds and the lost record is logged."""
    with app_with(app_config, SQL_URL="postgresql+psycopg://u:p@127.0.0.1:9/none") as node:
        client = node.test_client()
        assert (
            client.post(
                "/api/login", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            ).status_code
            == 200
        )
        assert client.post("/api/domain/example.com").status_code == 201
    assert raw.entry(raw.domain_dn("example.com")) is not None
    assert "Audit log not written: POST /api/domain/example.com" in caplog.text


def fill_log(api, raw):
    """Make a known history: two domains created, one deleted, by the global admin."""
    for domain in ("one.example.com", "two.example.com"):
        assert api.post(f"/api/domain/{domain}").status_code == 201
    assert api.delete("/api/domain/one.example.com").status_code == 200
    assert raw.entry(raw.domain_dn("one.example.com")) is None


def test_log_is_paged_newest_first(api, raw):
    """GET /api/log pages with page/page_size or offset/limit and reports the total."""
    fill_log(api, raw)
    first = api.get("/api/log?page=1&page_size=2")
    assert first.status_code == 200
    assert first.json["total"] == 4 and first.json["page_size"] == 2
    assert [(e["action"], e["object"]) for e in first.json["_data"]] == [
        ("delete", "one.example.com"), ("create", "two.example.com"),
    ]  # fmt: skip
    rest = api.get("/api/log?offset=2&limit=5").json["_data"]
    assert [(e["action"], e["object"]) for e in rest] == [
        ("create", "one.example.com"),
        ("login", ADMIN_EMAIL),
    ]
    assert rest[0]["timestamp"].endswith("Z")


def test_log_filters_by_admin_domain_action_and_time(api, raw, app_config):
    """admin, domain, action, resource, since and until narrow the answer (combined with AND)."""
    fill_log(api, raw)
    engine = sa.create_engine(app_config["SQL_URL"])
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE audit_log SET timestamp = '2020-01-01 12:00:00' WHERE action = 'login'")
        )
    engine.dispose()

    def objects(query):
        response = api.get(f"/api/log?{query}")
        assert response.status_code == 200, response.json
        return [(e["action"], e["object"]) for e in response.json["_data"]]

    assert objects("domain=one.example.com") == [
        ("delete", "one.example.com"),
        ("create", "one.example.com"),
    ]
    assert objects("action=create") == [
        ("create", "two.example.com"),
        ("create", "one.example.com"),
    ]
    assert objects("resource=login") == [("login", ADMIN_EMAIL)]
    assert objects(f"admin={ADMIN_EMAIL}&action=delete") == [("delete", "one.example.com")]
    assert objects("admin=nobody@example.com") == []
    assert objects("until=2020-01-02") == [("login", ADMIN_EMAIL)]
    assert objects("since=2020-01-01T12:00:01Z&until=2021-01-01T00:00:00%2B01:00") == []
    assert len(objects("since=2021-01-01")) == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("until=2024-13-01", "until"),
        ("since=2024-02-01&until=2024-01-01", "since"),
        ("domain=not_a_domain", "domain"),
        ("admin=nobody", "admin"),
        ("page=0", "page"),
        ("colour=red", "colour"),
    ],
)
def test_bad_log_queries_answer_400_naming_the_field(api, query, field):
    """An invalid filter or paging value answers 400 naming it."""
    response = api.get(f"/api/log?{query}")
    assert response.status_code == 400
    assert field in response.json["errors"]


def test_a_domain_admin_sees_only_its_domains_and_itself(api, app, raw):
    """A standard admin reads entries about its domains, by itself or about itself; others are hidden."""
    fill_log(api, raw)
    add_domain(raw, "mine.example.net", admins=[OTHER])
    add_admin(raw, OTHER)
    assert api.put("/api/domain/mine.example.net", data={"name": "Mine"}).status_code == 200
    token = make_token(api, OTHER)["token"]
    assert (
        app.test_client()
        .post("/api/admin/boss@example.org/tokens", headers=bearer(token))
        .status_code
        == 201
    )
    response = app.test_client().get("/api/log", headers=bearer(token))
    assert response.status_code == 200, response.json
    seen = [(e["admin"], e["action"], e["object"]) for e in response.json["_data"]]
    assert seen == [
        (OTHER, "create", OTHER),
        (ADMIN_EMAIL, "create", OTHER),
        (ADMIN_EMAIL, "update", "mine.example.net"),
    ]
    assert response.json["total"] == 3
    foreign = app.test_client().get("/api/log?domain=two.example.com", headers=bearer(token))
    assert foreign.status_code == 403
    # 7 rows before, and the refused read just made.
    assert api.get("/api/log").json["total"] == 8


def test_checks_and_renames_get_their_own_action(app, api, raw):
    """verify_password is logged as a check and change_email as a rename, not as creates."""
    from sqlalchemy import select

    from iredapi_ldap.sqlstore import get_store

    assert api.post("/api/domain/act.test", data={"cn": "A"}).status_code == 201
    assert api.post("/api/user/u@act.test", data={"password": "Secret-Pass-123"}).status_code == 201
    api.post("/api/verify_password/user/u@act.test", data={"password": "Secret-Pass-123"})
    assert api.post("/api/user/u@act.test/change_email/v@act.test").status_code == 200
    with get_store(app).engine.connect() as conn:
        actions = [row.action for row in conn.execute(select(audit_log).order_by(audit_log.c.id))]
    assert actions[-2:] == ["verify_password", "rename"]


def _age_rows(url, days, action):
    """Move the rows of one action `days` days into the past."""
    engine = sa.create_engine(url)
    old = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)
    with engine.begin() as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.action == action).values(timestamp=old))
    engine.dispose()


def test_rows_older_than_audit_keep_days_are_deleted_once_an_hour(app_config, admin, sql_url):
    """With [sql] audit_keep_days, a write deletes older rows (SQLite and PostgreSQL), at most hourly."""
    with app_with(app_config, SQL_URL=sql_url, SQL_AUDIT_KEEP_DAYS=30) as node:
        client = node.test_client()
        assert (
            client.post(
                "/api/login", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            ).status_code
            == 200
        )
        assert client.post("/api/domain/one.example.com").status_code == 201
        _age_rows(sql_url, 45, "login")
        _age_rows(sql_url, 20, "create")
        node.extensions.pop("iredapi_audit_purged")  # as if the last purge were an hour ago
        assert client.delete("/api/domain/one.example.com").status_code == 200
        assert [row["action"] for row in audit_rows(sql_url)] == ["create", "delete"]
        _age_rows(sql_url, 45, "create")
        assert client.post("/api/domain/two.example.com").status_code == 201
        assert [row["action"] for row in audit_rows(sql_url)] == [
            "create",
            "delete",
            "create",
        ]  # not within the hour


def test_audit_keep_days_zero_keeps_everything(api, app_config):
    assert api.post("/api/domain/one.example.com").status_code == 201
    _age_rows(app_config["SQL_URL"], 3650, "create")
    assert api.post("/api/domain/two.example.com").status_code == 201
    assert [row["action"] for row in audit_rows(app_config["SQL_URL"])] == [
        "login",
        "create",
        "create",
    ]
