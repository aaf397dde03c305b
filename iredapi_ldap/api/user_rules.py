"""Mail user fields only a global admin may send with some values (declared on the routes)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from marshmallow import ValidationError

from ..ldap import get_directory
from ..models import admins
from ..models import users
from ..policies import ValueRule
from ..policies import global_values
from ..policies import naming
from ..schemas.fields import MultiValue
from ..schemas.user import MaildirPath
from ..schemas.user import ServiceName
from .paths import path_mail

ADMIN_SERVICES = frozenset({users.ADMIN_SERVICE})
SERVICES = MultiValue(ServiceName())


def _text(value: Any) -> str:
    """Read one raw text value as the schemas do (stripped); anything else is their 400."""
    if not isinstance(value, str):
        raise ValidationError("Not a valid string.")
    return value.strip()


def _services_refusal(values: list[Any], view_args: dict[str, Any]) -> str | None:
    """Refuse naming domainadmin, and replacing an admin's services (it would drop domainadmin)."""
    refusal = naming(values, ADMIN_SERVICES)
    if refusal is None and admins.is_admin_account(get_directory(), path_mail(view_args["mail"])):
        refusal = "Only a global admin may replace an admin's services (it drops domainadmin)."
    return refusal


def _maildir_refusal(values: list[Any], view_args: dict[str, Any]) -> str | None:
    mail = path_mail(view_args["mail"])
    return users.maildir_refusal(get_directory(), mail, values, current_app.config)


def _transport_refusal(values: list[Any], view_args: dict[str, Any]) -> str | None:
    return users.transport_refusal(values, current_app.config)


ADMIN_SERVICE_RULES = (
    ValueRule(
        "services",
        _services_refusal,
        example="mail,domainadmin",
        description="only a global admin may grant or remove `domainadmin`, or replace the "
        "services of an admin's own account.",
        parse=SERVICES.deserialize,
    ),
    *global_values(
        ("addService", "removeService"),
        ADMIN_SERVICES,
        SERVICES.deserialize,
        "only a global admin may add or remove `domainadmin`.",
    ),
)
MAILDIR_RULE = ValueRule(
    "maildir",
    _maildir_refusal,
    example="/etc/",
    description="admins other than global ones may only give a path inside the domain's own "
    "mailbox directory (`<storage base>/<domain>/...`) that overlaps no other mailbox.",
    parse=MaildirPath().deserialize,
)
TRANSPORT_RULE = ValueRule(
    "transport",
    _transport_refusal,
    example="smtp:[203.0.113.9]:25",
    description="admins other than global ones may only send it empty or with a value of "
    "`[api] domain_admin_transports`.",
    parse=_text,
)
