"""Malformed input on every route and role: never a 5xx, one audit row per write, 400 naming it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from iredapi_ldap import create_app
from iredapi_ldap import sqlstore
from iredapi_ldap.audit import audited
from iredapi_ldap.ldap.connection import get_pool
from iredapi_ldap.sqlstore.tables import audit_log
from tests.conftest import ADMIN_EMAIL
from tests.conftest import ADMIN_PASSWORD
from tests.conftest import build_config
from tests.conftest import checked
from tests.helpers import BOSS
from tests.helpers import WORLD_DOMAIN as DOMAIN
from tests.helpers import audit_rows as audit_table
from tests.helpers import build_world
from tests.helpers import command_section
from tests.helpers import every_route
from tests.helpers import kill_dummy_daemons
from tests.helpers import login
from tests.postfixserver import app_mailhost_config

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data; boundary=XyZ"
DECODE_CODES = {"INVALID_ENCODING", "JSON_TOO_DEEP", "INVALID_JSON", "INVALID_PARAMETERS"}


def _json(text):
    return {"data": text.encode(), "content_type": JSON}


def _multipart(value):
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="name"\r\n\r\n' + value + b"\r\n--XyZ--\r\n"
    )
    return {"data": body, "content_type": MULTIPART}


# (name, request keyword arguments, what must be refused: "body", "query" or None)
CORPUS = [
    ("surrogate in values", _json('{"name": "\\ud800", "password": "x\\udfff"}'), "body"),
    ("surrogate in a key", _json('{"\\ud800x": "v", "name": "n"}'), "body"),
    ("surrogate in a list", _json('{"members": ["a@a.test", "\\ud83d"]}'), "body"),
    ("100,000 levels of arrays", _json("[" * 100_000 + "]" * 100_000), "body"),
    ("33 levels of objects", _json('{"a": ' * 33 + "1" + "}" * 33), "body"),
    ("bad UTF-8 in a JSON string", {"data": b'{"name": "\xff\xfe"}', "content_type": JSON}, "body"),
    ("bad UTF-8 outside strings", {"data": b'\xff{"name": 1}', "content_type": JSON}, "body"),
    ("huge and non-finite numbers", _json('{"quota": ' + "9" * 5000 + ', "x": 1e999}'), "body"),
    ("NaN", _json('{"maxUsers": NaN, "quota": Infinity}'), "body"),
    ("NUL bytes", _json('{"name": "a\\u0000b", "x\\u0000": 1, "password": "p\\u0000"}'), None),
    ("list where a string goes", {"json": {"name": ["a", "b"], "password": ["x"]}}, None),
    ("object where a list goes", {"json": {"members": {"a": 1}, "services": {"x": []}}}, None),
    ("wrong scalars", {"json": {"quota": "abc", "name": 12, "enabled": "maybe"}}, None),
    ("blank secrets", {"json": {"securityQuestion": "Q?", "securityAnswer": "   "}}, None),
    ("body not an object", _json("[1, 2, 3]"), None),
    ("broken JSON", _json('{"name": '), None),
    ("bad percent-escapes in a form", {"data": b"name=%ff%fe&password=%c3", "content_type": FORM}, "body"),
    ("raw bytes and a bad name in a form", {"data": b"name=\xff&%fe=1", "content_type": FORM}, "body"),
    ("bad UTF-8 in multipart", _multipart(b"\xff\xfe"), "body"),
    ("truncated multipart", {"data": b"--XyZ\r\nContent-Disposition: form-data; name=", "content_type": MULTIPART}, None),
    ("bad percent-escapes in the query", {"query_string": "name=%ed%a0%80&x=%ff"}, "query"),
    ("raw bytes in the query", {"environ_overrides": {"QUERY_STRING": "name=\xff\xfe"}}, "query"),
]  # fmt: skip


@pytest.fixture(scope="module")
def corpus_app(slapd_server, tmp_path_factory, postfix_instance):
    """One app for the module, answering unexpected errors as production does (500, logged).

    Its mail host routes act on the private Postfix and a dummy clamd.
    """
    base = tmp_path_factory.mktemp("corpus")
    config = build_config(slapd_server, base)
    run_dir = base / "run"
    run_dir.mkdir()
    mailhost = app_mailhost_config(
        base / "helper.ini", postfix_instance, clamav=command_section(run_dir, "clamav")
    )
    # TESTING off: exceptions are not propagated, so a crash shows as the 5xx a client gets.
    application = checked(create_app({**config, **mailhost, "TESTING": False}))
    yield application
    get_pool(application).close_all()
    sqlstore.dispose(application)
    kill_dummy_daemons(run_dir)


@pytest.fixture(scope="module")
def audit_rows(corpus_app):
    """Read the audit table directly: the rows after a given id."""
    engine = sa.create_engine(corpus_app.config["SQL_URL"])

    def after(last_id):
        query = sa.select(audit_log).where(audit_log.c.id > last_id).order_by(audit_log.c.id)
        with engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    yield after
    engine.dispose()


def _caller(app, role):
    client = app.test_client()
    if role == "global_admin":
        assert login(client, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200
    elif role == "domain_admin":
        assert login(client, BOSS).status_code == 200
    return client


@pytest.mark.parametrize("role", ["global_admin", "domain_admin", "anonymous"])
def test_malformed_input_never_fails_the_server_and_is_always_audited(
    corpus_app, audit_rows, ldap_tree, raw, role
):
    """Every route x corpus entry: no 5xx, exactly one audit row per write and per refused or
    malformed read (none for a read answered 2xx or 404) with the answer's status, and as global admin a 400 naming the problem for undecodable input."""
    build_world(corpus_app, raw)
    client = _caller(corpus_app, role)
    last_id = max([0, *(row["id"] for row in audit_rows(0))])
    failures = []
    for route in every_route(corpus_app):
        method, url, endpoint = route.method, route.url, route.endpoint
        for name, kwargs, refused in CORPUS:
            response = client.open(url, method=method, **kwargs)
            response.get_data()  # the export streams: read it before the next request
            response.close()
            rows = audit_rows(last_id)
            last_id = max([last_id, *(row["id"] for row in rows)])
            where = f"{role} {method} {url} [{name}]"
            if response.status_code >= 500:
                failures.append(
                    f"{where}: {response.status_code} {response.get_data(as_text=True)}"
                )
            expected_rows = 1 if audited(method, response.status_code) else 0
            if len(rows) != expected_rows:
                failures.append(f"{where}: {len(rows)} audit rows, not {expected_rows}")
            elif rows and (rows[0]["status"], rows[0]["method"]) != (response.status_code, method):
                failures.append(f"{where}: audit row says {rows[0]['status']} {rows[0]['method']}")
            must_refuse = refused == "query" or (refused == "body" and route.reads_body())
            if role == "global_admin" and must_refuse and url.startswith("/api/"):
                body = response.get_json(silent=True) or {}
                if response.status_code != 400 or body.get("msg") not in DECODE_CODES:
                    failures.append(f"{where}: {response.status_code} {body.get('msg')}, not a 400")
                elif not (body.get("errors") or "nested" in body.get("detail", "")):
                    failures.append(f"{where}: the answer names no field: {body}")
            if endpoint == "login.logout" and role != "anonymous":
                client = _caller(corpus_app, role)
                last_id = max([last_id, *(row["id"] for row in audit_rows(last_id))])
    assert failures == [], "\n".join(failures)


