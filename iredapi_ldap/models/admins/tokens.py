"""API tokens kept as accountSetting values on their admin's own entry."""

from __future__ import annotations

from typing import Any

from ...auth import CurrentAdmin
from ...errors import NotFound
from ...errors import ValidationFailed
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import StaleValue
from ...ldap import attrs as A
from ...ldap import filters as F
from ...security.token_usage import last_uses
from ...security.tokens import SETTING_KEY
from ...security.tokens import TokenRecord
from ...security.tokens import new_token
from .view import TOKEN_VIEW

ATTRIBUTE = "accountSetting"
MAX_TOKENS_PER_ADMIN = 20


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
    from .login import load_login_admin

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
    from .login import reload_admin

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
    from .login import is_admin_entry
    from .login import login_entries

    for entry in login_entries(directory, mail):
        if is_admin_entry(entry):
            return entry
    raise NotFound("No such admin.", code="NO_SUCH_ACCOUNT")


NEVER_USED = {"last_used": None, "last_used_from": None}


def list_tokens(directory: Directory, mail: str) -> list[dict[str, Any]]:
    """Return an admin's tokens as listings show them, with when and from where each was last used."""
    records = tokens_of(admin_entry(directory, mail))
    used = last_uses(record.id for record in records)
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
