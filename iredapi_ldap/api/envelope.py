"""The success envelope and the one function that writes every response body."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, json


def ok(data: Any = None, status: int = 200, **extra: Any) -> Response:
    """Answer success; `data` goes under `_data`, extra keys beside it."""
    payload: dict[str, Any] = {"success": True, "_success": True}
    if data is not None:
        payload["_data"] = data
    payload.update(extra)
    return render(payload, status)


def render(payload: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    """Serialise a payload as JSON with the given status."""
    body = json.dumps(payload, ensure_ascii=False) + "\n"
    response = current_app.response_class(body, status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
