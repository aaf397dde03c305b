"""The route table drives these checks: OpenAPI coverage, request bodies, access policies."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from iredapi_ldap.auth import policy_of

IGNORED_METHODS = {"HEAD", "OPTIONS"}
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
PLACEHOLDER = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
SAMPLE_VALUES = {"domain": "a.example", "mail": "user@a.example"}


def api_rules(app):
    """Return the /api rules that are API views (not the OpenAPI document, not static files)."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api")
        and rule.endpoint != "static"
        and not rule.endpoint.startswith("api-docs.")
    ]


def openapi_path(rule) -> str:
    """Turn a werkzeug rule (`/domain/<int:days>`) into an OpenAPI path (`/domain/{days}`)."""
    return PLACEHOLDER.sub(lambda m: "{" + m.group("name") + "}", rule.rule)


def sample_url(rule) -> str:
    """Fill a rule's placeholders with plausible values."""

    def fill(match):
        if match.group("converter") in ("int", "float"):
            return "1"
        name = match.group("name")
        if name in SAMPLE_VALUES:
            return SAMPLE_VALUES[name]
        if name.endswith("mail"):
            return SAMPLE_VALUES["mail"]
        if name.endswith("domain"):
            return SAMPLE_VALUES["domain"]
        return "x"

    return PLACEHOLDER.sub(fill, rule.rule)


def needs_login(app, rule) -> bool:
    """Tell whether a rule's policy requires a logged-in caller."""
    policy = policy_of(app.view_functions[rule.endpoint])
    return getattr(policy, "login", str(policy) != "public")


def methods_of(rule) -> list[str]:
    """Return a rule's real methods."""
    return sorted(rule.methods - IGNORED_METHODS)


@pytest.fixture
def spec(client):
    """Fetch the generated OpenAPI document (public, no login)."""
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json


def test_document_is_valid_openapi_3(spec):
    """The generated document validates as OpenAPI 3."""
    assert spec["openapi"].startswith("3.")
    validate(spec)


def test_every_route_is_documented(app, spec):
    """Each /api rule and each of its methods appears in the document."""
    missing = []
    for rule in api_rules(app):
        documented = spec["paths"].get(openapi_path(rule), {})
        for method in methods_of(rule):
            if method.lower() not in documented:
                missing.append(f"{method} {rule.rule}")
    assert not missing, missing


def test_every_documented_path_exists(app, spec):
    """The document describes no path the app does not serve."""
    served = {openapi_path(rule) for rule in api_rules(app)}
    assert set(spec["paths"]) <= served


def test_request_bodies_accept_json_and_form(spec):
    """Every documented request body lists both JSON and form encoding, with one schema."""
    bodies = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not body:
                continue
            bodies += 1
            content = body["content"]
            assert {JSON, FORM} <= set(content), f"{method} {path}"
            assert content[JSON]["schema"] == content[FORM]["schema"], f"{method} {path}"
    assert bodies >= 3  # login, domain create, domain update at least


def test_operations_have_summaries(spec):
    """Each operation has a summary (its view docstring)."""
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and method != "parameters":
                assert operation.get("summary"), f"{method} {path}"


def test_every_view_declares_an_access_policy(app):
    """policy_of() finds a policy on every API view function."""
    missing = [
        rule.endpoint for rule in api_rules(app)
        if policy_of(app.view_functions[rule.endpoint]) is None
    ]  # fmt: skip
    assert not missing, missing


def test_protected_operations_document_security(app, spec):
    """Operations needing a login declare a security requirement; public ones do not."""
    for rule in api_rules(app):
        public = not needs_login(app, rule)
        for method in methods_of(rule):
            operation = spec["paths"][openapi_path(rule)][method.lower()]
            assert bool(operation.get("security")) is not public, f"{method} {rule.rule}"


def test_every_protected_route_refuses_anonymous_callers(app, client, raw):
    """Without a login every non-public route answers 401 and changes nothing."""
    before = raw.snapshot()
    checked = 0
    for rule in api_rules(app):
        if not needs_login(app, rule):
            continue
        for method in methods_of(rule):
            response = client.open(sample_url(rule), method=method)
            assert response.status_code == 401, f"{method} {rule.rule}: {response.json}"
            assert response.json["msg"] == "LOGIN_REQUIRED"
            checked += 1
    assert checked >= 6
    assert raw.snapshot() == before


def test_every_operation_documents_the_failures_it_can_answer(app, spec):
    """No catch-all: each operation lists its failure statuses, each the error envelope."""
    error = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for rule in api_rules(app):
        path = openapi_path(rule)
        for method in methods_of(rule):
            operation = spec["paths"][path][method.lower()]
            responses = operation["responses"]
            assert "default" not in responses, f"{method} {path}"
            wanted = {"400", "403", "500", "503"}
            if needs_login(app, rule):
                wanted |= {"401", "429"}
            if "{" in path:
                wanted.add("404")
            if "requestBody" in operation:
                wanted |= {"413", "415"}
            assert wanted <= set(responses), f"{method} {path}: {sorted(wanted - set(responses))}"
            for status in wanted:
                documented = responses[status]
                if "$ref" in documented:
                    documented = spec["components"]["responses"][documented["$ref"].split("/")[-1]]
                assert documented["content"][JSON]["schema"] == error, f"{method} {path} {status}"
    login = spec["paths"]["/api/login"]["post"]["responses"]
    assert {"401", "429"} <= set(login)  # wrong credentials, too many failed logins


def test_page_items_are_documented_in_each_shape(spec):
    """A page's items are profiles, or plain addresses/names with email_only or name_only."""
    schemas = spec["components"]["schemas"]
    for page, item in [("UserPage", "User"), ("DomainPage", "Domain"), ("AliasPage", "Alias"),
                       ("MaillistPage", "Maillist"), ("MlPage", "Ml")]:  # fmt: skip
        items = schemas[page]["properties"]["_data"]["items"]
        assert items == {"oneOf": [{"$ref": f"#/components/schemas/{item}"}, {"type": "string"}]}
    assert "total_exact" in schemas["UserPage"]["properties"]


def test_answers_are_checked_against_the_document(app, api):
    """The test client fails an answer whose status or body the document does not describe."""
    from tests.conftest import CHECKERS

    assert api.get("/api/domains").status_code == 200
    checker = CHECKERS[app]
    del checker.spec["paths"]["/api/domains"]["get"]["responses"]["200"]
    with pytest.raises(AssertionError, match="status not documented"):
        api.get("/api/domains")
    checker.spec["components"]["schemas"]["Domain"]["properties"].pop("quota")
    with pytest.raises(AssertionError, match="Additional properties are not allowed .'quota'"):
        api.post("/api/domain/checked.test")
    response = api.get("/api/no-such-route")  # no operation: the error envelope is checked
    assert response.status_code == 404
