"""Mail host operations: the Postfix queue and the anti-virus/anti-spam services.

The REST routes (api/mailhost.py) and the BrainyCP-compatible route (api/brainycp.py)
both call these functions, so the two shapes run the same checks and the same helper
verbs. A command name is checked here, a queue id before any tool sees it (queue.py).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

from flask_babel import gettext

from .. import errors
from ..mailhost.queue import MailQueue
from ..mailhost.services import Services

# What one message may have done to it: the name is the REST route's and BrainyCP's word.
MESSAGE_COMMANDS: dict[str, Callable[[MailQueue, str], dict[str, Any]]] = {
    "delete": MailQueue.delete,
    "hold": MailQueue.hold,
    "release": MailQueue.release,
    "reship": MailQueue.reship,
    "requeue": MailQueue.requeue,
}
SERVICE_COMMANDS = ("status", "on", "off")


def _check_command(command: Any, allowed: tuple[str, ...]) -> str:
    if command not in allowed:
        message = gettext("One of: %(choices)s.", choices=", ".join(allowed))
        raise errors.ValidationFailed(message, errors={"command": [message]})
    return command


def message_command(
    queue: MailQueue,
    queue_id: str,
    command: str,
    allowed: tuple[str, ...] = tuple(MESSAGE_COMMANDS),
) -> dict[str, Any]:
    """Run one command on one queued message: 400 for a bad command or id, 404 if absent."""
    return MESSAGE_COMMANDS[_check_command(command, allowed)](queue, queue_id)


def delete_all(queue: MailQueue, force: bool) -> dict[str, Any]:
    """Delete deferred and held mail; forced, every queue."""
    return queue.delete_all(force)


def delete_frozen(queue: MailQueue) -> dict[str, Any]:
    """Delete every message on hold ("frozen")."""
    return queue.delete_frozen()


def count(queue: MailQueue) -> dict[str, Any]:
    """Return {"total", "by_queue"}."""
    return queue.count()


def list_page(
    queue: MailQueue, filters: dict[str, str | None], offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """Return one page of the matching messages and their total."""
    page = queue.list(**filters, offset=offset, limit=limit)
    return page["items"], page["total"]


def list_all(queue: MailQueue, filters: dict[str, str | None]) -> Iterator[dict[str, Any]]:
    """Yield every matching message; the first is read now, so a failure raises here.

    A queue that cannot be listed (no Postfix, no helper) fails before an answer starts.
    """
    messages = queue.messages(**filters)
    try:
        first = next(messages)
    except StopIteration:
        return iter(())
    return _chain(first, messages)


def _chain(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def service_command(services: Services, service: str, command: str) -> dict[str, Any]:
    """status, on or off of a service; 400 for a bad name, 409 changing, 503 not installed."""
    if _check_command(command, SERVICE_COMMANDS) == "status":
        return services.status(service)
    return services.switch(service, command == "on")
