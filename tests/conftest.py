"""Fixtures: one real slapd per run, a clean tree per test, the app and a logged-in client."""

from __future__ import annotations

import itertools
import json
import re
import weakref

import pytest
from flask import Flask
from flask.testing import FlaskClient
from ldap3 import BASE
from ldap3 import Connection
from ldap3 import Server
from openapi_schema_validator import OAS30Validator
from openapi_schema_validator import oas30_format_checker
from werkzeug.exceptions import HTTPException

from iredapi_ldap import create_app
from iredapi_ldap import sqlstore
from iredapi_ldap.embedded.slapd import EmbeddedSlapd
from iredapi_ldap.embedded.slapd import check_installed
from iredapi_ldap.ldap.connection import get_pool

ADMIN_EMAIL = "postmaster@admin.test"
ADMIN_PASSWORD = "Secret-Pass-123"


# -- every answer checked against the OpenAPI document ------------------------------------------


class AnswerChecker:
    """An app's OpenAPI document, and a check of an answer against the operation it documents.

    The operation is found as Flask routes the request (method and rule), the answer's
    status must be one the operation documents (no catch-all), its content type one that
    status documents (or XML, which any client may ask for), and a JSON body (each line of
    NDJSON) must validate against that status's schema: the schemas say
    additionalProperties false, so an undeclared key fails as a wrong type does. Routes
    outside the document (an unknown path, a wrong method) must answer the ErrorEnvelope.
    """

    def __init__(self, app: Flask) -> None:
        # The document /api/openapi.json serves (that route answers api.spec.to_dict()).
        self.spec = json.loads(json.dumps(app.extensions["iredapi_ldap_api"].spec.to_dict()))
        self.urls = app.url_map.bind("localhost")
        self.validators: dict[tuple[str, ...], OAS30Validator] = {}

    def check(self, response) -> None:
        """Fail (AssertionError) unless the answer is one the document describes."""
        request = response.request
        method = request.method.upper()
        if method in ("HEAD", "OPTIONS") or not request.path.startswith("/api"):
            return
        where = f"{method} {request.path} -> {response.status_code}"
        operation, path = self.operation(request.path, method)
        if operation is None:
            if path is None:
                self.validate(response, ("components", "schemas", "ErrorEnvelope"), where)
            return
        responses = operation["responses"]
        status = str(response.status_code)
        assert status in responses, (
            f"{where}: status not documented for {method} {path} (documented: {sorted(responses)})"
        )
        pointer: tuple[str, ...] = ("paths", path, method.lower(), "responses", status)
        if "$ref" in responses[status]:
            pointer = ref_parts(responses[status]["$ref"])
        content = self.resolve(pointer).get("content", {})
        if response.mimetype in XML_TYPES:
            return  # the same envelope as XML, on request (api.md, JSON or XML)
        assert not content or response.mimetype in content, (
            f"{where}: {response.mimetype} not documented (documented: {sorted(content)})"
        )
        if response.mimetype in (JSON, NDJSON):
            self.validate(response, (*pointer, "content", response.mimetype, "schema"), where)

    def operation(self, path: str, method: str) -> tuple[dict | None, str | None]:
        """Return the documented operation and its OpenAPI path; (None, None) if nothing routes."""
        try:
            rule, _ = self.urls.match(path, method, return_rule=True)
        except HTTPException:
            return None, None
        template = PLACEHOLDER.sub(lambda m: "{" + m.group("name") + "}", rule.rule)
        return self.spec["paths"].get(template, {}).get(method.lower()), template

    def resolve(self, pointer: tuple[str, ...]) -> dict:
        """Return the object at a path of keys in the document."""
        found = self.spec
        for part in pointer:
            found = found[part]
        return found

    def validate(self, response, pointer: tuple[str, ...], where: str) -> None:
        """Validate a JSON body (each line of NDJSON) against the schema at `pointer`."""
        if response.mimetype not in (JSON, NDJSON):
            return
        validator = self.validators.get(pointer)
        if validator is None:
            schema = dict(self.resolve(pointer))
            schema["components"] = self.spec["components"]  # so "#/components/..." resolves
            validator = OAS30Validator(schema, format_checker=oas30_format_checker)
            self.validators[pointer] = validator
        if response.mimetype == JSON:
            bodies = [response.get_json()]
        else:
            # Read a copy of the stream, leaving the response streamed for the test.
            response.response, copy = itertools.tee(response.iter_encoded())
            bodies = [json.loads(line) for line in b"".join(copy).decode().splitlines()]
        for body in bodies:
            errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
            assert not errors, f"{where}: the answer does not match its documented schema:\n" + (
                "\n".join(
                    f"  at {'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors
                )
            )


