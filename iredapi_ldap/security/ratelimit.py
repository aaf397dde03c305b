"""Brute-force protection: failed logins counted per account and per client address."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from flask import Flask
from flask import current_app
from limits import RateLimitItem
from limits import parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ..config import ConfigError
from ..errors import ApiError
from ..errors import TooManyRequests
from .client import client_address

log = logging.getLogger(__name__)

EXTENSION_KEY = "iredapi_ldap_ratelimit"
ACCOUNT_NAMESPACE = "iredapi-login-account"
ADDRESS_NAMESPACE = "iredapi-login-address"
REDIS_SCHEMES = ("redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster")
# A hung Redis must not hang every login; it answers in microseconds when healthy.
REDIS_TIMEOUT_SECONDS = 2.0


class RateLimitUnavailable(ApiError):
    """The shared rate-limit storage cannot be reached (503); logins are refused meanwhile."""

    status = 503
    code = "RATE_LIMIT_STORAGE_UNAVAILABLE"
    detail = "The login rate limiter is unavailable; try again later."


class LoginLimiter:
    """Counts failures only; once either limit is reached every attempt answers 429."""

    def __init__(self, storage_uri: str, per_account: str, per_address: str) -> None:
        self.per_account = _parse_limit(per_account, "[security] login_failures_per_account")
        self.per_address = _parse_limit(per_address, "[security] login_failures_per_address")
        self.storage_uri = storage_uri
        self.limiter = MovingWindowRateLimiter(_storage(storage_uri))

    def _checks(self, account: str, address: str) -> list[tuple[RateLimitItem, str, str]]:
        return [
            (self.per_account, ACCOUNT_NAMESPACE, normalise_account(account)),
            (self.per_address, ADDRESS_NAMESPACE, address),
        ]

    def check(self, account: str, address: str) -> None:
        """Raise 429 with Retry-After when the account or the address has failed too often."""
        waits = []
        with _storage_errors():
            for item, namespace, key in self._checks(account, address):
                if not self.limiter.test(item, namespace, key):
                    reset_at = self.limiter.get_window_stats(item, namespace, key).reset_time
                    waits.append(max(1, math.ceil(reset_at - time.time())))
        if waits:
            retry_after = max(waits)
            raise TooManyRequests(
                f"Too many failed logins; try again in {retry_after} seconds.",
                headers={"Retry-After": str(retry_after)},
            )

    def failed(self, account: str, address: str) -> None:
        """Count one failed attempt against the account and the address."""
        with _storage_errors():
            for item, namespace, key in self._checks(account, address):
                self.limiter.hit(item, namespace, key)

    def clear(self, account: str, address: str) -> None:
        """Forget the failures of an account and an address (tests, admin tooling)."""
        with _storage_errors():
            for item, namespace, key in self._checks(account, address):
                self.limiter.clear(item, namespace, key)


@contextmanager
def _storage_errors() -> Iterator[None]:
    try:
        yield
    except StorageError as exc:
        log.error("Rate-limit storage unavailable: %s", exc.storage_error)
        raise RateLimitUnavailable() from exc


def normalise_account(account: str) -> str:
    """Return the key an account's failures are counted under."""
    return account.strip().lower()[:320]


def _parse_limit(text: str, option: str) -> RateLimitItem:
    try:
        return parse(text)
    except ValueError as exc:
        raise ConfigError(f"{option}: not a rate limit like 5/15minutes: {text!r}") from exc


def _storage(uri: str):
    scheme = urlsplit(uri).scheme.lower()
    options: dict[str, float] = {}
    if scheme in REDIS_SCHEMES:
        options = {
            "socket_timeout": REDIS_TIMEOUT_SECONDS,
            "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        }
    try:
        return storage_from_string(uri, wrap_exceptions=True, **options)
    except Exception as exc:  # limits raises ConfigurationError, ImportError, ValueError...
        raise ConfigError(
            f"[security] rate_limit_storage: cannot use {_without_password(uri)!r}: {exc}"
        ) from exc


def _without_password(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return uri


def init_app(app: Flask) -> None:
    """Build the app's limiter from [security] (ConfigError when a value is unusable)."""
    app.extensions[EXTENSION_KEY] = LoginLimiter(
        app.config["RATE_LIMIT_STORAGE"],
        app.config["LOGIN_FAILURES_PER_ACCOUNT"],
        app.config["LOGIN_FAILURES_PER_ADDRESS"],
    )


def limiter() -> LoginLimiter:
    """Return the current app's login limiter."""
    return current_app.extensions[EXTENSION_KEY]


def check_login(account: str) -> None:
    """Refuse (429) a credential check for this account from this client if over a limit."""
    limiter().check(account, client_address())


def record_failure(account: str) -> None:
    """Count a failed credential check for this account from this client."""
    limiter().failed(account, client_address())
