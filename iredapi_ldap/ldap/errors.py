"""Translate ldap3 exceptions into the API's errors, in exactly one place."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from ldap3.core import exceptions as lx

from .. import errors

log = logging.getLogger(__name__)

# Transport-level failures: the server is down, unreachable or hung up on us.
TRANSPORT_ERRORS = (
    lx.LDAPSocketOpenError,
    lx.LDAPSocketReceiveError,
    lx.LDAPSocketSendError,
    lx.LDAPSessionTerminatedByServerError,
    lx.LDAPServerPoolExhaustedError,
    lx.LDAPStartTLSError,
    lx.LDAPCommunicationError,
    lx.LDAPResponseTimeoutError,
    lx.LDAPUnavailableResult,
    lx.LDAPBusyResult,
    lx.LDAPUnwillingToPerformResult,
)


# slapo-unique's diagnostic: "non-unique attributes found with <filter of the written values>".
UNIQUE_VIOLATION = "non-unique attributes found"
FILTER_VALUE = re.compile(r"\((?:mail|shadowAddress)=([^()]*)\)", re.IGNORECASE)
FILTER_ESCAPE = re.compile(rb"\\([0-9A-Fa-f]{2})")


def address_taken(message: str) -> errors.AlreadyExists:
    """Return the 409 for an address slapd refused as used by another account.

    The diagnostic names every address of the write, not which one clashed.
    """
    values = sorted(
        {
            FILTER_ESCAPE.sub(lambda m: bytes.fromhex(m[1].decode()), value.encode())
            .decode(errors="replace")
            .lower()
            for value in FILTER_VALUE.findall(message)
        }
    )
    if len(values) == 1:
        return errors.AlreadyExists(f"Address already used by another account: {values[0]}.")
    listed = f": {', '.join(values)}" if values else ""
    return errors.AlreadyExists(f"An address is already used by another account{listed}.")


class StaleValue(errors.Conflict):
    """An atomic delete-old/add-new modify found another value: someone else won."""


T = TypeVar("T")


def retry_on_stale(
    attempt: Callable[[], T], retries: int, also: tuple[type[Exception], ...] = ()
) -> T:
    """Run a read-decide-write step again while another writer changed the entry first.

    `attempt` must re-read what it decides on; the last StaleValue (or `also`) is raised.
    """
    for remaining in range(retries - 1, -1, -1):
        try:
            return attempt()
        except (StaleValue, *also):
            if not remaining:
                raise
    raise ValueError("retries must be at least 1")


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn ldap3 exceptions raised inside the block into API errors."""
    try:
        yield
    except lx.LDAPNoSuchObjectResult as exc:
        raise errors.NotFound("No such object.") from exc
    except lx.LDAPEntryAlreadyExistsResult as exc:
        raise errors.AlreadyExists() from exc
    except lx.LDAPNotAllowedOnNotLeafResult as exc:
        raise errors.NotEmpty() from exc
    except (
        lx.LDAPNoSuchAttributeResult,
        lx.LDAPAssertionFailedResult,
        lx.LDAPAttributeOrValueExistsResult,
    ) as exc:
        raise StaleValue() from exc
    except lx.LDAPConstraintViolationResult as exc:
        message = str(getattr(exc, "message", "") or exc)
        if UNIQUE_VIOLATION in message:
            raise address_taken(message) from exc
        # A second value for a single-valued attribute: another writer set it first.
        if "multiple values" in message:
            raise StaleValue() from exc
        log.error("Constraint violation: %s", exc)
        raise errors.DirectoryError() from exc
    except lx.LDAPSizeLimitExceededResult as exc:
        raise errors.DirectoryError(code="EXCEEDED_LDAP_SERVER_SIZELIMIT") from exc
    except (lx.LDAPInvalidDnError, lx.LDAPInvalidDNSyntaxResult) as exc:
        raise errors.ValidationFailed("Value cannot be used in a DN.") from exc
    except lx.LDAPInsufficientAccessRightsResult as exc:
        log.error("The service DN lacks rights (check slapd ACLs): %s", exc)
        raise errors.DirectoryError() from exc
    except lx.LDAPBindError as exc:
        log.error("Service bind failed: %s", exc)
        raise errors.DirectoryUnavailable() from exc
    except TRANSPORT_ERRORS as exc:
        log.warning("Directory unavailable: %s", exc)
        raise errors.DirectoryUnavailable() from exc
    except lx.LDAPException as exc:
        log.error("Unexpected LDAP error: %r", exc)
        raise errors.DirectoryError() from exc
