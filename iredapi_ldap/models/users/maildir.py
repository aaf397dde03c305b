"""Mailbox paths of new users, laid out exactly as iRedAdmin's generate_maildir_path."""

from __future__ import annotations

import posixpath
import time
from typing import Any

from ...ldap import Entry
from ..settings import settings_of


def _hash_chars(username: str) -> list[str]:
    """Return the three hash directories: short names padded with `_`, `.`/`~` made `_`."""
    chars = [username[0]]
    if len(username) == 1:
        chars += ["_", "_"]
    elif len(username) == 2:
        chars += [username[1], "_"]
    else:
        chars += [username[1], username[2]]
    return ["_" if char in (".", "~") else char for char in chars]


def domain_prefix(domain: str, hashed: bool) -> str:
    """Return `<domain>/`, or `<x>/<y>/<domain>/` when domains are hashed."""
    if not hashed:
        return f"{domain}/"
    label = domain.split(".", 1)[0]
    first = label[0]
    second = label[1] if len(label) > 1 and label[1].isalnum() else "_"
    return f"{first}/{second}/{domain}/"


def maildir_path(mail: str, config: dict[str, Any], now: time.struct_time | None = None) -> str:
    """Return the mailbox path relative to the storage base, with a trailing slash."""
    username, domain = mail.lower().split("@", 1)
    timestamp = ""
    if config["MAILDIR_APPEND_TIMESTAMP"]:
        # Local time, as iRedAdmin writes it; tools/delete_mailboxes.py looks for it.
        timestamp = time.strftime("-%Y.%m.%d.%H.%M.%S", now or time.localtime())
    if config["MAILDIR_HASHED"]:
        c1, c2, c3 = _hash_chars(username)
        path = f"{c1}/{c2}/{c3}/{username}{timestamp}/"
    else:
        path = f"{username}{timestamp}/"
    if config["MAILDIR_PREPEND_DOMAIN"]:
        path = domain_prefix(domain, config["MAILDIR_DOMAIN_HASHED"]) + path
    return path


def storage_base_of(domain_entry: Entry) -> str | None:
    """Return the domain's defaultStorageBaseDirectory when it is an absolute path."""
    base = settings_of(domain_entry).get("defaultStorageBaseDirectory")
    return base if isinstance(base, str) and posixpath.isabs(base) else None


def home_directory(
    mail: str,
    config: dict[str, Any],
    base: str | None = None,
    now: time.struct_time | None = None,
) -> str:
    """Return homeDirectory: the storage base (or a domain's own base) joined with the path."""
    storage = (base or config["STORAGE_BASE_DIRECTORY"]).rstrip("/")
    return f"{storage}/{maildir_path(mail, config, now)}"
