"""The BrainyCP-compatible route: /api/brainycp with the seed's parameters and answer.

`mailserver` plus one operation constant (`list_msg`, `delete_all_msg` [`dellete_forse`],
`controll_msg` [`id`, `command=delete|reship`], `delete_frozen_msg`, `count_msg`,
`clamav`/`spamassassin` [`command=status|on|off`]), `username` and `password` by GET or
POST, `language` (Russian by default, as BrainyCP). The answer is BrainyCP's
`{error, mess, message, detail}` with its codes 0, 100, 101, 102 and 400, HTTP 200.
The operations are those of the REST routes (services/mailhost.py); only global admins
may run them. Failures outside BrainyCP's codes (too many failed logins, a service
changing state, an internal error) are answered in this API's error envelope.
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from .. import audit
from .. import errors
from .. import services
from ..auth import PUBLIC
from ..auth import check_credentials
from ..auth import requires
from ..mailhost import MailHostUnavailable
from ..mailhost.queue import get_mail_queue
from ..mailhost.services import get_services
from ..schemas.base import ErrorEnvelopeSchema
from ..schemas.brainycp import OPERATIONS
from ..schemas.brainycp import BrainyAnswerSchema
from ..schemas.brainycp import BrainyArgsSchema
from . import ApiBlueprint

blp = ApiBlueprint("brainycp", __name__, description="BrainyCP-compatible mail server API")

DONE, WRONG, NO_ID, NO_SERVER, REFUSED = 0, 100, 101, 102, 400
LISTED = _l("Mail queue list")
EMPTY = _l("The mail queue list is empty")
NOT_AVAILABLE = _l("Unfortunately, the module is not available to you.")
COMPLETED = _l("Request completed")
BAD_COMMAND_VALUE = _l("Invalid value of command")
NO_MESSAGE_ID = _l("The message id is missing or unknown")
NO_MAIL_SERVER = _l("The sending mail server is missing or wrong")
COUNTED = _l("Number of messages")
EXECUTED = _l("Command executed")
WRONG_COMMAND = _l("Wrong command")
WRITES = ("delete_all_msg", "controll_msg", "delete_frozen_msg")
BUSY = "SERVICE_BUSY: the service is changing state; try again"
LIMITED = "TOO_MANY_REQUESTS: too many failed logins; see Retry-After"
ANSWERED = "BrainyCP's answer; `error` says the outcome (0 done)"


@blp.route("/brainycp", methods=["GET"])
@blp.arguments(BrainyArgsSchema, location="query")
@blp.response(200, BrainyAnswerSchema, description=ANSWERED)
@blp.alt_response(409, schema=ErrorEnvelopeSchema, description=BUSY)
@blp.alt_response(429, schema=ErrorEnvelopeSchema, description=LIMITED)
@requires(PUBLIC)
def brainycp_get(args):
    """Run a BrainyCP `mailserver` operation given in the query string."""
    return _run(args)


@blp.route("/brainycp", methods=["POST"])
@blp.arguments(BrainyArgsSchema, location="query")
@blp.arguments(BrainyArgsSchema, location="json_or_form", required=False)
@blp.response(200, BrainyAnswerSchema, description=ANSWERED)
@blp.alt_response(409, schema=ErrorEnvelopeSchema, description=BUSY)
@blp.alt_response(429, schema=ErrorEnvelopeSchema, description=LIMITED)
@requires(PUBLIC)
def brainycp_post(query, body):
    """Run a BrainyCP `mailserver` operation given in the body (or the query string)."""
    return _run({**query, **body})


def _answer(code: int, message: Any, detail: Any = None):
    text = str(message)
    payload: dict[str, Any] = {"error": code, "mess": text, "message": text}
    if detail is not None:
        payload["detail"] = detail
    body = json.dumps(payload, ensure_ascii=False)
    return current_app.response_class(body, mimetype="application/json")


def _run(args: dict[str, Any]):
    try:
        admin = check_credentials(args.get("username", ""), args.get("password", ""))
    except (errors.InvalidCredentials, errors.Forbidden):
        return _answer(REFUSED, NOT_AVAILABLE)
    audit.note(admin=admin.mail)
    if not admin.is_super:
        return _answer(REFUSED, NOT_AVAILABLE)
    named = [name for name in OPERATIONS if name in args]
    if "mailserver" not in args or len(named) != 1:
        return _answer(WRONG, WRONG_COMMAND)
    operation = named[0]
    audit.note(action=operation)
    if operation in WRITES or args.get("command") in ("on", "off"):
        audit.record_always()  # a write sent by GET is audited as a POST is
    try:
        return OPERATION_VIEWS[operation](args)
    except MailHostUnavailable:
        return _answer(NO_SERVER, NO_MAIL_SERVER)
    except errors.NotFound:
        return _answer(NO_ID, NO_MESSAGE_ID)
    except errors.ValidationFailed as exc:
        if "id" in (exc.errors or {}):
            return _answer(NO_ID, NO_MESSAGE_ID)
        if "command" in (exc.errors or {}):
            return _answer(WRONG, BAD_COMMAND_VALUE)
        raise


def _list(args: dict[str, Any]):
    messages = list(services.mailhost.list_all(get_mail_queue(), {}))
    return _answer(DONE, LISTED, messages) if messages else _answer(WRONG, EMPTY)


def _delete_all(args: dict[str, Any]):
    result = services.mailhost.delete_all(get_mail_queue(), "dellete_forse" in args)
    return _answer(DONE, COMPLETED, result["output"])


def _control(args: dict[str, Any]):
    if not args.get("id"):
        return _answer(NO_ID, NO_MESSAGE_ID)
    result = services.mailhost.message_command(
        get_mail_queue(), args["id"], args.get("command"), ("delete", "reship")
    )
    return _answer(DONE, COMPLETED, result["output"])


def _delete_frozen(args: dict[str, Any]):
    result = services.mailhost.delete_frozen(get_mail_queue())
    return _answer(DONE, COMPLETED, result["output"])


def _count(args: dict[str, Any]):
    return _answer(DONE, COUNTED, services.mailhost.count(get_mail_queue())["total"])


def _service(name: str):
    def run(args: dict[str, Any]):
        command = args.get("command")
        if command not in services.mailhost.SERVICE_COMMANDS:
            return _answer(WRONG, WRONG_COMMAND)
        result = services.mailhost.service_command(get_services(), name, command)
        return _answer(DONE, EXECUTED, result["status"])

    return run


OPERATION_VIEWS = {
    "list_msg": _list,
    "delete_all_msg": _delete_all,
    "controll_msg": _control,
    "delete_frozen_msg": _delete_frozen,
    "count_msg": _count,
    "clamav": _service("clamav"),
    "spamassassin": _service("spamassassin"),
}
