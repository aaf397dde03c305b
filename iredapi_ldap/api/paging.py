"""Turn page/page_size or offset/limit into one window, and describe it back."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import current_app


def window(args: dict[str, Any]) -> tuple[int, int]:
    """Return (offset, limit) from the query arguments, capped by the config."""
    cap = current_app.config["API_MAX_PAGE_SIZE"]
    default = current_app.config["API_DEFAULT_PAGE_SIZE"]
    if "offset" in args or "limit" in args:
        return args.get("offset", 0), min(args.get("limit", default), cap)
    size = min(args.get("page_size", default), cap)
    return (args.get("page", 1) - 1) * size, size


def page_meta(offset: int, limit: int, total: int) -> dict[str, int]:
    """Return the paging keys placed beside `_data`."""
    return {
        "total": total,
        "offset": offset,
        "limit": limit,
        "page": offset // limit + 1,
        "page_size": limit,
    }


@dataclass
class Page:
    """What a paged view returns: one window of items, the total, and keys beside them."""

    items: list[Any]
    offset: int
    limit: int
    total: int
    extra: dict[str, Any] = field(default_factory=dict)

    def envelope_keys(self) -> dict[str, Any]:
        """Return `_data` and the keys placed beside it, in the order they are answered."""
        return {"_data": self.items, **page_meta(self.offset, self.limit, self.total), **self.extra}


@dataclass
class Beside:
    """What a view returns to answer keys beside `_data` (Pro's throttle `setting`)."""

    data: Any
    extra: dict[str, Any]

    def envelope_keys(self) -> dict[str, Any]:
        """Return `_data` and the keys placed beside it."""
        return {"_data": self.data, **self.extra}
