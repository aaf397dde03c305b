"""The project parser: JSON or form bodies, multi-values, errors as 400 naming fields."""

# Private internals of webargs relied on (setup.cfg pins webargs to 8.7.x;
# tests/unit/test_library_internals.py checks every name below):
# - Parser._get_schema -- overridden to build each schema class once instead of per
#   request. Renamed, schemas are built per request again (a tenth of a create's CPU).

from __future__ import annotations

import threading
from typing import Any
from typing import NoReturn

import marshmallow as ma
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy

from .. import inputs
from ..errors import ValidationFailed


def flatten_errors(messages: Any) -> dict[str, list[str]]:
    """Drop webargs' location level and turn nested messages into field -> list."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        locations = {"json", "form", "json_or_form", "query", "querystring", "view_args"}
        if messages.keys() and set(messages.keys()) <= locations:
            for inner in messages.values():
                flat.update(flatten_errors(inner))
            return flat
        for field, value in messages.items():
            if isinstance(value, dict):
                texts = [f"{k}: {v}" for k, v in value.items()]
            elif isinstance(value, (list, tuple)):
                texts = [str(v) for v in value]
            else:
                texts = [str(value)]
            flat[str(field)] = texts
    elif messages:
        flat["_schema"] = [str(m) for m in messages] if isinstance(messages, list) else [messages]
    return flat


def describe(errors: dict[str, list[str]]) -> str:
    """Return one sentence naming every rejected field and why."""
    parts = []
    for field, texts in errors.items():
        name = "request" if field == "_schema" else field
        parts.append(f"{name}: {' '.join(texts)}")
    return "Invalid parameters: " + "; ".join(parts)


class ApiParser(FlaskParser):
    """webargs parser that answers 400 in the API envelope and never ignores unknowns."""

    DEFAULT_VALIDATION_STATUS = 400
    # Schemas say RAISE; let that hold for the query string too (mlmmjadmin#25 lesson).
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": None,
        "querystring": None,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schemas: dict[type, ma.Schema] = {}
        self._schemas_lock = threading.Lock()

    def _get_schema(self, argmap: Any, req: Any) -> ma.Schema:
        """Build each schema class once and reuse it (loading never changes a schema).

        webargs instantiates a schema class on every request, which deep-copies its
        declared fields: a tenth of a user create's CPU in the worker.
        """
        if not (isinstance(argmap, type) and issubclass(argmap, ma.Schema)):
            return super()._get_schema(argmap, req)
        schema = self._schemas.get(argmap)
        if schema is None:
            with self._schemas_lock:
                schema = self._schemas.setdefault(argmap, argmap())
        return schema

    def handle_error(self, error, req, schema, *, error_status_code, error_headers) -> NoReturn:
        """Raise ValidationFailed with the field errors flattened."""
        errors = flatten_errors(error.messages)
        raise ValidationFailed(describe(errors), errors=errors)

    # Every location is read through iredapi_ldap.inputs (strict UTF-8, bounded JSON depth,
    # no lone surrogates): the same decoded input the policies and the audit log see. Only
    # webargs' public loader methods are overridden (json_or_form calls these two).
    def load_json(self, req: Any, schema: ma.Schema) -> Any:
        """Return the JSON body, or missing when the body is empty or not JSON."""
        return inputs.json_body()

    def load_form(self, req: Any, schema: ma.Schema) -> Any:
        """Return the form fields, checked to be UTF-8."""
        return self._proxy(inputs.form_body(), schema)

    def load_querystring(self, req: Any, schema: ma.Schema) -> Any:
        """Return the query string's fields, checked to be UTF-8."""
        return self._proxy(inputs.query_args(), schema)

    def _proxy(self, multidict: Any, schema: ma.Schema) -> MultiDictProxy:
        # What webargs' own loaders return: lists only for fields that take several values.
        return MultiDictProxy(multidict, schema, known_multi_fields=tuple(self.KNOWN_MULTI_FIELDS))


parser = ApiParser()
