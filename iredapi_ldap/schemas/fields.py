"""Reusable fields: text, domain names, addresses, quotas, yes/no flags, transports, multi-values."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import current_app
from flask import has_app_context
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate

from ..addresses import normalise_domain
from ..addresses import normalise_email
from ..config import DEFAULTS
from . import postfix

LANGUAGE = re.compile(r"^[a-z]{2,3}(?:_[A-Z]{2})?$")
# What breaks a line or drives a terminal: C0 (TAB, LF, VT, FF, CR, FS..US among them), DEL,
# C1 (NEL among them), U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR. These are all
# the line boundaries str.splitlines() knows.
LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Multi-line text (footers, descriptions) keeps TAB, LF and CR.
TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MAX_VALUES = "API_MAX_VALUES_PER_FIELD"
TRANSPORT_ERROR = (
    "Not a Postfix transport: name or name:nexthop, e.g. dovecot, "
    "lmtp:unix:private/dovecot-lmtp, smtp:[192.0.2.1]:25."
)
RELAY_HOST_ERROR = (
    "Not a relay host: host, [host], host:port or [host]:port, optionally after transport:."
)
DESTINATION_ERROR = "Not a host, [host], host:port or [host]:port."


class NoControls(validate.Validator):
    """Refuse control characters; in one line of text also line and paragraph separators."""

    def __init__(self, multiline: bool = False) -> None:
        self.pattern = TEXT_CONTROLS if multiline else LINE_BREAKING
        self.what = "control characters" if multiline else "line breaks or control characters"

    def __call__(self, value: str) -> str:
        found = self.pattern.search(value)
        if found:
            raise ValidationError(
                f"Must not contain {self.what} (U+{ord(found.group()):04X} at {found.start() + 1})."
            )
        return value


ONE_LINE = NoControls()
MULTI_LINE = NoControls(multiline=True)


class Grammar(validate.Validator):
    """Accept the values a check function accepts (and "" when allowed)."""

    def __init__(self, check: Callable[[str], bool], error: str, allow_empty: bool = False) -> None:
        self.check, self.error, self.allow_empty = check, error, allow_empty

    def __call__(self, value: str) -> str:
        if (self.allow_empty and value == "") or self.check(value):
            return value
        raise ValidationError(self.error)


class Text(fields.String):
    """Free text of at most max_length characters: one line unless multiline."""

    def __init__(
        self,
        *,
        max_length: int = 255,
        min_length: int | None = None,
        multiline: bool = False,
        **kwargs: Any,
    ) -> None:
        extra = kwargs.pop("validate", None) or []
        checks = [
            validate.Length(min=min_length, max=max_length),
            MULTI_LINE if multiline else ONE_LINE,
            *(extra if isinstance(extra, (list, tuple)) else [extra]),
        ]
        super().__init__(validate=checks, **kwargs)


class DomainName(fields.String):
    """A mail domain name, lower-cased."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return normalise_domain(super()._deserialize(value, attr, data, **kwargs))


class Email(fields.String):
    """An email address, lower-cased."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return normalise_email(super()._deserialize(value, attr, data, **kwargs))


class OptionalEmail(Email):
    """An email address, or an empty string meaning "remove"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, str) and not value.strip():
            return ""
        return super()._deserialize(value, attr, data, **kwargs)


