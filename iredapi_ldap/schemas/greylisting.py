"""Schemas of iRedAPD's greylisting: /api/greylisting/..."""

from __future__ import annotations

from marshmallow import Schema
from marshmallow import fields

from .base import BaseSchema
from .base import PageArgsSchema
from .base import TriadMixin
from .base import envelope
from .fields import MultiValue
from .fields import Text
from .fields import string_list


def _values(description: str) -> MultiValue:
    """A comma list, repeated form fields or a JSON list; each value is checked by the model."""
    return MultiValue(Text(), metadata={"description": description})


class GreylistingStatusSchema(BaseSchema):
    """Parameters of POST /api/greylisting/{global|<domain>|<mail>}."""

    status = Text(
        required=True,
        min_length=1,
        max_length=16,
        metadata={"description": "enable or disable (any case)"},
    )


class GreylistingWhitelistsSchema(TriadMixin, BaseSchema):
    """Parameters of POST .../whitelists: senders replaces, addSenders/removeSenders change."""

    TRIADS = (("senders", "addSenders", "removeSenders"),)
    FORMS = "IP, CIDR network, a.b.c.*, user@domain, @domain, @.domain or @."

    senders = _values(f"Replace the whitelist (empty clears it): {FORMS}")
    addSenders = _values(f"Add to the whitelist: {FORMS}")
    removeSenders = _values("Remove from the whitelist")


class GreylistingSpfDomainsSchema(TriadMixin, BaseSchema):
    """Parameters of POST /api/greylisting/whitelist_spf_domains."""

    TRIADS = (("domains", "addDomains", "removeDomains"),)

    domains = _values("Replace the SPF-whitelisted domains (empty clears them)")
    addDomains = _values("Add domains")
    removeDomains = _values("Remove domains and the addresses derived from them")


class GreylistingAllArgsSchema(PageArgsSchema):
    """Paging of GET /api/greylisting/all; without it every row is streamed."""


class GreylistingRowSchema(Schema):
    """One greylisting row."""

    account = fields.String(metadata={"description": "Recipient account: @., @domain, user"})
    sender = fields.String(metadata={"description": "Sender: @. for every sender"})
    status = fields.String(metadata={"description": "enabled or disabled"})


class GreylistingSchema(Schema):
    """Greylisting of an account."""

    status = fields.String(metadata={"description": "enabled, disabled or inherit"})


class WhitelistsSchema(Schema):
    """Greylisting whitelist of an account."""

    whitelists = string_list("Senders never greylisted for the account")
    whitelist_domains = string_list("Global only: the SPF-whitelisted domains")


class SpfDomainsSchema(Schema):
    """The SPF-whitelisted domains."""

    domains = string_list("Domains whose SPF/MX hosts iRedAPD's hourly job whitelists")


ROWS_BY_ACCOUNT = fields.Dict(
    keys=fields.String(),
    values=fields.List(fields.Nested(GreylistingRowSchema)),
    metadata={"description": "Account -> its greylisting rows, in account order"},
)
GreylistingAllEnvelopeSchema = envelope(
    "GreylistingAllEnvelopeSchema",
    ROWS_BY_ACCOUNT,
    total=fields.Integer(metadata={"description": "Paged only: rows in all"}),
    offset=fields.Integer(metadata={"description": "Paged only: index of the first row"}),
    limit=fields.Integer(metadata={"description": "Paged only: page size"}),
    page=fields.Integer(metadata={"description": "Paged only: page number, from 1"}),
    page_size=fields.Integer(metadata={"description": "Paged only: page size"}),
)
GreylistingEnvelopeSchema = envelope("GreylistingEnvelopeSchema", fields.Nested(GreylistingSchema))
WhitelistsEnvelopeSchema = envelope("WhitelistsEnvelopeSchema", fields.Nested(WhitelistsSchema))
SpfDomainsEnvelopeSchema = envelope("SpfDomainsEnvelopeSchema", fields.Nested(SpfDomainsSchema))
