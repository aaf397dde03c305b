"""What iRedAPD 6.1 looks up at mail time, replayed on a database the API wrote (test side).

A re-implementation, from the reference (policy-store.md §5.1 and §5.3), of the queries
and decisions of iRedAPD's `throttle` and `greylisting` plugins, with their default
settings: raw SQL through its own engine, nothing shared with the code under test. It
answers what iRedAPD would answer for a message, so a test can show that a row written
by the API is enforced (or ignored) as intended.
"""

from __future__ import annotations

import ipaddress
import re
import time
from typing import Any

import sqlalchemy as sa

DUNNO = "DUNNO"
REJECT_SIZE = "REJECT Message size is too large"
REJECT_RCPTS = "REJECT Too many recipients in single message"
REJECT_QUOTA = "REJECT Throttling quota exceeded"
# ACCOUNT_PRIORITIES['cidr']: only greylisting rows with this sender priority are networks.
CIDR_PRIORITY = 70
TRUSTED = ("127.0.0.1", "::1")
EMAIL = re.compile(r"[\w\-#][\w\-.+=/&#]*@[\w\-][\w\-.]*\.[a-zA-Z0-9\-]{2,15}", re.I)
WILDCARD_IP = re.compile(r"(?:[\d*]{1,3})\.(?:[\d*]{1,3})\.(?:[\d*]{1,3})\.(?:[\d*]{1,3})$")
IPV4 = re.compile(
    r"^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$"
)


def policy_addresses(mail: str) -> list[str]:
    """The accounts iRedAPD tries for an address: itself, @domain, @. and each @.parent."""
    if not EMAIL.match(mail or "") or set(mail) & set("~!$%^*() "):
        return ["@."]
    domain = mail.split("@", 1)[1]
    labels = domain.split(".")
    return [mail, f"@{domain}", "@.", *(f"@.{'.'.join(labels[i:])}" for i in range(len(labels)))]


def wildcard_ipv4(ip: str) -> list[str]:
    """a.b.c.* and a.b.*.d (ENABLE_ALL_WILDCARD_IP = False, the default)."""
    if not IPV4.match(ip):
        return []
    a, b, c, d = ip.split(".")
    return [f"{a}.{b}.{c}.*", f"{a}.{b}.*.{d}"]


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _in(column: str, name: str) -> str:
    return f"{column} IN :{name}"


