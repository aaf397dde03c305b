"""The API's exception hierarchy and the one place that renders failures."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Base for every error the API answers with; carries status and code."""

    status = 500
    code = "INTERNAL_SERVER_ERROR"
    detail = "Internal server error."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.detail)
        self.detail = detail or self.detail
        if code:
            self.code = code
        self.errors = errors
        self.headers = headers or {}


class ValidationFailed(ApiError):
    """A parameter is missing or invalid (400)."""

    status = 400
    code = "INVALID_PARAMETERS"
    detail = "Invalid parameters."


class Unauthorized(ApiError):
    """No valid login or token (401)."""

    status = 401
    code = "LOGIN_REQUIRED"
    detail = "Login required."


class InvalidCredentials(Unauthorized):
    """Wrong username or password; never says which (401)."""

    code = "INVALID_CREDENTIALS"
    detail = "Invalid username or password."


class Forbidden(ApiError):
    """Authenticated but not allowed (403)."""

    status = 403
    code = "PERMISSION_DENIED"
    detail = "Permission denied."


class NotFound(ApiError):
    """The object does not exist (404)."""

    status = 404
    code = "NO_SUCH_ACCOUNT"
    detail = "No such account."


class NoSuchDomain(NotFound):
    """The mail domain does not exist (404)."""

    code = "NO_SUCH_DOMAIN"
    detail = "No such domain."


class AlreadyExists(ApiError):
    """The object exists already (409)."""

    status = 409
    code = "ALREADY_EXISTS"
    detail = "Account already exists."


class NotEmpty(ApiError):
    """The object still has children (409)."""

    status = 409
    code = "NOT_EMPTY"
    detail = "Object is not empty."


class Conflict(ApiError):
    """The directory changed under us or the request contradicts stored state (409)."""

    status = 409
    code = "CONFLICT"
    detail = "Conflicting change; try again."


class UnsupportedMediaType(ApiError):
    """The request body is neither JSON nor form data (415)."""

    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    detail = "Send JSON or form data."


class TooManyRequests(ApiError):
    """Rate limit reached (429)."""

    status = 429
    code = "TOO_MANY_REQUESTS"
    detail = "Too many requests."


class DirectoryUnavailable(ApiError):
    """The LDAP server cannot be reached or refuses the service bind (503)."""

    status = 503
    code = "LDAP_SERVER_UNAVAILABLE"
    detail = "The directory server is unavailable; try again later."


class DirectoryError(ApiError):
    """The directory answered with an unexpected error (500, logged, not shown)."""


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
    from .secret_fields import redact_failure

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
    from .api.envelope import render

    if error.status >= 500:
        log.error("%s: %s", error.code, error.__cause__ or error.detail)
    return render(
        failure_payload(error.code, error.detail, error.errors),
        error.status,
        error.headers,
    )


def handle_http_exception(error: HTTPException):
    """Render werkzeug's routing and protocol errors in the same envelope."""
    from .api.envelope import render

    status = error.code or 500
    code = HTTP_CODES.get(status, "INTERNAL_SERVER_ERROR" if status >= 500 else "ERROR")
    headers = {}
    if status == 405 and error.get_response().headers.get("Allow"):
        headers["Allow"] = error.get_response().headers["Allow"]
    detail = error.description if status < 500 else ApiError.detail
    return render(failure_payload(code, detail), status, headers)


def handle_unexpected(error: Exception):
    """Log an unexpected error and answer a generic 500 without internals."""
    from flask import current_app

    from .api.envelope import render

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
