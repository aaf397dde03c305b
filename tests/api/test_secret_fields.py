"""Secret fields: declared in the schemas, never in the audit log, GET /api/log, logs or errors."""

from __future__ import annotations

import json
import logging

import sqlalchemy as sa

from iredapi_ldap.auth import PUBLIC
from iredapi_ldap.auth import requires
from iredapi_ldap.errors import ValidationFailed
from iredapi_ldap.inputs import json_body
from iredapi_ldap.secret_fields import collect
from iredapi_ldap.secret_fields import schemas_of
from iredapi_ldap.sqlstore.tables import audit_log
from tests.conftest import ADMIN_EMAIL
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import audit_rows as audit_table
from tests.helpers import bearer
from tests.helpers import build_world
from tests.helpers import every_route
from tests.helpers import login

# Declared fields whose names look secret but hold none (checked by name so that a new
# field called e.g. "apiSecret" must be marked secret or listed here with its reason).
NOT_SECRET = {
    "minPasswordLength": "a policy number",
    "maxPasswordLength": "a policy number",
    "passwordExpiration": "days",
    "passwordLastChange": "a date",
    "lastPasswordChange": "a date",
    "passwordExpired": "a flag",
    "hasSecurityAnswer": "a flag",
    "securityQuestion": "shown to the admin; only the answer is secret",
}
LOOKS_SECRET = ("pass", "secret", "token", "answer", "hash", "key", "credential")
# What a request needs besides the secret to get past validation.
COMPANIONS = {
    "securityAnswer": {"securityQuestion": "Pet?"},
    "admin.create_admin": {"password": ADMIN_PASSWORD},
    "login.login": {"username": ADMIN_EMAIL},
}
# Creates go to new addresses, so that they succeed and the secret passes every layer.
CREATE_URLS = {
    "user.create": "/api/user/new{}@a.test",
    "admin.create_admin": "/api/admin/new{}@partner.test",
}


def test_every_field_that_looks_secret_is_marked_secret(app):
    """Each declared field named like a secret is marked secret, or listed as not one."""
    fields = collect(schemas_of(app))
    unmarked = sorted(
        name
        for name in fields.declared - fields.secret
        if any(word in name.lower() for word in LOOKS_SECRET) and name not in NOT_SECRET
    )
    assert unmarked == []
    assert {"password", "password_hash", "oldPassword", "securityAnswer", "token"} <= fields.secret
    assert not fields.secret & set(NOT_SECRET)


def _secret_requests(app):
    """Yield (route, field name) for each secret field each route's arguments declare."""
    for route in every_route(app):
        for name in sorted(collect(route.argument_schemas()).secret):
            yield route, name


def test_no_secret_value_reaches_the_audit_log_the_log_route_logs_or_answers(
    make_app, ldap_tree, raw, caplog
):
    """Every secret field of every route, sent as JSON and as a form: the value is nowhere."""
    app = make_app(SQL_ECHO=True, LOG_LEVEL="DEBUG")
    build_world(app, raw)
    client = app.test_client()
    assert login(client, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200
    sent, answers = [], []
    with caplog.at_level(logging.DEBUG):
        for number, (route, name) in enumerate(_secret_requests(app)):
            for kind in ("json", "data"):
                value = f"Rec0gnisable-{number}-{kind}!"
                body = {**COMPANIONS.get(route.endpoint, {}), **COMPANIONS.get(name, {})}
                body[name] = value
                url = CREATE_URLS.get(route.endpoint, route.url).format(f"{number}{kind}")
                response = client.open(url, method=route.method, **{kind: body})
                sent.append(value)
                answers.append(response.get_data(as_text=True))
                if route.endpoint in ("login.login", "login.logout"):
                    assert login(client, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200
        token = client.post(f"/api/admin/{ADMIN_EMAIL}/tokens", data={"name": "t"}).json["_data"]
        sent.append(token["token"])
        used = app.test_client().put(
            "/api/domain/a.test", headers=bearer(token["token"]), data={"name": "T"}
        )
        assert used.status_code == 200
        log_route = client.get("/api/log?limit=1000").get_data(as_text=True)
    assert len(sent) >= 2 * 18 + 1  # the secret fields of the routes, both encodings, the token
    stored = json.dumps(audit_table(app.config["SQL_URL"]), default=str)
    assert "securityAnswer" in stored and "********" in stored
    assert "INSERT INTO audit_log" in caplog.text
    answered = "\n".join(answers)
    for value in sent:
        for where, text in (("audit table", stored), ("GET /api/log", log_route),
                            ("logs", caplog.text), ("answers", answered)):  # fmt: skip
            assert value not in text and value.lower() not in text, f"{value} in {where}"


def test_an_error_or_log_line_echoing_a_secret_shows_the_mask(make_app, caplog):
    """A failure detail, a field message or a log line (exceptions too) that quotes a secret is masked."""
    app = make_app()
    log = logging.getLogger("iredapi_ldap.echo")

    def echo():
        answer = json_body()["securityAnswer"]
        log.warning("checking answer %s", answer)
        try:
            raise ValueError(f"bad answer {answer}")
        except ValueError:
            log.exception("failed")
        raise ValidationFailed(f"Rejected {answer}.", errors={"securityAnswer": [f"{answer}?"]})

    app.add_url_rule("/api/test-echo", "echo", requires(PUBLIC)(echo), methods=["POST"])
    with caplog.at_level(logging.WARNING, logger="iredapi_ldap"):
        response = app.test_client().post("/api/test-echo", json={"securityAnswer": "Rex the dog"})
    assert response.status_code == 400
    assert response.json["detail"] == "Rejected ********."
    assert response.json["errors"] == {"securityAnswer": ["********?"]}
    assert "checking answer ********" in caplog.text and "bad answer ********" in caplog.text
    assert "Rex the dog" not in caplog.text and "rex the dog" not in caplog.text


def test_log_route_masks_rows_stored_in_clear(api, app_config):
    """GET /api/log masks secrets in rows written before they were declared; other fields stay."""
    engine = sa.create_engine(app_config["SQL_URL"])
    parameters = {"securityAnswer": "Rex", "minPasswordLength": "8", "name": "Boss"}
    with engine.begin() as conn:
        conn.execute(
            sa.insert(audit_log).values(
                timestamp=sa.func.now(), admin=ADMIN_EMAIL, method="PUT", path="/api/admin/x",
                action="update", parameters=json.dumps(parameters), status=200,
            )
        )  # fmt: skip
    engine.dispose()
    entry = api.get("/api/log?action=update").json["_data"][0]
    assert entry["parameters"] == {
        "securityAnswer": "********",
        "minPasswordLength": "8",
        "name": "Boss",
    }
