"""API tokens kept as accountSetting values on their admin's own entry.

A client gets `iredapi_<id>_<secret>` once: <id> is 16 hex digits, <secret> 43 base64url
characters (256 random bits). The directory keeps one `accountSetting` value per token on
the owning admin's entry (mailAdmin, or a mail user with enabledService=domainadmin), so
every API node behind a load balancer accepts it:

    apiToken:<id>:sha256=<hex>;created=<epoch>;expires=<epoch, 0 = never>;access=<ro|rw>;ips=<cidr,cidr>;name=<base64url>

After `<id>:` the fields are `;`-separated key=value pairs (IPv6 networks contain colons);
unknown keys are ignored so later versions can add some. The name is base64url because
accountSetting is IA5 (ASCII) and the label is free text. How a presented token is
checked is security/tokens.py's part.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import Any

from ...errors import NotFound
from ...errors import ValidationFailed
from ...identity import CurrentAdmin
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import StaleValue
from ...ldap import attrs as A
from ...ldap import filters as F
from ...sqlstore import get_store
from .login import is_admin_entry
from .login import load_login_admin
from .login import login_entries
from .login import reload_admin
from .view import TOKEN_VIEW

SETTING_KEY = "apiToken"
TOKEN_PREFIX = "iredapi_"
ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")
ATTRIBUTE = "accountSetting"
MAX_TOKENS_PER_ADMIN = 20


@dataclass(frozen=True)
class TokenRecord:
    """One stored token: everything but the secret, plus the secret's SHA-256."""

    id: str
    digest: str
    created: int
    expires: int = 0
    read_only: bool = False
    allowed_ips: tuple[str, ...] = ()
    name: str = ""
    stored: str = field(default="", compare=False)

    def encode(self) -> str:
        """Return the accountSetting value for this token."""
        label = base64.urlsafe_b64encode(self.name.encode()).decode().rstrip("=")
        fields = (
            f"sha256={self.digest}",
            f"created={self.created}",
            f"expires={self.expires}",
            f"access={'ro' if self.read_only else 'rw'}",
            f"ips={','.join(self.allowed_ips)}",
            f"name={label}",
        )
        return f"{SETTING_KEY}:{self.id}:{';'.join(fields)}"

    @classmethod
    def decode(cls, value: str) -> TokenRecord | None:
        """Parse an accountSetting value; None when it is not a well-formed token."""
        key, sep, rest = value.partition(":")
        if not sep or key.lower() != SETTING_KEY.lower():
            return None
        token_id, sep, body = rest.partition(":")
        if not sep or not ID_PATTERN.match(token_id):
            return None
        parts = dict(item.partition("=")[::2] for item in body.split(";") if item)
        digest = parts.get("sha256", "").lower()
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            return None
        try:
            created = int(parts.get("created") or 0)
            expires = int(parts.get("expires") or 0)
            label = parts.get("name", "")
            name = base64.urlsafe_b64decode(label + "=" * (-len(label) % 4)).decode()
        except ValueError:
            return None
        ips = tuple(ip for ip in parts.get("ips", "").split(",") if ip)
        read_only = parts.get("access", "rw").lower() != "rw"
        return cls(token_id, digest, created, expires, read_only, ips, name, stored=value)

    def expired(self, now: float | None = None) -> bool:
        """Tell whether the token is past its expiry time."""
        return bool(self.expires) and (time.time() if now is None else now) >= self.expires


def digest_of(secret: str) -> str:
    """Return the SHA-256 hex digest of a token secret.

    A plain hash is enough here: the secret is 256 random bits, so there is no dictionary
    to try and brute force is hopeless, while a slow password hash (bcrypt, SSHA512 rounds)
    would spend CPU on every uncached API request for no gain.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token(
    name: str, expires: int, read_only: bool, allowed_ips: list[str]
) -> tuple[TokenRecord, str]:
    """Create a token; return its record and the string shown to the client once."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    record = TokenRecord(
        token_id, digest_of(secret), int(time.time()), expires, read_only, tuple(allowed_ips), name
    )
    return replace(record, stored=record.encode()), f"{TOKEN_PREFIX}{token_id}_{secret}"


def _prefix(token_id: str) -> str:
    return f"{SETTING_KEY}:{token_id}:"


def tokens_of(entry: Entry) -> list[TokenRecord]:
    """Return the well-formed tokens stored on an entry, oldest first."""
    records = [TokenRecord.decode(value) for value in entry.all(ATTRIBUTE)]
    return sorted((r for r in records if r is not None), key=lambda r: (r.created, r.id))


