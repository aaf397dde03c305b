"""HTTP layer: the flask-smorest Api, the OpenAPI document, blueprint registration."""

# Private internals of flask-smorest relied on (setup.cfg pins flask-smorest to 0.47.x;
# tests/unit/test_library_internals.py checks every name below):
# - Api._register_error_handlers -- overridden to register nothing, so api/errors.py keeps
#   rendering every HTTPException. Renamed, smorest's handler comes back and errors leave
#   the API envelope.
# - view._apidoc["arguments"] -- the locations each view declares (parameters[].in), read by
#   reject_undeclared_input. Changed, every query string and body is refused as undeclared.
# - Blueprint.response's wrapper __dict__ -- the wrapper is made with functools.wraps, so it
#   carries the view's attributes, among them the table of success statuses an
#   @blp.alt_response above it adds to (_answers_of). Changed, such a status
#   (the 202 of a job) is answered as an undocumented one: a 500.

from __future__ import annotations

import http
from functools import lru_cache
from functools import wraps
from typing import Any

from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from flask import current_app
from flask import request
from flask_smorest import Api
from flask_smorest import Blueprint
from marshmallow import Schema
from werkzeug import Response

from ..errors import UnsupportedMediaType
from ..errors import ValidationFailed
from ..inputs import query_args
from ..schemas.base import ErrorEnvelopeSchema
from ..schemas.build import one_of_properties
from .args import parser
from .envelope import answer
from .language import init_babel

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class ApiBlueprint(Blueprint):
    """Blueprint whose bodies are JSON or form, whose errors are 400, and whose views return data.

    A view decorated with `@blp.response(status, Schema)` returns plain data: a dict or a
    list (answered under `_data`), a `Page` (items under `_data`, the paging keys beside
    them), None (the bare envelope), or `(data, status)` / `(data, status, headers)` for a
    status documented with `@blp.alt_response(status, schema=...)`. `envelope.answer` wraps
    it, dumps it through that status's schema and renders JSON or XML. A view that streams
    returns a ready Response, which is passed through unchanged.
    """

    ARGUMENTS_PARSER = parser
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "json_or_form": FORM,
    }

    def response(self, status_code, schema=None, **kwargs):
        """Document the answer (flask-smorest) and write it from the data the view returns."""
        document = super().response(status_code, schema, **kwargs)

        def decorator(func):
            answers = _answers_of(func)
            answers[int(status_code)] = resolve_schema(schema)

            @wraps(func)
            def write(*args, **kw):
                result = func(*args, **kw)
                if isinstance(result, Response):
                    return result
                data, status, headers = _unpack(result, int(status_code))
                if status not in answers:
                    raise RuntimeError(f"{func.__name__} answered {status}, not documented")
                return answer(data, status, answers[status], headers)

            return document(write)

        return decorator

    def alt_response(self, status_code, response=None, *, schema=None, **kwargs):
        """Document another answer; a 2xx one with a schema can be returned as (data, status)."""
        document = super().alt_response(status_code, response, schema=schema, **kwargs)

        def decorator(func):
            if schema is not None and 200 <= int(status_code) < 300:
                _answers_of(func)[int(status_code)] = resolve_schema(schema)
            return document(func)

        return decorator


def _answers_of(func: Any) -> dict[int, Schema | None]:
    """Return the view's success statuses and their schemas, shared by its decorators.

    functools.wraps copies a function's __dict__ into each wrapper, so the one dict is
    reached from every layer, whichever order @response and @alt_response come in.
    """
    return func.__dict__.setdefault("_iredapi_answers", {})


def resolve_schema(schema: Any) -> Schema | None:
    """Return a schema instance for a schema class (or instance, or None)."""
    return schema() if isinstance(schema, type) else schema


def _unpack(result: Any, default_status: int) -> tuple[Any, int, dict[str, str] | None]:
    """Split a view's return value into (data, status, headers)."""
    if not isinstance(result, tuple):
        return result, default_status, None
    data, status, headers = (*result, None)[:3]
    return data, int(status), headers


class JsonOrFormPlugin(BasePlugin):
    """Document every form body as accepting JSON too, since the parser does."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        """Copy each form request body's schema to an application/json entry."""
        for operation in (operations or {}).values():
            content = operation.get("requestBody", {}).get("content", {})
            if FORM in content and JSON not in content:
                content[JSON] = dict(content[FORM])


