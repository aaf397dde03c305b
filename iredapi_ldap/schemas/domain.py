"""Domain request and response schemas."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from ..ldap.attrs import DISABLED_DOMAIN_PROFILES
from ..ldap.attrs import DISABLED_USER_PREFERENCES
from ..ldap.attrs import DISABLED_USER_PROFILES
from ..ldap.attrs import DOMAIN_SERVICES
from ..models.domains.view import DOMAIN_VIEW
from .base import BaseSchema
from .base import PageArgsSchema
from .base import TriadMixin
from .build import profile_schemas
from .fields import AccountStatus
from .fields import DomainName
from .fields import Email
from .fields import Language
from .fields import Limit
from .fields import MultiValue
from .fields import OptionalEmail
from .fields import Quota
from .fields import Text
from .fields import Transport
from .fields import YesNo
from .fields import choice_of
from .fields import destination
from .fields import relay_host

NAME = Text(metadata={"description": "Description or company name (cn)"})


def _password_length() -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=0, max=256))


class DomainCreateSchema(BaseSchema):
    """Parameters of POST /api/domain/<domain> (iRedAdmin-Pro names; 2016 names accepted)."""

    name = NAME
    quota = Quota(metadata={"description": "Whole-domain quota in MB; 0 = unlimited"})
    language = Language(metadata={"description": "Default language of new users, e.g. en_US"})
    transport = Transport(metadata={"description": "mtaTransport, e.g. dovecot"})
    defaultQuota = Quota(metadata={"description": "Default quota of new users, MB"})
    maxUserQuota = Quota(metadata={"description": "Largest quota of one user, MB; 0 = no cap"})
    numberOfUsers = Limit(metadata={"description": "Max users; 0 unlimited, -1 none"})
    numberOfAliases = Limit(metadata={"description": "Max aliases; 0 unlimited, -1 none"})
    numberOfLists = Limit(metadata={"description": "Max mailing lists; 0 unlimited, -1 none"})
    accountStatus = AccountStatus()
    minPasswordLength = _password_length()
    maxPasswordLength = _password_length()
    senderBcc = OptionalEmail(metadata={"description": "BCC every outgoing mail; empty clears"})
    recipientBcc = OptionalEmail(metadata={"description": "BCC every incoming mail; empty clears"})
    is_backupmx = YesNo(metadata={"description": "Relay for this domain as backup MX"})
    primarymx = destination(
        metadata={"description": "Primary MX host, [host] or [IP], optional :port (backup MX)"}
    )
    outboundRelay = relay_host(
        metadata={"description": "senderRelayHost, e.g. smtp:[1.2.3.4]:25; empty disables"}
    )
    services = MultiValue(
        choice_of(DOMAIN_SERVICES), metadata={"description": "Replace enabledService"}
    )

    @validates_schema
    def _password_lengths(self, data: dict, **kwargs: Any) -> None:
        low, high = data.get("minPasswordLength"), data.get("maxPasswordLength")
        if low and high and low > high:
            raise ValidationError("Must not exceed maxPasswordLength.", "minPasswordLength")


class DomainUpdateSchema(TriadMixin, DomainCreateSchema):
    """Parameters of PUT /api/domain/<domain>."""

    TRIADS = (
        ("services", "addService", "removeService"),
        ("aliasDomains", "addAliasDomain", "removeAliasDomain"),
    )

    addService = MultiValue(choice_of(DOMAIN_SERVICES))
    removeService = MultiValue(choice_of(DOMAIN_SERVICES))
    catchall = MultiValue(
        Email(),
        metadata={"description": "Catch-all targets (comma list); empty removes the catch-all"},
    )
    aliasDomains = MultiValue(
        DomainName(),
        metadata={
            "description": "Replace the alias domains; their addresses reach the same accounts"
        },
    )
    addAliasDomain = MultiValue(DomainName())
    removeAliasDomain = MultiValue(DomainName())
    disableDomainProfile = MultiValue(choice_of(DISABLED_DOMAIN_PROFILES))
    enableDomainProfile = MultiValue(choice_of(DISABLED_DOMAIN_PROFILES))
    disableUserProfile = MultiValue(choice_of(DISABLED_USER_PROFILES))
    enableUserProfile = MultiValue(choice_of(DISABLED_USER_PROFILES))
    disableUserPreference = MultiValue(choice_of(DISABLED_USER_PREFERENCES))
    enableUserPreference = MultiValue(choice_of(DISABLED_USER_PREFERENCES))


class DomainDeleteArgsSchema(BaseSchema):
    """Query arguments of DELETE /api/domain/<domain>."""

    keep_mailbox_days = fields.Integer(validate=validate.Range(min=0, max=1095))


class DomainListArgsSchema(PageArgsSchema):
    """Query arguments of GET /api/domains."""

    name_only = YesNo(load_default=False)
    disabled_only = YesNo(load_default=False)


# A domain's profile as returned by GET.
DomainSchema, DomainEnvelopeSchema, DomainPageSchema = profile_schemas(
    DOMAIN_VIEW, "Domain", "Domain profiles (without catchall), or names with name_only=yes"
)