class Iredapd:
    """iRedAPD's throttle and greylisting lookups on one `iredapd` database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.now = lambda: int(time.time())

    def _rows(self, conn: sa.Connection, sql: str, **params: Any) -> list[dict[str, Any]]:
        statement = sa.text(sql)
        for name, value in params.items():
            if isinstance(value, list):
                statement = statement.bindparams(sa.bindparam(name, expanding=True))
        return [dict(row) for row in conn.execute(statement, params).mappings()]

    # -- throttle (END-OF-MESSAGE) -----------------------------------------------------

    def throttle_settings(self, kind: str, user: str, client: str) -> dict[str, dict[str, Any]]:
        """Return, per limit, the rule whose value applies (step 6 of §5.1)."""
        candidates = [client, "@ip", *(policy_addresses(user) if user else []),
                      *wildcard_ipv4(client)]  # fmt: skip
        with self.engine.connect() as conn:
            rules = self._rows(
                conn,
                "SELECT id, account, priority, period, max_msgs, max_quota, max_rcpts, msg_size"
                f" FROM throttle WHERE kind = :kind AND {_in('account', 'accounts')}"
                " ORDER BY priority DESC",
                kind=kind,
                accounts=candidates,
            )
        chosen: dict[str, dict[str, Any]] = {}
        for rule in rules:
            if not rule["period"]:
                continue
            for limit in ("msg_size", "max_rcpts", "max_msgs", "max_quota"):
                if limit not in chosen and rule[limit] >= 0:
                    chosen[limit] = {**rule, "value": rule[limit]}
        return chosen

    def send(
        self,
        sender: str,
        recipient: str,
        client: str = "192.0.2.10",
        size: int = 100,
        recipients: int = 1,
        sasl: str = "",
    ) -> str:
        """Answer END-OF-MESSAGE for one message as the throttle plugin does, counting it if accepted."""
        sender = (sasl or sender).lower()
        recipient = recipient.lower()
        if sender.rpartition("@")[2] == recipient.rpartition("@")[2]:
            return DUNNO  # THROTTLE_BYPASS_SAME_DOMAIN
        kind = "outbound" if sasl or client in TRUSTED else "external"
        action = self._apply(kind, sender, client, size, recipients)
        if action != DUNNO or sasl:  # THROTTLE_BYPASS_LOCAL_RECIPIENT
            return action
        return self._apply("inbound", recipient, client, size, recipients)

    def _apply(self, kind: str, user: str, client: str, size: int, count: int) -> str:
        settings = self.throttle_settings(kind, user, client)
        if not settings:
            return DUNNO
        if "msg_size" in settings and size > settings["msg_size"]["value"] > 0:
            return REJECT_SIZE
        if "max_rcpts" in settings and count > settings["max_rcpts"]["value"] > 0:
            return REJECT_RCPTS
        now = self.now()
        tracked = {}
        with self.engine.begin() as conn:
            for limit in ("max_msgs", "max_quota"):
                if limit not in settings:
                    continue
                rule = settings[limit]
                key = self._track_key(rule["account"], user, client)
                rows = self._rows(
                    conn,
                    "SELECT id, cur_msgs, cur_quota, init_time FROM throttle_tracking"
                    " WHERE tid = :tid AND account = :account",
                    tid=rule["id"],
                    account=key,
                )
                row = rows[0] if rows else None
                expired = bool(row and row["init_time"] and now > row["init_time"] + rule["period"])
                current = {"cur_msgs": 0, "cur_quota": 0} if not row or expired else row
                if limit == "max_msgs" and current["cur_msgs"] + count > rule["value"] > 0:
                    return REJECT_QUOTA
                if limit == "max_quota" and current["cur_quota"] > rule["value"] > 0:
                    return REJECT_QUOTA
                tracked[(rule["id"], key)] = (rule, row, expired)
            for (tid, key), (rule, row, expired) in tracked.items():
                if row is None:
                    conn.execute(
                        sa.text(
                            "INSERT INTO throttle_tracking"
                            " (tid, account, cur_msgs, period, cur_quota, init_time, last_time)"
                            " VALUES (:tid, :account, :msgs, :period, :quota, :now, :now)"
                        ),
                        dict(tid=tid, account=key, msgs=count, period=rule["period"],
                             quota=size, now=now),
                    )  # fmt: skip
                else:
                    counted = "" if expired else "cur_msgs + "
                    summed = "" if expired else "cur_quota + "
                    conn.execute(
                        sa.text(
                            "UPDATE throttle_tracking SET period = :period, last_time = :now,"
                            f" init_time = :start, cur_msgs = {counted}:msgs,"
                            f" cur_quota = {summed}:quota WHERE id = :id"
                        ),
                        dict(period=rule["period"], now=now, msgs=count, quota=size, id=row["id"],
                             start=now if expired or not row["init_time"] else row["init_time"]),
                    )  # fmt: skip
        return DUNNO

    @staticmethod
    def _track_key(account: str, user: str, client: str) -> str:
        """The counter key: the client IP for IP rules, the rule for wildcards, else the user."""
        if account == "@ip" or _is_ip(account):
            return client
        if WILDCARD_IP.match(account) or account.endswith("@*"):
            return account
        return user

    # -- greylisting (RCPT) ------------------------------------------------------------

    def greylisted(self, sender: str, recipient: str, client: str, sasl: str = "") -> bool:
        """Tell whether the greylisting plugin greylists (True) or lets through (False).

        The settings and whitelists decide; the SPF bypass (needs DNS) and the triplet
        tracking that follows a True are left out.
        """
        if sasl or client in TRUSTED:
            return False
        recipients = policy_addresses(recipient.lower())
        senders = [*policy_addresses(sender.lower()), client]
        if IPV4.match(client):
            senders.append(client.rsplit(".", 1)[0] + ".*")
        ip = ipaddress.ip_address(client)
        with self.engine.connect() as conn:
            if self._whitelisted(conn, recipients, senders, client, ip):
                return False
            rows = self._rows(
                conn,
                "SELECT id, account, sender, sender_priority, active FROM greylisting"
                f" WHERE {_in('account', 'recipients')}"
                " ORDER BY priority DESC, sender_priority DESC",
                recipients=recipients,
            )
        prefix = client.split(".", 1)[0] + "."
        for row in rows:
            matched = row["sender"] in senders
            if not matched and row["sender_priority"] == CIDR_PRIORITY and ip.version == 4:
                value = row["sender"]
                if "/" in value and value.startswith(prefix):
                    try:
                        matched = ip in ipaddress.ip_network(value)
                    except ValueError:
                        matched = False
            if matched:
                return row["active"] == 1
        return False

    def _whitelisted(self, conn, recipients, senders, client, ip) -> bool:
        seen: set[str] = set()
        for table in ("greylisting_whitelist_domain_spf", "greylisting_whitelists"):
            listed = {
                row["sender"].lower()
                for row in self._rows(
                    conn,
                    f"SELECT sender FROM {table} WHERE {_in('account', 'recipients')}",
                    recipients=recipients,
                )
            }
            if client in listed or listed & set(senders):
                return True
            seen |= listed
        if ip.version == 4:
            prefix = client.split(".", 1)[0] + "."
            networks = [value for value in seen if value.startswith(prefix) and "/" in value]
        else:
            prefix = client.split(":", 1)[0] + ":"
            networks = [value for value in seen if value.startswith(prefix) and ":/" in value]
        for value in networks:
            try:
                if ip in ipaddress.ip_network(value):
                    return True
            except ValueError:
                continue
        return False
