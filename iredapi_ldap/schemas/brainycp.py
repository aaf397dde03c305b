"""Schemas of the BrainyCP-compatible route: the seed's own parameters and answer."""

from __future__ import annotations

from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from .base import BaseSchema
from .fields import Text
from .fields import secret

# BrainyCP's operation constants of its `mailserver` module (the value is ignored).
OPERATIONS = (
    "list_msg",
    "delete_all_msg",
    "controll_msg",
    "delete_frozen_msg",
    "count_msg",
    "clamav",
    "spamassassin",
)


def _constant(description: str) -> fields.Field:
    return Text(max_length=64, metadata={"description": description})


class BrainyArgsSchema(BaseSchema):
    """The seed's parameters, by GET or POST (spellings as BrainyCP has them)."""

    username = Text(max_length=320, metadata={"description": "Admin email (a global admin)"})
    password = secret(
        fields.String(validate=validate.Length(max=1024), metadata={"description": "Its password"})
    )
    mailserver = _constant("Module constant (required)")
    list_msg = _constant("Operation: list the mail queue")
    delete_all_msg = _constant("Operation: delete deferred and held mail")
    dellete_forse = _constant("(sic) Any value: delete every queue")
    controll_msg = _constant("(sic) Operation: command on one message")
    id = Text(max_length=64, metadata={"description": "Queue id"})
    command = Text(
        max_length=16,
        metadata={
            "description": "controll_msg: delete|reship; clamav, spamassassin: status|on|off"
        },
    )
    delete_frozen_msg = _constant("Operation: delete held (frozen) mail")
    count_msg = _constant("Operation: count queued messages")
    clamav = _constant("Operation: ClamAV status, on, off")
    spamassassin = _constant("Operation: SpamAssassin status, on, off")
    language = Text(
        max_length=16,
        metadata={"description": "en or ru (default ru); Accept-Language otherwise"},
    )


class BrainyAnswerSchema(Schema):
    """BrainyCP's answer: a numeric code, the message (under both of its names), details."""

    error = fields.Integer(
        metadata={
            "description": "0 done; 100 wrong command or empty list; 101 message id missing "
            "or unknown; 102 no usable mail server (Postfix, helper); 400 not allowed"
        }
    )
    mess = fields.String(metadata={"description": "The message, in the request's language"})
    message = fields.String(metadata={"description": "The same message (BrainyCP uses both)"})
    detail = fields.Raw(
        metadata={"description": "Messages, console output, the count or the service status"}
    )
