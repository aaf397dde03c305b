"""Schemas of subscribable (mlmmj) lists: /api/ml/<mail> and /api/mls/<domain>."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from ..mailhost import FLAG_PARAMETERS
from ..mailhost import SUBSCRIPTIONS
from ..models.mls.view import ML_VIEW
from .base import BaseSchema
from .base import PageArgsSchema
from .base import TriadMixin
from .base import envelope
from .build import profile_schemas
from .fields import AccountStatus
from .fields import Email
from .fields import MultiValue
from .fields import Text
from .fields import YesNo
from .fields import check_count
from .fields import choice_of

# The policies an mlmmj list can carry (iRedAdmin-Pro's list for /api/ml).
ACCESS_POLICIES = ("public", "domain", "subdomain", "membersonly", "moderatorsonly")
# RFC 5322 field name: printable US-ASCII (33-126) except the colon.
HEADER_NAME = re.compile(r"[!-9;-~]{1,76}")
# RFC 5322 unstructured text (UTF-8 allowed, RFC 6532): no control character but TAB.
HEADER_VALUE_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
HEADER_LINE_ERROR = (
    "Not a header line 'Name: value' (Name printable ASCII without ':' or spaces, "
    "the value without control characters)"
)
MAX_HEADER_LINE = 998
MAX_MESSAGE_SIZE = 2**31 - 1
FLAG_DOCS = "yes/no; see api-surface.md 2.3 for the mlmmj control file it sets"


def _split_header_lines(value: Any) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else [value]
    lines: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValidationError("Expected a string or a list of strings.")
        # Form clients often send the two characters backslash-n for a line break. Only
        # spaces and tabs are trimmed: any other character left over is refused, not dropped.
        lines += [line.strip(" \t") for line in re.split(r"\r?\n|\\n", item)]
    return lines


def _shown(line: str) -> str:
    """Return a line with control and non-ASCII characters escaped, shortened for a message."""
    text = line.encode("unicode_escape").decode("ascii")
    return text if len(text) <= 80 else text[:77] + "..."


class HeaderLines(fields.Field):
    """Header lines `Name: value`, newline-separated (or a JSON list); empty clears."""

    is_multiple = True

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        lines = _split_header_lines(value)
        check_count(sum(1 for line in lines if line))
        result: list[str] = []
        bad: list[str] = []
        for number, line in enumerate(lines, 1):
            if not line:
                continue
            name, colon, text = line.partition(":")
            if (
                not colon
                or not HEADER_NAME.fullmatch(name)
                or HEADER_VALUE_CONTROLS.search(text)
                or len(line) > MAX_HEADER_LINE
            ):
                bad.append(f"line {number}: {_shown(line)}")
                continue
            header = name + ": " + text.lstrip(" \t")
            if header not in result:
                result.append(header)
        if bad:
            raise ValidationError(f"{HEADER_LINE_ERROR}: {'; '.join(bad)}")
        return result


class HeaderName(fields.String):
    """A header field name, stored with its trailing colon (`Received:`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        name = super()._deserialize(value, attr, data, **kwargs).strip().rstrip(":").strip()
        if not HEADER_NAME.fullmatch(name):
            raise ValidationError("Not a header name.")
        return f"{name}:"


def _addresses(description: str) -> MultiValue:
    return MultiValue(Email(), metadata={"description": description})


def _flags() -> dict[str, fields.Field]:
    return {name: YesNo(metadata={"description": FLAG_DOCS}) for name in FLAG_PARAMETERS}


class _ProfileFields(BaseSchema):
    """The profile parameters shared by create and update."""

    name = Text(metadata={"description": "Display name (cn, control/name)"})
    accountStatus = AccountStatus()
    accessPolicy = choice_of(ACCESS_POLICIES)
    maxMailSize = fields.Integer(
        validate=validate.Range(min=0, max=MAX_MESSAGE_SIZE),
        metadata={"description": "Bytes (maxMessageSize, control/maxmailsize); 0 removes"},
    )
    max_message_size = fields.Integer(
        validate=validate.Range(min=0, max=MAX_MESSAGE_SIZE),
        metadata={"description": "mlmmjadmin name of maxMailSize"},
    )
    newsletter_description = Text(
        max_length=1024, multiline=True, metadata={"description": "LDAP description"}
    )
    owner = _addresses("control/owner and listOwner; empty = postmaster@<domain>")
    moderators = _addresses("control/moderators and listModerator; empty clears")
    subscription_moderators = _addresses("control/submod (implies moderate_subscription)")
    extra_addresses = _addresses("Further addresses of the list (control/listaddress)")
    subject_prefix = Text(max_length=128)
    custom_headers = HeaderLines(metadata={"description": "Header lines, newline-separated"})
    remove_headers = MultiValue(
        HeaderName(), metadata={"description": "Header names, comma-separated"}
    )
    footer_text = Text(max_length=65536, multiline=True)
    footer_html = Text(max_length=65536, multiline=True)
    require_confirm = YesNo(
        metadata={"description": "Mail new subscribers a confirmation (default yes)"}
    )
    subscription = choice_of(tuple(SUBSCRIPTIONS))

    @validates_schema
    def _consistent(self, data: dict, **kwargs: Any) -> None:
        if "maxMailSize" in data and "max_message_size" in data:
            if data["maxMailSize"] != data["max_message_size"]:
                raise ValidationError(
                    "Give maxMailSize or max_message_size, not both.", "maxMailSize"
                )
        if data.get("only_moderator_can_post") and data.get("only_subscriber_can_post"):
            raise ValidationError(
                "Only moderators or only subscribers may post, not both.", "only_moderator_can_post"
            )
        adding = {"subscribers", "add_subscribers"} & data.keys()
        for name in ("require_confirm", "subscription"):
            if name in data and not adding:
                raise ValidationError("Only meaningful with subscribers to add.", name)


MlProfileSchema = _ProfileFields.from_dict(_flags(), name="MlProfileSchema")


class MlCreateSchema(MlProfileSchema):
    """Parameters of POST /api/ml/<mail>."""

    subscribers = _addresses("Initial subscribers (see require_confirm, subscription)")


class MlUpdateSchema(TriadMixin, MlProfileSchema):
    """Parameters of PUT /api/ml/<mail>; subscribers replaces the whole set."""

    TRIADS = (("subscribers", "add_subscribers", "remove_subscribers"),)

    subscribers = _addresses("Exactly these subscribers afterwards (others are unsubscribed)")
    add_subscribers = _addresses("Subscribe these addresses")
    remove_subscribers = _addresses("Unsubscribe these addresses from every version")

    @validates_schema
    def _no_overlap(self, data: dict, **kwargs: Any) -> None:
        both = set(data.get("add_subscribers", [])) & set(data.get("remove_subscribers", []))
        if both:
            raise ValidationError(
                f"Both added and removed: {', '.join(sorted(both))}.", "add_subscribers"
            )


class MlGetArgsSchema(BaseSchema):
    """Query arguments of GET /api/ml/<mail>."""

    with_subscribers = YesNo(load_default=False, metadata={"description": "Include subscribers"})


class MlDeleteArgsSchema(BaseSchema):
    """DELETE /api/ml/<mail> arguments (query string or body)."""

    keep_archive = YesNo(
        metadata={"description": "yes (default): move the list directory to the archive"}
    )
    archive = YesNo(metadata={"description": "mlmmjadmin's name of keep_archive"})

    @validates_schema
    def _one_name(self, data: dict, **kwargs: Any) -> None:
        if "keep_archive" in data and "archive" in data and data["keep_archive"] != data["archive"]:
            raise ValidationError("Give keep_archive or archive, not both.", "keep_archive")


class MlListArgsSchema(PageArgsSchema):
    """Query arguments of GET /api/mls/<domain>."""

    email_only = YesNo(load_default=False, metadata={"description": "Return addresses only"})


# A subscribable list as returned by GET.
MlSchema, MlEnvelopeSchema, MlPageSchema = profile_schemas(
    ML_VIEW, "Ml", "List profiles, or addresses with email_only=yes"
)
MlDeletedSchema = envelope(
    "MlDeletedSchema",
    fields.Nested(
        Schema.from_dict(
            {
                "archived_to": fields.String(
                    allow_none=True,
                    metadata={"description": "The archived list directory, or null (removed)"},
                )
            },
            name="MlArchiveSchema",
        )
    ),
)
