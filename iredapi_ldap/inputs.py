"""The request's input (JSON body, form body, query string), decoded once and strictly.

The access policies, the argument parser and the audit log all read input through here,
so a body is judged the same way everywhere and can never crash one of them: bytes that
are not UTF-8, lone UTF-16 surrogates, JSON nested deeper than MAX_JSON_DEPTH and
numbers no field can hold are a 400 naming the problem (and the field, where there is one).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import request
from marshmallow import missing
from werkzeug.datastructures import MultiDict
from werkzeug.formparser import MultiPartParser
from werkzeug.sansio.multipart import Data
from werkzeug.sansio.multipart import Epilogue
from werkzeug.sansio.multipart import Field
from werkzeug.sansio.multipart import File
from werkzeug.sansio.multipart import MultipartDecoder
from werkzeug.sansio.multipart import NeedData

from .errors import ValidationFailed

# Real bodies are two levels deep (an object of lists); json's C decoder recurses per level
# and the audit log, the schemas and the XML writer walk the result again.
MAX_JSON_DEPTH = 32
# Digits of a JSON integer; far beyond any quota or limit, far below Python's 4300.
MAX_INTEGER_DIGITS = 64
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
NOT_UTF8 = "Not valid UTF-8."
SURROGATE = "Contains a lone UTF-16 surrogate; not valid Unicode text."
_CACHE = "_iredapi_inputs"
_SURROGATES = re.compile("[\ud800-\udfff]")
_NON_ASCII_ESCAPE = re.compile(rb"%[89a-fA-F][0-9a-fA-F]")
_PARTS = MultiPartParser()  # only for its get_part_charset(), which keeps no state


class MalformedInput(ValidationFailed):
    """The request's bytes cannot be read as text or JSON (400)."""


class _Rejected:
    """A JSON value the decoder refused to turn into a number; reported with its field."""

    def __init__(self, message: str, code: str) -> None:
        self.message = message
        self.code = code


def json_body() -> Any:
    """Return the JSON body (marshmallow.missing when empty or not JSON), or raise MalformedInput."""
    return _cached("json", _decode_json)


def form_body() -> MultiDict:
    """Return the form fields of the body (empty for other types), or raise MalformedInput."""
    return _cached("form", _decode_form)


def query_args() -> MultiDict:
    """Return the query string's fields, or raise MalformedInput."""
    return _cached("query", _decode_query)


def _cached(name: str, decode: Any) -> Any:
    # On the request object: a request's input never changes and is decoded at most once.
    store = vars(request._get_current_object()).setdefault(_CACHE, {})
    if name not in store:
        try:
            store[name] = (True, decode())
        except MalformedInput as exc:
            store[name] = (False, exc)
    ok, value = store[name]
    if not ok:
        raise value
    return value


# -- JSON ----------------------------------------------------------------------------------------


def _decode_json() -> Any:
    if not request.is_json:
        return missing
    raw = request.get_data(cache=True)
    if not raw:
        return missing
    return decode_json(raw)


def decode_json(raw: bytes) -> Any:
    """Decode a JSON document strictly: UTF-8, bounded depth, no lone surrogates, sane numbers."""
    try:
        text, undecodable = raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        # Undecodable bytes become lone surrogates, so the walk below can name their field.
        text, undecodable = raw.decode("utf-8", "surrogateescape"), exc
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        # json's C decoder recurses per level and stops cleanly at the interpreter's limit.
        raise _too_deep() from None
    except json.JSONDecodeError as exc:
        if undecodable is not None:
            problem = f"{undecodable.reason} at byte {undecodable.start}"
            raise MalformedInput(
                f"Request body is not valid UTF-8: {problem}.",
                code="INVALID_ENCODING",
                errors={"_schema": [NOT_UTF8]},
            ) from None
        raise MalformedInput(
            f"Request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).",
            code="INVALID_JSON",
        ) from None
    _check_values(value, SURROGATE if undecodable is None else NOT_UTF8)
    return value


def _too_deep() -> MalformedInput:
    return MalformedInput(
        f"Request body is nested more than {MAX_JSON_DEPTH} levels deep.", code="JSON_TOO_DEEP"
    )


def _integer(text: str) -> int | _Rejected:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        return _Rejected(f"Number too large (more than {MAX_INTEGER_DIGITS} digits).", "")
    return int(text)


def _float(text: str) -> float | _Rejected:
    value = float(text)
    return value if math.isfinite(value) else _Rejected("Number too large.", "")


def _constant(text: str) -> _Rejected:
    return _Rejected(f"{text} is not JSON.", "INVALID_JSON")


