"""What a non-global admin may set on a mail user: its mailbox path and its transport.

A mailbox path decides which files Dovecot serves to the user and where new mail
is delivered, so a path into another mailbox hands that mailbox over. A non-global
admin may only place a mailbox inside its domain's own directory below a storage
base (`<base>/<domain>/`, hashed as configured), never on the domain directory
itself, never on or in another user's mailbox, and never around the mailbox of
another user of its domain.
Paths are compared as written and, where the storage exists on this host, with
symlinks resolved.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from typing import Any

from ...ldap import Directory
from ...ldap import attrs as A
from ...ldap import domain_of
from ...ldap import filters as F
from ..domains.domain import get_domain_entry
from .maildir import domain_prefix
from .maildir import storage_base_of
from .view import maildir_of

MAILBOX_ATTRIBUTES = ["mail", "homeDirectory", "storageBaseDirectory", "mailMessageStore"]


def path_forms(path: str) -> tuple[str, str]:
    """Return a path normalised as written and with the symlinks this host knows resolved."""
    written = posixpath.normpath(path)
    return written, os.path.realpath(written)


def is_below(path: str, directory: str) -> bool:
    """Tell whether a normalised path lies strictly below a directory."""
    return path.startswith(directory.rstrip("/") + "/")


def domain_mail_roots(domain: str, config: dict[str, Any], domain_base: str | None) -> list[str]:
    """Return the directories holding a domain's mailboxes: one per storage base (none unprefixed)."""
    if not config["MAILDIR_PREPEND_DOMAIN"]:
        return []
    prefix = domain_prefix(domain, config["MAILDIR_DOMAIN_HASHED"])
    bases = dict.fromkeys(b for b in (domain_base, config["STORAGE_BASE_DIRECTORY"]) if b)
    return [posixpath.normpath(posixpath.join(base, prefix)) for base in bases]


def maildir_refusal(
    directory: Directory, mail: str, paths: Iterable[str], config: dict[str, Any]
) -> str | None:
    """Return why a non-global admin may not give `mail` one of these mailbox paths, or None."""
    domain = domain_of(mail)
    roots = domain_mail_roots(domain, config, storage_base_of(get_domain_entry(directory, domain)))
    if not roots:
        return "Only a global admin may set mailbox paths here: they carry no domain directory."
    root_forms = [path_forms(root) for root in roots]
    forms: set[str] = set()
    for path in paths:
        written, real = path_forms(path)
        if not any(is_below(written, w) and is_below(real, r) for w, r in root_forms):
            inside = " or ".join(f"{root}/" for root in roots)
            return f"Only a global admin may place a mailbox outside {inside} (the domain's)."
        forms |= {written, real}
    owner = overlapping_mailbox(directory, domain, mail, forms)
    if owner:
        return f"Only a global admin may place a mailbox on, in or around {owner}'s mailbox."
    return None


def overlapping_mailbox(
    directory: Directory, domain: str, mail: str, forms: set[str]
) -> str | None:
    """Return another user whose mailbox is, holds or lies in one of the paths.

    Any user's mailbox at one of the paths or above it is found by one indexed
    equality search. homeDirectory has no substring matching rule, so mailboxes
    below the paths are looked for among the domain's users only: their paths are
    read (paged, four attributes each) and compared here.
    """
    above = F.and_(F.object_class(A.OC_USER), F.any_of("homeDirectory", _with_ancestors(forms)))
    for entry in directory.search(directory.dn.domains, above, ["mail"]):
        other = (entry.first("mail") or "").lower()
        if other != mail:
            return other
    for entry in directory.search(
        directory.dn.users(domain), F.object_class(A.OC_USER), MAILBOX_ATTRIBUTES
    ):
        other = (entry.first("mail") or "").lower()
        home = maildir_of(entry)
        if other == mail or not home:
            continue
        for taken in set(path_forms(home)):
            if any(p == taken or is_below(p, taken) or is_below(taken, p) for p in forms):
                return other
    return None


def _with_ancestors(paths: Iterable[str]) -> list[str]:
    """Return the paths and every directory above them, each with and without a final '/'."""
    found: set[str] = set()
    for path in paths:
        while path.strip("/"):
            found |= {path, path + "/"}
            path = posixpath.dirname(path)
    return sorted(found)


def allowed_transports(config: dict[str, Any]) -> frozenset[str]:
    """Return the transports non-global admins may set on users ([api] domain_admin_transports)."""
    return frozenset(config["DOMAIN_ADMIN_TRANSPORTS"].replace(",", " ").split())


def transport_refusal(values: Iterable[str], config: dict[str, Any]) -> str | None:
    """Return why a non-global admin may not set these user transports, or None.

    An empty value removes the user's own transport, so the domain's (set by a
    global admin) applies again: always allowed.
    """
    allowed = allowed_transports(config)
    if all(not value or value in allowed for value in values):
        return None
    if not allowed:
        return "Only a global admin may set a transport (an empty value removes it)."
    return f"Only a global admin may set a transport other than: {', '.join(sorted(allowed))}."
