"""Reusable fields: domain names, addresses, quotas, yes/no flags, multi-values."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate

DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
# iRedAdmin's auth_email local part: no '+', starts with a word char, '-' or '#'.
LOCAL_PART = re.compile(r"^[\w\-#][\w\-.&#]*$", re.ASCII)
LANGUAGE = re.compile(r"^[a-z]{2,3}(?:_[A-Z]{2})?$")
TRANSPORT = re.compile(r"^[A-Za-z0-9_.+-]+(?::[\x21-\x7e]*)?$")
RELAY_HOST = re.compile(r"^(?:[A-Za-z0-9_-]+:)?\[?[A-Za-z0-9.:_-]+\]?(?::\d{1,5})?$")


def normalise_domain(value: str) -> str:
    """Lower-case a domain name and check its syntax; IDNs must be punycode."""
    domain = value.strip().lower().rstrip(".")
    if not domain or len(domain) > 253 or not domain.isascii():
        raise ValidationError("Not a valid domain name (use punycode for IDNs).")
    labels = domain.split(".")
    if len(labels) < 2 or not all(DOMAIN_LABEL.match(label) for label in labels):
        raise ValidationError("Not a valid domain name.")
    if not TLD.match(labels[-1]):
        raise ValidationError("Not a valid domain name.")
    return domain


def normalise_email(value: str) -> str:
    """Lower-case an address and check it the way iRedAdmin does."""
    address = value.strip().lower()
    local, sep, domain = address.rpartition("@")
    if not sep or not local or len(address) > 320 or not LOCAL_PART.match(local):
        raise ValidationError("Not a valid email address.")
    if local.endswith(".") or ".." in local:
        raise ValidationError("Not a valid email address.")
    normalise_domain(domain)
    return address


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


class Transport(fields.String):
    """A Postfix transport like `dovecot` or `lmtp:inet:127.0.0.1:24`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "validate",
            [validate.Length(max=255), validate.Regexp(TRANSPORT, error="Not a transport.")],
        )
        super().__init__(**kwargs)


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
