"""A thin wrapper around one ldap3 connection: plain entries in, plain entries out."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import TypeVar

from ldap3 import BASE
from ldap3 import LEVEL
from ldap3 import MODIFY_ADD
from ldap3 import MODIFY_DELETE
from ldap3 import MODIFY_INCREMENT
from ldap3 import MODIFY_REPLACE
from ldap3 import SUBTREE
from ldap3 import Connection
from ldap3.core import exceptions as lx
from ldap3.utils.dn import parse_dn

from .. import errors
from . import filters
from .ber import PAGED_RESULTS_OID
from .dn import DNs
from .errors import TRANSPORT_ERRORS
from .errors import translate_errors
from .txn import Transaction

T = TypeVar("T")

SCOPES = {"base": BASE, "one": LEVEL, "sub": SUBTREE}
OPERATIONS = {
    "add": MODIFY_ADD,
    "delete": MODIFY_DELETE,
    "replace": MODIFY_REPLACE,
    "increment": MODIFY_INCREMENT,
}
NO_ATTRIBUTES = ["1.1"]
# Beyond this offset a window reads DNs only up to it, then the window's entries by DN.
DEEP_OFFSET = 1000


@dataclass
class Entry:
    """One directory entry: its DN and attributes keyed by lower-case name."""

    dn: str
    attrs: dict[str, list[str]] = field(default_factory=dict)

    def all(self, name: str) -> list[str]:
        """Return every value of an attribute (empty list when absent)."""
        return self.attrs.get(name.lower(), [])

    def first(self, name: str, default: str | None = None) -> str | None:
        """Return the first value of an attribute, or the default."""
        values = self.attrs.get(name.lower())
        return values[0] if values else default

    def has(self, name: str, value: str) -> bool:
        """Tell whether an attribute holds a value (case-insensitive)."""
        lowered = value.lower()
        return any(v.lower() == lowered for v in self.all(name))


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return [str(v) for v in value]
    return [str(value)]


def _entry(item: dict) -> Entry:
    attributes = {
        name.lower(): [v.decode("utf-8", "replace") for v in values]
        for name, values in item["raw_attributes"].items()
    }
    return Entry(item["dn"], attributes)


def dn_depth(dn: str) -> int:
    """Return how many RDNs a DN has."""
    # escape=True: slapd returns a '#' inside a value bare, which parse_dn rejects.
    return len(parse_dn(dn, escape=True))


class Directory:
    """CRUD and paged searches over one bound connection; errors are translated."""

    def __init__(self, conn: Connection, suffix: str, page_size: int = 500) -> None:
        self.conn = conn
        self.dn = DNs(suffix)
        self.page_size = page_size

    def _reconnect(self) -> bool:
        return False

    def _before_write(self) -> None:
        """Make sure the connection is still open before a write (PooledDirectory)."""

    def _run(self, operation: Callable[[], T]) -> T:
        with translate_errors():
            try:
                return operation()
            except TRANSPORT_ERRORS:
                if not self._reconnect():
                    raise
                return operation()

    def _write(self, operation: Callable[[], T]) -> T:
        # Never retried: a write whose answer was lost may have been applied.
        with translate_errors():
            self._before_write()
            return operation()

    # -- reads -------------------------------------------------------------

    def get(self, dn: str, attributes: Iterable[str] | None = None) -> Entry | None:
        """Read one entry by DN, or None when it does not exist."""
        try:
            found = self._search_page(dn, filters.everything(), "base", attributes, 0, None)
        except errors.NotFound:
            return None
        return found[0][0] if found[0] else None

    def exists(self, dn: str) -> bool:
        """Tell whether an entry exists."""
        return self.get(dn, NO_ATTRIBUTES) is not None

    def search(
        self,
        base: str,
        search_filter: str,
        attributes: Iterable[str] | None = None,
        scope: str = "sub",
        page_size: int | None = None,
    ) -> Iterator[Entry]:
        """Yield matching entries, one paged request at a time (no size-limit errors)."""
        size = page_size or self.page_size
        cookie: bytes | None = None
        while True:
            page, cookie = self._search_page(base, search_filter, scope, attributes, size, cookie)
            yield from page
            if not cookie:
                return

    def search_one(
        self, base: str, search_filter: str, attributes: Iterable[str] | None = None,
        scope: str = "sub",
    ) -> Entry | None:  # fmt: skip
        """Return the first matching entry, or None."""
        page, _cookie = self._search_page(base, search_filter, scope, attributes, 1, None)
        return page[0] if page else None

    def count(self, base: str, search_filter: str, scope: str = "sub") -> int:
        """Count matching entries without reading their attributes."""
        return sum(1 for _ in self.search(base, search_filter, NO_ATTRIBUTES, scope))

    def first(
        self,
        base: str,
        search_filter: str,
        attributes: Iterable[str] | None,
        scope: str,
        count: int,
    ) -> list[Entry]:
        """Return the first `count` matching entries in directory order, reading no further."""
        found: list[Entry] = []
        cookie: bytes | None = None
        while len(found) < count:
            size = min(count - len(found), self.page_size)
            page, cookie = self._search_page(base, search_filter, scope, attributes, size, cookie)
            found.extend(page)
            if not cookie:
                break
        return found[:count]

    def window(
        self,
        base: str,
        search_filter: str,
        attributes: Iterable[str] | None,
        scope: str,
        offset: int,
        limit: int,
        total: int | None = None,
    ) -> tuple[list[Entry], int]:
        """Return entries [offset, offset+limit) in directory order and the total count.

        The window is read with its attributes in one paged search that stops at
        offset+limit; the total is a DN-only count unless the caller knows it.
        """
        if offset <= DEEP_OFFSET:
            entries = self.first(base, search_filter, attributes, scope, offset + limit)[offset:]
            if total is None:
                total = self.count(base, search_filter, scope)
            return entries, total
        chosen: list[str] = []
        seen = 0
        for entry in self.search(base, search_filter, NO_ATTRIBUTES, scope):
            if offset <= seen < offset + limit:
                chosen.append(entry.dn)
            seen += 1
        found = [self.get(dn, attributes) for dn in chosen]
        return [e for e in found if e is not None], seen if total is None else total

    def _search_page(
        self,
        base: str,
        search_filter: str,
        scope: str,
        attributes: Iterable[str] | None,
        page_size: int,
        cookie: bytes | None,
    ) -> tuple[list[Entry], bytes | None]:
        attrs = list(attributes) if attributes is not None else ["*"]

        def run() -> tuple[list[Entry], bytes | None]:
            self.conn.search(
                base,
                search_filter,
                search_scope=SCOPES[scope],
                attributes=attrs,
                paged_size=page_size or None,
                paged_cookie=cookie,
            )
            page = [_entry(item) for item in self.conn.response if item["type"] == "searchResEntry"]
            control = self.conn.result.get("controls", {}).get(PAGED_RESULTS_OID)
            next_cookie = control["value"]["cookie"] if control else None
            return page, next_cookie or None

        return self._run(run)

    # -- writes ------------------------------------------------------------

    def add(self, dn: str, attributes: dict[str, Any], txn: Transaction | None = None) -> None:
        """Add an entry; empty values are left out, as iRedAdmin does."""
        # "" too: slapd refuses an empty value for most syntaxes (invalidAttributeSyntax).
        kept = {name: [v for v in _values(value) if v != ""] for name, value in attributes.items()}
        attrs = {name: values for name, values in kept.items() if values}
        if txn is not None:
            txn.queue(lambda controls: self.conn.add(dn, attributes=attrs, controls=controls))
            return
        self._write(lambda: self.conn.add(dn, attributes=attrs))

    def modify(self, dn: str, changes: dict[str, Any], txn: Transaction | None = None) -> None:
        """Apply changes: {attr: (op, values)} or {attr: [(op, values), ...]} atomically."""
        ldap_changes: dict[str, list[tuple[int, list[str]]]] = {}
        for name, change in changes.items():
            steps = change if isinstance(change, list) else [change]
            ldap_changes[name] = [(OPERATIONS[op], _values(values)) for op, values in steps]
        if not ldap_changes:
            return
        if txn is not None:
            txn.queue(lambda controls: self.conn.modify(dn, ldap_changes, controls=controls))
            return
        self._write(lambda: self.conn.modify(dn, ldap_changes))

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Queue the add/modify calls given `txn=` and commit them as one at the end.

        Only the start may be retried on a fresh connection; once updates are
        queued a transport error fails the block. Leaving the block with an
        exception aborts the transaction.
        """
        txn = Transaction(self.conn)
        self._run(txn.start)
        with translate_errors():
            try:
                yield txn
            except BaseException:
                self._abandon(txn)
                raise
            txn.end(commit=True)

    def _abandon(self, txn: Transaction) -> None:
        # A connection left inside a transaction would queue the next caller's updates.
        try:
            txn.end(commit=False)
        except (lx.LDAPException, OSError):
            self._discard_connection()

    def _discard_connection(self) -> None:
        """Close the connection so it is never reused (the pool drops closed ones)."""
        try:
            self.conn.unbind()
        except (lx.LDAPException, OSError):
            pass

    def delete(self, dn: str) -> None:
        """Delete one leaf entry."""
        self._write(lambda: self.conn.delete(dn))

    def rename(self, dn: str, new_rdn: str, new_parent: str | None = None) -> None:
        """Rename (and optionally move) an entry, dropping the old RDN value."""
        self._write(
            lambda: self.conn.modify_dn(dn, new_rdn, delete_old_dn=True, new_superior=new_parent)
        )

    def delete_tree(self, dn: str) -> int:
        """Delete an entry and everything below it, deepest first; return the count."""
        dns = [entry.dn for entry in self.search(dn, filters.everything(), NO_ATTRIBUTES)]
        dns.sort(key=dn_depth, reverse=True)
        for child in dns:
            try:
                self.delete(child)
            except errors.NotFound:
                continue
        return len(dns)

    def modify_ignoring_missing(self, dn: str, changes: dict[str, Any]) -> bool:
        """Apply changes, returning False instead of failing when the entry is gone."""
        try:
            self.modify(dn, changes)
        except errors.NotFound:
            return False
        return True


def is_ldap_exception(exc: BaseException) -> bool:
    """Tell whether an exception comes from ldap3 (for logging decisions)."""
    return isinstance(exc, lx.LDAPException)
