"""AmavisdStore: what the API reads and writes in Amavisd's database."""

from __future__ import annotations

import sqlalchemy as sa

from ..engine import SqlState
from .accounts import AccountRows
from .spampolicy import SpamPolicyRows
from .tables import metadata
from .wblist import WblistRows


class AmavisdStore(WblistRows, SpamPolicyRows, AccountRows):
    """White/blacklists and spam policies as Amavisd and iRedAPD read them; shares the engine."""


class AmavisdState(SqlState):
    """The engine of `[amavisd] url`; creates Amavisd's lookup tables that are missing."""

    def __init__(self, url: sa.URL, echo: bool = False) -> None:
        super().__init__(url, echo, tables=metadata)

    def create_missing(self, conn: sa.Connection) -> None:
        """Create those of the five lookup tables that do not exist (none in iRedMail's database)."""
        metadata.create_all(conn, checkfirst=True)
