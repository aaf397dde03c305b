"""API tokens: how a presented token is checked, and a short per-process cache.

The format of a token and of its stored record is models/admins/tokens.py's.

Each worker caches where a verified token is stored, and its admin's managed domains, for
[security] token_cache_seconds (default 5); every request still re-reads the admin's entry
(one base read), so a revoked token, or a disabled, locked, demoted or deleted admin, is
refused on every worker and node from the moment the directory holds the change.
"""

from __future__ import annotations

import copy
import hmac
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask import Request
from flask import Response
from flask import current_app
from flask import g
from flask import request

from ..config import ConfigError
from ..errors import Forbidden
from ..errors import InvalidCredentials
from ..ldap import get_directory
from ..models.admins.tokens import TokenRecord
from ..models.admins.tokens import digest_of
from ..models.admins.tokens import find_token
from ..models.admins.tokens import recheck_token
from . import ratelimit
from .client import client_ip
from .client import in_networks
from .client import parse_networks
from .token_usage import note_use

TOKEN_PATTERN = re.compile(r"^iredapi_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EXTENSION_KEY = "iredapi_ldap_token_cache"
CACHE_ENTRIES = 1024
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="iredapi-ldap"'}


def split_token(text: str) -> tuple[str, str] | None:
    """Return (id, secret) of a well-formed token string, else None."""
    match = TOKEN_PATTERN.match(text.strip()) if len(text) < 128 else None
    return (match.group(1), match.group(2)) if match else None


@dataclass
class _Cached:
    record: TokenRecord
    admin: Any
    until: float


class TokenCache:
    """Verified tokens of this worker, each trusted for a few seconds; bounded in size."""

    def __init__(self, ttl: int, size: int = CACHE_ENTRIES) -> None:
        self.ttl = max(0, ttl)
        self.size = size
        self._items: OrderedDict[str, _Cached] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token_id: str) -> tuple[TokenRecord, Any] | None:
        """Return a fresh (record, admin) for the id, or None."""
        with self._lock:
            item = self._items.get(token_id)
            if item is None:
                return None
            if item.until <= time.monotonic():
                del self._items[token_id]
                return None
            # A copy: a request may change its admin object; the cached one must not change.
            return item.record, copy.copy(item.admin)

    def put(self, record: TokenRecord, admin: Any) -> None:
        """Remember a verified token for ttl seconds."""
        if not self.ttl:
            return
        with self._lock:
            self._items[record.id] = _Cached(record, admin, time.monotonic() + self.ttl)
            self._items.move_to_end(record.id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def forget(self, token_id: str) -> None:
        """Drop one token (revoked here)."""
        with self._lock:
            self._items.pop(token_id, None)

    def forget_admin(self, mail: str) -> None:
        """Drop every token of an admin (disabled, deleted or renamed here)."""
        self._forget(lambda admin_mail: admin_mail == mail.strip().lower())

    def forget_domain(self, domain: str) -> None:
        """Drop every token of the mail-user admins of a domain (disabled or deleted here)."""
        suffix = "@" + domain.strip().lower()
        self._forget(lambda admin_mail: admin_mail.endswith(suffix))

    def _forget(self, matches: Any) -> None:
        with self._lock:
            for token_id in [k for k, v in self._items.items() if matches(v.admin.mail)]:
                del self._items[token_id]


def init_app(app: Flask) -> None:
    """Give the app its token cache (forget_changed_admins empties it of changed admins)."""
    app.extensions[EXTENSION_KEY] = TokenCache(int(app.config["TOKEN_CACHE_SECONDS"]))


def forget_changed_admins(response: Response) -> Response:
    """after_request: drop the cached tokens of admins and domains a write here changed."""
    # Revocation needs no help (each request re-reads the admin's entry), but a changed
    # admin (or domain) should not keep its cached managed domains on this node.
    if request.method in READ_METHODS or response.status_code >= 400:
        return response
    view_args = request.view_args or {}
    cache = token_cache()
    # Paths may carry any case; cached entries are keyed by the lower-cased address.
    if isinstance(view_args.get("mail"), str):
        cache.forget_admin(view_args["mail"].strip().lower())
    if isinstance(view_args.get("domain"), str):
        cache.forget_domain(view_args["domain"].strip().lower().rstrip("."))
    return response


def token_cache() -> TokenCache:
    """Return the current app's token cache."""
    return current_app.extensions[EXTENSION_KEY]


def current_token() -> TokenRecord | None:
    """Return the token this request authenticated with, if any."""
    return g.get("_iredapi_token")


def admin_from_request(request: Request) -> Any:
    """flask-login request loader: the admin of a Bearer or Basic (email:token) header."""
    header = request.headers.get("Authorization", "")
    scheme = header.strip().partition(" ")[0].lower()
    if scheme == "bearer":
        claimed, presented = None, header.strip().partition(" ")[2].strip()
    elif scheme == "basic":
        credentials = request.authorization
        if credentials is None or not credentials.username:
            raise InvalidCredentials(headers=CHALLENGE)
        claimed, presented = credentials.username, credentials.password or ""
    else:
        return None
    parsed = split_token(presented)
    account = claimed or (f"token:{parsed[0]}" if parsed else "token:malformed")
    attempt = ratelimit.check_login(account)
    admin, record = _verify(parsed, claimed)
    if admin is None:
        attempt.failed()
        raise InvalidCredentials(headers=CHALLENGE)
    _enforce(record, request.method)
    attempt.succeeded(admin.mail)
    g._iredapi_token = record
    note_use(record.id)
    return admin


def _verify(parsed: tuple[str, str] | None, claimed: str | None) -> tuple[Any, Any]:
    if parsed is None:
        return None, None
    token_id, secret = parsed
    cache = token_cache()
    found = cache.get(token_id)
    if found is not None:
        # The cache saves the search for the token and the admin's domains, never the
        # check that the token is still stored and its admin may still act: one base read.
        found = recheck_token(get_directory(), *found)
        if found is None:
            cache.forget(token_id)
    else:
        found = find_token(get_directory(), token_id)
        if found is not None and found[1] is not None:
            cache.put(*found)
    if found is None:
        return None, None
    record, admin = found
    if not hmac.compare_digest(digest_of(secret), record.digest) or admin is None:
        return None, None
    if claimed is not None and claimed.strip().lower() != admin.mail:
        return None, None
    return admin, record


def _enforce(record: TokenRecord, method: str) -> None:
    if record.expired():
        raise InvalidCredentials(
            "The API token has expired.", code="TOKEN_EXPIRED", headers=CHALLENGE
        )
    if record.allowed_ips:
        if not in_networks(client_ip(), _networks(record.allowed_ips)):
            raise Forbidden("This token may not be used from this address.", code="NOT_AUTHORIZED")
    if record.read_only and method.upper() not in READ_METHODS:
        raise Forbidden("This token is read-only.", code="READ_ONLY_TOKEN")


def _networks(texts: tuple[str, ...]) -> tuple[Any, ...]:
    # A value edited by hand into something unparsable allows nothing (fail closed).
    networks: list[Any] = []
    for text in texts:
        try:
            networks.extend(parse_networks(text, "apiToken ips"))
        except ConfigError:
            continue
    return tuple(networks)
