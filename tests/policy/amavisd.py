"""What iRedAPD 6.1 and Amavisd look up in the `amavisd` database, replayed (test side).

A re-implementation, from the reference (policy-store.md §5.2 and §5.5), of:

- iRedAPD's `amavisd_wblist` plugin at RCPT time: for a (sender, recipient) pair, with or
  without SASL login, whether a white/blacklist answers OK, REJECT or DUNNO, inbound and
  outbound, alias domains and IPv4 networks included;
- Amavisd's `$sql_select_policy` and per-field rule: which policy values apply to a
  recipient (the first non-NULL value over its `users` rows, most specific first);
- Amavisd's `$sql_select_white_black_list` for a recipient and a sender.

Raw SQL through its own engine, with plain string parameters as iRedAPD sends them (no
code shared with the API); nothing here knows how the API stores its rows.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from .iredapd import DUNNO
from .iredapd import IPV4
from .iredapd import policy_addresses
from .iredapd import wildcard_ipv4

OK = "OK"
REJECT = "REJECT Blacklisted"


def _text(value: Any) -> Any:
    """Decode BYTEA/VARBINARY values as iRedAPD's bytes2str does."""
    return bytes(value).decode() if isinstance(value, bytes | memoryview) else value


def amavisd_keys(address: str) -> list[str]:
    """Amavisd's lookup keys of a local address (no recipient_delimiter set, as iRedMail)."""
    local, _at, domain = address.lower().rpartition("@")
    labels = domain.split(".")
    return [address.lower(), local, f"@{domain}",
            *(f"@.{'.'.join(labels[i:])}" for i in range(len(labels))), "@."]  # fmt: skip


