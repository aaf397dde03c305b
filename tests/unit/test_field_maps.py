"""Each answer is declared once: its field map drives the answer, the attributes read, the schema."""

from __future__ import annotations

import pytest
from marshmallow import fields

from iredapi_ldap.ldap import Entry
from iredapi_ldap.mailhost import TUNABLES
from iredapi_ldap.models.admins.view import ADMIN_SUMMARY
from iredapi_ldap.models.admins.view import ADMIN_VIEW
from iredapi_ldap.models.admins.view import NEW_TOKEN_VIEW
from iredapi_ldap.models.admins.view import TOKEN_VIEW
from iredapi_ldap.models.aliases.view import ALIAS_VIEW
from iredapi_ldap.models.domains.view import DOMAIN_ADMIN_VIEW
from iredapi_ldap.models.domains.view import DOMAIN_VIEW
from iredapi_ldap.models.fieldmap import FieldMap
from iredapi_ldap.models.fieldmap import filled
from iredapi_ldap.models.fieldmap import text
from iredapi_ldap.models.maillists.members import Membership
from iredapi_ldap.models.maillists.view import LIST_VIEW
from iredapi_ldap.models.mls.view import ML_VIEW
from iredapi_ldap.models.mls.view import Spool
from iredapi_ldap.models.settings import settings_of
from iredapi_ldap.models.users.view import USER_VIEW
from iredapi_ldap.schemas.admin import AdminSchema
from iredapi_ldap.schemas.admin import AdminSummarySchema
from iredapi_ldap.schemas.alias import AliasSchema
from iredapi_ldap.schemas.build import schema_from_fields
from iredapi_ldap.schemas.domain import DomainSchema
from iredapi_ldap.schemas.domain_admins import DomainAdminSchema
from iredapi_ldap.schemas.fields import is_secret
from iredapi_ldap.schemas.maillist import MaillistSchema
from iredapi_ldap.schemas.ml import MlSchema
from iredapi_ldap.schemas.token import NewTokenSchema
from iredapi_ldap.schemas.token import TokenSchema
from iredapi_ldap.schemas.user_view import UserSchema
from iredapi_ldap.security.tokens import TokenRecord

MAPS = {
    "user": (USER_VIEW, UserSchema),
    "domain": (DOMAIN_VIEW, DomainSchema),
    "domain admin": (DOMAIN_ADMIN_VIEW, DomainAdminSchema),
    "alias": (ALIAS_VIEW, AliasSchema),
    "maillist": (LIST_VIEW, MaillistSchema),
    "ml": (ML_VIEW, MlSchema),
    "admin summary": (ADMIN_SUMMARY, AdminSummarySchema),
    "admin": (ADMIN_VIEW, AdminSchema),
    "token": (TOKEN_VIEW, TokenSchema),
    "new token": (NEW_TOKEN_VIEW, NewTokenSchema),
}
LDAP_MAPS = ("user", "domain", "domain admin", "alias", "maillist", "ml", "admin summary", "admin")
KINDS = {
    "string": fields.String,
    "integer": fields.Integer,
    "boolean": fields.Boolean,
    "strings": fields.List,
    "objects": fields.List,
    "any": fields.Raw,
}


class RecordingEntry(Entry):
    """An entry holding a value for any attribute asked for, remembering which were asked."""

    def __init__(self) -> None:
        super().__init__("cn=x,o=domains,dc=example,dc=com", {})
        self.asked: set[str] = set()

    def all(self, name: str) -> list[str]:
        self.asked.add(name.lower())
        return ["1"]

    def first(self, name: str, default: str | None = None) -> str | None:
        self.asked.add(name.lower())
        return "1"


def _context(name: str, entry: Entry):
    return {
        "domain": lambda: settings_of(entry),
        "domain admin": lambda: ("a@b.test", "user"),
        "maillist": lambda: Membership(),
        "ml": lambda: Spool(True, {n: None for n in TUNABLES}),
        "admin": lambda: ["b.test"],
    }.get(name, lambda: None)()


@pytest.mark.parametrize("name", MAPS)
def test_schema_lists_the_map_fields_in_order_with_their_types(name):
    """The output schema is the field map: same names, same order, type, nullability, docs."""
    field_map, schema = MAPS[name]
    built = schema().fields
    assert list(built) == field_map.names
    for view_field in field_map:
        made = built[view_field.name]
        assert isinstance(made, KINDS[view_field.kind]), view_field.name
        assert made.allow_none is view_field.nullable, view_field.name
        assert made.metadata.get("description", "") == view_field.description, view_field.name
        assert is_secret(made) is view_field.secret, view_field.name


@pytest.mark.parametrize("name", LDAP_MAPS)
def test_readers_read_only_the_attributes_the_map_declares(name):
    """What a map asks the directory for covers every attribute its readers look at."""
    field_map, _schema = MAPS[name]
    entry = RecordingEntry()
    answer = field_map.read(entry, _context(name, entry))
    declared = {attribute.lower() for attribute in field_map.attributes}
    assert entry.asked <= declared, sorted(entry.asked - declared)
    filled_in = [f.name for f in field_map if f.read is None]
    assert list(answer) == [n for n in field_map.names if n not in filled_in]


def test_token_answer_follows_its_map():
    """A token's answer has the map's fields in order; the secret only in the new-token map."""
    record = TokenRecord("abc", "0" * 64, 1700000000, 0, True, ("10.0.0.0/8",), "ci")
    usage = {"last_used": None, "last_used_from": None}
    assert TOKEN_VIEW.read(record, usage) == {
        "id": "abc", "name": "ci", "created": 1700000000, "expires": None, "expired": False,
        "read_only": True, "allowed_ips": ["10.0.0.0/8"], "last_used": None,
        "last_used_from": None,
    }  # fmt: skip
    assert NEW_TOKEN_VIEW.names == [*TOKEN_VIEW.names, "token"]
    assert is_secret(NewTokenSchema().fields["token"])


def test_attributes_are_derived_without_duplicates():
    """Attributes come once each, the extra ones first, then in field order."""
    field_map = FieldMap(
        text("a", "cn"), text("b", "mail"), text("c", "cn"), extra_attributes=("objectClass",)
    )
    assert field_map.attributes == ["objectClass", "cn", "mail"]
    assert (field_map + FieldMap(text("d", "sn"))).attributes == ["objectClass", "cn", "mail", "sn"]


def test_a_map_refuses_a_field_twice():
    """Two fields with one API name are a declaration error, not a silent overwrite."""
    with pytest.raises(ValueError, match="Duplicate"):
        FieldMap(text("a", "cn"), filled("a", "string"))


def test_nested_objects_get_their_own_schema():
    """A list of objects (an mlmmj list's subscribers) is a nested schema of its item map."""
    subscribers = MlSchema().fields["subscribers"]
    assert isinstance(subscribers, fields.List)
    assert list(subscribers.inner.schema.fields) == ["mail", "subscription"]


def test_unknown_kind_is_refused():
    """A field type without a schema counterpart fails when the schema is built."""
    with pytest.raises(ValueError, match="kind"):
        schema_from_fields(FieldMap(filled("x", "date")), "XSchema")