class YesNo(fields.Boolean):
    """A boolean written yes/no on the wire (true/false and 1/0 also accepted)."""

    truthy = {"yes", "Yes", "YES", "y", "true", "True", "1", 1, "on"}
    falsy = {"no", "No", "NO", "n", "false", "False", "0", 0, "off"}

    def __init__(self, **kwargs: Any) -> None:
        default = kwargs.get("load_default")
        if isinstance(default, bool):
            # apispec documents a default through _serialize ("no"), which is not a
            # boolean and makes the OpenAPI document invalid; document the bool itself.
            kwargs["metadata"] = {"default": default, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else ("yes" if value else "no")


class Quota(fields.Integer):
    """A size in MB; 0 means unlimited."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Range(min=0, max=2**40))
        kwargs.setdefault("strict", False)
        super().__init__(**kwargs)


class Limit(fields.Integer):
    """An account limit: 0 unlimited, -1 none allowed, N at most N."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Range(min=-1, max=2**31 - 1))
        super().__init__(**kwargs)


class AccountStatus(fields.String):
    """`active` or `disabled`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.OneOf(["active", "disabled"]))
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip().lower()


class Language(fields.String):
    """A language tag like `en_US`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Regexp(LANGUAGE, error="Not a language tag."))
        super().__init__(**kwargs)


class Transport(Text):
    """A Postfix transport like `dovecot` or `lmtp:unix:private/dovecot-lmtp` (see postfix.py)."""

    def __init__(self, *, allow_empty: bool = False, **kwargs: Any) -> None:
        grammar = Grammar(postfix.is_transport, TRANSPORT_ERROR, allow_empty=allow_empty)
        super().__init__(validate=grammar, **kwargs)


def relay_host(**kwargs: Any) -> Text:
    """Return a senderRelayHost field: `[transport:]host[:port]`; empty removes it."""
    return Text(
        validate=Grammar(postfix.is_relay_host, RELAY_HOST_ERROR, allow_empty=True), **kwargs
    )


def destination(**kwargs: Any) -> Text:
    """Return a nexthop host field: `host`, `[host]`, `host:port` or `[host]:port`."""
    return Text(validate=Grammar(postfix.is_destination, DESTINATION_ERROR), **kwargs)


def max_values() -> int:
    """Return how many items one multi-valued field may carry ([api] max_values_per_field)."""
    if has_app_context():
        return int(current_app.config.get(MAX_VALUES, DEFAULTS[MAX_VALUES]))
    return int(DEFAULTS[MAX_VALUES])


def check_count(count: int) -> None:
    """Refuse more items than max_values() allows, before any item is looked at."""
    cap = max_values()
    if count > cap:
        raise ValidationError(f"At most {cap} values may be given; {count} were.")


class MultiValue(fields.Field):
    """A set of values from a comma list, repeated form fields or a JSON list."""

    # webargs reads every repeated form key for fields that say they are multiple.
    is_multiple = True

    def __init__(self, item: fields.Field, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.item = item

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list:
        raw = value if isinstance(value, (list, tuple)) else [value]
        parts: list[str] = []
        for element in raw:
            if not isinstance(element, str):
                raise ValidationError("Expected a string or a list of strings.")
            parts.extend(p.strip() for p in element.split(",") if p.strip())
        check_count(len(parts))
        result: list = []
        bad: list[str] = []
        for part in parts:
            try:
                item = self.item.deserialize(part)
            except ValidationError:
                bad.append(part)
                continue
            if item not in result:
                result.append(item)
        if bad:
            raise ValidationError(f"Invalid value(s): {', '.join(bad)}")
        return result

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else list(value)


def secret(field: fields.Field) -> fields.Field:
    """Mark a field secret: received as typed, masked in the audit log, logs and error details."""
    field.metadata = {**field.metadata, "secret": True}
    return field


def is_secret(field: fields.Field) -> bool:
    """Tell whether a field is marked secret."""
    return bool(field.metadata.get("secret"))


def not_blank(value: str) -> None:
    """Refuse a text that is empty once surrounding whitespace is removed."""
    if not value.strip():
        raise ValidationError("Must not be blank.")


def string_list(description: str) -> fields.List:
    """Return an output list of strings with its OpenAPI description."""
    return fields.List(fields.String(), metadata={"description": description})


def choice_of(choices: tuple[str, ...]) -> fields.String:
    """Return a lower-casing string field limited to the choices."""
    return _Choice(validate=validate.OneOf(choices))


class _Choice(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip().lower()
