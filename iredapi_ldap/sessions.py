"""The session cookie: Flask's signed cookie, with its signing serializer built once."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface


class ReusedSerializerSessionInterface(SecureCookieSessionInterface):
    """Flask's cookie session; the serializer is reused while the keys stay the same.

    Flask builds a new itsdangerous serializer on every request, to open the cookie and
    again to save it; it holds nothing but the keys and settings, so one per key set does.
    """

    def __init__(self) -> None:
        self._serializer: tuple[tuple[Any, ...], Any] | None = None

    def get_signing_serializer(self, app: Flask) -> Any:
        """Return the serializer for the app's current secret key and fallbacks."""
        if not app.secret_key:
            return None
        keys = (*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key)
        cached = self._serializer
        if cached is None or cached[0] != keys:
            cached = self._serializer = (keys, super().get_signing_serializer(app))
        return cached[1]
