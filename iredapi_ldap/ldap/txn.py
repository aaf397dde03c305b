"""RFC 5805 LDAP transactions: several updates committed by slapd as one.

Start Transaction (extended op 1.3.6.1.1.21.1) returns an identifier; each update
then carries the Transaction Specification control (1.3.6.1.1.21.2, critical,
the identifier as value) and is only queued; End Transaction (1.3.6.1.1.21.3,
value `SEQUENCE { commit BOOLEAN DEFAULT TRUE, identifier OCTET STRING }`)
applies the queued updates in one backend transaction, all or nothing.

What slapd 2.5 answers (measured, see docs/performance.md):
* the identifier is empty (one transaction per connection);
* each queued update is answered `success` at once, before anything is applied;
* when an update fails at commit, End Transaction carries that update's result
  code (e.g. noSuchAttribute for a failed compare-and-swap, entryAlreadyExists)
  and `txnEndRes SEQUENCE { messageID INTEGER OPTIONAL, ... }` naming it; nothing
  of the transaction is applied.
* slapd 2.5.13 (Debian 12) is not safe with them: failed commits end in a
  segfault or an assertion, and so do commits that succeed while other
  connections search. Transactions are therefore used only when [ldap]
  transactions is enabled (off by default; `python -m bench.txncheck` tests a
  server), and only for updates that cannot fail in practice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import TypeVar

from ldap3 import Connection
from ldap3.core import exceptions as lx
from pyasn1.codec.ber import decoder
from pyasn1.codec.ber import encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import namedtype
from pyasn1.type import univ

START_OID = "1.3.6.1.1.21.1"
SPEC_CONTROL_OID = "1.3.6.1.1.21.2"
END_OID = "1.3.6.1.1.21.3"
ABORTED_OID = "1.3.6.1.1.21.4"

T = TypeVar("T")


class TxnEndRequest(univ.Sequence):
    """txnEndReq ::= SEQUENCE { commit BOOLEAN DEFAULT TRUE, identifier OCTET STRING }."""

    componentType = namedtype.NamedTypes(
        namedtype.DefaultedNamedType("commit", univ.Boolean(True)),
        namedtype.NamedType("identifier", univ.OctetString()),
    )


class TxnEndResponse(univ.Sequence):
    """txnEndRes ::= SEQUENCE { messageID MessageID OPTIONAL, updatesControls ... OPTIONAL }."""

    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType("messageID", univ.Integer()),
        namedtype.OptionalNamedType("updatesControls", univ.Any()),
    )


def end_request_value(identifier: bytes, commit: bool = True) -> bytes:
    """Return the BER value of an End Transaction request."""
    request = TxnEndRequest()
    if not commit:
        # DEFAULT TRUE: the DER/BER form leaves a true `commit` out.
        request["commit"] = False
    request["identifier"] = identifier
    return encoder.encode(request)


def failed_message_id(response_value: bytes | None) -> int | None:
    """Return the message ID of the update that failed, from a txnEndRes value."""
    if not response_value:
        return None
    try:
        decoded, _rest = decoder.decode(response_value, asn1Spec=TxnEndResponse())
    except PyAsn1Error:
        return None
    message_id = decoded["messageID"]
    return int(message_id) if message_id.isValue else None


def spec_control(identifier: bytes) -> tuple[str, bool, bytes]:
    """Return the (critical) Transaction Specification control for ldap3."""
    return (SPEC_CONTROL_OID, True, identifier)


class Transaction:
    """One open transaction on one connection: queue updates, then commit or abort."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.identifier: bytes | None = None
        self.queued = 0
        self.failed_message_id: int | None = None

    def start(self) -> None:
        """Send Start Transaction and keep the identifier."""
        self.conn.extended(START_OID)
        value = self.conn.result.get("responseValue")
        self.identifier = bytes(value or b"")

    @property
    def controls(self) -> list[tuple[str, bool, bytes]]:
        """The controls every update of this transaction must carry."""
        if self.identifier is None:
            raise RuntimeError("transaction not started")
        return [spec_control(self.identifier)]

    def queue(self, update: Callable[[list[Any]], T]) -> T:
        """Send one update (given the controls) to be applied at commit."""
        result = update(self.controls)
        self.queued += 1
        return result

    def end(self, commit: bool = True) -> None:
        """Commit (or abort) the queued updates; re-raise the failing update's error."""
        if self.identifier is None:
            raise RuntimeError("transaction not started")
        identifier, self.identifier = self.identifier, None
        try:
            self.conn.extended(END_OID, end_request_value(identifier, commit))
        except lx.LDAPOperationResult:
            self.failed_message_id = failed_message_id(self.conn.result.get("responseValue"))
            raise
