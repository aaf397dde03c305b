"""Quota units: MB on the wire, bytes in mailQuota, `n:UNIT` in domainQuota."""

from __future__ import annotations

MB = 1024 * 1024
UNITS_IN_MB = {"MB": 1, "GB": 1024, "TB": 1024 * 1024}


def mb_to_bytes(megabytes: int) -> int:
    """Convert MB to bytes."""
    return int(megabytes) * MB


def bytes_to_mb(size: int | str | None) -> int:
    """Convert bytes to whole MB (0 when absent)."""
    return int(size or 0) // MB


def parse_unit_quota(text: str | None) -> int:
    """Parse `10:GB` (or a bare number of MB) into MB; garbage reads as 0."""
    if not text:
        return 0
    number, _sep, unit = text.partition(":")
    try:
        return int(number) * UNITS_IN_MB.get(unit.upper() or "MB", 1)
    except ValueError:
        return 0
