"""Admin request and response schemas: iRedAdmin-Pro fields plus Rackspace's admin fields."""

from __future__ import annotations

import ipaddress
from typing import Any

from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import pre_load
from marshmallow import validate
from marshmallow import validates_schema

from ..models.admins.view import ADMIN_SUMMARY
from ..models.admins.view import ADMIN_VIEW
from .base import BaseSchema
from .base import PageArgsSchema
from .base import TriadMixin
from .base import envelope
from .base import page_envelope
from .build import schema_from_fields
from .fields import AccountStatus
from .fields import DomainName
from .fields import Email
from .fields import Language
from .fields import Limit
from .fields import MultiValue
from .fields import Quota
from .fields import Text
from .fields import YesNo
from .fields import not_blank
from .fields import secret

TYPES = ("super", "standard", "limited")
QUOTA_UNITS = ("MB", "GB", "TB")
MAX_RESTRICTED_IPS = 3
IPS_MESSAGE = (
    "IP addresses must be valid addresses or networks separated by commas. "
    f"A maximum of {MAX_RESTRICTED_IPS} addresses may be entered."
)
PRINTABLE_ASCII = r"^[\x20-\x7e]*$"


def normalise_network(text: str) -> str:
    """Return an address (`1.2.3.4`) or network (`10.0.0.0/8`) in canonical form."""
    network = ipaddress.ip_network(text.strip(), strict=False)
    if network.num_addresses == 1:
        return str(network.network_address)
    return str(network)


class RestrictedIps(fields.Field):
    """Up to three addresses or networks: comma list, repeated fields or JSON list; empty clears."""

    is_multiple = True

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        raw = value if isinstance(value, (list, tuple)) else [value]
        if not all(isinstance(item, str) for item in raw):
            raise ValidationError(IPS_MESSAGE)
        parts = [p.strip() for item in raw for p in item.split(",") if p.strip()]
        result: list[str] = []
        for part in parts:
            try:
                network = normalise_network(part)
            except ValueError as exc:
                raise ValidationError(f"{IPS_MESSAGE} Not valid: {part}.") from exc
            if network not in result:
                result.append(network)
        if len(result) > MAX_RESTRICTED_IPS:
            raise ValidationError(IPS_MESSAGE)
        return result


def _name(description: str) -> Text:
    return Text(metadata={"description": description})


def _password(description: str, **kwargs: Any) -> fields.Field:
    return secret(
        fields.String(
            validate=validate.Length(min=1, max=256),
            metadata={"description": description},
            **kwargs,
        )
    )


class AdminSelfServiceSchema(BaseSchema):
    """Fields an admin may change on its own account (the rest are global-admin only)."""

    name = _name("Display name (cn)")
    firstName = _name("givenName")
    lastName = _name("sn")
    email = Email(metadata={"description": "Contact address; defaults to the admin's own"})
    language = Language(metadata={"description": "preferredLanguage, e.g. en_US"})
    password = _password("Plain password, checked against the global password policy")
    securityQuestion = Text(
        min_length=1,
        validate=validate.Regexp(PRINTABLE_ASCII, error="Use printable ASCII characters only."),
    )
    securityAnswer = secret(
        fields.String(
            validate=[validate.Length(min=1, max=255), not_blank],
            metadata={"description": "Stored hashed; compared case-insensitively"},
        )
    )


