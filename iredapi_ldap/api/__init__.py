"""HTTP layer: the flask-smorest Api, the OpenAPI document, blueprint registration."""

from __future__ import annotations

from apispec import BasePlugin
from flask import Flask
from flask_smorest import Api, Blueprint

from .. import __version__
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


class EnvelopeApi(Api):
    """flask-smorest Api whose errors are rendered by iredapi_ldap.errors, not smorest."""

    ERROR_SCHEMA = ErrorEnvelopeSchema

    def _register_error_handlers(self):
        # errors.register_error_handlers() owns HTTPException; smorest must not replace it.
        pass


def register_api(app: Flask) -> EnvelopeApi:
    """Create the Api and register every resource blueprint under /api."""
    from . import admin, alias, domain, domain_admins, health, log, login, maillist, ml, token, user, users

    app.config.setdefault("API_TITLE", "iredapi-ldap")
    app.config.setdefault("API_VERSION", __version__)
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
    for module in (login, domain, domain_admins, user, users, alias, maillist, admin, token, log, ml, health):
        api.register_blueprint(module.blp, url_prefix="/api")
    app.extensions["iredapi_ldap_api"] = api
    return api
