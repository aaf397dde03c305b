"""Postfix value grammar: transports (`transport:nexthop`) and relay hosts, as transport(5) reads them."""

from __future__ import annotations

import ipaddress
import re

MAX_LENGTH = 255
# A master.cf service name: letters, digits, '-', '_', '.'; no '..', not starting with '-' or '.'.
SERVICE = re.compile(r"(?![-.])(?!.*\.\.)[A-Za-z0-9_.-]{1,64}")
HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
# host or [host], then an optional :port; an IPv6 address is only ever written in brackets.
DESTINATION = re.compile(
    r"(?:\[(?P<literal>[^\[\]]+)\]|(?P<host>[^:\[\]]+))(?::(?P<port>\d{1,5}))?"
)
IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]+")
UNIX_PATH = re.compile(r"[A-Za-z0-9_./-]{1,200}")


def _is_address(text: str, kind: type) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True


def is_host(text: str) -> bool:
    """Return whether text is a host name or an IPv4 address (without brackets)."""
    labels = text.split(".")
    if len(text) > 253 or not all(HOST_LABEL.fullmatch(label) for label in labels):
        return False
    if all(label.isdigit() for label in labels):
        return _is_address(text, ipaddress.IPv4Address)
    return True


def is_destination(text: str) -> bool:
    """Return whether text is `host`, `[host]`, `host:port` or `[host]:port` (port 1-65535)."""
    match = DESTINATION.fullmatch(text)
    if not match or (match["port"] is not None and not 1 <= int(match["port"]) <= 65535):
        return False
    if match["host"] is not None:
        return is_host(match["host"])
    literal = match["literal"]
    if is_host(literal):
        return True
    return IPV6_CHARS.fullmatch(literal) is not None and _is_address(literal, ipaddress.IPv6Address)


def is_nexthop(text: str) -> bool:
    """Return whether text is a nexthop: empty, a destination, `inet:<destination>` or `unix:<path>`."""
    kind, colon, rest = text.partition(":")
    if colon and kind == "unix":
        return UNIX_PATH.fullmatch(rest) is not None and ".." not in rest.split("/")
    if colon and kind == "inet":
        return is_destination(rest)
    return not text or is_destination(text)


def is_transport(text: str) -> bool:
    """Return whether text is `transport` or `transport:nexthop` (e.g. `smtp:[192.0.2.1]:25`)."""
    name, _colon, nexthop = text.partition(":")
    return len(text) <= MAX_LENGTH and SERVICE.fullmatch(name) is not None and is_nexthop(nexthop)


def is_relay_host(text: str) -> bool:
    """Return whether text is a destination, optionally after `transport:` (`smtp:[host]:587`)."""
    if len(text) > MAX_LENGTH:
        return False
    if is_destination(text):
        return True
    name, colon, rest = text.partition(":")
    return bool(colon) and SERVICE.fullmatch(name) is not None and is_destination(rest)
