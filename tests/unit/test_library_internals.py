"""The private library internals the code relies on still exist in the installed versions.

INTERNALS is the one list of them: each entry names a private or undocumented attribute
of a library, where it is found, its expected shape, the files whose "Private internals
of <library> relied on" comment block lists it, and what breaks if it goes. Some entries
also name a probe, a short behaviour check on the real library (an override still being
called, a value still being where the code reads it). The comment blocks and the pins in
setup.cfg are checked against this list too.

Not listed, because the libraries document them as the way to extend them: marshmallow's
Field._serialize/_deserialize, werkzeug's LocalProxy._get_current_object, namedtuple's
_replace.
"""

from __future__ import annotations

import configparser
import importlib
import inspect
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "iredapi_ldap"
MISSING = object()


@dataclass(frozen=True)
class Internal:
    """One private or undocumented thing of a library that the code relies on."""

    library: str  # the distribution, as setup.cfg names it
    name: str  # as written in the files' comment blocks
    files: tuple[str, ...]  # under iredapi_ldap/
    breaks: str  # what breaks if it goes
    target: str | None = None  # "module:attr.path", or "@connection:attr.path" on an open one
    params: tuple[str, ...] | None = None  # the parameters of a callable, in order
    kind: type | None = None  # the type of a value
    probe: str | None = None  # a behaviour check below (probe_<name>)


FASTPATH = ("ldap/fastpath.py",)
LDAP3_BROKEN = "every fast-path operation fails"