# -- targeted cases: the exact answer, and nothing changed -------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        (_json('{"name": "J\\ud800"}'), "INVALID_ENCODING", "name"),
        (_json('{"\\udfffname": "x"}'), "INVALID_ENCODING", "\\udfffname"),
        (_json('{"forwarding": ["x@a.test", "\\ud800"]}'), "INVALID_ENCODING", "forwarding.1"),
        ({"data": b'{"name": "J\xe9r\xf4me"}', "content_type": JSON}, "INVALID_ENCODING", "name"),
        (_json('{"quota": 1' + "0" * 70 + "}"), "INVALID_PARAMETERS", "quota"),
        (_json('{"quota": -Infinity}'), "INVALID_JSON", "quota"),
        ({"data": b"name=J%E9r%F4me", "content_type": FORM}, "INVALID_ENCODING", "name"),
        ({"data": b"name=J\xe9r\xf4me", "content_type": FORM}, "INVALID_ENCODING", "name"),
        (_multipart(b"J\xe9r\xf4me"), "INVALID_ENCODING", "name"),
    ],
    ids=[
        "surrogate", "surrogate-key", "surrogate-item", "latin1-json", "huge-int", "infinity",
        "form-escape", "form-raw", "multipart",
    ],
)  # fmt: skip
def test_undecodable_input_is_400_naming_the_field_and_changes_nothing(
    api, raw, app_config, kwargs, code, field
):
    """PUT /api/user with an undecodable value: 400 naming the field, entry and log as expected.

    Before, surrogates and huge numbers were 500s without an audit row, and werkzeug stored
    "%E9" as text or dropped a form body with raw Latin-1 bytes (an update of nothing: 200).
    """
    mail = f"u@{DOMAIN}"
    assert api.post(f"/api/domain/{DOMAIN}").status_code == 201
    assert api.post(f"/api/user/{mail}", data={"password": ADMIN_PASSWORD}).status_code == 201
    before = raw.snapshot()
    response = api.put(f"/api/user/{mail}", **kwargs)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["msg"] == code
    assert field in response.json["errors"], response.json
    assert field in response.json["detail"]
    assert raw.snapshot() == before
    row = audit_table(app_config["SQL_URL"])[-1]
    assert (row["method"], row["status"], row["result"]) == ("PUT", 400, code)
    assert row["parameters"] == f'{{"_body": "not read: {code}"}}'


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("[" * 100_000 + "]" * 100_000, "JSON_TOO_DEEP"),
        ('{"name": "\\ud800"}', "INVALID_ENCODING"),
    ],
    ids=["100000-levels", "surrogate"],
)
def test_malformed_login_is_400_and_audited(client, admin, app_config, body, code):
    """Unauthenticated: POST /api/login with over-deep JSON or a surrogate is a 400 with one row."""
    response = client.post("/api/login", data=body, content_type=JSON)
    assert response.status_code == 400 and response.json["msg"] == code
    rows = audit_table(app_config["SQL_URL"])
    assert [(r["action"], r["status"], r["result"], r["admin"]) for r in rows] == [
        ("login", 400, code, "")
    ]


