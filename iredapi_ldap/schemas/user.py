"""Request schemas of one mail user (/api/user/<mail> and its sub-resources)."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from .base import BaseSchema
from .base import TriadMixin
from .fields import LANGUAGE
from .fields import AccountStatus
from .fields import Email
from .fields import Language
from .fields import MultiValue
from .fields import OptionalEmail
from .fields import Quota
from .fields import Text
from .fields import Transport
from .fields import YesNo
from .fields import choice_of
from .fields import secret

MAILBOX_FORMATS = ("maildir", "mdbox", "sdbox")
MAILBOX_FOLDER = re.compile(r"^[a-zA-Z0-9]{1,20}$")
SERVICE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# LDAP PrintableString, the syntax of telephoneNumber and mobile.
PHONE = re.compile(r"^[A-Za-z0-9'()+,\-./:? ]{1,64}$")


class MaildirPath(fields.String):
    """An absolute mailbox path, lower-cased as iRedAdmin stores it."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        path = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        if not posixpath.isabs(path) or len(path) > 255:
            raise ValidationError("Must be an absolute path (at most 255 characters).")
        # homeDirectory is IA5 (ASCII) in the schema.
        if any(not 32 <= ord(c) < 127 for c in path) or ".." in path.split("/"):
            raise ValidationError("Must be printable ASCII without '..' components.")
        return path


class ServiceName(fields.String):
    """An enabledService value: any safe token (LDAP accepts custom services)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Regexp(SERVICE_NAME, error="Not a service name."))
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


def _password() -> fields.Field:
    return secret(fields.String(validate=validate.Length(max=1024), metadata={"description": "Plain password; the password policy applies"}))  # fmt: skip


def _password_hash() -> fields.Field:
    return secret(
        fields.String(
            validate=validate.Length(min=1, max=1024),
            metadata={"description": "A {SCHEME}-prefixed hash stored as is (no policy check)"},
        )
    )


def _one_password(data: dict, required: bool) -> None:
    given = [name for name in ("password", "password_hash") if name in data]
    if len(given) > 1:
        raise ValidationError("Give password or password_hash, not both.", "password")
    if required and not given:
        raise ValidationError("Give password or password_hash.", "password")


class UserCreateSchema(BaseSchema):
    """Parameters of POST /api/user/<mail> (2016 names cn/mailQuota/preferredLanguage accepted)."""

    password = _password()
    password_hash = _password_hash()
    name = Text(metadata={"description": "Display name (cn); default: local part"})
    language = Language(metadata={"description": "preferredLanguage; default: the domain's"})
    quota = Quota(metadata={"description": "MB; 0 or absent = the domain's defaultQuota"})
    mailboxFormat = choice_of(MAILBOX_FORMATS)
    mailboxFolder = fields.String(
        validate=validate.Regexp(MAILBOX_FOLDER, error="1-20 letters or digits.")
    )
    maildir = MaildirPath(metadata={"description": "Absolute homeDirectory; default: generated"})
    accountStatus = AccountStatus()

    @validates_schema
    def _password_given(self, data: dict, **kwargs: Any) -> None:
        _one_password(data, required=True)


class UserPasswordSchema(BaseSchema):
    """Parameters of PUT /api/user/<mail>/password."""

    password = _password()
    password_hash = _password_hash()

    @validates_schema
    def _password_given(self, data: dict, **kwargs: Any) -> None:
        _one_password(data, required=True)


class UserUpdateSchema(TriadMixin, BaseSchema):
    """Parameters of PUT /api/user/<mail>; an empty single value removes it."""

    TRIADS = (
        ("forwarding", "addForwarding", "removeForwarding"),
        ("aliases", "addAlias", "removeAlias"),
        ("services", "addService", "removeService"),
    )

    name = Text(metadata={"description": "cn; empty = local part"})
    gn = Text(metadata={"description": "givenName"})
    sn = Text(metadata={"description": "Surname; empty = local part"})
    password = _password()
    password_hash = _password_hash()
    quota = Quota(metadata={"description": "MB; 0 = unlimited"})
    accountStatus = AccountStatus()
    language = Language(
        validate=validate.Regexp(re.compile(r"^$|" + LANGUAGE.pattern), error="Not a language tag.")
    )
    employeeid = Text(metadata={"description": "employeeNumber"})
    transport = Transport(
        allow_empty=True,
        metadata={"description": "mtaTransport; empty removes it (the domain's applies)"},
    )
    isGlobalAdmin = YesNo(
        metadata={"description": "domainGlobalAdmin + enabledService domainadmin"}
    )
    forwarding = MultiValue(
        Email(),
        metadata={
            "description": "Replace mailForwardingAddress; include the user's own address to keep a copy"
        },
    )
    addForwarding = MultiValue(Email())
    removeForwarding = MultiValue(Email())
    aliases = MultiValue(
        Email(), metadata={"description": "Replace the alias addresses (shadowAddress)"}
    )
    addAlias = MultiValue(Email())
    removeAlias = MultiValue(Email())
    services = MultiValue(ServiceName(), metadata={"description": "Replace enabledService"})
    addService = MultiValue(ServiceName())
    removeService = MultiValue(ServiceName())
    senderBcc = OptionalEmail(metadata={"description": "userSenderBccAddress; empty removes"})
    recipientBcc = OptionalEmail(metadata={"description": "userRecipientBccAddress; empty removes"})
    mailboxFormat = choice_of(MAILBOX_FORMATS)
    mailboxFolder = fields.String(
        validate=validate.Regexp(MAILBOX_FOLDER, error="1-20 letters or digits.")
    )
    maildir = MaildirPath(metadata={"description": "Absolute homeDirectory"})
    telephoneNumber = MultiValue(
        Text(max_length=64, validate=validate.Regexp(PHONE)),
        metadata={"description": "Replace; empty clears"},
    )
    mobile = MultiValue(
        Text(max_length=64, validate=validate.Regexp(PHONE)),
        metadata={"description": "Replace; empty clears"},
    )

    @validates_schema
    def _password_given(self, data: dict, **kwargs: Any) -> None:
        _one_password(data, required=False)


class VerifyPasswordSchema(BaseSchema):
    """Parameters of POST /api/verify_password/user/<mail>."""

    password = secret(fields.String(required=True, validate=validate.Length(min=1, max=1024)))
