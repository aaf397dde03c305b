"""RFC 4515 filter strings (as filters.py writes them) encoded to the RFC 4511 Filter in BER.

Most filters the API sends are new each time (they name the address being created or
looked up), so caching their encoding does not help; parsing them with ldap3 and
encoding the result with pyasn1 was a tenth of a user create's CPU. This encoder
covers and, or, not, equality, substrings, >=, <=, ~= and presence; anything else
(extensible matches, malformed text) raises Unsupported and goes to ldap3.
"""

from __future__ import annotations

from .tlv import SEQUENCE
from .tlv import octets
from .tlv import tlv

AND, OR, NOT = 0xA0, 0xA1, 0xA2
EQUALITY, SUBSTRINGS, GREATER_OR_EQUAL, LESS_OR_EQUAL = 0xA3, 0xA4, 0xA5, 0xA6
PRESENT, APPROX = 0x87, 0xA8
INITIAL, ANY, FINAL = 0x80, 0x81, 0x82
# The character before "=" that makes an item approximate, >= or <=.
OPERATORS = {"~": APPROX, ">": GREATER_OR_EQUAL, "<": LESS_OR_EQUAL}


class Unsupported(ValueError):
    """The filter uses a form this encoder leaves to ldap3 (or is malformed)."""


def unescape(value: str) -> bytes:
    """Return the bytes of an escaped assertion value (\\XX hex pairs, text as UTF-8)."""
    if "\\" not in value:
        return value.encode("utf-8")
    head, *rest = value.split("\\")
    out = bytearray(head.encode("utf-8"))
    for part in rest:
        if len(part) < 2:
            raise Unsupported("truncated escape")
        try:
            out.append(int(part[:2], 16))
        except ValueError:
            raise Unsupported("bad escape") from None
        out += part[2:].encode("utf-8")
    return bytes(out)


def encode(text: str) -> bytes:
    """Return the BER Filter for a filter string, or raise Unsupported."""
    encoded, end = _filter(text, 0)
    if end != len(text):
        raise Unsupported("text after the filter")
    return encoded


def _filter(text: str, start: int) -> tuple[bytes, int]:
    """Encode the parenthesised filter at `start`; return it and the index after it."""
    if text[start : start + 1] != "(":
        raise Unsupported("expected (")
    kind = text[start + 1 : start + 2]
    if kind in ("&", "|"):
        parts, index = [], start + 2
        while text[index : index + 1] == "(":
            part, index = _filter(text, index)
            parts.append(part)
        if not parts or text[index : index + 1] != ")":
            raise Unsupported("bad and/or")
        return tlv(AND if kind == "&" else OR, b"".join(parts)), index + 1
    if kind == "!":
        inner, index = _filter(text, start + 2)
        if text[index : index + 1] != ")":
            raise Unsupported("bad not")
        return tlv(NOT, inner), index + 1
    end = text.find(")", start)
    if end < 0:
        raise Unsupported("unclosed item")
    return _item(text[start + 1 : end]), end + 1


def _item(item: str) -> bytes:
    equals = item.find("=")
    tag = OPERATORS.get(item[equals - 1 : equals], EQUALITY) if equals > 0 else None
    if tag is None:
        raise Unsupported("no operator")
    attribute = item[: equals - 1] if tag != EQUALITY else item[:equals]
    value = item[equals + 1 :]
    if not attribute.replace("-", "").replace(".", "").replace(";", "").isalnum() or "(" in value:
        raise Unsupported("extensible match or odd attribute")
    name = attribute.encode("ascii")
    if tag != EQUALITY or "*" not in value:
        return tlv(tag, octets(name) + octets(unescape(value)))
    if value == "*":
        return tlv(PRESENT, name)
    pieces = value.split("*")
    parts = []
    if pieces[0]:
        parts.append(tlv(INITIAL, unescape(pieces[0])))
    parts += [tlv(ANY, unescape(piece)) for piece in pieces[1:-1] if piece]
    if pieces[-1]:
        parts.append(tlv(FINAL, unescape(pieces[-1])))
    return tlv(SUBSTRINGS, octets(name) + tlv(SEQUENCE, b"".join(parts)))
