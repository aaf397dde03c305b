"""Every LDAP filter the API uses is built here, with values escaped per RFC 4515."""

from __future__ import annotations

from collections.abc import Iterable

from ldap3.utils.conv import escape_filter_chars

from .. import errors


def escape_value(value: str, allow_wildcards: bool = False) -> str:
    """Escape a filter assertion value; `*` stays a wildcard only when asked."""
    if "\x00" in value:
        # slapd's IA5 matching stops at a NUL: (domainName=a.com\00x) matches a.com.
        raise errors.ValidationFailed("A search value must not contain a NUL character.")
    if not allow_wildcards:
        return escape_filter_chars(value)
    return "*".join(escape_filter_chars(part) for part in value.split("*"))


def eq(attribute: str, value: str) -> str:
    """Return an equality filter."""
    return f"({attribute}={escape_value(value)})"


def contains(attribute: str, value: str) -> str:
    """Return a substring filter matching `value` anywhere in the attribute."""
    return f"({attribute}=*{escape_value(value)}*)"


def starts_with(attribute: str, prefix: str) -> str:
    """Return a substring filter matching values that begin with `prefix`."""
    if not prefix:
        raise ValueError("starts_with needs a non-empty prefix")
    return f"({attribute}={escape_value(prefix)}*)"


def present(attribute: str) -> str:
    """Return a presence filter."""
    return f"({attribute}=*)"


def object_class(name: str) -> str:
    """Return an objectClass equality filter."""
    return eq("objectClass", name)


def and_(*parts: str) -> str:
    """Combine filters with AND (a single part is returned as is)."""
    return parts[0] if len(parts) == 1 else f"(&{''.join(parts)})"


def or_(*parts: str) -> str:
    """Combine filters with OR (a single part is returned as is)."""
    return parts[0] if len(parts) == 1 else f"(|{''.join(parts)})"


def not_(part: str) -> str:
    """Negate a filter."""
    return f"(!{part})"


def any_of(attribute: str, values: Iterable[str]) -> str:
    """Return a filter matching any of the values."""
    parts = [eq(attribute, value) for value in values]
    if not parts:
        raise ValueError("any_of needs at least one value")
    return or_(*parts)


def everything() -> str:
    """Return the filter that matches every entry."""
    return "(objectClass=*)"
