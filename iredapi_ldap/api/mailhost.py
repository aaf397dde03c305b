"""The mail host: the Postfix queue (/api/mailqueue...) and services (/api/mailservice/...).

Global admins only. The views call services/mailhost.py, as the BrainyCP-compatible
route (api/brainycp.py) does.
"""

from __future__ import annotations

import json
from itertools import islice

from flask import current_app
from flask import stream_with_context

from .. import services
from ..auth import GLOBAL_ADMIN
from ..auth import requires
from ..mailhost.queue import get_mail_queue
from ..mailhost.services import get_services
from ..schemas.base import ErrorEnvelopeSchema
from ..schemas.mailhost import LanguageArgsSchema
from ..schemas.mailhost import QueueCountEnvelopeSchema
from ..schemas.mailhost import QueueDeleteAllArgsSchema
from ..schemas.mailhost import QueueListArgsSchema
from ..schemas.mailhost import QueuePageSchema
from ..schemas.mailhost import QueueResultEnvelopeSchema
from ..schemas.mailhost import ServiceStatusEnvelopeSchema
from . import ApiBlueprint
from .paging import Page
from .paging import window

blp = ApiBlueprint("mailhost", __name__, description="The mail host: Postfix queue, services")

PAGING = ("page", "page_size", "offset", "limit")
FILTERS = ("queue", "sender", "recipient")
STREAM_CHUNK = 1000  # messages per write
ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
UNAVAILABLE = (
    "MAIL_QUEUE_UNAVAILABLE, SERVICE_UNAVAILABLE, MAILHOST_HELPER_UNAVAILABLE: "
    "Postfix, the service, sudo or the mail host helper is missing (named in detail)"
)
NOT_FOUND = "NO_SUCH_MESSAGE: the id is not in the mail queue"
BUSY = "SERVICE_BUSY: the service is changing state; try again"


@blp.route("/mailqueue", methods=["GET"])
@blp.arguments(QueueListArgsSchema, location="query")
@blp.response(200, QueuePageSchema)
@blp.alt_response(503, schema=ErrorEnvelopeSchema, description=UNAVAILABLE)
@requires(GLOBAL_ADMIN)
def list_queue(args):
    """List queued messages, filtered; paged with page/offset, else all of them, streamed."""
    filters = {name: args.get(name) for name in FILTERS}
    if not any(name in args for name in PAGING):
        return _stream(services.mailhost.list_all(get_mail_queue(), filters))
    offset, limit = window(args)
    items, total = services.mailhost.list_page(get_mail_queue(), filters, offset, limit)
    return Page(items, offset, limit, total)


def _stream(messages):
    """Answer every message as the page envelope, written as the helper reads them.

    Memory stays bounded by a chunk of messages; `total` comes after `_data`.
    """

    def body():
        yield '{"success":true,"_success":true,"_data":['
        total = 0
        while batch := list(islice(messages, STREAM_CHUNK)):
            yield ("," if total else "") + ",".join(map(ENCODE, batch))
            total += len(batch)
        yield f'],"total":{total}}}'

    return current_app.response_class(stream_with_context(body()), mimetype="application/json")


@blp.route("/mailqueue/count", methods=["GET"])
@blp.arguments(LanguageArgsSchema, location="query")
@blp.response(200, QueueCountEnvelopeSchema)
@blp.alt_response(503, schema=ErrorEnvelopeSchema, description=UNAVAILABLE)
@requires(GLOBAL_ADMIN)
def count_queue(_args):
    """Count queued messages, in all and per queue."""
    return services.mailhost.count(get_mail_queue())


@blp.route("/mailqueue", methods=["DELETE"])
@blp.arguments(QueueDeleteAllArgsSchema, location="query")
@blp.response(200, QueueResultEnvelopeSchema)
@blp.alt_response(503, schema=ErrorEnvelopeSchema, description=UNAVAILABLE)
@requires(GLOBAL_ADMIN)
def delete_all(args):
    """Delete deferred and held mail; force=yes: every message of every queue."""
    return services.mailhost.delete_all(get_mail_queue(), args["force"])


@blp.route("/mailqueue/frozen", methods=["DELETE"])
@blp.arguments(LanguageArgsSchema, location="query")
@blp.response(200, QueueResultEnvelopeSchema)
@blp.alt_response(503, schema=ErrorEnvelopeSchema, description=UNAVAILABLE)
@requires(GLOBAL_ADMIN)
def delete_frozen(_args):
    """Delete every message on hold ("frozen")."""
    return services.mailhost.delete_frozen(get_mail_queue())


