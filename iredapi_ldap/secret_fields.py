"""Secret fields: the names the schemas mark secret, masked in the audit log, logs and errors.

A field is secret when its schema declares it with `schemas.fields.secret(...)`. The set of
secret names is collected from every schema the app's routes use when the app is built,
and is the one list behind every mask:

- the audit log stores `********` for their values (`mask`), and `GET /api/log` masks
  rows again on the way out;
- a log record written while a request is handled has those values replaced (a log record
  factory, so third-party loggers are covered too);
- a failure answer never echoes them in `detail` or `errors` (`redact_failure`).
"""

# Private internals of flask-smorest relied on (setup.cfg pins flask-smorest to 0.47.x;
# tests/unit/test_library_internals.py checks every name below):
# - view._apidoc["arguments"] -- the argument schemas of each view (parameters[].schema),
#   where the secret fields are collected from. Changed, init_app finds no secret field
#   and the app refuses to start.
# - view._apidoc["response"] -- the answer schemas of each view (responses[status][].schema),
#   for secrets shown once (a new token). Changed, such a field is masked by its name only.

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from urllib.parse import quote_plus

from flask import Flask
from flask import current_app
from flask import has_request_context
from flask import request
from marshmallow import Schema
from marshmallow import fields

from .inputs import MalformedInput
from .inputs import form_body
from .inputs import json_body
from .inputs import query_args
from .schemas.fields import is_secret

MASK = "********"
EXTENSION = "iredapi_secret_fields"
# A parameter no schema declares is rejected as unknown, but still stored in the audit log:
# when its name looks like a secret (a mistyped "pasword", a client's "newPassword") it is
# masked all the same. Declared fields follow their schema mark only.
SECRET_LOOKING = ("password", "passwd", "secret", "token")
_REQUEST_CACHE = "_iredapi_secret_pattern"
_factory_lock = threading.Lock()
_factory_installed = False


@dataclass(frozen=True)
class SecretFields:
    """The field names the schemas mark secret, and every field name they declare."""

    secret: frozenset[str] = frozenset()
    declared: frozenset[str] = frozenset()

    def is_secret(self, name: str) -> bool:
        """Tell whether a parameter of this name holds a secret."""
        if name in self.secret:
            return True
        if name in self.declared:
            return False
        lowered = name.lower()
        return lowered.endswith("hash") or any(word in lowered for word in SECRET_LOOKING)


def collect(schemas: Iterable[Schema | type[Schema]]) -> SecretFields:
    """Return the secret and the declared field names of these schemas, nested ones included."""
    secret: set[str] = set()
    declared: set[str] = set()
    seen: set[type] = set()
    pending = list(schemas)
    while pending:
        schema = pending.pop()
        if isinstance(schema, type):
            schema = schema()
        if type(schema) in seen:
            continue
        seen.add(type(schema))
        for name, field in schema.fields.items():
            key = field.data_key or name
            declared.add(key)
            if is_secret(field):
                secret.add(key)
            pending.extend(_nested_schemas(field))
    return SecretFields(frozenset(secret), frozenset(declared))


def _nested_schemas(field: fields.Field) -> list[Schema]:
    if isinstance(field, fields.Nested):
        return [field.schema]
    if isinstance(field, fields.List):
        return _nested_schemas(field.inner)
    if isinstance(field, fields.Dict) and field.value_field is not None:
        return _nested_schemas(field.value_field)
    return []


def schemas_of(app: Flask) -> list[Any]:
    """Return every argument and response schema the app's views declare."""
    found: list[Any] = []
    for view in app.view_functions.values():
        apidoc = _apidoc(view)
        for parameter in apidoc.get("arguments", {}).get("parameters", []):
            if isinstance(parameter, dict) and parameter.get("schema") is not None:
                found.append(parameter["schema"])
        for answers in apidoc.get("response", {}).get("responses", {}).values():
            for answer in answers if isinstance(answers, list) else [answers]:
                if isinstance(answer, dict) and answer.get("schema") is not None:
                    found.append(answer["schema"])
    return [s for s in found if isinstance(s, (Schema, type))]


def _apidoc(view: Any) -> dict[str, Any]:
    while view is not None:
        if hasattr(view, "_apidoc"):
            return view._apidoc
        view = getattr(view, "__wrapped__", None)
    return {}


