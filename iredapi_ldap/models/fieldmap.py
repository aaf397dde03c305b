"""The declarative map between an answer's API fields and what they are read from.

Each resource declares its answer once, as a FieldMap in `models/<resource>/view.py`: per
field the API name, its type, the LDAP attributes it is read from and how (a reader
function), and a description. Three things are derived from that one list, so they
cannot drift apart:

- the answer itself: `FieldMap.read(entry, context)` returns the dict a view returns
  (the `*_from_entry` functions are this call);
- the LDAP attributes to ask for: `FieldMap.attributes`;
- the response schema: `schemas/build.py` builds the marshmallow schema (and so the
  OpenAPI document) from the same fields.

A reader takes the entry (or, for a non-LDAP resource, its record) and a per-resource
context (a domain's parsed accountSetting, a list's members, ...; None where unused). A
field without a reader is declared for the schema only; the model fills it in (e.g. a
domain's catch-all targets, shown by GET of one domain).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..ldap import Entry
from ..ldap import attrs as A
from .members import policy_of

# The types a field can have; schemas/build.py maps each to a marshmallow field.
STRING, INTEGER, BOOLEAN, STRINGS, OBJECT, OBJECTS, ANY = (
    "string", "integer", "boolean", "strings", "object", "objects", "any",
)  # fmt: skip

Reader = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class ViewField:
    """One field of an answer: its API name and type, and where its value comes from."""

    name: str
    kind: str
    read: Reader | None
    attributes: tuple[str, ...] = ()
    description: str = ""
    nullable: bool = False
    items: FieldMap | None = None  # the fields of each object (kind OBJECT or OBJECTS)
    secret: bool = False  # shown once, masked everywhere else (schemas.fields.secret)


class FieldMap:
    """The fields of one answer, in the order they are answered."""

    def __init__(self, *fields: ViewField, extra_attributes: tuple[str, ...] = ()) -> None:
        names = [f.name for f in fields]
        if len(set(names)) != len(names):
            raise ValueError(f"Duplicate answer fields: {names}")
        self.fields = fields
        self.extra_attributes = extra_attributes
        self._readers = tuple((f.name, f.read) for f in fields if f.read is not None)
        wanted = [*extra_attributes, *(a for f in fields for a in f.attributes)]
        self.attributes = list(dict.fromkeys(wanted))

    def __add__(self, other: FieldMap) -> FieldMap:
        extra = (*self.extra_attributes, *other.extra_attributes)
        return FieldMap(*self.fields, *other.fields, extra_attributes=extra)

    def __iter__(self):
        return iter(self.fields)

    @property
    def names(self) -> list[str]:
        """Return the API names, in order."""
        return [f.name for f in self.fields]

    def read(self, entry: Any, context: Any = None) -> dict[str, Any]:
        """Return the answer for one entry (fields without a reader are left to the model)."""
        return {name: read(entry, context) for name, read in self._readers}


# -- reading LDAP attributes -------------------------------------------------------------


def field(name: str, kind: str, read: Reader | None, *attributes: str, **options: Any) -> ViewField:
    """Declare a field read by `read(entry, context)` from `attributes`."""
    return ViewField(name, kind, read, tuple(attributes), **options)


def text(
    name: str,
    attribute: str,
    description: str = "",
    *,
    default: str | None = None,
    lower: bool = False,
    nullable: bool | None = None,
) -> ViewField:
    """Declare a field holding an attribute's first value, else `default` (None: null).

    `nullable` defaults to whether `default` is None; say False for an attribute every
    such entry has (e.g. its RDN).
    """

    def read(entry: Entry, _context: Any) -> str | None:
        value = entry.first(attribute)
        if value is None:
            return default
        return value.lower() if lower else value

    if nullable is None:
        nullable = default is None
    return ViewField(name, STRING, read, (attribute,), description, nullable=nullable)


def texts(name: str, attribute: str, description: str = "", *, lower: bool = False) -> ViewField:
    """Declare a field holding all values of an attribute (lower-cased with `lower`)."""
    if lower:

        def read(entry: Entry, _context: Any) -> list[str]:
            return [v.lower() for v in entry.all(attribute)]
    else:

        def read(entry: Entry, _context: Any) -> list[str]:
            return entry.all(attribute)

    return ViewField(name, STRINGS, read, (attribute,), description)


def filled(name: str, kind: str, description: str = "", **options: Any) -> ViewField:
    """Declare a field the model fills in itself (not read from the entry)."""
    return ViewField(name, kind, None, (), description, **options)


def key(name: str, kind: str, description: str = "", **options: Any) -> ViewField:
    """Declare a field copied from the record's item of the same name (non-LDAP resources)."""
    return ViewField(name, kind, lambda record, _context: record[name], (), description, **options)


def _domain_disabled(entry: Entry, _context: Any) -> bool:
    return (entry.first("domainStatus") or "").lower() == A.STATUS_DISABLED


# The leading fields every mail account's answer shares.
MAIL = text("mail", "mail", default="", lower=True)
NAME = text("name", "cn", "Display name (cn)", default="")
ACCOUNT_STATUS = text("accountStatus", "accountStatus", default=A.STATUS_ACTIVE)
DOMAIN_DISABLED = field(
    "domainDisabled", BOOLEAN, _domain_disabled, "domainStatus",
    description="domainStatus=disabled (the domain is disabled)",
)  # fmt: skip


def _policy(entry: Entry, _context: Any) -> str:
    return policy_of(entry)


# The leading fields of an alias's or a mailing list's answer.
GROUP_HEAD = FieldMap(
    MAIL,
    NAME,
    ACCOUNT_STATUS,
    DOMAIN_DISABLED,
    field("accessPolicy", STRING, _policy, "accessPolicy", description="public when unset"),
)