@blp.route("/mailqueue/flush", methods=["POST"])
@blp.arguments(LanguageArgsSchema, location="query")
@blp.response(200, QueueResultEnvelopeSchema)
@blp.alt_response(503, schema=ErrorEnvelopeSchema, description=UNAVAILABLE)
@requires(GLOBAL_ADMIN)
def flush(_args):
    """Attempt delivery of every queued message now (postqueue -f)."""
    return get_mail_queue().flush()


@blp.route("/mailqueue/requeue", methods=["POST"])
@blp.arguments(LanguageArgsSchema, location="query")
@blp.response(200, QueueResultEnvelopeSchema)
@blp.alt_response(503, schema=ErrorEnvelopeSchema, description=UNAVAILABLE)
@requires(GLOBAL_ADMIN)
def requeue_all(_args):
    """Requeue every message (postsuper -r ALL); they get new queue ids (said in note)."""
    return get_mail_queue().requeue_all()


@blp.route("/mailqueue/<queue_id>", methods=["DELETE"])
@blp.arguments(LanguageArgsSchema, location="query")
@blp.response(200, QueueResultEnvelopeSchema)
@blp.alt_response(404, schema=ErrorEnvelopeSchema, description=NOT_FOUND)
@blp.alt_response(503, schema=ErrorEnvelopeSchema, description=UNAVAILABLE)
@requires(GLOBAL_ADMIN)
def delete_message(_args, queue_id):
    """Delete one message; 400 for a malformed id, 404 when it is not queued."""
    return services.mailhost.message_command(get_mail_queue(), queue_id, "delete")


def _post_route(rule: str, endpoint: str, schema, failure: tuple[int, str], doc: str, run):
    """Register a POST view `run(the rule's one path value)` that takes only `language`."""

    def view(_args, **path):
        (value,) = path.values()
        return run(value)

    view.__doc__ = doc  # before the decorators: the OpenAPI summary is read from it
    view = requires(GLOBAL_ADMIN)(view)
    view = blp.alt_response(503, schema=ErrorEnvelopeSchema, description=UNAVAILABLE)(view)
    view = blp.alt_response(failure[0], schema=ErrorEnvelopeSchema, description=failure[1])(view)
    view = blp.response(200, schema)(view)
    view = blp.arguments(LanguageArgsSchema, location="query")(view)
    return blp.route(rule, methods=["POST"], endpoint=endpoint)(view)


def _message_route(command: str, doc: str):
    def run(queue_id: str):
        return services.mailhost.message_command(get_mail_queue(), queue_id, command)

    rule = f"/mailqueue/<queue_id>/{command}"
    return _post_route(rule, command, QueueResultEnvelopeSchema, (404, NOT_FOUND), doc, run)


hold = _message_route("hold", "Put one message on hold (freeze it); 404 when it is not queued.")
release = _message_route("release", "Take one message off hold; 404 when it is not queued.")
reship = _message_route(
    "reship", "Deliver one message now, keeping its id (released first if held)."
)
requeue = _message_route(
    "requeue", "Requeue one message (postsuper -r); it gets a new queue id (said in note)."
)


@blp.route("/mailservice/<service>", methods=["GET"])
@blp.arguments(LanguageArgsSchema, location="query")
@blp.response(200, ServiceStatusEnvelopeSchema)
@blp.alt_response(503, schema=ErrorEnvelopeSchema, description=UNAVAILABLE)
@requires(GLOBAL_ADMIN)
def service_status(_args, service):
    """Status of clamav, spamassassin or amavis: on, off or changing, with each unit."""
    return services.mailhost.service_command(get_services(), service, "status")


def _switch_route(command: str, doc: str):
    def run(service: str):
        return services.mailhost.service_command(get_services(), service, command)

    rule, endpoint = f"/mailservice/<service>/{command}", f"service_{command}"
    return _post_route(rule, endpoint, ServiceStatusEnvelopeSchema, (409, BUSY), doc, run)


service_on = _switch_route("on", "Switch clamav, spamassassin or amavis on; answer the new status.")
service_off = _switch_route(
    "off", "Switch clamav or spamassassin off (amavis is not stopped); answer the new status."
)
