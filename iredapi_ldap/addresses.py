"""Domain names and mail addresses: their syntax and the one normal form (a leaf module)."""

from __future__ import annotations

import re

from marshmallow import ValidationError

DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
# iRedAdmin's auth_email local part: no '+', starts with a word char, '-' or '#'.
LOCAL_PART = re.compile(r"^[\w\-#][\w\-.&#]*$", re.ASCII)


def normalise_domain(value: str) -> str:
    """Lower-case a domain name and check its syntax; IDNs must be punycode."""
    domain = value.strip().lower().rstrip(".")
    if not domain or len(domain) > 253 or not domain.isascii():
        raise ValidationError("Not a valid domain name (use punycode for IDNs).")
    labels = domain.split(".")
    if len(labels) < 2 or not all(DOMAIN_LABEL.match(label) for label in labels):
        raise ValidationError("Not a valid domain name.")
    if not TLD.match(labels[-1]):
        raise ValidationError("Not a valid domain name.")
    return domain


def normalise_email(value: str) -> str:
    """Lower-case an address and check it the way iRedAdmin does."""
    address = value.strip().lower()
    local, sep, domain = address.rpartition("@")
    if not sep or not local or len(address) > 320 or not LOCAL_PART.match(local):
        raise ValidationError("Not a valid email address.")
    if local.endswith(".") or ".." in local:
        raise ValidationError("Not a valid email address.")
    normalise_domain(domain)
    return address
