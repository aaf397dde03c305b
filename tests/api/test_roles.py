"""Roles on every route: the matrix generated from app.url_map, scoping, and creation caps."""

from __future__ import annotations

import re
import tempfile
import threading

import pytest

from iredapi_ldap import create_app
from iredapi_ldap import sqlstore
from iredapi_ldap.ldap.connection import get_pool
from iredapi_ldap.policies import POLICIES
from iredapi_ldap.policies import PUBLIC_ENDPOINT_PREFIXES
from iredapi_ldap.policies import PUBLIC_ENDPOINTS
from iredapi_ldap.policies import global_fields_of
from iredapi_ldap.policies import policy_of
from iredapi_ldap.policies import value_rules_of
from tests.helpers import PASSWORD
from tests.helpers import add_admin
from tests.helpers import add_domain
from tests.helpers import add_user
from tests.helpers import admin_dn
from tests.helpers import login
from tests.helpers import new_client
from tests.helpers import tree
from tests.postfixserver import app_mailhost_config

STANDARD = "std@partner.test"
LIMITED = "lim@partner.test"
TARGET = "target@partner.test"
OWN, OTHER = "own.test", "other.test"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
SCOPE_NAMES = ("domain", "mail", "account")


def _route_app():
    """Build an app (no connection is made) just to read its route table at collection time."""
    return create_app(
        {
            "TESTING": True,
            "LDAP_URI": "ldap://127.0.0.1:1",
            "LDAP_BIND_DN": "cn=vmailadmin,dc=example,dc=com",
            "LDAP_SUFFIX": "dc=example,dc=com",
            "SECRET_KEY": "collect",
            "SQL_URL": f"sqlite:///{tempfile.gettempdir()}/iredapi-roles-collect.sqlite",
        }
    )


def _api_routes():
    app = _route_app()
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith(PUBLIC_ENDPOINT_PREFIXES):
            continue
        for method in sorted(rule.methods & set(METHODS)):
            routes.append(
                pytest.param(rule.rule, method, rule.endpoint, id=f"{method} {rule.rule}")
            )
    return routes


ROUTES = _api_routes()


def _is_scope_argument(name):
    return name in SCOPE_NAMES or name.endswith(("_domain", "_mail"))


def test_every_route_declares_a_policy():
    """Every route has a known policy; domain-scoped ones name a domain or address in the path."""
    app = _route_app()
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith(PUBLIC_ENDPOINT_PREFIXES):
            continue
        policy = policy_of(app.view_functions[rule.endpoint])
        if policy not in POLICIES:
            missing.append(f"{rule.endpoint}: no policy")
        elif policy.domain_scoped and not any(_is_scope_argument(a) for a in rule.arguments):
            missing.append(f"{rule.endpoint}: {policy} without a domain in the path")
        elif policy.self_target and "mail" not in rule.arguments:
            missing.append(f"{rule.endpoint}: {policy} without <mail> in the path")
    assert missing == []


def test_route_without_policy_is_refused(app_config, admin):
    """A view registered without @requires is refused at runtime (fail closed)."""
    naked = create_app(app_config)
    naked.add_url_rule("/api/naked", "naked", lambda: "exposed")
    try:
        client = new_client(naked, admin, "Secret-Pass-123")
        response = client.get("/api/naked")
    finally:
        get_pool(naked).close_all()
        sqlstore.dispose(naked)
    assert response.status_code == 403 and response.json["msg"] == "PERMISSION_DENIED"
    assert "exposed" not in response.get_data(as_text=True)


@pytest.fixture
def app_config(app_config, postfix_instance, tmp_path):
    """The mail host routes act on the private Postfix, so a global admin gets no 503."""
    return {**app_config, **app_mailhost_config(tmp_path / "helper.ini", postfix_instance)}


@pytest.fixture
def world(raw, admin, app):
    """Two domains, a standard and a limited admin of own.test, a target admin, plain users."""
    add_domain(raw, OWN, admins=[STANDARD, LIMITED])
    add_domain(raw, OTHER)
    add_admin(raw, STANDARD)
    add_admin(raw, LIMITED, settings=["role:limited"])
    add_admin(raw, TARGET)
    for domain in (OWN, OTHER):
        add_user(raw, f"victim@{domain}")
    return {
        "super": new_client(app, admin, "Secret-Pass-123"),
        "standard": new_client(app, STANDARD),
        "limited": new_client(app, LIMITED),
        "anonymous": app.test_client(),
    }


