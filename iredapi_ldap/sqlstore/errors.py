"""SQL failures as API errors: unreachable database 503, anything else 500."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sx

from ..errors import ApiError

log = logging.getLogger(__name__)


class StoreUnavailable(ApiError):
    """The SQL database cannot be reached or is busy (503)."""

    status = 503
    code = "SQL_SERVER_UNAVAILABLE"
    detail = "The SQL database is unavailable; try again later."


class PolicyStoreUnavailable(StoreUnavailable):
    """iRedAPD's policy database cannot be reached or is busy (503; policy calls only)."""

    code = "POLICY_SERVER_UNAVAILABLE"
    detail = "The policy database (iRedAPD) is unavailable; try again later."


class AmavisdStoreUnavailable(PolicyStoreUnavailable):
    """Amavisd's policy database cannot be reached or is busy (503; policy calls only)."""

    detail = "The policy database (Amavisd) is unavailable; try again later."


class StoreError(ApiError):
    """The SQL database answered with an unexpected error (500, logged, not shown)."""


# Connection refused, lost, timed out, pool exhausted, SQLite locked.
UNAVAILABLE = (sx.OperationalError, sx.InterfaceError, sx.DisconnectionError, sx.TimeoutError)


@contextmanager
def translate_errors(unavailable: type[StoreUnavailable] = StoreUnavailable) -> Iterator[None]:
    """Turn SQLAlchemy exceptions into StoreUnavailable (or the class given) or StoreError."""
    try:
        yield
    except UNAVAILABLE as exc:
        log.warning("SQL database unavailable (%s): %s", unavailable.code, exc)
        raise unavailable() from exc
    except sx.SQLAlchemyError as exc:
        log.exception("SQL database error")
        raise StoreError() from exc
