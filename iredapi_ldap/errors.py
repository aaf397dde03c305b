"""The API's exception hierarchy: each error's HTTP status, code and detail (a leaf module).

api/errors.py renders them as the failure envelope.
"""

from __future__ import annotations

from typing import Any


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