def expected(policy, caller, scope):
    """Return 401, 403 or 'allowed' for a caller on a route with this policy."""
    if not policy.login:
        return "allowed"
    if caller == "anonymous":
        return 401
    if caller == "super":
        return "allowed"
    if policy.super_only or policy.self_target:
        return 403  # the path names another admin
    if policy.write and caller == "limited":
        return 403
    if policy.create_domain:
        return 403  # these admins may not create domains
    if policy.domain_scoped:
        return "allowed" if scope == OWN else 403
    return "allowed"


def _path(rule, policy, domain):
    """Fill a rule's placeholders: the domain under test, a plain user or the target admin."""
    values = {}
    for name in _arguments(rule):
        if name == "domain" or name.endswith("_domain"):
            values[name] = domain
        elif name == "mail":
            values[name] = f"victim@{domain}" if policy.domain_scoped else TARGET
        elif name == "account":  # the policy routes: a domain or an address
            values[name] = f"victim@{domain}"
        elif name == "kind":
            values[name] = "inbound"
        elif name.endswith("_mail"):
            values[name] = f"renamed@{domain}"
        elif name == "days" or name.endswith("_days"):
            values[name] = 0
        elif name == "token_id":
            values[name] = "0123456789abcdef"
        else:
            values[name] = "x"
    path = rule
    for name, value in values.items():
        path = path.replace(f"<{name}>", str(value)).replace(f"<int:{name}>", str(value))
    return path


def _arguments(rule):
    return re.findall(r"<(?:[a-z]+:)?([A-Za-z_]+)>", rule)


def _refused(response):
    if response.status_code == 401:
        return 401
    if response.status_code == 403 and (response.json or {}).get("msg") == "PERMISSION_DENIED":
        return 403
    return None


@pytest.mark.parametrize(("rule", "method", "endpoint"), ROUTES)
def test_role_matrix(app, raw, world, rule, method, endpoint):
    """Each caller gets what the route's policy says; refused calls change nothing."""
    policy = policy_of(app.view_functions[endpoint])
    assert policy in POLICIES, f"{endpoint} declares no policy"
    scoped = policy.domain_scoped
    cases = [
        (caller, scope, expected(policy, caller, scope))
        for caller in ("anonymous", "limited", "standard", "super")
        for scope in ((OWN, OTHER) if scoped else (OWN,))
    ]
    before = tree(raw)
    for caller, scope, want in [c for c in cases if c[2] != "allowed"]:
        response = _call(world[caller], _path(rule, policy, scope), method)
        assert _refused(response) == want, (caller, scope, response.status_code, response.json)
    assert tree(raw) == before, "a refused call changed the directory"
    for caller, scope, _want in [c for c in cases if c[2] == "allowed"]:
        response = _call(world[caller], _path(rule, policy, scope), method)
        assert _refused(response) is None, (caller, scope, response.status_code, response.json)
        assert response.status_code < 500, (caller, scope, response.get_data(as_text=True))


def _call(client, path, method, data=None):
    """Send a body (empty by default); read streamed answers to the end to close their context."""
    response = client.open(path, method=method, data=data or {})
    response.get_data()
    response.close()
    return response


# -- field-level grants ------------------------------------------------------------

# Body fields that grant admin rights, place a mailbox or route mail. A route whose body
# takes one must make it global-only, by name (global_fields) or by value (global_values),
# unless the whole route is global-only.
SENSITIVE_FIELDS = frozenset({
    "services", "addService", "removeService", "isGlobalAdmin", "type", "domains", "addDomain",
    "removeDomain", "addAdmin", "removeAdmin", "removeAllAdmins", "maildir", "transport",
})  # fmt: skip


def _body_schema(view):
    for parameter in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
        if parameter.get("in") in ("json_or_form", "json", "form"):
            return parameter["schema"]
    return None


