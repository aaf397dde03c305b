"""The one place that renders failures: ApiErrors, werkzeug's HTTP errors and the unexpected."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask import current_app
from werkzeug.exceptions import HTTPException

from ..errors import ApiError
from ..secret_fields import redact_failure
from .envelope import render

log = logging.getLogger(__name__)

# Codes for errors that werkzeug raises itself (routing, body size, ...).
HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "LOGIN_REQUIRED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "REQUEST_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
}


def failure_payload(code: str, detail: str, errors: dict | None = None) -> dict:
    """Build the failure envelope shared by every error response; it never echoes a secret."""
    payload: dict[str, Any] = {
        "success": False,
        "_success": False,
        "msg": code,
        "_msg": code,
        "detail": detail,
    }
    if errors:
        payload["errors"] = errors
    return redact_failure(payload)


def handle_api_error(error: ApiError):
    """Render an ApiError as the failure envelope."""
    if error.status >= 500:
        log.error("%s: %s", error.code, error.__cause__ or error.detail)
    return render(
        failure_payload(error.code, error.detail, error.errors),
        error.status,
        error.headers,
    )


def handle_http_exception(error: HTTPException):
    """Render werkzeug's routing and protocol errors in the same envelope."""
    status = error.code or 500
    code = HTTP_CODES.get(status, "INTERNAL_SERVER_ERROR" if status >= 500 else "ERROR")
    headers = {}
    if status == 405 and error.get_response().headers.get("Allow"):
        headers["Allow"] = error.get_response().headers["Allow"]
    detail = error.description if status < 500 else ApiError.detail
    return render(failure_payload(code, detail), status, headers)


def handle_unexpected(error: Exception):
    """Log an unexpected error and answer a generic 500 without internals."""
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    if current_app.testing and current_app.config.get("PROPAGATE_UNEXPECTED", True):
        raise error
    log.exception("Unhandled error")
    return render(failure_payload(ApiError.code, ApiError.detail), 500, {})


def register_error_handlers(app: Flask) -> None:
    """Register the envelope renderers on the app, so routing errors use them too."""
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
