"""The pool's ldap3 connection: searches and writes sent as ready BER, entries decoded raw.

ldap3 stays in charge of the socket, binds, TLS, message ids, receiving, result codes
and exceptions; this class only replaces how the API's four common requests are built
(ber.py, not pyasn1) and how entries are decoded (bytes by attribute name, the form
Directory uses, instead of ldap3's formatted and case-insensitive copies). Anything
unusual (controls, a closed or SASL-signed socket, usage statistics) takes ldap3's
own path unchanged.
"""

from __future__ import annotations

from typing import Any

from ldap3 import NO_ATTRIBUTES
from ldap3 import SUBTREE
from ldap3 import Connection
from ldap3.core.exceptions import LDAPSocketSendError
from ldap3.core.exceptions import communication_exception_factory
from ldap3.core.results import RESULT_SUCCESS
from ldap3.strategy.sync import SyncStrategy
from ldap3.utils.conv import to_unicode

from . import ber

SEARCH_RESULT_ENTRY = 4


class RawEntryStrategy(SyncStrategy):
    """ldap3's synchronous strategy, decoding each entry to {name: [bytes]} once."""

    def decode_response_fast(self, ldap_message: dict) -> dict:
        """Decode a response as ldap3 does, except entries: raw values only, plain dict."""
        if ldap_message["protocolOp"] != SEARCH_RESULT_ENTRY:
            return super().decode_response_fast(ldap_message)
        dn_part, attribute_list = ldap_message["payload"]
        attributes = {
            attribute[3][0][3].decode("utf-8"): [bytes(value[3]) for value in attribute[3][1][3]]
            for attribute in attribute_list[3]
        }
        result = {
            "type": "searchResEntry",
            "dn": to_unicode(dn_part[3], from_server=True),
            "raw_attributes": attributes,
        }
        if ldap_message["controls"]:
            result["controls"] = dict(
                self.decode_control_fast(control[3]) for control in ldap_message["controls"]
            )
        return result


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