def test_sensitive_fields_are_global_only_or_checked():
    """Every route taking an admin-right, mailbox-path or transport field guards it."""
    app = _route_app()
    unguarded = []
    for endpoint, view in app.view_functions.items():
        policy, schema = policy_of(view), _body_schema(view)
        if policy is None or schema is None or policy.super_only:
            continue
        names = {field.data_key or name for name, field in schema().fields.items()}
        guarded = set(global_fields_of(view)) | {rule.field for rule in value_rules_of(view)}
        unguarded += [f"{endpoint}: {name}" for name in sorted(names & SENSITIVE_FIELDS - guarded)]
    assert unguarded == []


def _grants():
    """One case per route and global-only field (any value) or value rule (its example)."""
    app = _route_app()
    cases = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        sent = [(name, "x") for name in global_fields_of(view)]
        sent += [(value_rule.field, value_rule.example) for value_rule in value_rules_of(view)]
        for method in sorted(rule.methods & set(METHODS)):
            for field, value in sent:
                name = f"{method} {rule.rule} {field}={value}"
                cases.append(pytest.param(rule.rule, method, rule.endpoint, field, value, id=name))
    return cases


GRANTS = _grants()


def test_grant_cases_cover_the_known_routes():
    """The generated cases include admin rights, mailbox paths and transports (sanity)."""
    ids = {case.id for case in GRANTS}
    for expected_id in (
        "PUT /api/user/<mail> addService=domainadmin",
        "PUT /api/user/<mail> services=mail,domainadmin",
        "PUT /api/user/<mail> isGlobalAdmin=x",
        "PUT /api/user/<mail> maildir=/etc/",
        "POST /api/user/<mail> maildir=/etc/",
        "PUT /api/user/<mail> transport=smtp:[203.0.113.9]:25",
        "PUT /api/users/<domain> transport=smtp:[203.0.113.9]:25",
        "PUT /api/admin/<mail> type=x",
        "PUT /api/domain/<domain> services=x",
    ):
        assert expected_id in ids


@pytest.fixture
def grant_world(raw, admin, app):
    """A standard admin of own.test allowed to create domains, and a plain user there."""
    add_domain(raw, OWN, admins=[STANDARD])
    add_admin(raw, STANDARD, settings=["create_new_domains:yes"])
    add_user(raw, f"victim@{OWN}")
    return {
        "super": new_client(app, admin, "Secret-Pass-123"),
        "standard": new_client(app, STANDARD),
    }


@pytest.mark.parametrize(("rule", "method", "endpoint", "field", "value"), GRANTS)
def test_global_only_fields_and_values(app, raw, grant_world, rule, method, endpoint, field, value):
    """A standard admin sending a global-only field or value gets 403 naming it; nothing changes."""
    policy = policy_of(app.view_functions[endpoint])
    path = _path(rule, policy, OWN).replace(TARGET, STANDARD)  # self routes: its own account
    before = tree(raw)
    response = _call(grant_world["standard"], path, method, {field: value})
    assert response.status_code == 403, response.json
    assert response.json["msg"] == "PERMISSION_DENIED"
    assert set(response.json["errors"]) == {field}, response.json
    assert tree(raw) == before, "a refused call changed the directory"
    response = _call(grant_world["super"], path, method, {field: value})
    assert _refused(response) is None, response.json


# -- scoping ---------------------------------------------------------------------


def test_domain_list_is_scoped(world, raw):
    """GET /api/domains lists only the caller's domains for standard and limited admins."""
    for caller in ("standard", "limited"):
        response = world[caller].get("/api/domains?name_only=yes")
        assert response.status_code == 200
        assert response.json["_data"] == [OWN] and response.json["total"] == 1
    assert world["super"].get("/api/domains").json["total"] == 2


def test_other_admin_accounts_are_global_only(world, raw):
    """A standard admin may not change or delete another admin's mail user in its domain."""
    add_user(raw, "chief@own.test", admin=True, is_global=True)
    add_user(raw, "helper@own.test", admin=True)
    before = tree(raw)
    client = world["standard"]
    for mail in ("chief@own.test", "helper@own.test"):
        assert (
            client.put(f"/api/user/{mail}/password", data={"password": "Evil-Pass-123"}).status_code
            == 403
        )
        assert client.delete(f"/api/user/{mail}").status_code == 403
        assert client.get(f"/api/user/{mail}").status_code == 200
    assert (
        client.put(f"/api/users/{OWN}/password", data={"password": "Evil-Pass-123"}).status_code
        == 403
    )
    assert tree(raw) == before


