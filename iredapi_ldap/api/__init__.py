"""HTTP layer: the flask-smorest Api, the OpenAPI document, blueprint registration."""

# Private internals of flask-smorest relied on (setup.cfg pins flask-smorest to 0.47.x;
# tests/unit/test_library_internals.py checks every name below):
# - Api._register_error_handlers -- overridden to register nothing, so api/errors.py keeps
#   rendering every HTTPException. Renamed, smorest's handler comes back and errors leave
#   the API envelope.
# - view._apidoc["arguments"] -- the locations each view declares (parameters[].in), read by
#   reject_undeclared_input. Changed, every query string and body is refused as undeclared.

from __future__ import annotations

from functools import lru_cache

from apispec import BasePlugin
from flask import Flask
from flask import current_app
from flask import request
from flask_smorest import Api
from flask_smorest import Blueprint

from ..errors import UnsupportedMediaType
from ..errors import ValidationFailed
from ..inputs import query_args
from ..schemas.base import ErrorEnvelopeSchema
from .args import parser

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class ApiBlueprint(Blueprint):
    """Blueprint whose bodies are JSON or form and whose errors are 400."""

    ARGUMENTS_PARSER = parser
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "json_or_form": FORM,
    }


class JsonOrFormPlugin(BasePlugin):
    """Document every form body as accepting JSON too, since the parser does."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        """Copy each form request body's schema to an application/json entry."""
        for operation in (operations or {}).values():
            content = operation.get("requestBody", {}).get("content", {})
            if FORM in content and JSON not in content:
                content[JSON] = dict(content[FORM])


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

    def _register_error_handlers(self):
        # api/errors.py's register_error_handlers owns HTTPException; smorest must not replace it.
        pass


def register_api(app: Flask) -> EnvelopeApi:
    """Create the Api and register every resource blueprint under /api."""
    # local: the resource modules import ApiBlueprint from this package.
    from . import admin
    from . import alias
    from . import domain
    from . import domain_admins
    from . import health
    from . import jobs
    from . import log
    from . import login
    from . import maillist
    from . import ml
    from . import token
    from . import user
    from . import users

    app.config.setdefault("API_TITLE", "iredapi-ldap")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = EnvelopeApi(
        app,
        spec_kwargs={
            "extra_plugins": [JsonOrFormPlugin()],
            "info": {"description": "REST admin API for iRedMail-style OpenLDAP mail hosts."},
        },
    )
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
        health,
        jobs,
    ):
        api.register_blueprint(module.blp, url_prefix="/api")
    app.extensions["iredapi_ldap_api"] = api
    return api
