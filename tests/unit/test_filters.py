"""Filter builders: hostile values are escaped; wildcards only when asked for."""

from __future__ import annotations

import re

import pytest
from ldap3.operation.search import parse_filter

from iredapi_ldap.errors import ValidationFailed
from iredapi_ldap.ldap import filters as F

HOSTILE = [
    "*",
    "*)(uid=*",
    "*)(|(objectClass=*",
    "a,b+c",
    "#lead",
    " lead",
    "trail ",
    "back\\slash",
    "a=b",
    "(",
    ")",
    "münchen",
    "\\2a",
]
# An escaped assertion value: no bare *, (, ), \ or NUL; only \XX hex escapes.
SAFE_VALUE = re.compile(r"^(?:[^*()\\\x00]|\\[0-9a-f]{2})*$")


def assertion_count(text: str) -> int:
    """Return how many simple assertions ldap3's own parser finds in a filter."""
    root = parse_filter(text, None, False, False, None, False)
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.elements)
        if node.assertion:
            count += 1
    return count


def unescape_filter_value(text: str) -> str:
    """Decode \\XX escapes (UTF-8) back to the original value."""
    return re.sub(
        rb"\\([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode()
    ).decode()


@pytest.mark.parametrize("value", HOSTILE)
def test_eq_escapes_every_special_character(value):
    """eq() yields one equality assertion whose value decodes back to the input."""
    text = F.eq("mail", value)
    assert text.startswith("(mail=") and text.endswith(")")
    inner = text[len("(mail=") : -1]
    assert SAFE_VALUE.match(inner), inner
    assert unescape_filter_value(inner) == value
    assert assertion_count(text) == 1


@pytest.mark.parametrize("value", HOSTILE)
def test_contains_keeps_only_its_own_wildcards(value):
    """contains() wraps the escaped value in exactly two wildcards."""
    text = F.contains("cn", value)
    inner = text[len("(cn=*") : -len("*)")]
    assert text == f"(cn=*{inner}*)"
    assert SAFE_VALUE.match(inner), inner
    assert assertion_count(text) == 1


@pytest.mark.parametrize(
    "value, expected",
    [
        ("*", "\\2a"),
        ("*)(uid=*", "\\2a\\29\\28uid=\\2a"),
        ("\\", "\\5c"),
        ("(x)", "\\28x\\29"),
        ("münchen", "münchen"),
        ("a=b,c+d#", "a=b,c+d#"),
    ],
)
def test_escape_value_exact(value, expected):
    """escape_value gives the RFC 4515 form."""
    assert F.escape_value(value) == expected


def test_wildcards_only_when_allowed():
    """`*` is a wildcard only with allow_wildcards=True; other specials stay escaped."""
    assert F.escape_value("a*b(") == "a\\2ab\\28"
    assert F.escape_value("a*b(", allow_wildcards=True) == "a*b\\28"
    assert F.escape_value("*)(x=*", allow_wildcards=True) == "*\\29\\28x=*"


def test_combinators():
    """and_/or_/not_/any_of build well-formed filters; one part stays as is."""
    a, b = F.eq("a", "1"), F.eq("b", "2")
    assert F.and_(a) == a
    assert F.or_(a) == a
    assert F.and_(a, b) == "(&(a=1)(b=2))"
    assert F.or_(a, b) == "(|(a=1)(b=2))"
    assert F.not_(a) == "(!(a=1))"
    assert F.any_of("mail", ["x@a.com", "*"]) == "(|(mail=x@a.com)(mail=\\2a))"
    assert F.any_of("mail", ["x@a.com"]) == "(mail=x@a.com)"
    assert F.present("domainStatus") == "(domainStatus=*)"
    assert F.object_class("mailUser") == "(objectClass=mailUser)"
    assert F.everything() == "(objectClass=*)"
    assert assertion_count(F.and_(a, F.not_(F.any_of("c", HOSTILE)))) == 1 + len(HOSTILE)


def test_any_of_needs_a_value():
    """any_of() with no values is a programming error, not an empty filter."""
    with pytest.raises(ValueError):
        F.any_of("mail", [])


@pytest.mark.parametrize(
    "build",
    [
        lambda v: F.eq("domainName", v),
        lambda v: F.contains("cn", v),
        lambda v: F.any_of("mail", ["ok@x.org", v]),
        lambda v: F.escape_value(v, allow_wildcards=True),
    ],
)
def test_nul_is_refused(build):
    """A NUL never reaches slapd, whose IA5 matching would stop at it (400, not a wider match)."""
    with pytest.raises(ValidationFailed):
        build("a.com\x00x")
