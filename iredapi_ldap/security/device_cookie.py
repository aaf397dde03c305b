"""OWASP device cookies: a signed cookie naming the account a client logged in to successfully.

A client that presents one for the account it logs in to is not blocked by that account's
failed-login limit (someone else's guessing); it has its own limit, keyed by the cookie's
random nonce, instead. The cookie is signed with [general] secret_key and expires after
[security] trusted_client_days; a new one (new nonce) is issued at each successful login.
"""

from __future__ import annotations

import secrets

from flask import Response
from flask import after_this_request
from flask import current_app
from flask import request
from itsdangerous import BadSignature
from itsdangerous import URLSafeTimedSerializer

COOKIE_NAME = "iredapi-device"
SALT = "iredapi-device-cookie"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


def device_of(account: str, max_age: int) -> str | None:
    """Return the nonce of a valid device cookie for this (normalised) account, else None."""
    text = request.cookies.get(COOKIE_NAME)
    if not text or len(text) > 1024:
        return None
    try:
        stored = _serializer().loads(text, max_age=max_age)
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(stored, list) or len(stored) != 2 or stored[0] != account:
        return None
    return str(stored[1])


def issue(account: str, max_age: int) -> None:
    """Set a new device cookie for the account on this request's answer."""
    value = _serializer().dumps([account, secrets.token_urlsafe(16)])
    config = current_app.config

    @after_this_request
    def set_cookie(response: Response) -> Response:
        response.set_cookie(
            COOKIE_NAME,
            value,
            max_age=max_age,
            path=config.get("SESSION_COOKIE_PATH") or config.get("APPLICATION_ROOT") or "/",
            secure=bool(config.get("SESSION_COOKIE_SECURE")),
            httponly=True,
            samesite="Strict",
        )
        return response
