"""The pool's ldap3 connection: searches and writes sent as ready BER, entries decoded raw.

ldap3 stays in charge of the socket, binds, TLS, message ids, receiving, result codes
and exceptions; this class only replaces how the API's four common requests are built
(ber.py, not pyasn1) and how entries are decoded: by ber.py, straight to bytes by
attribute name (the form Directory uses), instead of ldap3's generic decoder and its
formatted, case-insensitive copies. Anything unusual (controls, a closed or SASL-signed
socket, usage statistics) takes ldap3's own path unchanged.
"""

# Private internals of ldap3 relied on (setup.cfg pins ldap3 to 2.9.x;
# tests/unit/test_library_internals.py checks every name below):
# - SyncStrategy._get_response -- overridden: BaseStrategy.get_response calls it to collect
#   one request's responses. Renamed, the override never runs and entries silently go back
#   through ldap3's generic decoder: still correct, several times the CPU.
# - SyncStrategy.receiving -- the raw messages of one read from the socket. Gone, every
#   fast-path read fails.
# - BaseStrategy.decode_response_fast, decode_message_fast -- decode what ber.py leaves to
#   ldap3 (results, referrals, notices) into ldap3's dicts. Gone, every operation fails.
# - RESPONSE_COMPLETE, SESSION_TERMINATED_BY_SERVER, TRANSACTION_ERROR -- what
#   _get_response returns to get_response. Changed, results or hang-ups are misread.
# - Connection.strategy.__class__ -- the SYNC strategy instance (and its open socket) is
#   re-classed to RawEntryStrategy. If SYNC stops being a plain SyncStrategy, the fast
#   decoding is silently off.
# - BaseStrategy._outstanding, Server.next_message_id -- _send_encoded takes a message id and
#   registers the request as strategy.send does. Changed, get_response finds no outstanding
#   request and every fast-path operation fails.
# - Connection.request, Connection.socket, Connection.connection_lock -- the request in
#   flight (its type selects how the result is read), the socket written to, and the lock
#   ldap3 holds around an operation. Gone, every fast-path operation fails.
# - Connection.post_send_single_response, Connection.post_send_search -- collect the
#   responses to a message id we sent. Gone, every fast-path operation fails.
# - Connection._entries -- reset after each operation as ldap3 does, so that conn.entries is
#   rebuilt from the last response. Gone, only a stray attribute (nothing reads entries).
# - Connection.fast_decoder, Connection.sasl_in_progress -- tell when a request must take
#   ldap3's own path. Gone, AttributeError on every operation.
# - communication_exception_factory -- builds the exception ldap3 raises for a failed send,
#   which ldap/errors.py maps to 503. Gone, ImportError at startup.
# - to_unicode -- decodes entry DNs as ldap3 does. Gone, ImportError at startup.

from __future__ import annotations

from typing import Any

from ldap3 import NO_ATTRIBUTES
from ldap3 import SUBTREE
from ldap3 import Connection
from ldap3.core.exceptions import LDAPExtensionError
from ldap3.core.exceptions import LDAPSocketReceiveError
from ldap3.core.exceptions import LDAPSocketSendError
from ldap3.core.exceptions import communication_exception_factory
from ldap3.core.results import RESULT_SUCCESS
from ldap3.strategy.base import RESPONSE_COMPLETE
from ldap3.strategy.base import SESSION_TERMINATED_BY_SERVER
from ldap3.strategy.base import TRANSACTION_ERROR
from ldap3.strategy.sync import SyncStrategy
from ldap3.utils.asn1 import decode_message_fast
from ldap3.utils.conv import to_unicode

from . import ber

CONTINUING = ("searchResEntry", "searchResRef", "intermediateResponse")
NOTICE_OF_DISCONNECTION = "1.3.6.1.4.1.1466.20036"
NOVELL_TRANSACTION_ERROR = "2.16.840.1.113719.1.27.103.4"


class RawEntryStrategy(SyncStrategy):
    """ldap3's synchronous strategy, with entries decoded once, to {name: [bytes]}, by ber.py."""

    def _get_response(self, message_id: int, timeout: Any) -> Any:
        """Collect the responses to one request as ldap3's SyncStrategy does."""
        if self.connection.usage or not self.connection.fast_decoder:
            return super()._get_response(message_id, timeout)
        responses: list[Any] = []
        while True:
            messages = self.receiving()
            if not messages:
                return SESSION_TERMINATED_BY_SERVER
            for message in messages:
                response, received_id = self._decode(message)
                if received_id == message_id:
                    responses.append(response)
                    if response["type"] not in CONTINUING:
                        responses.append(RESPONSE_COMPLETE)
                        return responses
                elif received_id == 0:  # unsolicited notification (RFC 4511, 4.4)
                    if response.get("responseName") == NOTICE_OF_DISCONNECTION:
                        return SESSION_TERMINATED_BY_SERVER
                    if response.get("responseName") == NOVELL_TRANSACTION_ERROR:
                        return TRANSACTION_ERROR
                    self.connection.last_error = "unknown unsolicited notification from server"
                    raise LDAPSocketReceiveError(self.connection.last_error)
                elif response["type"] == "extendedResp":
                    self.connection.last_error = (
                        "multiple extended responses to a single extended request"
                    )
                    raise LDAPExtensionError(self.connection.last_error)
                else:
                    self.connection.last_error = "invalid messageId received"
                    raise LDAPSocketReceiveError(self.connection.last_error)

    def _decode(self, message: bytes) -> tuple[dict, int]:
        entry = ber.search_entry(message)
        if entry is not None:
            received_id, dn, attributes = entry
            return {"type": "searchResEntry", "dn": to_unicode(dn, from_server=True),
                    "raw_attributes": attributes}, received_id  # fmt: skip
        decoded = decode_message_fast(message)
        return self.decode_response_fast(decoded), int(decoded["messageID"])


