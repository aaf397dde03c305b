"""Brute-force protection: failed logins counted per account and per client address.

The per-address limit always applies. The per-account limit throttles the guesser, not the
owner: a client that has logged in to the account before, from the same address or with a
device cookie (device_cookie.py) for it, is not blocked by it, but by a limit of its own,
keyed by that address or device, of the same size.

Both the failures and the trusted clients live in `[security] rate_limit_storage`: by
default a SQLite file that every worker of the host shares (sqlstore/ratelimit.py), or
Redis for several hosts; `memory://` counts per process.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask
from flask import current_app
from limits import RateLimitItem
from limits import RateLimitItemPerDay
from limits import parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from limits.strategies import MovingWindowRateLimiter

from ..config import ConfigError
from ..errors import ApiError
from ..errors import TooManyRequests
from ..sqlstore import resolve_storage_uri
from . import device_cookie
from .client import client_address
from .token_usage import Recent

log = logging.getLogger(__name__)

EXTENSION_KEY = "iredapi_ldap_ratelimit"
ACCOUNT_NAMESPACE = "iredapi-login-account"
ADDRESS_NAMESPACE = "iredapi-login-address"
# Failures of a trusted client (a known address or a device cookie) for one account.
TRUSTED_NAMESPACE = "iredapi-login-trusted"
# (account, address) pairs that logged in successfully within trusted_client_days.
KNOWN_NAMESPACE = "iredapi-login-known"
# A worker writes the same known pair at most this often (token requests succeed a lot).
REMEMBER_EVERY_SECONDS = 3600
REDIS_SCHEMES = ("redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster")
# A hung Redis must not hang every login; it answers in microseconds when healthy.
REDIS_TIMEOUT_SECONDS = 2.0


class RateLimitUnavailable(ApiError):
    """The shared rate-limit storage cannot be reached (503); logins are refused meanwhile."""

    status = 503
    code = "RATE_LIMIT_STORAGE_UNAVAILABLE"
    detail = "The login rate limiter is unavailable; try again later."


class LoginLimiter:
    """Counts failures only; once a limit is reached every attempt it covers answers 429."""

    def __init__(
        self, storage_uri: str, per_account: str, per_address: str, trusted_days: int = 0
    ) -> None:
        self.per_account = _parse_limit(per_account, "[security] login_failures_per_account")
        self.per_address = _parse_limit(per_address, "[security] login_failures_per_address")
        self.storage_uri = storage_uri
        storage = _storage(storage_uri)
        self.limiter = MovingWindowRateLimiter(storage)
        # A fixed window of one hit is a flag that expires: "this pair logged in before".
        self.successes = FixedWindowRateLimiter(storage)
        self.trusted_days = max(0, trusted_days)
        self.known = RateLimitItemPerDay(1, self.trusted_days or 1)
        self.remembered = Recent(REMEMBER_EVERY_SECONDS)

    def attempt(self, account: str, address: str, device: str | None = None) -> LoginAttempt:
        """Return the attempt of a client (address, device cookie nonce) on an account."""
        return LoginAttempt(self, normalise_account(account), address, device)

    def clear(self, account: str, address: str) -> None:
        """Forget the failures of an account and an address (tests, admin tooling)."""
        account = normalise_account(account)
        with _storage_errors():
            self.limiter.clear(self.per_account, ACCOUNT_NAMESPACE, account)
            self.limiter.clear(self.per_address, ADDRESS_NAMESPACE, address)
            self.limiter.clear(self.per_account, TRUSTED_NAMESPACE, account, "address", address)

    def is_known(self, account: str, address: str) -> bool:
        """Tell whether this address logged in to the account within trusted_client_days."""
        if not self.trusted_days:
            return False
        return not self.successes.test(self.known, KNOWN_NAMESPACE, account, address)

    def remember(self, account: str, address: str) -> None:
        """Note a successful login of the account from the address (renewed past half its time)."""
        if not self.trusted_days or not self.remembered.due((account, address)):
            return
        keys = (self.known, KNOWN_NAMESPACE, account, address)
        with _storage_errors():
            stats = self.successes.get_window_stats(*keys)
            if stats.remaining == 0:
                if stats.reset_time - time.time() > self.trusted_days * 86400 / 2:
                    return
                self.successes.clear(*keys)
            self.successes.hit(*keys)


@dataclass
class LoginAttempt:
    """One credential check: what limits it, and where its failure or success is counted."""

    owner: LoginLimiter
    account: str
    address: str
    device: str | None = None

    def trusted_key(self) -> tuple[str, str] | None:
        """Return ("device", nonce) or ("address", address) for a trusted client, else None."""
        if self.device and self.owner.trusted_days:
            return ("device", self.device)
        if self.owner.is_known(self.account, self.address):
            return ("address", self.address)
        return None

    def check(self) -> None:
        """Raise 429 with Retry-After when this attempt is over a limit that covers it."""
        limiter = self.owner.limiter
        blocked = []
        with _storage_errors():
            if not limiter.test(self.owner.per_address, ADDRESS_NAMESPACE, self.address):
                blocked.append((self.owner.per_address, ADDRESS_NAMESPACE, self.address))
            account = (self.owner.per_account, ACCOUNT_NAMESPACE, self.account)
            if not limiter.test(*account):
                # Asked only then, so a request under the limits costs no extra lookup.
                trusted = self.trusted_key()
                if trusted is not None:
                    account = (self.owner.per_account, TRUSTED_NAMESPACE, self.account, *trusted)
                if trusted is None or not limiter.test(*account):
                    blocked.append(account)
            waits = [
                max(1, math.ceil(limiter.get_window_stats(*keys).reset_time - time.time()))
                for keys in blocked
            ]
        if waits:
            retry_after = max(waits)
            raise TooManyRequests(
                f"Too many failed logins; try again in {retry_after} seconds.",
                headers={"Retry-After": str(retry_after)},
            )

    def failed(self) -> None:
        """Count a failure against the address, the account and a trusted client's own limit."""
        limiter = self.owner.limiter
        with _storage_errors():
            limiter.hit(self.owner.per_address, ADDRESS_NAMESPACE, self.address)
            limiter.hit(self.owner.per_account, ACCOUNT_NAMESPACE, self.account)
            trusted = self.trusted_key()
            if trusted is not None:
                limiter.hit(self.owner.per_account, TRUSTED_NAMESPACE, self.account, *trusted)

    def succeeded(self, mail: str | None = None, issue_device_cookie: bool = False) -> None:
        """Trust this address for the account (and the admin's address) from now on.

        With `issue_device_cookie`, the answer also carries a new device cookie for the account.
        """
        self.owner.remember(self.account, self.address)
        if mail and normalise_account(mail) != self.account:
            self.owner.remember(normalise_account(mail), self.address)
        if issue_device_cookie and self.owner.trusted_days:
            device_cookie.issue(self.account, self.owner.trusted_days * 86400)


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
    app.config["RATE_LIMIT_STORAGE"] = resolve_storage_uri(app.config["RATE_LIMIT_STORAGE"])
    app.extensions[EXTENSION_KEY] = LoginLimiter(
        app.config["RATE_LIMIT_STORAGE"],
        app.config["LOGIN_FAILURES_PER_ACCOUNT"],
        app.config["LOGIN_FAILURES_PER_ADDRESS"],
        int(app.config["TRUSTED_CLIENT_DAYS"]),
    )


def limiter() -> LoginLimiter:
    """Return the current app's login limiter."""
    return current_app.extensions[EXTENSION_KEY]


def check_login(account: str) -> LoginAttempt:
    """Refuse (429) a credential check for this account from this client if over a limit.

    Return the attempt, to be told whether the credentials were right.
    """
    current = limiter()
    device = None
    if current.trusted_days:
        device = device_cookie.device_of(normalise_account(account), current.trusted_days * 86400)
    attempt = current.attempt(account, client_address(), device)
    attempt.check()
    return attempt
