"""The LDAP requests the API repeats, encoded to BER directly (RFC 4511), without pyasn1.

ldap3 builds every request as a tree of pyasn1 objects and encodes it generically;
for a user read that was 40% of the worker's CPU, more than the rest of the request
(docs/performance.md). The five requests below are plain tag-length-value nesting;
tests/ldap/test_ber.py checks them byte for byte against ldap3's own encoding.
Filters are encoded by filter_ber.py (ldap3's parser for the forms it does not cover).
"""

# Private internals of ldap3 relied on (setup.cfg pins ldap3 to 2.9.x;
# tests/unit/test_library_internals.py checks every name below):
# - parse_filter, compile_filter -- ldap3's own filter parser and pyasn1 compiler, the
#   fallback for filters filter_ber.py does not encode (extensible matches, malformed text).
#   Changed, those filters fail or are sent differently from what stock ldap3 sends.

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from ldap3.operation.search import compile_filter
from ldap3.operation.search import parse_filter
from pyasn1.codec.ber import encoder

from . import filter_ber
from .tlv import ENUMERATED
from .tlv import SEQUENCE
from .tlv import SET
from .tlv import boolean
from .tlv import integer
from .tlv import octets
from .tlv import tlv

SCOPE_CODES = {"BASE": 0, "LEVEL": 1, "SUBTREE": 2}
DEREF_ALWAYS = 3
MODIFY_CODES = {"MODIFY_ADD": 0, "MODIFY_DELETE": 1, "MODIFY_REPLACE": 2, "MODIFY_INCREMENT": 3}
PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"

SEARCH_REQUEST = 0x63  # [APPLICATION 3], constructed
MODIFY_REQUEST = 0x66  # [APPLICATION 6], constructed
ADD_REQUEST = 0x68  # [APPLICATION 8], constructed
DEL_REQUEST = 0x4A  # [APPLICATION 10], primitive
CONTROLS = 0xA0  # [0], constructed


def message(message_id: int, operation: bytes, controls: bytes = b"") -> bytes:
    """Return an LDAPMessage: its id, one encoded operation, and optional encoded controls."""
    return tlv(SEQUENCE, integer(message_id) + operation + controls)


@lru_cache(maxsize=2048)
def search_filter(text: str) -> bytes:
    """Return the encoded Filter for a filter string (filter_ber.py, else ldap3's parser)."""
    try:
        return filter_ber.encode(text)
    except filter_ber.Unsupported:
        node = parse_filter(text, None, True, True, None, True)
        return encoder.encode(compile_filter(node.elements[0]))


@lru_cache(maxsize=256)
def attribute_selection(attributes: tuple[str, ...]) -> bytes:
    """Return the encoded AttributeSelection (the API asks for the same few lists)."""
    return tlv(SEQUENCE, b"".join(octets(name) for name in attributes))


def search_request(base: str, scope: str, filter_text: str, attributes: Iterable[str]) -> bytes:
    """Return a SearchRequest: no size or time limit, aliases always dereferenced (as ldap3)."""
    return tlv(
        SEARCH_REQUEST,
        octets(base)
        + integer(SCOPE_CODES[scope], ENUMERATED)
        + integer(DEREF_ALWAYS, ENUMERATED)
        + integer(0)
        + integer(0)
        + boolean(False)
        + search_filter(filter_text)
        + attribute_selection(tuple(attributes)),
    )


def paged_results_control(size: int, cookie: bytes | None) -> bytes:
    """Return the Controls element holding one non-critical RFC 2696 paged-results control."""
    value = tlv(SEQUENCE, integer(size) + octets(cookie or b""))
    # criticality is DEFAULT FALSE, so it is left out, as pyasn1 does.
    control = tlv(SEQUENCE, octets(PAGED_RESULTS_OID) + octets(value))
    return tlv(CONTROLS, control)


def _value(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _attribute(name: str, values: Iterable[Any]) -> bytes:
    return tlv(SEQUENCE, octets(name) + tlv(SET, b"".join(octets(_value(v)) for v in values)))


def add_request(dn: str, attributes: dict[str, list[Any]]) -> bytes:
    """Return an AddRequest for an entry whose attributes are {name: [values]}."""
    body = b"".join(_attribute(name, values) for name, values in attributes.items())
    return tlv(ADD_REQUEST, octets(dn) + tlv(SEQUENCE, body))


def modify_request(dn: str, changes: dict[str, list[tuple[str, list[Any]]]]) -> bytes:
    """Return a ModifyRequest for {name: [(operation, values), ...]} (ldap3's MODIFY_* names)."""
    items = b"".join(
        tlv(SEQUENCE, integer(MODIFY_CODES[operation], ENUMERATED) + _attribute(name, values))
        for name, steps in changes.items()
        for operation, values in steps
    )
    return tlv(MODIFY_REQUEST, octets(dn) + tlv(SEQUENCE, items))


def delete_request(dn: str) -> bytes:
    """Return a DelRequest."""
    return tlv(DEL_REQUEST, dn.encode("utf-8"))


# -- responses ---------------------------------------------------------------------------

SEARCH_RESULT_ENTRY = 0x64  # [APPLICATION 4], constructed


def _element(data: bytes, start: int) -> tuple[int, int, int]:
    """Return (tag, first content octet, end) of the element at `start` (definite lengths)."""
    tag, length = data[start], data[start + 1]
    start += 2
    if length & 0x80:
        octets_used = length & 0x7F
        length = int.from_bytes(data[start : start + octets_used], "big")
        start += octets_used
    return tag, start, start + length


def search_entry(message: bytes) -> tuple[int, bytes, dict[str, list[bytes]]] | None:
    """Decode a SearchResultEntry without controls: (message id, DN, {name: [values]}).

    Any other message (results, references, entries carrying controls) gives None and
    is left to ldap3's decoder.
    """
    _, start, end = _element(message, 0)
    _, id_start, id_end = _element(message, start)
    tag, start, operation_end = _element(message, id_end)
    if tag != SEARCH_RESULT_ENTRY or operation_end != end:
        return None
    _, dn_start, dn_end = _element(message, start)
    _, start, attributes_end = _element(message, dn_end)
    attributes: dict[str, list[bytes]] = {}
    while start < attributes_end:
        _, name_start, name_end = _element(message, _element(message, start)[1])
        _, value, values_end = _element(message, name_end)
        values = []
        while value < values_end:
            _, value_start, value = _element(message, value)
            values.append(message[value_start:value])
        attributes[message[name_start:name_end].decode("utf-8")] = values
        start = values_end
    return int.from_bytes(message[id_start:id_end], "big"), message[dn_start:dn_end], attributes