class FastConnection(Connection):
    """A synchronous ldap3 Connection that encodes search, add, modify and delete itself."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # auto_range only serves Active Directory's ranged attributes, which slapd never sends;
        # Directory treats a missing attribute as empty, so no empty lists are added either.
        super().__init__(*args, auto_range=False, return_empty_attributes=False, **kwargs)
        if type(self.strategy) is SyncStrategy:
            # The strategy may already hold an open socket (auto_bind): keep the instance and
            # its state, only its entry decoding changes.
            self.strategy.__class__ = RawEntryStrategy

    def _fast_path_open(self) -> bool:
        return (
            self.listening
            and not self.closed
            and not self.lazy
            and not self.usage
            and not self.sasl_in_progress
            and self.sasl_mechanism is None
        )

    def _send_encoded(self, kind: str, operation: bytes, controls: bytes = b"") -> int:
        """Send one encoded operation as ldap3's strategy.send would; return its message id."""
        message_id = self.server.next_message_id()
        self.request = {"type": kind}
        self.strategy._outstanding[message_id] = self.request
        try:
            self.socket.sendall(ber.message(message_id, operation, controls))
        except OSError as exc:
            self.last_error = "socket sending error" + str(exc)
            raise communication_exception_factory(LDAPSocketSendError, type(exc)(str(exc)))(
                self.last_error
            ) from exc
        return message_id

    def _write(self, kind: str, response_type: str, operation: bytes) -> bool:
        self.last_error = None
        with self.connection_lock:
            self.post_send_single_response(self._send_encoded(kind, operation))
            self._entries = []
        return self.result["type"] == response_type and self.result["result"] == RESULT_SUCCESS

    def search(  # noqa: PLR0913 - ldap3's signature
        self,
        search_base: str,
        search_filter: str,
        search_scope: str = SUBTREE,
        *args: Any,
        attributes: Any = None,
        paged_size: int | None = None,
        paged_cookie: bytes | None = None,
        **kwargs: Any,
    ) -> Any:
        """Search as ldap3 does; the plain cases are encoded by ber.py."""
        if args or kwargs or search_scope not in ber.SCOPE_CODES or not self._fast_path_open():
            return super().search(
                search_base, search_filter, search_scope, *args, attributes=attributes,
                paged_size=paged_size, paged_cookie=paged_cookie, **kwargs,
            )  # fmt: skip
        names = [attributes] if isinstance(attributes, str) else list(attributes or [NO_ATTRIBUTES])
        operation = ber.search_request(search_base, search_scope, search_filter, names)
        controls = b""
        if isinstance(paged_size, int):
            controls = ber.paged_results_control(paged_size, paged_cookie)
        self.last_error = None
        with self.connection_lock:
            response = self.post_send_search(
                self._send_encoded("searchRequest", operation, controls)
            )
            self._entries = []
        return self.result["type"] == "searchResDone" and len(response) > 0

    def add(
        self, dn: str, object_class: Any = None, attributes: Any = None, controls: Any = None
    ) -> Any:
        """Add as ldap3 does; an entry given as {name: [values]} alone is encoded by ber.py."""
        if object_class is not None or controls or not attributes or not self._fast_path_open():
            return super().add(dn, object_class, attributes, controls)
        return self._write("addRequest", "addResponse", ber.add_request(dn, attributes))

    def modify(self, dn: str, changes: Any, controls: Any = None) -> Any:
        """Modify as ldap3 does; {name: [(operation, values), ...]} alone is encoded by ber.py."""
        plain = (
            isinstance(changes, dict)
            and changes
            and all(
                isinstance(steps, list) and all(op in ber.MODIFY_CODES for op, _ in steps)
                for steps in changes.values()
            )
        )
        if not plain or controls or self.read_only or not self._fast_path_open():
            return super().modify(dn, changes, controls)
        return self._write("modifyRequest", "modifyResponse", ber.modify_request(dn, changes))

    def delete(self, dn: str, controls: Any = None) -> Any:
        """Delete as ldap3 does; without controls the request is encoded by ber.py."""
        if controls or self.read_only or not self._fast_path_open():
            return super().delete(dn, controls)
        return self._write("delRequest", "delResponse", ber.delete_request(dn))
