"""PolicyStore: what the API reads and writes in iRedAPD's database."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..engine import SqlState
from ..engine import build_engine
from .accounts import AccountRows
from .greylisting import GreylistingRows
from .tables import POLICY_TABLES
from .tables import metadata
from .throttle import ThrottleRows


class PolicyStore(ThrottleRows, GreylistingRows, AccountRows):
    """Throttle and greylisting rows as iRedAPD reads them; cheap to create, shares the engine."""


class PolicyState(SqlState):
    """The engine of `[iredapd] url`; creates iRedAPD's schema where there is none."""

    def __init__(self, url: sa.URL, echo: bool = False) -> None:
        super().__init__(url, echo, tables=metadata)

    def build(self) -> Engine:
        """Build the engine; SQLite enforces the tracking → rule foreign key as the servers do."""
        engine = build_engine(self.url, self.echo)
        if self.url.get_backend_name() == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_foreign_keys)
        return engine

    def create_missing(self, conn: sa.Connection) -> None:
        """Create every iRedAPD table in a new database, else only missing ones the API uses.

        An existing database (iRedMail's, used with its DML-only `iredapd` rights) may lack
        iRedAPD tables of other versions; those are iRedAPD's business, not a reason to fail.
        """
        existing = set(sa.inspect(conn).get_table_names())
        if existing.isdisjoint(metadata.tables):
            metadata.create_all(conn, checkfirst=True)
        else:
            metadata.create_all(conn, tables=list(POLICY_TABLES), checkfirst=True)


def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
