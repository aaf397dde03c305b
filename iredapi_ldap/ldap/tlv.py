"""BER primitives (X.690 tag-length-value) shared by ber.py and filter_ber.py."""

from __future__ import annotations

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
OCTET_STRING = 0x04
ENUMERATED = 0x0A
BOOLEAN = 0x01


def tlv(tag: int, content: bytes) -> bytes:
    """Return one BER element: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def integer(value: int, tag: int = INTEGER) -> bytes:
    """Return a (non-negative) INTEGER or ENUMERATED in the fewest octets."""
    return tlv(tag, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def octets(value: str | bytes) -> bytes:
    """Return an OCTET STRING (text is sent as UTF-8)."""
    return tlv(OCTET_STRING, value if isinstance(value, bytes) else value.encode("utf-8"))


def boolean(value: bool) -> bytes:
    """Return a BOOLEAN."""
    return tlv(BOOLEAN, b"\xff" if value else b"\x00")