INTERNALS = (
    # -- ldap3: the strategy and connection internals of the BER fast path ---------------
    Internal("ldap3", "SyncStrategy._get_response", FASTPATH,
             "the override is never called: entries silently go back through ldap3's decoder",
             "ldap3.strategy.sync:SyncStrategy._get_response", ("self", "message_id", "timeout"),
             probe="get_response_calls_get_response"),
    Internal("ldap3", "SyncStrategy.receiving", FASTPATH, LDAP3_BROKEN,
             "ldap3.strategy.sync:SyncStrategy.receiving", ("self",)),
    Internal("ldap3", "BaseStrategy.decode_response_fast", FASTPATH, LDAP3_BROKEN,
             "ldap3.strategy.base:BaseStrategy.decode_response_fast", ("self", "ldap_message"),
             probe="results_decode_as_ldap3_decodes_them"),
    Internal("ldap3", "decode_message_fast", FASTPATH, "ImportError at startup",
             "ldap3.utils.asn1:decode_message_fast", ("message",)),
    Internal("ldap3", "RESPONSE_COMPLETE", FASTPATH, "ImportError, or results misread",
             "ldap3.strategy.base:RESPONSE_COMPLETE", kind=str),
    Internal("ldap3", "SESSION_TERMINATED_BY_SERVER", FASTPATH, "ImportError, or a hang-up misread",
             "ldap3.strategy.base:SESSION_TERMINATED_BY_SERVER", kind=str),
    Internal("ldap3", "TRANSACTION_ERROR", FASTPATH, "ImportError, or a notice misread",
             "ldap3.strategy.base:TRANSACTION_ERROR", kind=str),
    Internal("ldap3", "Connection.strategy.__class__", FASTPATH,
             "the SYNC strategy is not re-classed: the fast decoding is silently off",
             probe="sync_strategy_is_reclassed"),
    Internal("ldap3", "BaseStrategy._outstanding", FASTPATH,
             "get_response finds no outstanding request: " + LDAP3_BROKEN,
             "@connection:strategy._outstanding", kind=dict, probe="send_encoded_as_ldap3_sends"),
    Internal("ldap3", "Server.next_message_id", FASTPATH, LDAP3_BROKEN,
             "ldap3:Server.next_message_id", ()),
    Internal("ldap3", "Connection.request", FASTPATH,
             "results are matched to the wrong request type", "@connection:request"),
    Internal("ldap3", "Connection.socket", ("ldap/fastpath.py", "ldap/connection.py"),
             LDAP3_BROKEN + "; discard() leaks sockets ldap3 left open", "@connection:socket",
             kind=socket.socket),
    Internal("ldap3", "Connection.connection_lock", FASTPATH,
             "AttributeError on every fast-path operation", "@connection:connection_lock.__enter__"),
    Internal("ldap3", "Connection.post_send_single_response", FASTPATH, LDAP3_BROKEN,
             "@connection:post_send_single_response", ("message_id",)),
    Internal("ldap3", "Connection.post_send_search", FASTPATH, LDAP3_BROKEN,
             "@connection:post_send_search", ("message_id",)),
    Internal("ldap3", "Connection._entries", FASTPATH,
             "a stray attribute only (nothing here reads conn.entries)", "@connection:_entries",
             kind=list),
    Internal("ldap3", "Connection.fast_decoder", FASTPATH, "AttributeError on every search",
             "@connection:fast_decoder", kind=bool),
    Internal("ldap3", "Connection.sasl_in_progress", FASTPATH,
             "AttributeError on every operation", "@connection:sasl_in_progress", kind=bool,
             probe="open_connection_takes_the_fast_path"),
    Internal("ldap3", "communication_exception_factory", FASTPATH,
             "ImportError at startup, or a failed send no longer maps to 503",
             "ldap3.core.exceptions:communication_exception_factory", ("exc_to_raise", "exc"),
             probe="send_errors_are_ldap3_socket_errors"),
    Internal("ldap3", "to_unicode", FASTPATH, "ImportError at startup, or DNs misdecoded",
             "ldap3.utils.conv:to_unicode", ("obj", "encoding", "from_server"),
             probe="dns_decode_as_ldap3_decodes_them"),
    Internal("ldap3", "Server.reset_availability", ("ldap/connection.py",),
             "AttributeError when a bind fails: the 503 becomes a 500",
             "ldap3:Server.reset_availability", ("self",)),
    Internal("ldap3", "parse_filter", ("ldap/ber.py",),
             "filters filter_ber.py leaves to ldap3 (extensible matches) fail",
             "ldap3.operation.search:parse_filter",
             ("search_filter", "schema", "auto_escape", "auto_encode", "validator", "check_names"),
             probe="fallback_filters_encode_as_filter_ber_does"),
    Internal("ldap3", "compile_filter", ("ldap/ber.py",),
             "filters filter_ber.py leaves to ldap3 (extensible matches) fail",
             "ldap3.operation.search:compile_filter", ("filter_node",)),
    # -- flask-smorest -----------------------------------------------------------------------
    Internal("flask-smorest", "Api._register_error_handlers", ("api/__init__.py",),
             "smorest's handler replaces errors.py's: errors leave the API envelope",
             "flask_smorest:Api._register_error_handlers", ("self",),
             probe="api_registers_its_error_handlers_through_the_hook"),
    Internal("flask-smorest", 'view._apidoc["arguments"]', ("api/__init__.py", "secret_fields.py"),
             "every query string and body is refused as undeclared (400/415)",
             probe="arguments_are_recorded_in_apidoc"),
    Internal("flask-smorest", 'view._apidoc["response"]', ("secret_fields.py",),
             "a secret shown once in an answer (a new token) is masked by its name only",
             probe="responses_are_recorded_in_apidoc"),
    Internal("flask-smorest", "Blueprint.response's wrapper __dict__", ("api/__init__.py",),
             "a 202 documented by an @blp.alt_response above @blp.response answers 500",
             probe="response_wrapper_keeps_the_view_attributes"),
    Internal("flask-smorest", 'view._apidoc["manual_doc"]', ("policies.py",),
             "the OpenAPI document loses each operation's access and security schemes",
             probe="manual_doc_reaches_the_openapi_document"),
    # -- webargs -------------------------------------------------------------------------------
    Internal("webargs", "Parser._get_schema", ("api/args.py",),
             "body schemas are built per request again (a tenth of a create's CPU)",
             "webargs.core:Parser._get_schema", ("self", "argmap", "req"),
             probe="parser_gets_its_schema_through_the_hook"),
    # -- Flask -----------------------------------------------------------------------------------
    Internal("flask", "g.__dict__", ("security/__init__.py",),
             "the previous request's user, token and address are not forgotten",
             probe="g_keeps_its_attributes_in_its_dict"),
    # -- flask-login ---------------------------------------------------------------------------
    Internal("flask-login", "g._login_user", ("security/__init__.py", "audit.py"),
             "a request can inherit the previous one's login; the audit log loses the admin",
             probe="the_loaded_user_lives_in_g"),
)  # fmt: skip