def test_json_is_read_up_to_32_levels_deep(api, raw):
    """32 levels parse and reach the schema (unknown field); 33 are JSON_TOO_DEEP, nothing made."""
    deepest = '{"a": ' * 31 + "[1]" + "}" * 31
    response = api.post(f"/api/domain/{DOMAIN}", data=deepest, content_type=JSON)
    assert response.status_code == 400
    assert response.json["msg"] == "INVALID_PARAMETERS" and "a" in response.json["errors"]
    response = api.post(f"/api/domain/{DOMAIN}", data='{"a": ' + deepest + "}", content_type=JSON)
    assert response.status_code == 400 and response.json["msg"] == "JSON_TOO_DEEP"
    assert "32" in response.json["detail"]
    assert raw.entry(raw.domain_dn(DOMAIN)) is None


def test_raw_bytes_in_the_query_string_are_400(api):
    """A query string with raw non-UTF-8 bytes (werkzeug could not decode it: 500) is a 400."""
    response = api.get("/api/log", environ_overrides={"QUERY_STRING": "admin=\xe9@a.test"})
    assert response.status_code == 400 and response.json["msg"] == "INVALID_ENCODING"
    assert response.json["errors"] == {"admin": ["Not valid UTF-8."]}


def test_a_blank_security_answer_is_400_naming_it(api, raw):
    """securityAnswer of spaces only is 400 naming it (it was a 500 from hashing ''), nothing stored."""
    before = raw.snapshot()
    response = api.post(
        "/api/admin/new@partner.test",
        json={"password": "Admin-Pass-123", "securityQuestion": "Pet?", "securityAnswer": "   "},
    )
    assert response.status_code == 400
    assert response.json["errors"] == {"securityAnswer": ["Must not be blank."]}
    assert raw.snapshot() == before