def find_token(
    directory: Directory, token_id: str
) -> tuple[TokenRecord, CurrentAdmin | None] | None:
    """Find a token by id: its record and its admin (None when the admin may not log in)."""
    has_token = F.starts_with(ATTRIBUTE, _prefix(token_id))
    # Both searches are narrowed by indexed terms (objectClass, enabledService), so the
    # unindexed accountSetting substring only runs over admin entries.
    searches = (
        (directory.dn.admins, F.and_(F.object_class(A.OC_ADMIN), has_token), "one"),
        (
            directory.dn.domains,
            F.and_(F.object_class(A.OC_USER), F.eq("enabledService", "domainadmin"), has_token),
            "sub",
        ),
    )
    for base, search_filter, scope in searches:
        entry = directory.search_one(base, search_filter, ["mail", ATTRIBUTE], scope=scope)
        if entry is None:
            continue
        record = next((r for r in tokens_of(entry) if r.id == token_id), None)
        if record is None:
            continue
        admin = load_login_admin(directory, (entry.first("mail") or "").lower())
        if admin is not None and admin.dn.lower() != entry.dn.lower():
            admin = None
        return record, admin
    return None


def recheck_token(
    directory: Directory, record: TokenRecord, admin: CurrentAdmin
) -> tuple[TokenRecord, CurrentAdmin] | None:
    """Re-read a cached token's admin by DN; None once the token is gone or the admin may not act.

    The admin's role and restrictions come from the entry just read; its managed domains
    from the cache, unless its global flag changed (then they are looked up when needed).
    """
    found = reload_admin(directory, admin.dn)
    if found is None:
        return None
    fresh, entry = found
    current = next((r for r in tokens_of(entry) if r.id == record.id), None)
    if current is None or current.digest != record.digest:
        return None
    fresh.domains = admin.domains if fresh.is_global == admin.is_global else None
    return current, fresh


def admin_entry(directory: Directory, mail: str) -> Entry:
    """Return the entry of an admin (mail user admin first, as iRedAdmin); 404 otherwise."""
    for entry in login_entries(directory, mail):
        if is_admin_entry(entry):
            return entry
    raise NotFound("No such admin.", code="NO_SUCH_ACCOUNT")


NEVER_USED = {"last_used": None, "last_used_from": None}


def list_tokens(directory: Directory, mail: str) -> list[dict[str, Any]]:
    """Return an admin's tokens as listings show them, with when and from where each was last used."""
    records = tokens_of(admin_entry(directory, mail))
    used = get_store().token_usage.last_uses(record.id for record in records)
    return [TOKEN_VIEW.read(record, used.get(record.id, NEVER_USED)) for record in records]


def create_token(
    directory: Directory,
    mail: str,
    name: str,
    expires: int,
    read_only: bool,
    allowed_ips: list[str],
) -> dict[str, Any]:
    """Store a new token on the admin's entry; the answer holds the secret, shown once."""
    entry = admin_entry(directory, mail)
    if len(tokens_of(entry)) >= MAX_TOKENS_PER_ADMIN:
        raise ValidationFailed(
            f"An admin may hold at most {MAX_TOKENS_PER_ADMIN} tokens; revoke one first.",
            code="TOO_MANY_TOKENS",
            errors={"mail": [f"At most {MAX_TOKENS_PER_ADMIN} tokens."]},
        )
    record, token = new_token(name, expires, read_only, allowed_ips)
    directory.modify(entry.dn, {ATTRIBUTE: ("add", [record.stored])})
    return {**TOKEN_VIEW.read(record, NEVER_USED), "token": token}


def revoke_token(directory: Directory, mail: str, token_id: str) -> TokenRecord:
    """Remove one token of an admin; 404 NO_SUCH_TOKEN when it is not there."""
    entry = admin_entry(directory, mail)
    record = next((r for r in tokens_of(entry) if r.id == token_id), None)
    if record is None:
        raise NotFound("No such token.", code="NO_SUCH_TOKEN")
    try:
        # The exact stored value is deleted, so a concurrent revoke fails here instead of
        # silently succeeding twice.
        directory.modify(entry.dn, {ATTRIBUTE: ("delete", [record.stored])})
    except StaleValue as exc:
        raise NotFound("No such token.", code="NO_SUCH_TOKEN") from exc
    return record
