"""The Postfix mail queue, through the root helper: list, count, delete, hold, reship, requeue.

Queue ids are checked here before the helper is called (and again by the helper).
"Frozen" is Postfix's hold queue (mailhost-ops.md §1.5). Listing streams the helper's
output: a page keeps only its own messages in memory, whatever the size of the queue.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from typing import Any

from flask_babel import gettext

from .. import errors
from . import roothelper
from .helper import Helper

QUEUES = roothelper.LISTED_QUEUES  # maildrop, hold, deferred, incoming, active
FROZEN = "hold"
MAX_FILTER_LENGTH = 320
UNAVAILABLE = "MAIL_QUEUE_UNAVAILABLE"
NEW_IDS = "Requeued mail gets new queue ids."


def check_queue_id(value: Any) -> str:
    """Return a valid Postfix queue id; 400 naming the field `id` otherwise."""
    try:
        return roothelper.check_queue_id(value)
    except roothelper.Failure as exc:
        message = gettext("Not a Postfix queue id (6-32 letters and digits).")
        raise errors.ValidationFailed(message, errors={"id": [message]}) from exc


def _filter(field: str, value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_FILTER_LENGTH or not value.isprintable():
        message = gettext("At most %(count)d printable characters.", count=MAX_FILTER_LENGTH)
        raise errors.ValidationFailed(message, errors={field: [message]})
    return value.lower()


def message_view(raw: dict[str, Any]) -> dict[str, Any]:
    """Return the API's view of one helper message."""
    arrival = int(raw["arrival_time"])
    return {
        "id": raw["queue_id"],
        "queue": raw["queue_name"],
        "frozen": raw["queue_name"] == FROZEN,
        "arrival_time": arrival,
        "arrival_time_iso": datetime.fromtimestamp(arrival, UTC).isoformat(),
        "size": raw["message_size"],
        "sender": raw["sender"],
        "recipients": raw["recipients"],
        "forced_expire": raw["forced_expire"],
    }


class MailQueue:
    """The mail queue of the configured Postfix instance."""

    def __init__(self, helper: Helper) -> None:
        self.helper = helper

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MailQueue:
        """Build from the app config ([mailhost] section)."""
        return cls(Helper.from_config(config))

    def _call(self, verb: str, argument: str | None = None) -> dict[str, Any]:
        answer = self.helper.call(verb, argument, unavailable=UNAVAILABLE)
        return {key: value for key, value in answer.items() if key not in ("ok", "verb")}

    # -- reading ----------------------------------------------------------------------

    def messages(
        self, queue: str | None = None, sender: str | None = None, recipient: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield every queued message that matches the filters, one at a time.

        `queue` is a queue name; `sender` and `recipient` match case-insensitively as parts
        of the address (`example.com`, `MAILER-DAEMON`).
        """
        if queue not in (None, "") and queue not in QUEUES:
            message = gettext("One of: %(choices)s.", choices=", ".join(QUEUES))
            raise errors.ValidationFailed(message, errors={"queue": [message]})
        sender, recipient = _filter("sender", sender), _filter("recipient", recipient)
        for raw in self.helper.stream("queue-list", unavailable=UNAVAILABLE):
            if queue and raw["queue_name"] != queue:
                continue
            if sender is not None and sender not in raw["sender"].lower():
                continue
            if recipient is not None and not any(
                recipient in item["address"].lower() for item in raw["recipients"]
            ):
                continue
            yield message_view(raw)

    def list(
        self, queue: str | None = None, sender: str | None = None, recipient: str | None = None,
        offset: int = 0, limit: int | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Return {"total": matching messages, "items": the page [offset, offset + limit)}.

        Without a limit every matching message is returned; with one, only the page is kept.
        """
        if offset < 0 or (limit is not None and limit < 0):
            raise errors.ValidationFailed(
                gettext("offset and limit must not be negative."),
                errors={"offset" if offset < 0 else "limit": [gettext("Must not be negative.")]},
            )
        total, items = 0, []
        for message in self.messages(queue, sender, recipient):
            if total >= offset and (limit is None or len(items) < limit):
                items.append(message)
            total += 1
        return {"total": total, "items": items}

    def count(self) -> dict[str, Any]:
        """Return {"total": n, "by_queue": {queue: n}} with every queue named."""
        by_queue = dict.fromkeys(QUEUES, 0)
        for raw in self.helper.stream("queue-list", unavailable=UNAVAILABLE):
            by_queue[raw["queue_name"]] += 1
        return {"total": sum(by_queue.values()), "by_queue": by_queue}

    # -- changing ---------------------------------------------------------------------

    def delete(self, queue_id: str) -> dict[str, Any]:
        """Delete one message; 404 if it is not queued."""
        return self._call("queue-delete", check_queue_id(queue_id))

    def delete_all(self, force: bool = False) -> dict[str, Any]:
        """Delete deferred and held mail; with force, every message of every queue."""
        return self._call("queue-delete-all-forced" if force else "queue-delete-all")

    def delete_frozen(self) -> dict[str, Any]:
        """Delete every message on hold."""
        return self._call("queue-delete-queue", FROZEN)

    def hold(self, queue_id: str) -> dict[str, Any]:
        """Put one message on hold ("freeze"); 404 if it is not queued."""
        return self._call("queue-hold", check_queue_id(queue_id))

    def release(self, queue_id: str) -> dict[str, Any]:
        """Take one message off hold; 404 if it is not queued."""
        return self._call("queue-release", check_queue_id(queue_id))

    def reship(self, queue_id: str) -> dict[str, Any]:
        """Deliver one message now, keeping its id (released first if held)."""
        return self._call("queue-reship", check_queue_id(queue_id))

    def requeue(self, queue_id: str) -> dict[str, Any]:
        """Requeue one message; it gets a new id (said in `note`)."""
        return {**self._call("queue-requeue", check_queue_id(queue_id)), "note": NEW_IDS}

    def requeue_all(self) -> dict[str, Any]:
        """Requeue every message; they get new ids (said in `note`)."""
        return {**self._call("queue-requeue-all"), "note": NEW_IDS}

    def flush(self) -> dict[str, Any]:
        """Attempt delivery of every queued message now."""
        return self._call("queue-flush")


def get_mail_queue() -> MailQueue:
    """Return the MailQueue of the current app's configuration."""
    from flask import current_app

    return MailQueue.from_config(current_app.config)