def test_domain_settings_reserved_for_global_admins(world, raw):
    """A standard admin edits its domain's name but not its limits or services (403 naming them)."""
    client = world["standard"]
    before = tree(raw)
    response = client.put(f"/api/domain/{OWN}", data={"numberOfUsers": "0", "quota": "0"})
    assert response.status_code == 403
    assert set(response.json["errors"]) == {"numberOfUsers", "quota"}
    assert client.delete(f"/api/domain/{OWN}").status_code == 403
    assert tree(raw) == before
    response = client.put(f"/api/domain/{OWN}", data={"name": "Own Ltd"})
    assert response.status_code == 200, response.json
    assert raw.entry(raw.domain_dn(OWN))["cn"] == ["Own Ltd"]


# -- creation caps ---------------------------------------------------------------


def _user(client, mail, **params):
    return client.post(f"/api/user/{mail}", data={"password": "User-Pass-123", **params})


def test_create_domain_needs_right_and_cap(app, raw, admin):
    """create_new_domains lets a standard admin create domains it then manages, up to maxDomains."""
    add_admin(raw, STANDARD, settings=["create_new_domains:yes", "create_max_domains:2"])
    add_domain(raw, OWN, admins=[STANDARD])
    client = new_client(app, STANDARD)
    response = client.post("/api/domain/new.test", data={"name": "New"})
    assert response.status_code == 201, response.json
    assert raw.entry(raw.domain_dn("new.test"))["domainadmin"] == [STANDARD]
    assert client.get("/api/domain/new.test").status_code == 200
    before = tree(raw)
    response = client.post("/api/domain/third.test")
    assert response.status_code == 403 and response.json["msg"] == "EXCEEDED_MAX_DOMAINS"
    assert tree(raw) == before
    add_admin(raw, LIMITED)
    other = new_client(app, LIMITED)
    assert other.post("/api/domain/fourth.test").status_code == 403
    assert raw.entry(raw.domain_dn("fourth.test")) is None


def test_max_users_across_domains(app, raw, admin):
    """create_max_users counts the users of all the admin's domains."""
    add_admin(raw, STANDARD, settings=["create_max_users:3"])
    add_domain(raw, "a.test", admins=[STANDARD])
    add_domain(raw, "b.test", admins=[STANDARD])
    add_user(raw, "old@a.test")
    client = new_client(app, STANDARD)
    assert _user(client, "one@a.test").status_code == 201
    assert _user(client, "two@b.test").status_code == 201
    before = tree(raw)
    response = _user(client, "three@b.test")
    assert response.status_code == 403 and response.json["msg"] == "EXCEEDED_MAX_USERS"
    assert tree(raw) == before
    assert (
        "createlock"
        not in str(raw.entry(admin_dn(raw, STANDARD)).get("accountsetting", [])).lower()
    )


def test_max_users_under_concurrency(app, raw, admin):
    """Parallel creations by one capped admin never exceed create_max_users."""
    add_admin(raw, STANDARD, settings=["create_max_users:3"])
    add_domain(raw, "a.test", admins=[STANDARD])
    add_domain(raw, "b.test", admins=[STANDARD])
    clients = [new_client(app, STANDARD) for _ in range(8)]
    statuses = []

    def create(index):
        response = _user(clients[index], f"user{index}@{'ab'[index % 2]}.test")
        statuses.append(response.status_code)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 3 + [403] * 5
    users = raw.count(raw.domain_dn("a.test"), "(objectClass=mailUser)")
    users += raw.count(raw.domain_dn("b.test"), "(objectClass=mailUser)")
    assert users == 3