class Amavisd:
    """The lookups of iRedAPD's amavisd_wblist and of Amavisd on one `amavisd` database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        statement = sa.text(sql)
        for name, value in params.items():
            if isinstance(value, list):
                statement = statement.bindparams(sa.bindparam(name, expanding=True))
        with self.engine.connect() as conn:
            return [
                {key: _text(value) for key, value in row.items()}
                for row in conn.execute(statement, params).mappings()
            ]

    def _ids(self, table: str, emails: list[str]) -> list[int]:
        if not emails:
            return []
        rows = self._rows(
            f"SELECT id FROM {table} WHERE email IN :emails ORDER BY priority DESC", emails=emails
        )
        return [int(row["id"]) for row in rows]

    def _cidr_ids(self, client: str) -> list[int]:
        """mailaddr ids of IPv4 networks holding the client (IPv6 networks: never)."""
        if not IPV4.match(client):
            return []
        rows = self._rows(
            "SELECT id, email FROM mailaddr WHERE email LIKE :prefix ORDER BY priority DESC",
            prefix=client.split(".")[0] + ".%",
        )
        ip = ipaddress.ip_address(client)
        found = []
        for row in rows:
            try:
                if ip in ipaddress.ip_network(row["email"]):
                    found.append(int(row["id"]))
            except ValueError:
                continue
        return found

    def _pairs(self, table: str, sids: list[int], rids: list[int]) -> set[tuple[int, int, str]]:
        if not (sids and rids):
            return set()
        rows = self._rows(
            f"SELECT rid, sid, wb FROM {table} WHERE sid IN :sids AND rid IN :rids",
            sids=sids,
            rids=rids,
        )
        return {(int(row["rid"]), int(row["sid"]), row["wb"]) for row in rows}

    def wblist(
        self,
        sender: str,
        recipient: str,
        client: str = "203.0.113.5",
        sasl: str = "",
        local_domains: tuple[str, ...] = ("example.com",),
        aliases: Mapping[str, str] | None = None,
    ) -> str:
        """Answer RCPT as iRedAPD's amavisd_wblist plugin: OK, REJECT Blacklisted or DUNNO.

        aliases maps an alias domain to its target (iRedAPD asks LDAP for it), and
        local_domains are the domains hosted here.
        """
        aliases = aliases or {}

        def strip(address: str) -> str:
            local, at, domain = address.lower().partition("@")
            return local.split("+", 1)[0] + at + domain

        sender, recipient = strip(sasl or sender), strip(recipient)
        sender_domain, rcpt_domain = sender.rpartition("@")[2], recipient.rpartition("@")[2]
        if not sender or sender == recipient:
            return DUNNO
        senders = policy_addresses(sender)
        recipients = policy_addresses(recipient)
        if not sasl:
            senders.append(sender.split("@", 1)[0] + "@*")
        senders.append(client)
        senders += wildcard_ipv4(client)
        if sender_domain in aliases:
            senders += policy_addresses(f"{sender.split('@', 1)[0]}@{aliases[sender_domain]}")
        if rcpt_domain in aliases:
            recipients += policy_addresses(f"{recipient.split('@', 1)[0]}@{aliases[rcpt_domain]}")
        cidrs: list[int] | None = None
        if sasl:
            local_ids = self._ids("users", senders)
            remote_ids: list[int] = []
            if local_ids:
                remote_ids = self._ids("mailaddr", recipients)
                cidrs = self._cidr_ids(client)
            found = self._pairs("outbound_wblist", local_ids + (cidrs or []), remote_ids)
            for sid in local_ids + (cidrs or []):
                for rid in remote_ids:
                    if (rid, sid, "W") in found:
                        return DUNNO
                    if (rid, sid, "B") in found:
                        return REJECT
        inbound = (
            not sasl
            or sender_domain == rcpt_domain
            or rcpt_domain in aliases
            or rcpt_domain in local_domains
        )
        if not inbound:
            return DUNNO
        local_ids = self._ids("users", recipients)
        remote_ids = []
        if local_ids:
            remote_ids = self._ids("mailaddr", senders)
            if cidrs is None:
                cidrs = self._cidr_ids(client)
        remote_ids += cidrs or []
        found = self._pairs("wblist", remote_ids, local_ids)
        for rid in local_ids:
            for sid in remote_ids:
                if (rid, sid, "W") in found:
                    return OK
                if (rid, sid, "B") in found:
                    return REJECT
        return DUNNO

    def policy_rows(self, recipient: str) -> list[dict[str, Any]]:
        """Amavisd's $sql_select_policy: users rows of the keys, LEFT JOIN policy, by priority."""
        return self._rows(
            "SELECT users.email AS users_email, users.priority AS users_priority, policy.*"
            " FROM users LEFT JOIN policy ON users.policy_id = policy.id"
            " WHERE users.email IN :keys ORDER BY users.priority DESC",
            keys=amavisd_keys(recipient),
        )

    def setting(self, recipient: str, field: str) -> tuple[Any, str | None]:
        """Return (value, users.email it came from) of one policy field; (None, None) means amavisd.conf."""
        for row in self.policy_rows(recipient):
            if row.get(field) is not None:
                return row[field], row["users_email"]
        return None, None

    def settings(self, recipient: str, *fields: str) -> dict[str, Any]:
        """Return {field: value} as Amavisd resolves them for the recipient."""
        return {field: self.setting(recipient, field)[0] for field in fields}

    def sender_listed(self, recipient: str, sender: str) -> str | None:
        """Amavisd's own wblist check: W, B or None, over the recipient's users rows in order."""
        for user in self._rows(
            "SELECT id FROM users WHERE email IN :keys ORDER BY priority DESC",
            keys=amavisd_keys(recipient),
        ):
            rows = self._rows(
                "SELECT wb FROM wblist JOIN mailaddr ON wblist.sid = mailaddr.id"
                " WHERE wblist.rid = :rid AND mailaddr.email IN :keys"
                " ORDER BY mailaddr.priority DESC",
                rid=user["id"],
                keys=amavisd_keys(sender),
            )
            if rows:
                # The first value decides; a space is neutral and ends the search too.
                return rows[0]["wb"].strip().upper() or None
        return None