def _check_values(value: Any, surrogate_message: str) -> None:
    """Raise MalformedInput if the value nests too deep, or naming each field holding a lone
    surrogate or a refused number; iterative, so no depth can exhaust the stack."""
    found: dict[str, list[str]] = {}
    codes: set[str] = set()
    stack: list[tuple[tuple[str, ...], Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, (dict, list)) and len(path) >= MAX_JSON_DEPTH:
            raise _too_deep()
        if isinstance(item, dict):
            for key, child in item.items():
                name = printable(key)
                if name != key:
                    found.setdefault(_name(path + (name,)), []).append(surrogate_message)
                    codes.add("INVALID_ENCODING")
                stack.append((path + (name,), child))
        elif isinstance(item, list):
            stack.extend((path + (str(index),), child) for index, child in enumerate(item))
        elif isinstance(item, str) and _SURROGATES.search(item):
            found.setdefault(_name(path), []).append(surrogate_message)
            codes.add("INVALID_ENCODING")
        elif isinstance(item, _Rejected):
            found.setdefault(_name(path), []).append(item.message)
            codes.add(item.code or "INVALID_PARAMETERS")
    if found:
        code = min(codes)  # INVALID_ENCODING before INVALID_JSON before INVALID_PARAMETERS
        raise MalformedInput(_describe("Request body", found), code=code, errors=found)


def _name(path: tuple[str, ...]) -> str:
    # Nested fields are dotted (members.2); the document itself is "_schema", as in marshmallow.
    return ".".join(path) or "_schema"


def printable(text: str) -> str:
    """Return text with lone surrogates written as escapes (\\udcff), safe to encode anywhere."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _describe(where: str, found: dict[str, list[str]]) -> str:
    parts = "; ".join(f"{name}: {' '.join(texts)}" for name, texts in sorted(found.items()))
    return f"{where} cannot be read: {parts}"


# -- form bodies and query strings ----------------------------------------------------------------


def _decode_form() -> MultiDict:
    mimetype = request.mimetype
    if mimetype == FORM:
        _check_pairs(request.get_data(cache=True), "Request body")
    elif mimetype == MULTIPART:
        _check_multipart(request.get_data(cache=True))
    return request.form


def _decode_query() -> MultiDict:
    _check_pairs(request.query_string, "Query string")
    return request.args


def _check_pairs(raw: bytes, where: str) -> None:
    """Raise MalformedInput naming each `name=value` pair that is not UTF-8 once unquoted.

    werkzeug keeps such bytes percent-encoded ("%FF") in the value, and drops a whole form
    body that holds a raw non-UTF-8 byte: either way the API would store or ignore
    something else than what was sent.
    """
    if raw.isascii() and not _NON_ASCII_ESCAPE.search(raw):
        return  # only bytes >= 0x80, raw or %-escaped, can fail to decode
    found: dict[str, list[str]] = {}
    for pair in raw.split(b"&"):
        name, _, value = pair.partition(b"=")
        try:
            key = _unquote(name)
        except UnicodeDecodeError:
            found[name.decode("utf-8", "backslashreplace")] = ["The name is not valid UTF-8."]
            continue
        try:
            _unquote(value)
        except UnicodeDecodeError:
            found.setdefault(key, [NOT_UTF8])
    if found:
        raise MalformedInput(_describe(where, found), code="INVALID_ENCODING", errors=found)


def _unquote(part: bytes) -> str:
    return unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")


def _check_multipart(raw: bytes) -> None:
    """Raise MalformedInput for a multipart body werkzeug would misread or silently drop."""
    if not raw:
        return
    boundary = request.mimetype_params.get("boundary", "")
    if not boundary or not boundary.isascii():
        raise MalformedInput("The multipart body has no boundary.", code="BAD_REQUEST")
    decoder = MultipartDecoder(boundary.encode("ascii"))
    found: dict[str, list[str]] = {}
    try:
        decoder.receive_data(raw)
        decoder.receive_data(None)
        event = decoder.next_event()
        part, chunks = None, []
        while not isinstance(event, (Epilogue, NeedData)):
            if isinstance(event, (Field, File)):
                part, chunks = (event if isinstance(event, Field) else None), []
            elif isinstance(event, Data) and part is not None:
                chunks.append(event.data)
                if not event.more_data:
                    # werkzeug decodes with the part's charset and "replace": check strictly.
                    try:
                        b"".join(chunks).decode(_PARTS.get_part_charset(part.headers))
                    except UnicodeDecodeError:
                        found.setdefault(part.name, [NOT_UTF8])
            event = decoder.next_event()
    except ValueError:
        raise MalformedInput("The multipart body is malformed.", code="BAD_REQUEST") from None
    if isinstance(event, NeedData):
        raise MalformedInput("The multipart body is incomplete.", code="BAD_REQUEST")
    if found:
        raise MalformedInput(
            _describe("Request body", found), code="INVALID_ENCODING", errors=found
        )