def ref_parts(ref: str) -> tuple[str, ...]:
    """Return the keys of a local $ref (`#/components/responses/X`)."""
    return tuple(ref.removeprefix("#/").split("/"))


JSON, NDJSON, XML_TYPES = (
    "application/json",
    "application/x-ndjson",
    ("application/xml", "text/xml"),
)
PLACEHOLDER = re.compile(r"<(?:\w+(?:\([^)]*\))?:)?(?P<name>\w+)>")  # <int:days> -> {days}
CHECKERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class CheckedClient(FlaskClient):
    """The test client: every answer is checked against the app's OpenAPI document."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        if "iredapi_ldap_api" in self.application.extensions:
            checker = CHECKERS.get(self.application)
            if checker is None:
                checker = CHECKERS[self.application] = AnswerChecker(self.application)
            checker.check(response)
        return response


def checked(app: Flask) -> Flask:
    """Make an app's test clients check every answer against its OpenAPI document."""
    app.test_client_class = CheckedClient
    return app


@pytest.fixture(scope="session")
def slapd_server(tmp_path_factory):
    """Start the project's embedded slapd once per run; fail (never skip) if it cannot."""
    check_installed()
    server = EmbeddedSlapd(tmp_path_factory.mktemp("slapd"), durable=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ldap_tree(slapd_server):
    """Give each test an empty o=domains and o=domainAdmins."""
    slapd_server.reset_tree()
    return slapd_server


@pytest.fixture
def app_config(slapd_server, tmp_path):
    """Return the config dict the test app is built from."""
    return build_config(slapd_server, tmp_path)


def build_config(slapd_server, tmp_path):
    """Return the config of a test app whose private files live in tmp_path."""
    creds = slapd_server.credentials
    return {
        "SQL_URL": f"sqlite:///{tmp_path / 'iredapi-ldap.sqlite'}",
        "IREDAPD_URL": f"sqlite:///{tmp_path / 'iredapd.sqlite'}",
        "AMAVISD_URL": f"sqlite:///{tmp_path / 'amavisd.sqlite'}",
        "TESTING": True,
        "LDAP_URI": creds.uri,
        "LDAP_BIND_DN": creds.vmailadmin_dn,
        "LDAP_BIND_PASSWORD": creds.vmailadmin_password,
        "LDAP_SUFFIX": creds.suffix,
        "SECRET_KEY": "test-secret",
        "LDAP_PAGE_SIZE": 100,
        # Counters written with each request, so tests can compare the tree at once;
        # tests/api/test_counter_queue.py covers writing them behind.
        "LDAP_COUNTER_FLUSH_SECONDS": 0,
        "LDAP_COUNTER_LOCK_DIR": str(tmp_path / "counter-locks"),
        # No re-count thread per test app (it would outlive the test); tests of it turn it on.
        "LDAP_COUNTER_RECOUNT_SECONDS": 0,
        # Each test app counts failed logins on its own (the default, a SQLite file shared by
        # the host's workers, is tested in tests/api/test_ratelimit.py and tests/cli/).
        "RATE_LIMIT_STORAGE": "memory://",
    }


@pytest.fixture
def app(ldap_tree, app_config):
    """Build the app against the test slapd."""
    application = checked(create_app(app_config))
    yield application
    get_pool(application).close_all()
    sqlstore.dispose(application)


@pytest.fixture(scope="module")
def module_app(slapd_server, tmp_path_factory):
    """One app shared by a module's tests (creating an app costs ~0.3 s); not request-bound."""
    application = checked(
        create_app(build_config(slapd_server, tmp_path_factory.mktemp("module-app")))
    )
    yield application
    get_pool(application).close_all()
    sqlstore.dispose(application)


@pytest.fixture
def module_api(module_app, ldap_tree):
    """A client of module_app logged in as a global admin, on a freshly reset tree."""
    from iredapi_ldap.ldap import get_directory
    from iredapi_ldap.models.admins.create import create_global_admin

    with module_app.app_context():
        create_global_admin(get_directory(), ADMIN_EMAIL, ADMIN_PASSWORD)
    client = module_app.test_client()
    response = client.post("/api/login", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.json
    return client


@pytest.fixture
def make_app(ldap_tree, app_config):
    """Return a factory building extra apps from app_config plus overrides; closed at teardown."""
    built = []

    def build(**overrides):
        application = checked(create_app(dict(app_config, **overrides)))
        built.append(application)
        return application

    yield build
    for application in built:
        get_pool(application).close_all()
        sqlstore.dispose(application)


@pytest.fixture
def private_slapd(tmp_path):
    """Start a second, throwaway slapd that a test may stop and restart."""
    server = EmbeddedSlapd(tmp_path / "private-slapd", durable=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_server():
    """Start one real PostgreSQL per run; fail (never skip) if it is not installed."""
    from tests.pgserver import PostgresNotInstalled
    from tests.pgserver import PostgresServer

    try:
        server = PostgresServer().start()
    except PostgresNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mariadb_server():
    """Start one real MariaDB per run; fail (never skip) if it is not installed."""
    from tests.mariadbserver import MariaDBNotInstalled
    from tests.mariadbserver import MariaDBServer

    try:
        server = MariaDBServer().start()
    except MariaDBNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


SERVER_DATABASES = ["postgresql", "mariadb"]


@pytest.fixture(params=["sqlite", *SERVER_DATABASES])
def sql_url(request, tmp_path):
    """Yield the URL of an empty SQL database: a new SQLite file, the emptied PostgreSQL
    one, then the recreated MariaDB one (as the API user, with the documented rights)."""
    yield _empty_database(request, tmp_path)


@pytest.fixture(params=SERVER_DATABASES)
def server_sql_url(request, tmp_path):
    """Like sql_url, on the database servers only (for what a SQLite file cannot show)."""
    yield _empty_database(request, tmp_path)


def _empty_database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    if request.param == "mariadb":
        from tests.mariadbserver import TEST_DATABASE

        server = request.getfixturevalue("mariadb_server")
        server.reset_database(TEST_DATABASE)
        return server.url(TEST_DATABASE)
    from tests.pgserver import TEST_DATABASE

    server = request.getfixturevalue("pg_server")
    server.reset_database(TEST_DATABASE)
    return server.url(TEST_DATABASE)


@pytest.fixture
def raw(slapd_server):
    """A rootdn ldap3 connection for checking directory state independently of the API."""
    creds = slapd_server.credentials
    conn = Connection(Server(creds.uri), creds.root_dn, creds.root_password, auto_bind=True)
    yield RawLdap(conn, creds.suffix)
    conn.unbind()


class RawLdap:
    """Small helpers over a raw ldap3 connection, for assertions."""

    def __init__(self, conn, suffix):
        self.conn = conn
        self.suffix = suffix

    def entry(self, dn):
        """Return {attr_lower: [str values]} of an entry, or None."""
        from ldap3.core.exceptions import LDAPNoSuchObjectResult

        try:
            ok = self.conn.search(dn, "(objectClass=*)", BASE, attributes=["*", "+"])
        except LDAPNoSuchObjectResult:
            return None
        if not ok or not self.conn.response:
            return None
        raw = self.conn.response[0]["raw_attributes"]
        return {k.lower(): [v.decode() for v in vals] for k, vals in raw.items()}

    def children(self, dn):
        """Return the DNs one level below dn."""
        from ldap3 import LEVEL

        self.conn.search(dn, "(objectClass=*)", LEVEL, attributes=["1.1"], paged_size=1000)
        return sorted(item["dn"] for item in self.conn.response if item["type"] == "searchResEntry")

    def count(self, base, search_filter="(objectClass=*)"):
        """Count entries below base (inclusive) with a paged search."""
        entries = self.conn.extend.standard.paged_search(
            base, search_filter, attributes=["1.1"], paged_size=500, generator=True
        )
        return sum(1 for item in entries if item["type"] == "searchResEntry")

    def attrs(self, dn):
        """Return an entry's user attributes {attr_lower: sorted values}, or None."""
        found = self.conn.search(dn, "(objectClass=*)", BASE, attributes=["*"])
        if not found or not self.conn.response:
            return None
        raw = self.conn.response[0]["raw_attributes"]
        return {k.lower(): sorted(v.decode() for v in vals) for k, vals in raw.items()}

    def snapshot(self, base=None):
        """Return {dn: {attr: sorted values}} of everything below base (default: suffix).

        entryCSN is included, so any modify shows up as a difference.
        """
        entries = self.conn.extend.standard.paged_search(
            base or self.suffix, "(objectClass=*)", attributes=["*", "entryCSN"],
            paged_size=500, generator=True,
        )  # fmt: skip
        return {
            item["dn"].lower(): {
                k.lower(): sorted(v.decode() for v in vals)
                for k, vals in item["raw_attributes"].items()
            }
            for item in entries
            if item["type"] == "searchResEntry"
        }

    def domain_dn(self, domain):
        return f"domainName={domain},o=domains,{self.suffix}"

    def user_dn(self, mail):
        return f"mail={mail},ou=Users,domainName={mail.split('@')[1]},o=domains,{self.suffix}"


@pytest.fixture
def admin(app):
    """Create the global admin the tests log in as."""
    from iredapi_ldap.ldap import get_directory
    from iredapi_ldap.models.admins.create import create_global_admin

    with app.app_context():
        create_global_admin(get_directory(), ADMIN_EMAIL, ADMIN_PASSWORD)
    return ADMIN_EMAIL


class AuthActions:
    """Log the test client in and out."""

    def __init__(self, client):
        self.client = client

    def login(self, username=ADMIN_EMAIL, password=ADMIN_PASSWORD):
        return self.client.post("/api/login", data={"username": username, "password": password})

    def logout(self):
        return self.client.post("/api/logout")


@pytest.fixture
def auth(client, admin):
    """Return login helpers (the global admin exists)."""
    return AuthActions(client)


@pytest.fixture
def api(client, auth):
    """A client already logged in as a global admin."""
    response = auth.login()
    assert response.status_code == 200, response.json
    return client


@pytest.fixture
def live_url(app, admin):
    """Serve the app from a real threaded HTTP server on 127.0.0.1; yield its /api URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture
def mlmmj_spool(tmp_path):
    """Return (spool, archive) directories for mlmmj lists; fail (never skip) without mlmmj."""
    from iredapi_ldap.config import DEFAULTS
    from iredapi_ldap.mailhost import MailHostUnavailable
    from iredapi_ldap.mailhost import require_mlmmj

    try:
        require_mlmmj(DEFAULTS["MLMMJ_BIN_DIR"], DEFAULTS["MLMMJ_SKEL_DIR"])
    except MailHostUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    spool = tmp_path / "mlmmj"
    spool.mkdir()
    return spool, tmp_path / "mlmmj-archive"


@pytest.fixture(scope="session")
def dovecot(slapd_server, tmp_path_factory):
    """Start one private Dovecot (iRedMail's LDAP passdb/userdb) for the run; fail if missing."""
    from tests.mailstack.harness import Dovecot
    from tests.mailstack.harness import require_mail_stack

    require_mail_stack()
    server = Dovecot(tmp_path_factory.mktemp("dovecot"), slapd_server.credentials)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postfix_maps(slapd_server, tmp_path_factory):
    """Write iRedMail's Postfix LDAP tables once per run; fail (never skip) without postfix-ldap."""
    from tests.mailstack.harness import PostfixMaps
    from tests.mailstack.harness import require_mail_stack

    require_mail_stack()
    return PostfixMaps(tmp_path_factory.mktemp("postfix"), slapd_server.credentials)


@pytest.fixture(scope="session")
def postfix_instance():
    """Start one private Postfix (no port 25, own queue) per run; fail (never skip) if missing."""
    from tests.postfixserver import start_instance

    instance, staller = start_instance()
    yield instance
    instance.remove()
    staller.close()


@pytest.fixture
def mail_queue(postfix_instance):
    """The private Postfix with an empty queue."""
    postfix_instance.purge()
    return postfix_instance
