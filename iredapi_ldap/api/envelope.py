"""The success envelope and the one function that writes every response body (JSON or XML)."""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree as ET

from flask import Response
from flask import current_app
from flask import g
from flask import has_request_context
from flask import json
from flask import request
from marshmallow import Schema

from .paging import Beside
from .paging import Page

JSON = "application/json"
XML_TYPES = ("application/xml", "text/xml")
# Order matters: on equal quality (and for */*) the first one, JSON, wins.
OFFERED = (JSON, *XML_TYPES)
PLAIN_ACCEPT = frozenset({"*/*", JSON, "application/*"})
XML_ROOT = "response"
# ASCII XML names only, and not the reserved xml* prefix; other keys become <entry key="...">.
XML_NAME = re.compile(r"^(?![Xx][Mm][Ll])[A-Za-z_][A-Za-z0-9._-]*$")
# Characters XML 1.0 cannot carry even escaped (control characters, lone surrogates).
XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def answer(
    data: Any, status: int, schema: Schema | None, headers: dict[str, str] | None = None
) -> Response:
    """Wrap what a view returned in the success envelope, dump it through the operation's
    response schema, and render it (JSON or XML).

    `data` goes under `_data` (None: no `_data`); a Page puts its items there and the
    paging keys beside them, a Beside its data and its other keys. The schema writes the answer: a key it does not declare is
    not sent. Under TESTING, an answer the dump would change (a key dropped, a value
    converted, keys reordered) fails instead, so the schemas stay byte-for-byte what
    clients get.
    """
    payload: dict[str, Any] = {"success": True, "_success": True}
    if isinstance(data, (Page, Beside)):
        payload.update(data.envelope_keys())
    elif data is not None:
        payload["_data"] = data
    if schema is not None:
        dumped = schema.dump(payload)
        if current_app.testing:
            _check_dump(payload, dumped, schema)
        payload = dumped
    return render(payload, status, headers)


def _check_dump(payload: dict[str, Any], dumped: dict[str, Any], schema: Schema) -> None:
    if json.dumps(payload) != json.dumps(dumped):
        raise AnswerDrift(
            f"{type(schema).__name__} would change the answer the view returned "
            f"(declare the field, or fix its type or order): {_difference(payload, dumped)}"
        )


def _difference(before: Any, after: Any, where: str = "") -> str:
    """Describe the first place where the view's answer and the dumped one differ."""
    if isinstance(before, dict) and isinstance(after, dict):
        dropped = [key for key in before if key not in after]
        if dropped:
            return f"{where or '(top)'}: not declared: {', '.join(map(str, dropped))}"
        if list(before) != list(after):
            return f"{where or '(top)'}: order {list(before)} != declared {list(after)}"
        pairs = [(f"{where}.{key}".lstrip("."), before[key], after[key]) for key in before]
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        pairs = [
            (f"{where}[{i}]", b, a) for i, (b, a) in enumerate(zip(before, after, strict=True))
        ]
    else:
        return f"{where or '(top)'}: {before!r} became {after!r}"
    for place, b, a in pairs:
        if json.dumps(b) != json.dumps(a):
            return _difference(b, a, place)
    return "(no difference found)"


class AnswerDrift(AssertionError):
    """A view's answer and its response schema disagree (raised under TESTING only)."""


def render(payload: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    """Serialise a payload as JSON, or as XML when the Accept header prefers it."""
    mimetype = negotiated_type()
    if mimetype == JSON:
        # A lone surrogate cannot be UTF-8: written as its JSON escape (\ud800) rather than
        # failing the answer after the work is done.
        body = (json.dumps(payload, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")
    else:
        body = to_xml(payload)
    response = current_app.response_class(body, status=status, mimetype=mimetype)
    response.vary.add("Accept")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if has_request_context():
        g._iredapi_result_code = payload.get("_msg") or payload.get("msg") or ""
    return response


def negotiated_type() -> str:
    """Return JSON, or the XML type the client prefers by its Accept q-values."""
    if not has_request_context():
        return JSON
    accept = request.headers.get("Accept")
    if not accept or accept in PLAIN_ACCEPT:
        return JSON  # what curl, requests and most clients send; no q-value parsing needed
    return request.accept_mimetypes.best_match(OFFERED, default=JSON)


def to_xml(payload: dict[str, Any]) -> bytes:
    """Render a payload under <response>: dict keys as elements, list items as <item>.

    Built with the standard library's ElementTree rather than a converter package:
    the mapping (lists as repeated <item>, None as nil="true", invalid key names as
    <entry key="...">) is ours to define either way, the output is only generated (no
    XML is parsed, so no entity attacks apply), and it adds no dependency.
    """
    root = ET.Element(XML_ROOT)
    _fill(root, payload)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            name = str(key)
            if XML_NAME.match(name):
                child = ET.SubElement(element, name)
            else:
                child = ET.SubElement(element, "entry", key=_xml_text(name))
            _fill(child, item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _fill(ET.SubElement(element, "item"), item)
    elif value is None:
        element.set("nil", "true")
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = _xml_text(str(value))


def _xml_text(text: str) -> str:
    return XML_ILLEGAL.sub("\ufffd", text)