# -- the checks ------------------------------------------------------------------------------


def advice(entry: Internal, detail: str) -> str:
    """Return the failure message: what is gone, who relies on it, what breaks, what to do."""
    try:
        installed = metadata.version(entry.library)
    except metadata.PackageNotFoundError:
        installed = "(not installed)"
    files = ", ".join(f"iredapi_ldap/{f}" for f in entry.files)
    return (
        f"{entry.library} {installed}: {entry.name}, relied on by {files}, is gone or changed: "
        f"{detail}. If it goes: {entry.breaks}. What to do: read the 'Private internals of "
        f"{entry.library} relied on' comment in {files}; adapt that code to this {entry.library} "
        f"(or install the series setup.cfg pins); then update INTERNALS in this file, that "
        f"comment and docs/development.md#library-internals."
    )


def resolve(target: str, connection: Any) -> Any:
    """Return the object a target names: module:attr.path, or @connection:attr.path."""
    where, _, path = target.partition(":")
    obj = connection if where == "@connection" else importlib.import_module(where)
    for part in path.split("."):
        obj = getattr(obj, part, MISSING)
        if obj is MISSING:
            raise LookupError(f"no attribute {part!r} in {target}")
    return obj


def shape_problem(entry: Internal, obj: Any) -> str | None:
    """Return what is wrong with an object's shape, or None."""
    if entry.params is not None:
        if not callable(obj):
            return f"{entry.target} is no longer callable"
        names = tuple(inspect.signature(obj).parameters)
        if names != entry.params:
            return f"{entry.target} takes {names}, expected {entry.params}"
    if entry.kind is not None and not isinstance(obj, entry.kind):
        return f"{entry.target} is a {type(obj).__name__}, expected a {entry.kind.__name__}"
    return None


@pytest.fixture(scope="module")
def connection():
    """Return a FastConnection opened (no bind) to a local socket that only listens."""
    from ldap3 import NONE
    from ldap3 import Server

    from iredapi_ldap.ldap.fastpath import FastConnection

    listener = socket.create_server(("127.0.0.1", 0))
    server = Server(f"ldap://127.0.0.1:{listener.getsockname()[1]}", get_info=NONE)
    conn = FastConnection(server, raise_exceptions=True)
    conn.open(read_server_info=False)
    peer, _ = listener.accept()
    conn.peer = peer
    yield conn
    conn.unbind()
    peer.close()
    listener.close()


@pytest.mark.parametrize("entry", INTERNALS, ids=lambda e: f"{e.library}:{e.name}")
def test_library_internal_is_still_there(entry, connection):
    """Each listed internal exists with the expected shape, and its probe still holds."""
    problem = None
    if entry.target is not None:
        try:
            problem = shape_problem(entry, resolve(entry.target, connection))
        except (ImportError, LookupError) as exc:
            problem = str(exc)
    if problem is None and entry.probe is not None:
        assert entry.probe in PROBES, f"no probe_{entry.probe} in this file"
        try:
            PROBES[entry.probe](connection)
        except Exception as exc:  # any failure means the library changed
            problem = f"probe {entry.probe}: {exc!r}"
    if problem is not None:
        pytest.fail(advice(entry, problem), pytrace=False)