def init_app(app: Flask) -> None:
    """Collect the app's secret fields (after its routes exist) and redact log records."""
    found = collect(schemas_of(app))
    if "password" not in found.secret:
        # Fail closed: without the list, secrets would reach the audit log in clear.
        raise RuntimeError("No secret field found in the routes' schemas (flask-smorest changed?)")
    app.extensions[EXTENSION] = found
    _install_log_redaction()


def secret_fields() -> SecretFields:
    """Return the current app's secret fields (name heuristics only outside an app)."""
    try:
        return current_app.extensions.get(EXTENSION) or SecretFields()
    except RuntimeError:  # no application context
        return SecretFields()


def mask(value: Any, known: SecretFields | None = None) -> Any:
    """Return a copy with the values of secret parameters, at any depth, replaced by MASK."""
    known = known or secret_fields()
    if isinstance(value, dict):
        return {
            key: MASK if known.is_secret(str(key)) and item not in (None, "") else mask(item, known)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask(item, known) for item in value]
    return value


# -- the values of the current request's secrets ---------------------------------------------


def _request_pattern() -> re.Pattern[str] | None:
    """Return a pattern matching the current request's secret values (None if it has none)."""
    state = vars(request._get_current_object())
    if _REQUEST_CACHE not in state:
        state[_REQUEST_CACHE] = None  # set first: reading the input must not come back here
        state[_REQUEST_CACHE] = _pattern(_secret_values())
    return state[_REQUEST_CACHE]


def _secret_values() -> set[str]:
    known = secret_fields()
    values: set[str] = set()
    for read in (json_body, form_body, query_args):
        try:
            source = read()
        except MalformedInput:
            continue  # never stored nor parsed, so never echoed
        except Exception:  # e.g. a body over max_content_length
            continue
        if hasattr(source, "lists"):
            source = dict(source.lists())
        _collect_values(source, known, values, inside_secret=False)
    return values


def _collect_values(value: Any, known: SecretFields, out: set[str], inside_secret: bool) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _collect_values(item, known, out, inside_secret or known.is_secret(str(key)))
    elif isinstance(value, list):
        for item in value:
            _collect_values(item, known, out, inside_secret)
    elif inside_secret and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        out.add(str(value))


def _pattern(values: set[str]) -> re.Pattern[str] | None:
    """Return a pattern for the values and the forms a log line may show them in."""
    forms: set[str] = set()
    for value in values:
        stripped = value.strip()
        forms.update(
            (value, stripped, stripped.lower(), json.dumps(value)[1:-1], repr(value)[1:-1])
        )
        forms.update((quote(value, safe=""), quote_plus(value, safe="")))
    forms.discard("")
    if not forms:
        return None
    return re.compile("|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)))


def redact(text: str) -> str:
    """Replace the current request's secret values in a text by MASK."""
    if not has_request_context():
        return text
    pattern = _request_pattern()
    return pattern.sub(MASK, text) if pattern is not None else text


def redact_failure(payload: dict[str, Any]) -> dict[str, Any]:
    """Return a failure envelope whose detail and error messages echo no secret value."""
    if not has_request_context() or _request_pattern() is None:
        return payload
    redacted = dict(payload)
    if isinstance(redacted.get("detail"), str):
        redacted["detail"] = redact(redacted["detail"])
    if isinstance(redacted.get("errors"), dict):
        redacted["errors"] = _redact_messages(redacted["errors"])
    return redacted


def _redact_messages(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_messages(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_messages(item) for item in value]
    return value


# -- log records ------------------------------------------------------------------------------------


def _install_log_redaction() -> None:
    """Wrap the process's log record factory once, so every record can be redacted."""
    global _factory_installed
    with _factory_lock:
        if _factory_installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if has_request_context():
                _redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _factory_installed = True


def _redact_record(record: logging.LogRecord) -> None:
    try:
        pattern = _request_pattern()
        if pattern is None:
            return
        message = record.getMessage()
        cleaned = pattern.sub(MASK, message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatters print exc_text when it is set; the exception object stays as it was.
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = pattern.sub(MASK, text)
    except Exception:  # a record that cannot be formatted is left to logging's own handling
        return
