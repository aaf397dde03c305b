"""Build the attribute list of a repeated search once, not on every request.

ldap3 turns the attribute names of each search into pyasn1 objects, one by one;
for the ~30 attributes of a user profile that is a tenth of a GET's CPU time in
the worker (docs/performance.md). The list is immutable and the API asks for
the same few lists again and again, so connections made by this package reuse
the built selection. Other ldap3 connections in the process are unaffected.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

import ldap3.operation.search as search_module
from ldap3 import Connection

_build_original = search_module.build_attribute_selection
_reuse = threading.local()


@lru_cache(maxsize=256)
def _built(attributes: tuple[str, ...]) -> Any:
    return _build_original(list(attributes), None)


def _build(attribute_list: Any, schema: Any) -> Any:
    if getattr(_reuse, "active", False) and not (schema and schema.attribute_types):
        return _built(tuple(attribute_list))
    return _build_original(attribute_list, schema)


search_module.build_attribute_selection = _build


class ReusingConnection(Connection):
    """An ldap3 Connection whose searches reuse built attribute selections."""

    def search(self, *args: Any, **kwargs: Any) -> Any:
        """Search as ldap3 does, with the attribute selection taken from the cache."""
        _reuse.active = True
        try:
            return super().search(*args, **kwargs)
        finally:
            _reuse.active = False