class ErrorResponsesPlugin(BasePlugin):
    """Document, on each operation, the failure statuses it can answer (the error envelope).

    Every operation can answer 400 (an undeclared query string), 403 (the client gate,
    API disabled), 500 and 503 (a backend down); one needing a login 401 and 429 (failed
    token logins), and 409 if it writes; one with a path value 404; one reading a body
    413 and 415.
    A status a view documents itself (e.g. 403 with its own description) is kept. The
    responses are flask-smorest's, one per status, each the ErrorEnvelope.
    """

    def operation_helper(self, path=None, operations=None, **kwargs):
        """Add the failure responses that apply to each operation and it lacks."""
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})
            documented = {str(status) for status in responses}
            for status in self.statuses(path or "", method, operation):
                if str(status) not in documented:
                    responses[status] = http.HTTPStatus(status).name

    @staticmethod
    def statuses(path: str, method: str, operation: dict) -> list[int]:
        """Return the failure statuses an operation can answer."""
        statuses = [400, 403, 500, 503]
        if operation.get("security"):
            statuses += [401, 429]
            if method.lower() in ("post", "put", "delete"):
                statuses.append(409)
        if "{" in path:
            statuses.append(404)
        if operation.get("requestBody"):
            statuses += [413, 415]
        return sorted(statuses)


BODY_LOCATIONS = {"json", "form", "json_or_form", "files"}
BODY_TYPES = {"application/json", "application/x-www-form-urlencoded", "multipart/form-data"}


@lru_cache(maxsize=512)
def _declared_locations(view) -> frozenset[str]:
    """Return where a view's declared arguments come from (query, json_or_form, ...)."""
    params = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return frozenset(p["in"] for p in params if isinstance(p, dict) and "in" in p)


def reject_undeclared_input() -> None:
    """before_request: refuse query strings and body types a route does not read."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or not (request.path == "/api" or request.path.startswith("/api/")):
        return
    locations = _declared_locations(view)
    args = query_args()
    if args and "query" not in locations and "openapi" not in (request.endpoint or ""):
        errors = {name: ["Unknown field."] for name in args}
        raise ValidationFailed(
            "Invalid parameters: this endpoint takes no query string ("
            + ", ".join(sorted(args))
            + ").",
            errors=errors,
        )
    if request.content_length and locations & BODY_LOCATIONS:
        mimetype = request.mimetype
        if mimetype not in BODY_TYPES and not mimetype.endswith("+json"):
            raise UnsupportedMediaType(
                f"Unsupported body type {mimetype or '(none)'}; send JSON or form data."
            )


class EnvelopeApi(Api):
    """flask-smorest Api whose errors are rendered by iredapi_ldap.errors, not smorest."""

    ERROR_SCHEMA = ErrorEnvelopeSchema
    # No catch-all: ErrorResponsesPlugin documents each failure status an operation answers.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        # api/errors.py's register_error_handlers owns HTTPException; smorest must not replace it.
        pass


def register_api(app: Flask) -> EnvelopeApi:
    """Create the Api and register every resource blueprint under /api."""
    # local: the resource modules import ApiBlueprint from this package.
    from . import admin
    from . import alias
    from . import brainycp
    from . import domain
    from . import domain_admins
    from . import greylisting
    from . import health
    from . import jobs
    from . import log
    from . import login
    from . import mailhost
    from . import maillist
    from . import ml
    from . import throttle
    from . import token
    from . import user
    from . import users

    init_babel(app)
    app.config.setdefault("API_TITLE", "iredapi-ldap")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    ma_plugin = MarshmallowPlugin()
    api = EnvelopeApi(
        app,
        spec_kwargs={
            "marshmallow_plugin": ma_plugin,
            "extra_plugins": [JsonOrFormPlugin(), ErrorResponsesPlugin()],
            "info": {"description": "REST admin API for iRedMail-style OpenLDAP mail hosts."},
        },
    )
    ma_plugin.converter.add_attribute_function(one_of_properties)
    api.spec.components.security_scheme(
        "cookieAuth", {"type": "apiKey", "in": "cookie", "name": "iRedAdmin-LDAP"}
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "iredapi_<id>_<secret>"}
    )
    api.spec.components.security_scheme(
        "basicAuth", {"type": "http", "scheme": "basic", "description": "admin email : API token"}
    )
    for module in (
        login,
        domain,
        domain_admins,
        user,
        users,
        alias,
        maillist,
        admin,
        token,
        log,
        ml,
        throttle,
        greylisting,
        mailhost,
        brainycp,
        health,
        jobs,
    ):
        api.register_blueprint(module.blp, url_prefix="/api")
    app.extensions["iredapi_ldap_api"] = api
    return api