BLOCK = re.compile(r"^# Private internals of (?P<library>[\w.-]+) relied on")


def comment_blocks() -> dict[tuple[str, str], set[str]]:
    """Return {(file, library): names} from every 'Private internals of' block in the package."""
    found: dict[tuple[str, str], set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        names: set[str] | None = None
        for line in path.read_text().splitlines():
            start = BLOCK.match(line)
            if start:
                key = (path.relative_to(PACKAGE).as_posix(), start["library"])
                names = found.setdefault(key, set())
            elif names is not None and line.startswith("# - "):
                names.update(n.strip() for n in line[4:].split(" -- ")[0].split(", "))
            elif names is not None and not line.startswith("#"):
                names = None
    return found


def test_every_internal_is_listed_in_the_files_that_rely_on_it():
    """Each file in INTERNALS carries the comment block naming that internal, and no more."""
    blocks = comment_blocks()
    expected: dict[tuple[str, str], set[str]] = {}
    for entry in INTERNALS:
        for file in entry.files:
            expected.setdefault((file, entry.library), set()).add(entry.name)
    problems = []
    for (file, library), names in sorted(expected.items()):
        missing = names - blocks.get((file, library), set())
        if missing:
            problems.append(
                f"iredapi_ldap/{file}: its '# Private internals of {library} relied on' block "
                f"does not list {sorted(missing)}"
            )
    for (file, library), names in sorted(blocks.items()):
        extra = names - expected.get((file, library), set())
        if extra:
            problems.append(
                f"iredapi_ldap/{file} lists {sorted(extra)} of {library}, "
                "which INTERNALS in tests/unit/test_library_internals.py does not check"
            )
    assert not problems, "\n".join(problems)


def pinned_requirements() -> dict[str, Requirement]:
    """Return setup.cfg's install_requires by distribution name."""
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    lines = parser["options"]["install_requires"].strip().splitlines()
    return {(req := Requirement(line.strip())).name.lower(): req for line in lines}


def test_libraries_whose_internals_are_used_are_pinned_to_one_minor_series():
    """setup.cfg pins each such library to the installed minor series (>=X.Y[.Z],<X.Y+1)."""
    requirements = pinned_requirements()
    problems = []
    for library in sorted({entry.library for entry in INTERNALS}):
        installed = Version(metadata.version(library))
        req = requirements.get(library)
        lower = [s for s in req.specifier if s.operator == ">="] if req else []
        upper = [s for s in req.specifier if s.operator == "<"] if req else []
        series = f"{installed.major}.{installed.minor + 1}"
        ok = (
            len(req.specifier) == 2
            and len(lower) == len(upper) == 1
            and Version(lower[0].version).release[:2] == installed.release[:2]
            and Version(upper[0].version) == Version(series)
            and installed in req.specifier
        ) if req else False  # fmt: skip
        if not ok:
            problems.append(
                f"{library} {installed}: setup.cfg says {req or 'nothing'}; its private "
                f"internals are relied on, so pin it as ldap3 is: "
                f"{library}>={installed.major}.{installed.minor},<{series}"
            )
    assert not problems, "\n".join(problems)


# -- the probes: short behaviour checks on the real libraries ---------------------------------


def probe_get_response_calls_get_response(connection: Any) -> None:
    """Check that ldap3's get_response still delegates to _get_response."""

    from ldap3.strategy.base import BaseStrategy

    source = inspect.getsource(BaseStrategy.get_response)
    assert "self._get_response(message_id, timeout)" in source, (
        "BaseStrategy.get_response no longer calls self._get_response(message_id, timeout)"
    )


def probe_results_decode_as_ldap3_decodes_them(connection: Any) -> None:
    """Check that a result ber.py leaves to ldap3 decodes to ldap3's dict."""

    from iredapi_ldap.ldap import ber

    done = ber.tlv(0x65, ber.integer(0, ber.ENUMERATED) + ber.octets(b"") + ber.octets(b""))
    response, message_id = connection.strategy._decode(ber.message(7, done))
    assert message_id == 7 and response["type"] == "searchResDone", (message_id, response)
    assert response["result"] == 0 and response["description"] == "success", response


def probe_sync_strategy_is_reclassed(connection: Any) -> None:
    """Check that the SYNC strategy became RawEntryStrategy and post_send_* follow it."""

    from iredapi_ldap.ldap.fastpath import RawEntryStrategy

    assert type(connection.strategy) is RawEntryStrategy, type(connection.strategy)
    assert connection.post_send_search.__self__ is connection.strategy
    assert connection.post_send_single_response.__self__ is connection.strategy


def probe_send_encoded_as_ldap3_sends(connection: Any) -> None:
    """Check that _send_encoded registers the request and sends exactly its BER."""

    from iredapi_ldap.ldap import ber

    operation = ber.delete_request("cn=probe")
    message_id = connection._send_encoded("delRequest", operation)
    assert connection.strategy._outstanding[message_id] == {"type": "delRequest"}
    assert connection.request is connection.strategy._outstanding.pop(message_id)
    expected = ber.message(message_id, operation)
    assert connection.peer.recv(len(expected) + 1) == expected


def probe_open_connection_takes_the_fast_path(connection: Any) -> None:
    """Check that an open SYNC connection qualifies for the fast path."""

    assert connection._fast_path_open(), "an open, unbound SYNC connection is not on the fast path"


def probe_send_errors_are_ldap3_socket_errors(connection: Any) -> None:
    """Check that the factory still builds an LDAPSocketSendError that is an OSError."""

    from ldap3.core.exceptions import LDAPSocketSendError
    from ldap3.core.exceptions import communication_exception_factory

    error = communication_exception_factory(LDAPSocketSendError, OSError("x"))("sending")
    assert isinstance(error, LDAPSocketSendError) and isinstance(error, OSError), type(error).mro()


def probe_dns_decode_as_ldap3_decodes_them(connection: Any) -> None:
    """Check that to_unicode decodes a UTF-8 DN from the server."""

    from ldap3.utils.conv import to_unicode

    assert to_unicode("cn=ä,o=x".encode(), from_server=True) == "cn=ä,o=x"


def probe_fallback_filters_encode_as_filter_ber_does(connection: Any) -> None:
    """Check that ldap3's parser and compiler give the bytes filter_ber.py gives."""

    from ldap3.operation.search import compile_filter
    from ldap3.operation.search import parse_filter
    from pyasn1.codec.ber import encoder

    from iredapi_ldap.ldap import filter_ber

    text = "(&(mail=a@b.test)(!(cn=x*)))"
    node = parse_filter(text, None, True, True, None, True)
    assert encoder.encode(compile_filter(node.elements[0])) == filter_ber.encode(text)


def _flask_app() -> Any:
    """Return a bare Flask app (with the settings flask-smorest needs)."""

    from flask import Flask

    app = Flask("probe")
    app.config.update(API_TITLE="probe", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    return app


def probe_api_registers_its_error_handlers_through_the_hook(connection: Any) -> None:
    """Check that Api.__init__ registers its error handler through the overridable hook."""

    from flask_smorest import Api

    calls = []

    class Probe(Api):
        def _register_error_handlers(self):
            calls.append(self)

    Probe(_flask_app())
    assert len(calls) == 1, "Api.__init__ no longer calls _register_error_handlers()"


def probe_arguments_are_recorded_in_apidoc(connection: Any) -> None:
    """Check that @blp.arguments records each location in view._apidoc."""

    import marshmallow as ma
    from flask_smorest import Blueprint

    blp = Blueprint("probe", __name__)

    @blp.arguments(ma.Schema.from_dict({"a": ma.fields.String()}), location="query")
    def view(args):
        return ""

    parameters = view._apidoc["arguments"]["parameters"]
    assert [p["in"] for p in parameters] == ["query"], view._apidoc


def probe_manual_doc_reaches_the_openapi_document(connection: Any) -> None:
    """Check that an inner view's _apidoc manual_doc ends up in the operation."""

    from flask_smorest import Api
    from flask_smorest import Blueprint

    blp = Blueprint("probe", __name__)

    def inner():
        return ""

    # As policies.requires does: directly above the view, below the @blp decorators.
    inner._apidoc = {"manual_doc": {"description": "marker", "security": [{"cookieAuth": []}]}}
    blp.route("/probe")(blp.response(200)(inner))
    api = Api(_flask_app())
    api.register_blueprint(blp)
    operation = api.spec.to_dict()["paths"]["/probe"]["get"]
    assert operation["description"] == "marker", operation
    assert operation["security"] == [{"cookieAuth": []}], operation


def probe_parser_gets_its_schema_through_the_hook(connection: Any) -> None:
    """Check that webargs builds the schema through _get_schema."""

    import marshmallow as ma
    from webargs.flaskparser import FlaskParser

    class ProbeSchema(ma.Schema):
        a = ma.fields.String()

    seen = []

    class Probe(FlaskParser):
        def _get_schema(self, argmap, req):
            seen.append(argmap)
            return super()._get_schema(argmap, req)

    with _flask_app().test_request_context("/?a=1"):
        assert Probe().parse(ProbeSchema, location="query") == {"a": "1"}
    assert seen == [ProbeSchema], "Parser.parse no longer builds its schema with _get_schema()"


def probe_responses_are_recorded_in_apidoc(connection: Any) -> None:
    """Check that @blp.response records each status's schema in view._apidoc."""

    import marshmallow as ma
    from flask_smorest import Blueprint

    blp = Blueprint("probe", __name__)
    schema = ma.Schema.from_dict({"a": ma.fields.String()})

    @blp.response(200, schema)
    def view():
        return {}

    responses = view._apidoc["response"]["responses"]
    assert isinstance(responses[200][0]["schema"], schema), view._apidoc


def probe_response_wrapper_keeps_the_view_attributes(connection: Any) -> None:
    """Check that @blp.response's wrapper shares the view's __dict__ entries (functools.wraps)."""

    from flask_smorest import Blueprint

    def view():
        return ""

    table = view.__dict__.setdefault("_probe_table", {})
    wrapper = Blueprint("probe", __name__).response(200)(view)
    assert wrapper is not view and wrapper.__dict__.get("_probe_table") is table, wrapper.__dict__


def probe_g_keeps_its_attributes_in_its_dict(connection: Any) -> None:
    """Check that g's attributes live in (and leave with) its instance __dict__."""

    from flask import g

    with _flask_app().app_context():
        g.probe = 1
        state = g._get_current_object().__dict__
        assert state.get("probe") == 1, state
        state.pop("probe")
        assert "probe" not in g and g.get("probe") is None


def probe_the_loaded_user_lives_in_g(connection: Any) -> None:
    """Check that flask-login keeps the user in g._login_user and reloads once it is gone."""

    from flask import g
    from flask_login import LoginManager
    from flask_login import UserMixin
    from flask_login import current_user
    from flask_login import login_user

    app = _flask_app()
    app.secret_key = "probe"
    manager = LoginManager(app)
    loads = []
    manager.user_loader(lambda user_id: loads.append(user_id))
    user = type("ProbeUser", (UserMixin,), {"id": "someone"})()
    with app.test_request_context("/"):
        login_user(user)
        assert g._login_user is user and current_user._get_current_object() is user
        g._get_current_object().__dict__.pop("_login_user")
        assert not current_user.is_authenticated and loads == ["someone"], loads


PROBES: dict[str, Callable[[Any], None]] = {
    name.removeprefix("probe_"): value
    for name, value in dict(globals()).items()
    if name.startswith("probe_")
}
