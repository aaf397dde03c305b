"""Response schemas built from the models' field maps, so an answer is declared once.

`models/<resource>/view.py` lists each answer's fields (API name, type, the LDAP attributes
and reader, a description) as a `FieldMap`; `schema_from_fields` turns that list into the
marshmallow schema the route dumps its answer through and documents in OpenAPI. The
answer and its schema cannot drift: a field is added to the map, and both follow.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema
from marshmallow import fields

from ..models.fieldmap import ANY
from ..models.fieldmap import BOOLEAN
from ..models.fieldmap import INTEGER
from ..models.fieldmap import OBJECT
from ..models.fieldmap import OBJECTS
from ..models.fieldmap import STRING
from ..models.fieldmap import STRINGS
from ..models.fieldmap import FieldMap
from ..models.fieldmap import ViewField
from .base import envelope
from .base import page_envelope
from .fields import secret

SIMPLE = {
    STRING: fields.String,
    INTEGER: fields.Integer,
    BOOLEAN: fields.Boolean,
    ANY: fields.Raw,
}


def schema_from_fields(field_map: FieldMap, name: str) -> type[Schema]:
    """Return the output schema of a field map, its fields in the map's order.

    `name` is the class name (`UserSchema`); OpenAPI names the component after it (`User`).
    An object field with declared items gets a nested schema named `<name minus Schema>
    <Field>Schema`.
    """
    return Schema.from_dict(
        {f.name: _field(f, name.removesuffix("Schema")) for f in field_map}, name=name
    )


def _field(view_field: ViewField, parent: str) -> fields.Field:
    options: dict[str, Any] = {}
    if view_field.nullable:
        options["allow_none"] = True
    if view_field.description:
        options["metadata"] = {"description": view_field.description}
    kind = view_field.kind
    if kind in SIMPLE:
        built: fields.Field = SIMPLE[kind](**options)
    elif kind == STRINGS:
        built = fields.List(fields.String(), **options)
    elif kind in (OBJECT, OBJECTS) and view_field.items is not None:
        nested = schema_from_fields(
            view_field.items, f"{parent}{view_field.name[:1].upper()}{view_field.name[1:]}Schema"
        )
        if kind == OBJECT:
            built = fields.Nested(nested, **options)
        else:
            built = fields.List(fields.Nested(nested), **options)
    elif kind == OBJECT:
        built = fields.Dict(**options)
    else:
        raise ValueError(f"{view_field.name}: no schema field for kind {kind!r}")
    return secret(built) if view_field.secret else built


class OneOf(fields.Raw):
    """A value that is one of several documented shapes (a profile, or just its address).

    Dumped as it is; OpenAPI documents it as `oneOf` the given schemas and fields
    (api/__init__.py registers the converter). Used for the items of paged lists, whose
    shape a query argument chooses (email_only=yes gives addresses).
    """

    def __init__(self, *choices: type[Schema] | fields.Field, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = choices


def one_of_properties(converter: Any, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
    """apispec attribute function: document a OneOf field as oneOf its choices."""
    if not isinstance(field, OneOf):
        return {}
    return {
        "oneOf": [
            converter.field2property(choice)
            if isinstance(choice, fields.Field)
            else converter.resolve_nested_schema(choice)
            for choice in field.choices
        ]
    }


def profile_schemas(
    field_map: FieldMap, name: str, page_description: str, **page_extra: fields.Field
) -> tuple[type[Schema], type[Schema], type[Schema]]:
    """Return `<name>Schema`, its envelope and the envelope of its pages.

    A page's items are the profiles, or plain strings (addresses, names) when the listing
    is asked for those only (email_only=yes, name_only=yes).
    """
    profile = schema_from_fields(field_map, f"{name}Schema")
    return (
        profile,
        envelope(f"{name}EnvelopeSchema", fields.Nested(profile)),
        page_envelope(
            f"{name}PageSchema", OneOf(profile, fields.String()), page_description, **page_extra
        ),
    )