def test_max_quota_across_domains(app, raw, admin):
    """create_max_quota (create_quota_unit) caps the summed mailbox quota, on create and update."""
    add_admin(raw, STANDARD, settings=["create_max_quota:1", "create_quota_unit:GB"])
    add_domain(raw, "a.test", admins=[STANDARD])
    add_domain(raw, "b.test", admins=[STANDARD])
    client = new_client(app, STANDARD)
    assert _user(client, "one@a.test", quota="600").status_code == 201
    before = tree(raw)
    response = _user(client, "two@b.test", quota="500")
    assert response.status_code == 403 and response.json["msg"] == "EXCEEDED_MAX_QUOTA"
    unlimited = _user(client, "three@b.test")
    assert unlimited.status_code == 403 and "quota" in unlimited.json["errors"]
    assert tree(raw) == before
    assert _user(client, "two@b.test", quota="424").status_code == 201
    response = client.put("/api/user/one@a.test", data={"quota": "700"})
    assert response.status_code == 403 and response.json["msg"] == "EXCEEDED_MAX_QUOTA"
    assert client.put("/api/user/one@a.test", data={"quota": "500"}).status_code == 200


def test_global_admin_has_no_caps(api, raw):
    """Caps bind standard admins only; a global admin creates freely."""
    add_domain(raw, "a.test")
    for i in range(3):
        assert _user(api, f"u{i}@a.test").status_code == 201
    assert raw.count(raw.domain_dn("a.test"), "(objectClass=mailUser)") == 3


def test_login_writes_nothing(app, raw, admin):
    """Logging in as each role writes nothing to the directory (no single-session setting)."""
    add_admin(raw, STANDARD)
    before = tree(raw)
    assert login(app.test_client(), STANDARD, PASSWORD).status_code == 200
    assert tree(raw) == before


def test_hidden_profile_tabs_and_password_minimum(world, raw):
    """Fields of tabs hidden by disableDomainProfile are 403; a low minPasswordLength is 400."""
    world["super"].put(f"/api/domain/{OWN}", data={"disableDomainProfile": "bcc,relay"})
    client = world["standard"]
    before = tree(raw)
    response = client.put(
        f"/api/domain/{OWN}", data={"senderBcc": "copy@own.test", "outboundRelay": ""}
    )
    assert response.status_code == 403
    assert set(response.json["errors"]) == {"outboundRelay", "senderBcc"}
    response = client.put(f"/api/domain/{OWN}", data={"minPasswordLength": "4"})
    assert response.status_code == 400 and "minPasswordLength" in response.json["errors"]
    assert tree(raw) == before
    assert client.put(f"/api/domain/{OWN}", data={"minPasswordLength": "12"}).status_code == 200
    assert "minPasswordLength:12" in raw.entry(raw.domain_dn(OWN))["accountsetting"]


def test_user_promotion_to_global_is_reserved(world, raw):
    """A standard admin may not send isGlobalAdmin for a user of its domain (403 naming it)."""
    before = tree(raw)
    response = world["standard"].put(f"/api/user/victim@{OWN}", data={"isGlobalAdmin": "yes"})
    assert response.status_code == 403 and set(response.json["errors"]) == {"isGlobalAdmin"}
    assert tree(raw) == before
    response = world["standard"].put(f"/api/user/victim@{OWN}", data={"name": "Victim"})
    assert response.status_code == 200, response.json
    assert raw.entry(raw.user_dn(f"victim@{OWN}"))["cn"] == ["Victim"]


def test_max_aliases_across_domains(app, raw, admin):
    """create_max_aliases counts the aliases of all the admin's domains; -1 allows none."""
    add_admin(raw, STANDARD, settings=["create_max_aliases:1"])
    add_domain(raw, "a.test", admins=[STANDARD])
    add_domain(raw, "b.test", admins=[STANDARD])
    client = new_client(app, STANDARD)
    assert client.post("/api/alias/sales@a.test", data={"name": "Sales"}).status_code == 201
    before = tree(raw)
    response = client.post("/api/alias/info@b.test", data={"name": "Info"})
    assert response.status_code == 403 and response.json["msg"] == "EXCEEDED_MAX_ALIASES"
    assert tree(raw) == before
    add_admin(raw, LIMITED, settings=["create_max_aliases:-1"])
    add_domain(raw, "c.test", admins=[LIMITED])
    other = new_client(app, LIMITED)
    response = other.post("/api/alias/info@c.test", data={"name": "Info"})
    assert response.status_code == 403 and response.json["msg"] == "EXCEEDED_MAX_ALIASES"
    assert raw.children(f"ou=Aliases,{raw.domain_dn('c.test')}") == []
