"""Base schemas: unknown fields are errors, 2016 parameter names still work."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import pre_load
from marshmallow import validate
from marshmallow import validates_schema

from .fields import is_secret

# Parameter names of the 2016 API (and its sample client) -> current names.
LEGACY_NAMES = {"cn": "name", "mailQuota": "quota", "preferredLanguage": "language"}


def _strip(value: Any) -> Any:
    """Strip surrounding whitespace from a text value or from each text of a list."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [v.strip() if isinstance(v, str) else v for v in value]
    return value


class BaseSchema(Schema):
    """Reject unknown fields; map legacy names; strip surrounding whitespace."""

    class Meta:
        unknown = RAISE

    @pre_load
    def _legacy_names(self, data: Any, **kwargs: Any) -> Any:
        if not hasattr(data, "keys"):
            return data
        renamed: dict[str, Any] = {}
        kept_as_typed = self._secret_keys()
        for key in data.keys():
            target = LEGACY_NAMES.get(key, key)
            if target in renamed or (target != key and target in data.keys()):
                raise ValidationError({key: [f"Give either {key} or {target}, not both."]})
            # webargs' MultiDictProxy already returns lists only for multi-valued fields.
            value = data[key]
            renamed[target] = value if target in kept_as_typed else _strip(value)
        return renamed

    def _secret_keys(self) -> frozenset[str]:
        """Return the input names of this schema's secret fields (kept as typed)."""
        keys = self.__dict__.get("_iredapi_secret_keys")
        if keys is None:
            keys = frozenset(
                field.data_key or name for name, field in self.fields.items() if is_secret(field)
            )
            self._iredapi_secret_keys = keys
        return keys

    @pre_load
    def _no_nul(self, data: Any, **kwargs: Any) -> Any:
        # NUL ends a C string in slapd, Postfix and Dovecot; no field may carry one.
        if not hasattr(data, "keys"):
            return data
        for key in data.keys():
            value = data.getlist(key) if hasattr(data, "getlist") else data[key]
            items = value if isinstance(value, (list, tuple)) else [value]
            if any(isinstance(item, str) and "\x00" in item for item in items):
                raise ValidationError({key: ["Must not contain a NUL character."]})
        return data


class TriadMixin:
    """Checks that `X` (replace) is not combined with `addX`/`removeX`."""

    TRIADS: tuple[tuple[str, str, str], ...] = ()

    @validates_schema
    def _check_triads(self, data: dict, **kwargs: Any) -> None:
        for replace, add, remove in self.TRIADS:
            if replace in data and (add in data or remove in data):
                raise ValidationError(
                    f"{replace} replaces the whole set; do not combine it with {add}/{remove}.",
                    replace,
                )


class PageArgsSchema(BaseSchema):
    """Paging: `page`/`page_size` or `offset`/`limit`."""

    page = fields.Integer(validate=validate.Range(min=1))
    page_size = fields.Integer(validate=validate.Range(min=1))
    offset = fields.Integer(validate=validate.Range(min=0))
    limit = fields.Integer(validate=validate.Range(min=1))

    @validates_schema
    def _one_style(self, data: dict, **kwargs: Any) -> None:
        if {"page", "page_size"} & data.keys() and {"offset", "limit"} & data.keys():
            raise ValidationError("Use page/page_size or offset/limit, not both.", "page")


class EnvelopeSchema(Schema):
    """Success envelope: `success` and `_success` (always true here)."""

    success = fields.Boolean(dump_default=True)
    _success = fields.Boolean(dump_default=True, data_key="_success", attribute="_success")


class ErrorEnvelopeSchema(Schema):
    """Failure envelope: codes in `msg`/`_msg`, text in `detail`, fields in `errors`."""

    success = fields.Boolean(metadata={"example": False})
    _success = fields.Boolean(data_key="_success", attribute="_success")
    msg = fields.String(metadata={"description": "Stable UPPER_SNAKE error code"})
    _msg = fields.String(data_key="_msg", attribute="_msg")
    detail = fields.String(metadata={"description": "Human-readable explanation"})
    errors = fields.Dict(
        keys=fields.String(),
        metadata={"description": "Field name -> list of messages (validation failures)"},
    )


def envelope(name: str, data: fields.Field, **beside: fields.Field) -> type[Schema]:
    """Return the success envelope of an answer: success, _success, `_data`, then `beside`."""
    return Schema.from_dict(
        {
            "success": fields.Boolean(dump_default=True),
            "_success": fields.Boolean(dump_default=True),
            "_data": data,
            **beside,
        },
        name=name,
    )


def page_envelope(name: str, item: fields.Field, description: str = "", **beside: fields.Field):
    """Return the envelope of a paged list: `_data` the items, the paging keys beside it."""
    metadata = {"description": description} if description else {}
    return envelope(
        name,
        fields.List(item, metadata=metadata),
        total=fields.Integer(metadata={"description": "Items in all"}),
        offset=fields.Integer(metadata={"description": "Index of the first item"}),
        limit=fields.Integer(metadata={"description": "Page size"}),
        page=fields.Integer(metadata={"description": "Page number, from 1"}),
        page_size=fields.Integer(metadata={"description": "Page size"}),
        **beside,
    )