class AdminFieldsSchema(AdminSelfServiceSchema):
    """Every settable admin field (shared by create and update)."""

    accountStatus = AccountStatus()
    enabled = YesNo(metadata={"description": "Rackspace name for accountStatus (true = active)"})
    locked = YesNo(metadata={"description": "A locked admin cannot log in"})
    type = fields.String(
        validate=validate.OneOf(TYPES),
        metadata={"description": "super (global), standard (its domains), limited (read-only)"},
    )
    isGlobalAdmin = YesNo(metadata={"description": "iRedAdmin-Pro name for type=super"})
    createNewDomains = YesNo(metadata={"description": "A standard admin may create domains"})
    maxDomains = Limit(
        metadata={"description": "Domains it may manage after creating; 0 unlimited, -1 none"}
    )
    maxUsers = Limit(metadata={"description": "Users in all its domains; 0 unlimited, -1 none"})
    maxAliases = Limit(metadata={"description": "Aliases in all its domains"})
    maxLists = Limit(metadata={"description": "Mailing lists in all its domains"})
    maxQuota = Quota(
        metadata={"description": "Mailbox quota summed over all its domains, in quotaUnit"}
    )
    quotaUnit = fields.String(
        validate=validate.OneOf(QUOTA_UNITS), metadata={"description": "MB, GB or TB"}
    )
    disableViewingMailLog = YesNo()
    disableManagingQuarantinedMails = YesNo()
    passwordExpiration = fields.Integer(
        validate=validate.Range(min=0, max=36500),
        metadata={"description": "Days until the password must be changed; 0 = never"},
    )
    allowSimultaneousLogins = YesNo(metadata={"description": "no: a new login ends older sessions"})
    restrictedIps = RestrictedIps(
        metadata={"description": "Up to 3 addresses or networks; empty clears"}
    )
    domains = MultiValue(
        DomainName(), metadata={"description": "Domains it manages (replaces the set)"}
    )

    @pre_load
    def _upper_unit(self, data: Any, **kwargs: Any) -> Any:
        if hasattr(data, "keys") and isinstance(data.get("quotaUnit"), str):
            data = {key: data[key] for key in data.keys()}
            data["quotaUnit"] = data["quotaUnit"].strip().upper()
        return data

    @validates_schema
    def _consistent(self, data: dict, **kwargs: Any) -> None:
        if (
            "type" in data
            and "isGlobalAdmin" in data
            and (data["type"] == "super") != data["isGlobalAdmin"]
        ):
            raise ValidationError("Contradicts isGlobalAdmin.", "type")
        if "enabled" in data and "accountStatus" in data:
            if data["enabled"] != (data["accountStatus"] == "active"):
                raise ValidationError("Contradicts accountStatus.", "enabled")
        if "quotaUnit" in data and "maxQuota" not in data:
            raise ValidationError("Give maxQuota with quotaUnit.", "quotaUnit")


class AdminCreateSchema(AdminFieldsSchema):
    """Parameters of POST /api/admin/<mail> (type defaults to standard)."""

    password = _password(
        "Plain password, checked against the global password policy", required=True
    )

    @validates_schema
    def _question_pair(self, data: dict, **kwargs: Any) -> None:
        if "securityAnswer" in data and "securityQuestion" not in data:
            raise ValidationError("Give securityQuestion with securityAnswer.", "securityAnswer")


class AdminUpdateSchema(TriadMixin, AdminFieldsSchema):
    """Parameters of PUT /api/admin/<mail>; an admin changing itself sends oldPassword with password."""

    TRIADS = (("domains", "addDomain", "removeDomain"),)

    oldPassword = _password("Current password; needed when admins change their own password")
    addDomain = MultiValue(DomainName())
    removeDomain = MultiValue(DomainName())

    @validates_schema
    def _something(self, data: dict, **kwargs: Any) -> None:
        if not data:
            raise ValidationError("Give at least one field to change.")


class AdminPasswordSchema(BaseSchema):
    """Parameters of PUT /api/admin/<mail>/password."""

    password = _password("New plain password", required=True)
    oldPassword = _password("Current password; needed when admins change their own password")


class AdminVerifyPasswordSchema(BaseSchema):
    """Parameters of POST /api/verify_password/admin/<mail>."""

    password = secret(fields.String(required=True, validate=validate.Length(min=1, max=1024)))


class AdminListArgsSchema(PageArgsSchema):
    """Query arguments of GET /api/admins (page/page_size, offset/limit, or Rackspace's size)."""

    size = fields.Integer(
        validate=validate.Range(min=1), metadata={"description": "Page size (Rackspace)"}
    )

    @validates_schema
    def _one_size(self, data: dict, **kwargs: Any) -> None:
        if "size" in data and {"limit", "page_size"} & data.keys():
            raise ValidationError("Give size, limit or page_size, not several.", "size")


# An admin's profile as returned by GET (never a password or answer hash).
AdminSchema = schema_from_fields(ADMIN_VIEW, "AdminSchema")
# One admin in a listing.
AdminSummarySchema = schema_from_fields(ADMIN_SUMMARY, "AdminSummarySchema")
AdminEnvelopeSchema = envelope("AdminEnvelopeSchema", fields.Nested(AdminSchema))
# `size` repeats the page size as Rackspace names it.
AdminPageSchema = page_envelope(
    "AdminPageSchema",
    fields.Nested(AdminSummarySchema),
    size=fields.Integer(metadata={"description": "The page size (Rackspace name)"}),
)
